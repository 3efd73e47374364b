"""A minidns cluster across hosts, built on one machine with network
namespaces: three minidns hosts, a pool-manager host and two DNS-server
hosts on one Ethernet segment (veth pairs on a bridge in a switch
namespace; addresses 10.77.0.0/24 exist only inside these namespaces).

It checks that
- the pool manager spreads polls over the three instances,
- a pool's NOTIFYs go through the instance assigned to that pool, so the
  secondaries see them from that instance's address (and transfer from
  it),
- when one minidns host is cut off mid-run, the pool manager re-issues
  that instance's unanswered polls on the others and every poll ends with
  exactly one SUCCESS.

Needs root (CAP_NET_ADMIN) and iproute2; where namespaces cannot be made
it says so and exits 77, which ctest reports as skipped. Cleans up its
namespaces whatever happens.

    python3 cluster_test.py MINIDNS_BINARY
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from netns import Segment, drain, read_until  # noqa: E402

PY = sys.executable
SUBNET = "10.77.0"
HOSTS = {  # name: last octet
    "pm": 2,
    "m1": 11,
    "m2": 12,
    "m3": 13,
    "dns1": 21,
    "dns2": 22,
}
SEG = Segment("md", SUBNET, HOSTS)
POLLS = 300
SKIP = 77
ARRIVED = threading.Condition()  # notified for every line drained


def cut_off(host: str) -> None:
    """Unplugs a host from the switch: its connections go silent."""
    SEG.ip("link", "set", SEG.port(host), "down", netns=SEG.ns("sw"))


def main() -> int:
    minidns = os.path.abspath(sys.argv[1])
    why = SEG.cannot()
    if why is not None:
        print(f"SKIP: {why}")
        return SKIP

    logs: dict[str, list[str]] = {}
    try:
        SEG.build()
        # Two DNS servers whose answers take 2 s: polls are in flight when
        # an instance is cut off.
        dns_queries: dict[str, list[str]] = {}
        for name in ("dns1", "dns2"):
            p = SEG.spawn(name, [PY, os.path.join(HERE, "dns_server.py"),
                             f"{SUBNET}.{HOSTS[name]}", "53", "1", "2"],
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            dns_queries[name] = []
            read_until(p.stdout, "ready", dns_queries[name])
            drain(p.stdout, dns_queries[name], ARRIVED)
        endpoints = []
        for name in ("m1", "m2", "m3"):
            addr = f"{SUBNET}.{HOSTS[name]}"
            p = SEG.spawn(name, [minidns, f"--minidns.endpoint=tcp://{addr}:5358",
                             "--minidns.drain-timeout=1s",
                             f"--minidns.allow-destinations=[\"{SUBNET}.0/24\"]"],
                      stderr=subprocess.PIPE)
            logs[name] = []
            read_until(p.stderr, "minidns ready", logs[name])
            drain(p.stderr, logs[name])
            endpoints.append(f"tcp://{addr}:5358")
        dns = [f"{SUBNET}.{HOSTS['dns1']}", f"{SUBNET}.{HOSTS['dns2']}"]
        pm = SEG.spawn("pm", [PY, os.path.join(HERE, "pool_manager.py"),
                          str(POLLS)] + dns + endpoints,
                   stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        pm_lines: list[str] = []
        read_until(pm.stdout, "sent", pm_lines)
        # Every poll has reached its DNS server: cut m3 off mid-run.
        total = POLLS + 20 + 2  # the 20 NOTIFYs, and the two "ready" lines
        with ARRIVED:
            if not ARRIVED.wait_for(
                    lambda: sum(len(q) for q in dns_queries.values()) >= total,
                    60):
                raise RuntimeError("the DNS servers did not see every query")
        cut_off("m3")
        pm.stdin.write("cut\n")
        pm.stdin.flush()
        result = json.loads(read_until(pm.stdout, "{", pm_lines))
        pm.wait(30)
    finally:
        SEG.stop_all()
        SEG.teardown()

    failures = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            failures.append(what)

    check(result["connected"] is True, "not every instance connected")
    check(not result["errors"], f"polls without a status: {result['errors']}")
    statuses = result["statuses"]
    zones = [z for z, _, _ in statuses]
    check(sorted(zones) == sorted(f"p{i}.test." for i in range(POLLS)),
          "not exactly one status per poll")
    check(all(st == "SUCCESS" for _, st, _ in statuses),
          "a poll did not succeed")
    first = [tried[0] for _, _, tried in statuses]
    check(all(first.count(i) == POLLS // 3 for i in range(3)),
          f"polls not spread evenly: {[first.count(i) for i in range(3)]}")
    moved = [tried for _, _, tried in statuses if len(tried) > 1]
    check(len(moved) == POLLS // 3 and all(t[0] == 2 and t[1] in (0, 1)
                                           for t in moved),
          f"m3's polls were not re-issued on m1/m2: {len(moved)} moved")
    # NOTIFYs: pool A only from m1's address, pool B only from m2's.
    for name, queries in dns_queries.items():
        notifies = [q.split() for q in queries if q.startswith("query 4 ")]
        a = {peer for _, _, zone, peer in notifies if "pool-a" in zone}
        b = {peer for _, _, zone, peer in notifies if "pool-b" in zone}
        check(len(notifies) == 10, f"{name}: {len(notifies)} NOTIFYs")
        check(a == {f"{SUBNET}.{HOSTS['m1']}"}, f"{name}: pool A from {a}")
        check(b == {f"{SUBNET}.{HOSTS['m2']}"}, f"{name}: pool B from {b}")
    print(f"cluster: {len(statuses)} statuses, spread "
          f"{[first.count(i) for i in range(3)]}, {len(moved)} re-issued "
          f"after m3 was cut off")
    if failures:
        for f in failures:
            print("FAIL:", f)
        for name, lines in logs.items():
            print(f"--- {name} ---\n" + "\n".join(lines[-20:]))
        return 1
    print("cluster: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
