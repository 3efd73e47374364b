"""Lossy links: minidns polling and notifying DNS servers across an
impaired path, built on one machine with network namespaces.

Three namespaces on one Ethernet segment (veth pairs on a bridge in a
switch namespace; 10.79.0.0/24 exists only inside them):

- the minidns host (10.79.0.2): minidns, and this test's pool-manager
  client (lossy_client.py), which talks to it over ZeroMQ on
  127.0.0.1 in that namespace;
- the DNS host (10.79.0.3): two NSDs on 127.0.0.1 and, in front of them,
  the relay of impair_relay.py:
    10.79.0.3:53   -> 127.0.0.1:5300, the primary NSD: 100 zones for the
                      polls, and sec.lossy.;
    10.79.0.3:5353 -> 127.0.0.1:5301, a secondary NSD of sec.lossy.
                      (transfers from 127.0.0.1:5300, takes NOTIFYs from
                      127.0.0.1, where the relay forwards from; SOA
                      refresh one day, so only a NOTIFY makes it look).

Run A is clean: no nftables rules, the relay forwards at once. Run B is
impaired:
- loss: nftables drops 20% of the packets from the minidns host to the
  DNS host and 20% of those back, UDP and TCP alike (`numgen random mod
  100 < 20 drop`), each where it arrives: in the input hook of the DNS
  host's namespace for the way there, of the minidns host's for the way
  back. Not in the minidns host's output path: a drop there is not silent
  (the output hook fails sendto() with EPERM; a netdev egress drop gives
  ENOBUFS to sockets with IP_RECVERR, which minidns sets; minidns tries a
  refused send once more at once, and that mostly goes through), so
  nothing would be lost;
- delay, reordering, duplication: the relay holds every datagram, each
  way, for 20..80 ms drawn uniformly (so they overtake each other) and
  sends 5% of them twice.

Each run starts a fresh minidns and sends 10,000 polls over the 100 zones
(each for the zone's real serial; timeout 0.4 s, retry 0.1 s, 30 retries)
with up to 2,000 in flight; every request_id must get exactly one
update_status, SUCCESS with that serial. Run B then bumps sec.lossy.'s
serial on the primary, sends a notify_zone_changed (want_status) to the
secondary through the impaired path, expects SUCCESS "acknowledged", and
polls the secondary through the impaired path for the new serial.
Prints both runs side by side.

Needs root, iproute2, nftables (nft) and NSD; otherwise, or where
namespaces or nftables cannot be used, it says "SKIP: why" and exits 77,
which ctest reports as skipped. Cleans up its namespaces and processes
whatever happens.

    python3 lossy_test.py MINIDNS_BINARY
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from netns import Segment, drain, read_until, stop  # noqa: E402
from lossy_client import (DNS_IP, HOSTS, METRICS, MH_IP,  # noqa: E402
                          NOTIFY_DEST, POLL_BUDGET, POLL_DEST, POLLS,
                          SEC_ZONE, SUBNET, WINDOW, ZONES, ZMQ_ENDPOINT,
                          serial, zone)

PY = sys.executable
SEG = Segment("ly", SUBNET, HOSTS)
SKIP = 77
PRIMARY_PORT, SECONDARY_PORT = 5300, 5301  # the NSDs, on 127.0.0.1
LOSS, DELAY, DUP = 20, (0.020, 0.080), 0.05


# ---------------------------------------------------------------------------
# The driver.


run_in = SEG.run_in
spawn = SEG.spawn


def loss_rules(peer: str) -> str:
    """Drops LOSS% of what comes in from `peer`, counting what comes in
    and what is dropped."""
    return ("table inet lossy {\n"
            "  chain in {\n"
            "    type filter hook input priority 0;\n"
            f"    ip saddr {peer} counter\n"
            f"    ip saddr {peer} numgen random mod 100 < {LOSS} counter drop\n"
            "  }\n}\n")


# Where each direction loses its packets: what the minidns host sends is
# lost on arrival at the DNS host, what it receives on arrival at the
# minidns host. A drop in the sender's own output path would not be a
# silent loss: the output hook fails sendto() with EPERM, and a netdev
# egress drop gives ENOBUFS to a socket with IP_RECVERR (minidns sets it,
# and takes it for a full buffer: it sends the datagram again).
LOSS_AT = {"dns": MH_IP, "mh": DNS_IP}  # host: the peer it loses from


def nft(host: str, *args: str, stdin: str | None = None,
        check: bool = True):
    return run_in(host, [NFT] + list(args), check=check, input=stdin)


def loss_on() -> str | None:
    """Installs the loss rules; returns None, or why nftables does not
    work here."""
    for host, peer in LOSS_AT.items():
        r = nft(host, "-f", "-", stdin=loss_rules(peer), check=False)
        if r.returncode != 0:
            return f"{r.stderr.strip()} (exit {r.returncode})"
    return None


def loss_off() -> None:
    for host in LOSS_AT:
        nft(host, "flush", "ruleset")


def dropped() -> tuple[int, int, int, int]:
    """Packets to the DNS host: seen, dropped; from it: seen, dropped."""
    out = []
    for host in ("dns", "mh"):
        text = nft(host, "list", "ruleset").stdout
        out += [int(n) for n in re.findall(r"counter packets (\d+)", text)]
    return out[0], out[1], out[2], out[3]


def nsd_conf(d: str, port: int, zones: str) -> str:
    return ("server:\n"
            "  ip-address: 127.0.0.1\n"
            f"  port: {port}\n"
            "  username: \"\"\n"  # do not drop privileges
            "  chroot: \"\"\n"
            f"  zonesdir: \"{d}\"\n"
            "  database: \"\"\n"
            f"  zonelistfile: \"{d}/zone.list\"\n"
            f"  xfrdfile: \"{d}/xfrd.state\"\n"
            f"  xfrdir: \"{d}\"\n"
            f"  pidfile: \"{d}/nsd.pid\"\n"
            f"  logfile: \"{d}/nsd.log\"\n"
            "  server-count: 1\n"
            "  verbosity: 2\n"
            # Every query comes from the relay's 127.0.0.1: no rate limit.
            "  rrl-ratelimit: 0\n"
            "  rrl-whitelist-ratelimit: 0\n"
            "  refuse-any: yes\n"
            "remote-control:\n"
            "  control-enable: no\n" + zones)


def zone_file(name: str, ser: int) -> str:
    # Refresh and retry of a day: a secondary looks only when notified.
    return (f"$ORIGIN {name}\n$TTL 300\n"
            f"@ IN SOA ns1.{name} hostmaster.{name} {ser} 86400 86400 "
            "2419200 300\n"
            f"@ IN NS ns1.{name}\n"
            "ns1 IN A 127.0.0.1\n"
            "www IN A 192.0.2.1\n")


def write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def write_servers(tmp: str) -> tuple[str, str]:
    prim, sec = os.path.join(tmp, "primary"), os.path.join(tmp, "secondary")
    os.mkdir(prim)
    os.mkdir(sec)
    zones = ""
    for i in range(ZONES):
        write(os.path.join(prim, zone(i) + "zone"), zone_file(zone(i),
                                                             serial(i)))
        zones += f"zone:\n  name: \"{zone(i)}\"\n  zonefile: \"{zone(i)}zone\"\n"
    write(os.path.join(prim, SEC_ZONE + "zone"), zone_file(SEC_ZONE, 1))
    zones += (f"zone:\n  name: \"{SEC_ZONE}\"\n"
              f"  zonefile: \"{SEC_ZONE}zone\"\n"
              "  provide-xfr: 127.0.0.1 NOKEY\n")
    write(os.path.join(prim, "nsd.conf"), nsd_conf(prim, PRIMARY_PORT, zones))
    write(os.path.join(sec, "nsd.conf"), nsd_conf(
        sec, SECONDARY_PORT,
        f"zone:\n  name: \"{SEC_ZONE}\"\n  zonefile: \"{SEC_ZONE}zone\"\n"
        f"  request-xfr: 127.0.0.1@{PRIMARY_PORT} NOKEY\n"
        "  allow-notify: 127.0.0.1 NOKEY\n"))
    return prim, sec


def soa(port: int, name: str) -> int | None:
    r = run_in("dns", [PY, os.path.join(HERE, "impair_relay.py"), "soa",
                       "127.0.0.1", str(port), name])
    out = r.stdout.strip()
    return None if out == "none" else int(out)


def wait_serial(port: int, name: str, want: int, secs: float) -> bool:
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if soa(port, name) == want:
            return True
        time.sleep(0.2)
    return False


def start_relay(impaired: bool) -> subprocess.Popen:
    args = [PY, os.path.join(HERE, "impair_relay.py"), "relay"]
    if impaired:
        args += ["--delay", str(DELAY[0]), str(DELAY[1]), "--dup", str(DUP),
                 "--seed", str(os.getpid())]
    args += [f"{POLL_DEST}={PRIMARY_PORT}", f"{NOTIFY_DEST}={SECONDARY_PORT}"]
    p = spawn("dns", args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    read_until(p.stdout, "ready", [])
    return p


def relay_stats(p: subprocess.Popen) -> dict:
    p.stdin.write("stats\n")
    p.stdin.flush()
    return json.loads(p.stdout.readline())


def start_minidns(minidns: str, log: list[str]) -> subprocess.Popen:
    p = spawn("mh", [minidns, f"--minidns.endpoint={ZMQ_ENDPOINT}",
                     f"--minidns.metrics-endpoint={METRICS}",
                     "--minidns.drain-timeout=1s",
                     f"--minidns.allow-destinations=[\"{SUBNET}.0/24\"]"],
              stderr=subprocess.PIPE)
    read_until(p.stderr, "minidns ready", log)
    drain(p.stderr, log)
    return p


def run_client(mode: str, arg: str, timeout: float) -> dict:
    r = run_in("mh", [PY, os.path.join(HERE, "lossy_client.py"), mode, arg],
               check=False, timeout=timeout)
    if r.returncode != 0 or not r.stdout.strip():
        raise RuntimeError(f"client {mode} failed ({r.returncode}):\n"
                           f"{r.stdout}\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def one_run(minidns: str, impaired: bool, prim: str, log: list[str],
            failures: list[str]) -> dict:
    name = "impaired" if impaired else "clean"
    relay = start_relay(impaired)
    md = start_minidns(minidns, log)
    try:
        res = run_client("polls", "90", 150)
        res["relay"] = relay_stats(relay)
        res["dropped"] = dropped() if impaired else (0, 0, 0, 0)
        if impaired:
            res["notify"] = notify_part(prim, relay, failures)
    finally:
        stop(md)
        stop(relay)
    if res["problem_count"]:
        failures.append(f"{name}: {res['problem_count']} problems, e.g. " +
                        "; ".join(res["problems"][:5]))
    if (res["statuses"] != POLLS or res["ok"] != POLLS or res["duplicates"]
            or res["missing"]):
        failures.append(f"{name}: {res['statuses']} statuses for {POLLS} "
                        f"polls, {res['ok']} right, {res['duplicates']} duplicates, "
                        f"{res['missing']} missing")
    if res["metrics"]["in_flight"] != 0:
        failures.append(f"{name}: {res['metrics']['in_flight']} requests "
                        "still in flight at minidns")
    return res


def notify_part(prim: str, relay: subprocess.Popen,
                failures: list[str]) -> dict:
    # The primary gets serial 2; the secondary does not look by itself.
    new = 2
    path = os.path.join(prim, SEC_ZONE + "zone")
    write(path, zone_file(SEC_ZONE, new))
    later = time.time() + 5  # NSD reloads a zone file whose mtime changed
    os.utime(path, (later, later))
    with open(os.path.join(prim, "nsd.pid")) as f:
        os.kill(int(f.read().strip()), signal.SIGHUP)
    if not wait_serial(PRIMARY_PORT, SEC_ZONE, new, 15):
        failures.append("notify: the primary does not serve the new serial "
                        f"after SIGHUP (serves {soa(PRIMARY_PORT, SEC_ZONE)})")
        return {}
    before = soa(SECONDARY_PORT, SEC_ZONE)
    if before != 1:
        failures.append(f"notify: the secondary serves {before} before the "
                        "NOTIFY, not 1")
    before_relay = relay_stats(relay)
    res = run_client("notify", str(new), 90)
    after_relay = relay_stats(relay)
    res["relay_datagrams"] = (after_relay["datagrams_in"] -
                              before_relay["datagrams_in"])
    res["secondary_serial"] = soa(SECONDARY_PORT, SEC_ZONE)
    st = [r for r in res["notify"] if r.get("request_id") == "notify"]
    if len(st) != 1 or len(res["notify"]) != 1:
        failures.append(f"notify: {len(res['notify'])} replies: "
                        f"{res['notify']}")
    elif (st[0].get("method"), st[0].get("status"), st[0].get("detail")) != (
            "update_status", "SUCCESS", "acknowledged"):
        failures.append(f"notify: {st[0]}")
    ps = [r for r in res["poll"] if r.get("request_id") == "after-notify"]
    if len(ps) != 1 or len(res["poll"]) != 1:
        failures.append(f"notify: {len(res['poll'])} replies to the poll "
                        f"of the secondary: {res['poll']}")
    elif ps[0].get("status") != "SUCCESS" or ps[0].get(
            "actual_serial") != new:
        failures.append(f"notify: the poll of the secondary: {ps[0]}")
    if [(r.get("request_id"), r.get("status"), r.get("actual_serial"))
            for r in res["tcp"]] != [("tcp", "SUCCESS", serial(0))]:
        failures.append(f"tcp: the poll over TCP: {res['tcp']}")
    if res["tcp_metrics"]["tcp_queries"] < 1:
        failures.append("tcp: no query went over TCP")
    if res["secondary_serial"] != new:
        failures.append(f"notify: the secondary serves "
                        f"{res['secondary_serial']} after the NOTIFY")
    return res


def table(a: dict, b: dict) -> str:
    def ms(x):
        return f"{x * 1000:.0f}"

    def attempts(r):
        m = r["metrics"]
        return m["soa_queries"] + m["shared_attempts"]

    rows = [
        ("polls (SUCCESS, right serial)",
         lambda r: f"{r['statuses']} ({r['ok']})"),
        ("SOA queries sent", lambda r: f"{r['metrics']['soa_queries']:.0f}"),
        ("attempts riding shared queries",
         lambda r: f"{r['metrics']['shared_attempts']:.0f}"),
        ("attempts per poll", lambda r: f"{attempts(r) / r['polls']:.3f}"),
        ("SOA attempts timed out",
         lambda r: f"{r['metrics']['soa_timeouts']:.0f}"),
        ("send errors / retries / waits",
         lambda r: f"{r['metrics']['send_errors']:.0f} / "
                   f"{r['metrics']['send_retries']:.0f} / "
                   f"{r['metrics']['send_waits']:.0f}"),
        ("replies dropped as unmatched",
         lambda r: f"{r['metrics']['unmatched']:.0f}"),
        ("time-to-status p50 (ms)", lambda r: ms(r["p50"])),
        ("time-to-status p99 (ms)", lambda r: ms(r["p99"])),
        ("time-to-status max (ms)", lambda r: ms(r["max"])),
        ("wall time (s)", lambda r: f"{r['wall']:.1f}"),
        ("relay datagrams in / out",
         lambda r: f"{r['relay']['datagrams_in']} / "
                   f"{r['relay']['datagrams_out']}"),
        ("relay duplicated / reordered",
         lambda r: f"{r['relay']['duplicated']} / "
                   f"{r['relay']['reordered']}"),
        ("nft packets to DNS host, dropped",
         lambda r: f"{r['dropped'][0]}, {r['dropped'][1]}"),
        ("nft packets from DNS host, dropped",
         lambda r: f"{r['dropped'][2]}, {r['dropped'][3]}"),
    ]
    lines = [f"lossy links: {POLLS} polls over {ZONES} zones, up to {WINDOW} "
             f"in flight, timeout {POLL_BUDGET['timeout']} s, retry "
             f"{POLL_BUDGET['retry_interval']} s, max_retries "
             f"{POLL_BUDGET['max_retries']}",
             f"impaired: {LOSS}% loss each way (nft input hooks), "
             f"delay {DELAY[0] * 1000:.0f}..{DELAY[1] * 1000:.0f} ms each "
             f"way, {DUP * 100:.0f}% duplicated (relay)",
             "",
             f"| {'':35} | {'A: clean':>14} | {'B: impaired':>14} |",
             f"|{'-' * 37}|{'-' * 15}:|{'-' * 15}:|"]
    for label, f in rows:
        lines.append(f"| {label:35} | {f(a):>14} | {f(b):>14} |")
    n = b.get("notify") or {}
    if n:
        lines.append("")
        st = (n["notify"] or [{}])[0]
        ps = (n["poll"] or [{}])[0]
        lines.append(
            f"NOTIFY (B): {st.get('status')} {st.get('detail')} after "
            f"{ms(n['notify_time'])} ms, {n['metrics']['notify_queries']:.0f}"
            f" NOTIFY(s) sent; poll of the secondary: {ps.get('status')} "
            f"serial {ps.get('actual_serial')} after {ms(n['poll_time'])} ms,"
            f" {n['metrics']['soa_queries']:.0f} SOA queries; secondary "
            f"serves {n['secondary_serial']}")
        tcp = (n["tcp"] or [{}])[0]
        lines.append(
            f"TCP poll (B): {tcp.get('status')} {tcp.get('detail')} after "
            f"{ms(n['tcp_time'])} ms, {n['tcp_metrics']['tcp_queries']:.0f} "
            "TCP queries")
    return "\n".join(lines)


def find(program: str) -> str | None:
    return shutil.which(program) or next(
        (p for p in (f"/usr/sbin/{program}", f"/sbin/{program}")
         if os.access(p, os.X_OK)), None)


NFT = "nft"


def main() -> int:
    global NFT
    minidns = os.path.abspath(sys.argv[1])
    nsd, nft_path = find("nsd"), find("nft")
    if not nsd:
        print("SKIP: nsd is not installed")
        return SKIP
    if not nft_path:
        print("SKIP: nft is not installed (Debian's nftables)")
        return SKIP
    NFT = nft_path
    try:
        import msgpack  # noqa: F401
        import zmq  # noqa: F401
    except ImportError as e:
        print(f"SKIP: {PY} lacks zmq or msgpack: {e}")
        return SKIP
    why = SEG.cannot()
    if why is not None:
        print(f"SKIP: {why}")
        return SKIP

    def interrupted(signum, frame):  # clean up on SIGTERM as on Ctrl-C
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="minidns-lossy-")
    failures: list[str] = []
    log: list[str] = []
    results = {}
    try:
        SEG.build()
        why = loss_on()
        if why is not None:
            print(f"SKIP: nftables does not work in a network namespace: "
                  f"{why}")
            return SKIP
        loss_off()
        prim, sec = write_servers(tmp)
        for d in (prim, sec):
            spawn("dns", [nsd, "-d", "-c", os.path.join(d, "nsd.conf")],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_serial(PRIMARY_PORT, zone(ZONES - 1), serial(ZONES - 1),
                           20):
            raise RuntimeError("the primary NSD did not come up")
        if not wait_serial(SECONDARY_PORT, SEC_ZONE, 1, 20):
            raise RuntimeError("the secondary NSD did not transfer "
                               f"{SEC_ZONE} from the primary")
        results["A"] = one_run(minidns, False, prim, log, failures)
        why = loss_on()
        if why is not None:
            raise RuntimeError(f"nft: {why}")
        results["B"] = one_run(minidns, True, prim, log, failures)
    finally:
        SEG.stop_all()
        SEG.teardown()
        if failures:
            for d in ("primary", "secondary"):
                path = os.path.join(tmp, d, "nsd.log")
                if os.path.exists(path):
                    with open(path) as f:
                        print(f"--- {d} nsd.log ---\n" + f.read()[-2000:])
        shutil.rmtree(tmp, ignore_errors=True)

    print(table(results["A"], results["B"]))
    print(f"\nlossy: total {time.monotonic() - t0:.1f} s")
    if failures:
        for f in failures:
            print("FAIL:", f)
        print("--- minidns (last lines) ---\n" + "\n".join(log[-30:]))
        return 1
    print("lossy: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
