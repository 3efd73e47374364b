"""Hosts on one Ethernet segment, built with network namespaces, for the
cluster tests: each host is a namespace with an eth0 at SUBNET.OCTET, its
veth peer on a bridge in a switch namespace. The addresses exist only
inside these namespaces. Also the helpers the tests share to run programs
in them and read their output."""

from __future__ import annotations

import os
import signal
import subprocess
import threading


class Segment:
    """Namespaces `PREFIX<pid>-<host>` for `hosts` (name: last octet of
    the address in `subnet`, e.g. "10.77.0"), plus the switch."""

    def __init__(self, prefix: str, subnet: str, hosts: dict[str, int]):
        self.tag = f"{prefix}{os.getpid() % 100000}"  # unique, short
        self.subnet = subnet
        self.hosts = hosts
        self.procs: list[subprocess.Popen] = []  # spawned, for stop_all()

    def ns(self, name: str) -> str:
        return f"{self.tag}-{name}"

    def addr(self, host: str) -> str:
        return f"{self.subnet}.{self.hosts[host]}"

    def ip(self, *args: str, netns: str | None = None, check: bool = True):
        cmd = ["ip"] + (["netns", "exec", netns, "ip"] if netns else [])
        return subprocess.run(cmd + list(args), check=check,
                              capture_output=True, text=True)

    def cannot(self) -> str | None:
        """Why namespaces cannot be made here (the tests then skip), or
        None."""
        if os.geteuid() != 0:
            return "network namespaces need root"
        probe = self.ip("netns", "add", self.ns("probe"), check=False)
        if probe.returncode != 0:
            return f"cannot create network namespaces: {probe.stderr.strip()}"
        self.ip("netns", "del", self.ns("probe"), check=False)
        return None

    def build(self) -> None:
        sw = self.ns("sw")
        self.ip("netns", "add", sw)
        self.ip("link", "add", "br0", "type", "bridge", netns=sw)
        self.ip("link", "set", "br0", "up", netns=sw)
        for host, octet in self.hosts.items():
            self.ip("netns", "add", self.ns(host))
            outer = self.port(host)
            self.ip("link", "add", outer, "type", "veth", "peer", "name",
                    "eth0", "netns", self.ns(host))
            self.ip("link", "set", outer, "netns", sw)
            self.ip("link", "set", outer, "master", "br0", netns=sw)
            self.ip("link", "set", outer, "up", netns=sw)
            self.ip("addr", "add", f"{self.subnet}.{octet}/24", "dev", "eth0",
                    netns=self.ns(host))
            self.ip("link", "set", "eth0", "up", netns=self.ns(host))
            self.ip("link", "set", "lo", "up", netns=self.ns(host))

    def port(self, host: str) -> str:
        """The switch-side end of `host`'s link."""
        return f"{self.tag}{self.hosts[host]}"

    def teardown(self) -> None:
        for name in list(self.hosts) + ["sw"]:
            self.ip("netns", "del", self.ns(name), check=False)

    def run_in(self, host: str, args: list[str], check: bool = True, **kw):
        return subprocess.run(["ip", "netns", "exec", self.ns(host)] + args,
                              check=check, capture_output=True, text=True,
                              **kw)

    def spawn(self, host: str, args: list[str], **kw) -> subprocess.Popen:
        """Starts `args` in `host`, in a session of its own (NSD forks;
        stop() ends the whole group)."""
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(host)] + args,
                             text=True, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            stop(p)


def stop(p: subprocess.Popen, sig=signal.SIGTERM) -> None:
    """Sends `sig` to `p`'s group, waits, then kills what is left."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            pass
    try:  # NSD's children, or anything else left in the group
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait(10)


def read_until(stream, needle: str, lines: list[str]) -> str:
    """Reads `stream` line by line (kept in `lines`) until one contains
    `needle`; raises when the stream ends first."""
    for line in stream:
        lines.append(line.rstrip("\n"))
        if needle in line:
            return line
    raise RuntimeError(f"no '{needle}' before the end:\n" + "\n".join(lines))


def drain(stream, lines: list[str],
          arrived: threading.Condition | None = None) -> threading.Thread:
    """Keeps reading `stream` into `lines` on a thread of its own;
    notifies `arrived` (when given) for every line."""
    def run():
        for line in stream:
            if arrived is None:
                lines.append(line.rstrip("\n"))
                continue
            with arrived:
                lines.append(line.rstrip("\n"))
                arrived.notify_all()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t
