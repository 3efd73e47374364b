"""Test support: the real minidns daemon as a subprocess, and a scripted DNS
server on loopback UDP. Everything waits on events with deadlines; nothing
sleeps for a fixed time."""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time
import unittest
import urllib.request
from typing import Optional

MINIDNS = os.environ.get("MINIDNS_BINARY", "build/minidns")


class Daemon:
    """minidns on an ephemeral loopback port, its log read by a thread."""

    def __init__(self, *args: str, metrics: bool = True,
                 endpoint: str = "tcp://127.0.0.1:*"):
        cmd = [MINIDNS, f"--minidns.endpoint={endpoint}",
               "--minidns.drain-timeout=1s", "--minidns.log-level=debug"]
        if metrics:
            cmd.append("--minidns.metrics-endpoint=127.0.0.1:0")
        cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._cv = threading.Condition()
        self._eof = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        line = self.wait_for("minidns ready", 10)
        if line is None:
            self.kill()
            raise RuntimeError("minidns did not start:\n" + self.log())
        self.endpoint = re.search(r"endpoint (\S+)", line).group(1)
        self.metrics_url = None
        if metrics:
            m = self.wait_for("metrics on http://", 0)
            self.metrics_url = re.search(r"(http://\S+)", m).group(1)

    def _read(self) -> None:
        for line in self.proc.stderr:
            with self._cv:
                self.lines.append(line.rstrip("\n"))
                self._cv.notify_all()
        with self._cv:
            self._eof = True
            self._cv.notify_all()

    def wait_for(self, needle: str, timeout: float) -> Optional[str]:
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for line in self.lines:
                    if needle in line:
                        return line
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    return None
                self._cv.wait(left)

    def log(self) -> str:
        with self._cv:
            return "\n".join(self.lines)

    def metric(self, series: str) -> float:
        """The value of one series of /metrics ("name{labels}")."""
        with urllib.request.urlopen(self.metrics_url, timeout=10) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(series + " "):
                    return float(line.split()[-1])
        return -1.0

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        finally:
            self._reader.join(5)
            self.proc.stderr.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(15)
        self._reader.join(5)


class Responder:
    """Answers SOA queries with a serial per zone and NOTIFYs with NOERROR;
    zones in `silent` get no answer, zones in `rcodes` that RCODE (AA set,
    no answer: a server that does not serve them); answers wait `delay`
    seconds."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 on_query=None):
        """`on_query(opcode, zone, peer_ip)` is called for every query, on
        the responder's thread."""
        self.on_query = on_query
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        self.destination = f"{host}:{self.port}"
        self.serials: dict[str, int] = {}
        self.default_serial = 1
        self.silent: set[str] = set()
        self.rcodes: dict[str, int] = {}  # zone: RCODE (5: REFUSED)
        self.delay = 0.0
        self.queries: list[tuple[int, str]] = []  # (opcode, zone)
        self._cv = threading.Condition()
        self._stop = False
        self._timers: list[threading.Timer] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        for t in self._timers:
            t.cancel()

    def wait_for_count(self, n: int, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        with self._cv:
            while len(self.queries) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
            return True

    def _run(self) -> None:
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            if len(data) < 12:
                continue
            qid, flags = struct.unpack("!HH", data[:4])
            opcode = (flags >> 11) & 0xF
            # The question: labels, then type and class.
            pos, labels = 12, []
            while pos < len(data) and data[pos] != 0:
                n = data[pos]
                labels.append(data[pos + 1:pos + 1 + n].decode("ascii",
                                                              "replace"))
                pos += 1 + n
            zone = ".".join(labels).lower() + "."
            question = data[12:pos + 5]
            with self._cv:
                self.queries.append((opcode, zone))
                self._cv.notify_all()
            if self.on_query is not None:
                self.on_query(opcode, zone, peer[0])
            if zone in self.silent:
                continue
            answers = b""
            count = 0
            rcode = self.rcodes.get(zone, 0)
            if opcode == 0 and rcode == 0:
                serial = self.serials.get(zone, self.default_serial)
                rdata = (b"\x03ns1\xc0\x0c\x0ahostmaster\xc0\x0c" +
                         struct.pack("!IIIII", serial, 7200, 3600, 1209600,
                                     300))
                answers = (struct.pack("!HHHIH", 0xC00C, 6, 1, 3600,
                                       len(rdata)) + rdata)
                count = 1
            reply = struct.pack("!HHHHHH", qid,
                                0x8000 | (opcode << 11) | 0x0400 | rcode, 1,
                                count, 0, 0) + question + answers
            if self.delay > 0:
                t = threading.Timer(self.delay, self._send, (reply, peer))
                self._timers.append(t)
                t.start()
            else:
                self._send(reply, peer)

    def _send(self, reply: bytes, peer) -> None:
        try:
            self.sock.sendto(reply, peer)
        except OSError:
            pass


class DaemonTest(unittest.TestCase):
    """A test that starts minidns daemons with daemon() and stops each one
    after it, failing when one exited other than cleanly or by the test's
    own SIGKILL."""

    def setUp(self):
        self.daemons: list[Daemon] = []

    def tearDown(self):
        for d in self.daemons:
            status = d.stop()
            if d.proc.returncode not in (0, -signal.SIGKILL):
                self.fail(f"minidns exited {status}:\n{d.log()}")

    def daemon(self, *args: str, **kw) -> Daemon:
        d = Daemon(*args, **kw)
        self.daemons.append(d)
        return d
