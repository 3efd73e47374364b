"""The pool-manager client of lossy_test.py, run by it inside the minidns
host's namespace as its own process:

    python3 lossy_client.py polls DEADLINE   # the 10,000 polls of a run
    python3 lossy_client.py notify SERIAL    # the NOTIFY and the poll after

It talks to minidns over ZeroMQ on 127.0.0.1 in that namespace and prints
one JSON line of what it saw (replies, attempts, metric deltas). The
scenario's constants (addresses, zones, budgets) are here too, shared
with the driver.
"""

from __future__ import annotations

import json
import sys
import time

SUBNET = "10.79.0"
HOSTS = {"mh": 2, "dns": 3}  # name: last octet
MH_IP = f"{SUBNET}.{HOSTS['mh']}"
DNS_IP = f"{SUBNET}.{HOSTS['dns']}"

ZONES = 100
POLLS = 10_000
WINDOW = 2_000
POLL_BUDGET = {"timeout": 0.4, "retry_interval": 0.1, "max_retries": 30}
TCP_BUDGET = {"timeout": 2.0, "retry_interval": 0.1, "max_retries": 10}
NOTIFY_BUDGET = {"timeout": 0.5, "retry_interval": 0.3, "max_retries": 20}
POLL_DEST = f"{DNS_IP}:53"  # the relay -> primary
NOTIFY_DEST = f"{DNS_IP}:5353"  # the relay -> secondary
ZMQ_ENDPOINT = "tcp://127.0.0.1:5358"
METRICS = "127.0.0.1:9153"
SEC_ZONE = "sec.lossy."


def zone(i: int) -> str:
    return f"z{i:03d}.lossy."


def serial(i: int) -> int:
    return 2024000000 + 7 * i


def fetch_metrics() -> dict[str, float]:
    import urllib.request
    text = urllib.request.urlopen(f"http://{METRICS}/metrics",
                                  timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def metric_deltas(before: dict, after: dict) -> dict[str, float]:
    keys = {
        "soa_queries": 'minidns_dns_queries_total{kind="soa"}',
        "notify_queries": 'minidns_dns_queries_total{kind="notify"}',
        "shared_attempts": "minidns_shared_attempts_total",
        "shared_answers": "minidns_shared_answers_total",
        "soa_timeouts": 'minidns_dns_attempts_timed_out_total{kind="soa"}',
        "notify_timeouts":
            'minidns_dns_attempts_timed_out_total{kind="notify"}',
        "send_errors": "minidns_dns_send_errors_total",
        "send_retries": "minidns_dns_send_retries_total",
        "send_waits": "minidns_dns_send_waits_total",
        "unmatched": 'minidns_dns_replies_dropped_total{reason="unmatched"}',
        "tcp_queries": "minidns_dns_tcp_queries_total",
    }
    d = {k: after.get(v, 0) - before.get(v, 0) for k, v in keys.items()}
    d["in_flight"] = after.get("minidns_requests_in_flight", -1)
    return d


class Dealer:
    def __init__(self):
        import msgpack
        import zmq
        self.msgpack, self.zmq = msgpack, zmq
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.sock.connect(ZMQ_ENDPOINT)

    def send(self, cast: dict) -> None:
        self.sock.send(self.msgpack.packb(cast, use_bin_type=True))

    def recv(self, wait: float) -> list[dict]:
        """Every reply that arrives within `wait` seconds (at least one
        if any comes)."""
        out = []
        if self.sock.poll(int(wait * 1000)):
            while True:
                try:
                    frame = self.sock.recv(self.zmq.NOBLOCK)
                except self.zmq.Again:
                    break
                out.append(self.msgpack.unpackb(frame, raw=False))
        return out

    def close(self) -> None:
        self.sock.close()
        self.ctx.term()


def percentile(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def client_polls(d: Dealer, deadline: float) -> dict:
    before = fetch_metrics()
    sent_at: dict[int, float] = {}
    done: dict[int, float] = {}
    problems: list[str] = []
    dups = ok = 0
    t0 = time.monotonic()
    nxt = 0
    while len(done) < POLLS and time.monotonic() < t0 + deadline:
        while nxt < POLLS and len(sent_at) - len(done) < WINDOW:
            i = nxt % ZONES
            d.send({"method": "poll_for_serial_number", "context": None,
                    "domain": {"name": zone(i), "serial": serial(i)},
                    "destination": POLL_DEST, "request_id": nxt,
                    **POLL_BUDGET})
            sent_at[nxt] = time.monotonic()
            nxt += 1
        for r in d.recv(0.05):
            now = time.monotonic()
            rid = r.get("request_id")
            if r.get("method") != "update_status" or rid not in sent_at:
                problems.append(f"unexpected reply {r}")
                continue
            if rid in done:
                dups += 1
                problems.append(f"second status for poll {rid}: {r}")
                continue
            done[rid] = now - sent_at[rid]
            want = serial(rid % ZONES)
            if r.get("status") == "SUCCESS" and r.get("actual_serial") == want:
                ok += 1
            else:
                problems.append(f"poll {rid} ({zone(rid % ZONES)} {want}): "
                                f"{r.get('status')} {r.get('detail')} "
                                f"actual {r.get('actual_serial')}")
    wall = time.monotonic() - t0
    # Time for a second status to show itself.
    for r in d.recv(1.0) + d.recv(0.5):
        rid = r.get("request_id")
        dups += rid in done
        problems.append(f"late or second status for {rid}: {r}")
    missing = POLLS - len(done)
    if missing:
        problems.append(f"{missing} polls without a status after "
                        f"{deadline:.0f} s")
    lat = list(done.values())
    return {"polls": POLLS, "statuses": len(done), "duplicates": dups,
            "missing": missing, "problems": problems[:20],
            "problem_count": len(problems),
            "ok": ok,
            "p50": percentile(lat, 50), "p99": percentile(lat, 99),
            "max": max(lat, default=float("nan")), "wall": wall,
            "metrics": metric_deltas(before, fetch_metrics())}


def one_cast(d: Dealer, cast: dict, wait: float) -> tuple[list[dict], float]:
    """Sends `cast` and collects every reply for `wait` seconds after the
    first (to see a second); returns them and the time to the first."""
    t0 = time.monotonic()
    d.send(cast)
    replies: list[dict] = []
    first = None
    while time.monotonic() < t0 + 60:
        got = d.recv(0.1)
        replies += got
        if got and first is None:
            first = time.monotonic() - t0
        if first is not None and time.monotonic() > t0 + first + wait:
            break
    return replies, first if first is not None else float("nan")


def client_notify(d: Dealer, new_serial: int) -> dict:
    m0 = fetch_metrics()
    notify, t_notify = one_cast(
        d, {"method": "notify_zone_changed", "context": "notify",
            "domain": {"name": SEC_ZONE}, "destination": NOTIFY_DEST,
            "want_status": True, "request_id": "notify", **NOTIFY_BUDGET},
        0.5)
    poll, t_poll = one_cast(
        d, {"method": "poll_for_serial_number", "context": "after-notify",
            "domain": {"name": SEC_ZONE, "serial": new_serial},
            "destination": NOTIFY_DEST, "request_id": "after-notify",
            **POLL_BUDGET}, 0.5)
    m1 = fetch_metrics()
    # The relay's TCP path too, once: a poll over TCP (lost segments cost
    # TCP retransmissions of 0.2 s and more, hence the longer timeout).
    tcp, t_tcp = one_cast(
        d, {"method": "poll_for_serial_number", "context": "tcp",
            "domain": {"name": zone(0), "serial": serial(0)},
            "destination": POLL_DEST, "request_id": "tcp",
            "transport": "tcp", **TCP_BUDGET}, 0.5)
    return {"notify": notify, "notify_time": t_notify, "poll": poll,
            "poll_time": t_poll, "tcp": tcp, "tcp_time": t_tcp,
            "metrics": metric_deltas(m0, m1),
            "tcp_metrics": metric_deltas(m1, fetch_metrics())}


def client(mode: str, arg: str) -> int:
    d = Dealer()
    try:
        if mode == "polls":
            out = client_polls(d, float(arg))
        else:
            out = client_notify(d, int(arg))
    finally:
        d.close()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(client(sys.argv[1], sys.argv[2]))
