"""A DNS relay that impairs what it carries, for the lossy-links test
(lossy_test.py), and a tiny SOA query for checking servers.

    python3 impair_relay.py relay [--delay MIN MAX] [--dup P] [--seed N]
        LISTEN_IP:LISTEN_PORT=UPSTREAM_PORT ...
    python3 impair_relay.py soa HOST PORT ZONE

relay: for each LISTEN_IP:LISTEN_PORT=UPSTREAM_PORT, listens on that
address over UDP and TCP and forwards to 127.0.0.1:UPSTREAM_PORT.

- UDP: one upstream socket (bound to 127.0.0.1, an ephemeral port) per
  client address and listener, so the server's replies go back to the
  client from LISTEN_IP:LISTEN_PORT. Every datagram, in either direction,
  is held for a delay drawn uniformly from [MIN, MAX] seconds on its own,
  so datagrams overtake each other (reordering); with probability P it is
  sent twice, each copy with its own delay. Without --delay and --dup it
  forwards at once, untouched.
- TCP: each connection gets its own upstream connection; the bytes are
  passed on in order, each chunk after the delay (not duplicated: TCP
  would drop a duplicate segment anyway).

Prints "ready" once listening. A line "stats" on stdin prints one JSON
line of counters; end of stdin stops the relay (so it never outlives the
test that started it).

soa: asks HOST:PORT over UDP for ZONE's SOA (one query, 1 s) and prints
the serial, or "none".
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import struct
import sys
import threading


class Impairment:
    def __init__(self, loop, lo: float, hi: float, dup: float, seed: int):
        self.loop = loop
        self.lo, self.hi, self.dup = lo, hi, dup
        self.rng = random.Random(seed)
        self.stats = {"datagrams_in": 0, "datagrams_out": 0,
                      "duplicated": 0, "reordered": 0, "send_errors": 0,
                      "upstream_sockets": 0, "tcp_connections": 0,
                      "tcp_bytes": 0}
        # Per flow (listener, client, direction): the arrival number of
        # the newest datagram sent so far, to count the ones overtaken.
        self.arrived: dict[tuple, int] = {}
        self.newest_sent: dict[tuple, int] = {}

    def delay(self) -> float:
        return self.rng.uniform(self.lo, self.hi) if self.hi > 0 else 0.0

    def forward(self, flow: tuple, send) -> None:
        """Sends one datagram (send() does it), impaired."""
        self.stats["datagrams_in"] += 1
        seq = self.arrived.get(flow, 0) + 1
        self.arrived[flow] = seq
        copies = 2 if self.dup > 0 and self.rng.random() < self.dup else 1
        if copies == 2:
            self.stats["duplicated"] += 1
        for _ in range(copies):
            d = self.delay()
            if d <= 0:
                self._send(flow, seq, send)
            else:
                self.loop.call_later(d, self._send, flow, seq, send)

    def _send(self, flow: tuple, seq: int, send) -> None:
        newest = self.newest_sent.get(flow, 0)
        if seq < newest:
            self.stats["reordered"] += 1
        else:
            self.newest_sent[flow] = seq
        try:
            send()
            self.stats["datagrams_out"] += 1
        except OSError:
            self.stats["send_errors"] += 1


def big_buffers(sock: socket.socket) -> None:
    for opt, force in ((socket.SO_RCVBUF, 33), (socket.SO_SNDBUF, 32)):
        try:  # SO_RCVBUFFORCE / SO_SNDBUFFORCE: past rmem_max, as root
            sock.setsockopt(socket.SOL_SOCKET, force, 4 << 20)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, opt, 4 << 20)


class UdpListener:
    def __init__(self, loop, imp: Impairment, addr: str, port: int,
                 upstream: int):
        self.loop, self.imp, self.upstream = loop, imp, upstream
        self.name = f"{addr}:{port}"
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((addr, port))
        self.sock.setblocking(False)
        big_buffers(self.sock)
        self.up: dict[tuple, socket.socket] = {}
        loop.add_reader(self.sock, self.from_client)

    def from_client(self) -> None:
        while True:
            try:
                data, client = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            up = self.up.get(client)
            if up is None:
                up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                up.bind(("127.0.0.1", 0))
                up.connect(("127.0.0.1", self.upstream))
                up.setblocking(False)
                big_buffers(up)
                self.up[client] = up
                self.imp.stats["upstream_sockets"] += 1
                self.loop.add_reader(up, self.from_server, up, client)
            self.imp.forward((self.name, client, "up"),
                             lambda up=up, data=data: up.send(data))

    def from_server(self, up: socket.socket, client: tuple) -> None:
        while True:
            try:
                data = up.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP port unreachable from a server not up
                continue
            self.imp.forward(
                (self.name, client, "down"),
                lambda data=data: self.sock.sendto(data, client))


async def tcp_pipe(imp: Impairment, reader, writer) -> None:
    """Copies reader to writer in order, each chunk after a delay."""
    queue: asyncio.Queue = asyncio.Queue()
    loop = asyncio.get_running_loop()

    async def send():
        last = 0.0
        while True:
            due, data = await queue.get()
            due = max(due, last)
            last = due
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                break
            writer.write(data)
            await writer.drain()
            imp.stats["tcp_bytes"] += len(data)
        writer.close()

    sender = asyncio.ensure_future(send())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + imp.delay(), data or None))
            if not data:
                break
        await sender
    except (ConnectionError, OSError):
        sender.cancel()
        writer.close()


async def tcp_listener(imp: Impairment, addr: str, port: int, upstream: int):
    async def accept(reader, writer):
        imp.stats["tcp_connections"] += 1
        try:
            ureader, uwriter = await asyncio.open_connection(
                "127.0.0.1", upstream)
        except OSError:
            writer.close()
            return
        await asyncio.gather(tcp_pipe(imp, reader, uwriter),
                             tcp_pipe(imp, ureader, writer),
                             return_exceptions=True)

    return await asyncio.start_server(accept, addr, port, reuse_address=True)


def relay(args: list[str]) -> int:
    lo = hi = dup = 0.0
    seed = 1
    listens = []
    while args:
        a = args.pop(0)
        if a == "--delay":
            lo, hi = float(args.pop(0)), float(args.pop(0))
        elif a == "--dup":
            dup = float(args.pop(0))
        elif a == "--seed":
            seed = int(args.pop(0))
        else:
            where, upstream = a.split("=")
            addr, port = where.rsplit(":", 1)
            listens.append((addr, int(port), int(upstream)))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    imp = Impairment(loop, lo, hi, dup, seed)
    keep = []
    for addr, port, upstream in listens:
        keep.append(UdpListener(loop, imp, addr, port, upstream))
        keep.append(loop.run_until_complete(
            tcp_listener(imp, addr, port, upstream)))

    def control():
        for line in sys.stdin:
            if line.strip() == "stats":
                # Read from the loop's thread, so the counts are coherent.
                fut = asyncio.run_coroutine_threadsafe(
                    asyncio.sleep(0, dict(imp.stats)), loop)
                print(json.dumps(fut.result(5)), flush=True)
        os._exit(0)

    threading.Thread(target=control, daemon=True).start()
    print("ready", flush=True)
    loop.run_forever()
    return 0


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def skip_name(msg: bytes, off: int) -> int:
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def soa_serial(host: str, port: int, zone: str,
               timeout: float = 1.0) -> int | None:
    """The serial in HOST:PORT's authoritative SOA answer for ZONE, or
    None (no answer, or an answer without it)."""
    qid = random.randrange(65536)
    query = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + encode_name(
        zone) + struct.pack("!HH", 6, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(query, (host, port))
            while True:
                msg, _ = s.recvfrom(65535)
                if len(msg) >= 12 and struct.unpack("!H", msg[:2])[0] == qid:
                    break
        except OSError:  # timeout, refused
            return None
    _, flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
    if flags & 0x000F or not flags & 0x0400:  # an RCODE, or not AA
        return None
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    for _ in range(an):
        off = skip_name(msg, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        if rtype == 6:
            r = skip_name(msg, skip_name(msg, off))
            return struct.unpack("!I", msg[r:r + 4])[0]
        off += rdlen
    return None


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "relay":
        return relay(sys.argv[2:])
    if len(sys.argv) == 5 and sys.argv[1] == "soa":
        serial = soa_serial(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        print("none" if serial is None else serial)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
