#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/*). Needs only
the standard library and python3-msgpack (for cast). Re-run after changing a
seed; arguments name the corpora to write (default: all), e.g.
`make_seeds.py stream`."""
import hashlib
import hmac
import os
import struct
import sys

wanted = set(sys.argv[1:]) or {"reply", "cast", "stream", "tsig"}

here = os.path.dirname(os.path.abspath(__file__))


def name(text):
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(id_, flags, qd, an, ns=0, ar=0):
    return struct.pack(">HHHHHH", id_, flags, qd, an, ns, ar)


def soa_rdata(serial, compressed):
    if compressed:
        mname = b"\x03ns1\xc0\x0c"
        rname = b"\x0ahostmaster\xc0\x0c"
    else:
        mname = name("ns1.example.com.")
        rname = name("hostmaster.example.com.")
    return mname + rname + struct.pack(">IIIII", serial, 3600, 600, 86400, 300)


def soa_reply(serial, compressed=True, flags=0x8400, owner=b"\xc0\x0c"):
    q = name("example.com.") + struct.pack(">HH", 6, 1)
    rd = soa_rdata(serial, compressed)
    rr = owner + struct.pack(">HHIH", 6, 1, 3600, len(rd)) + rd
    return header(0x1234, flags, 1, 1) + q + rr


def write(kind, label, data):
    if kind not in wanted:
        return
    d = os.path.join(here, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, label), "wb") as f:
        f.write(data)


# reply: byte 0 selects the query (bit 0: notify; bits 1+: which name).
q_soa = name("example.com.") + struct.pack(">HH", 6, 1)
write("reply", "soa-compressed", b"\x00" + soa_reply(2024010101))
write("reply", "soa-uncompressed", b"\x00" + soa_reply(7, compressed=False,
                                                      owner=name("example.com.")))
write("reply", "soa-not-aa", b"\x00" + soa_reply(7, flags=0x8000))
rr7 = soa_reply(7)[12 + len(q_soa):]
rr8 = soa_reply(8)[12 + len(q_soa):]
write("reply", "soa-two", b"\x00" + header(0x1234, 0x8400, 1, 2) + q_soa + rr7 + rr8)
write("reply", "notify-noerror", b"\x01" + header(0x2000, 0xA400, 1, 0) + q_soa)
write("reply", "notify-nxdomain-noquestion", b"\x01" + header(0x2000, 0xA003, 0, 0))
write("reply", "notify-notauth", b"\x01" + header(0x2000, 0xA409, 1, 0) + q_soa)
write("reply", "pointer-loop", b"\x00" + header(1, 0x8400, 1, 1) + q_soa +
      b"\xc0\x1d" + struct.pack(">HHIH", 6, 1, 0, 4) + b"\xc0\x1d\xc0\x1d")
write("reply", "root-zone", b"\x02" + header(5, 0x8400, 1, 0) + b"\0" +
      struct.pack(">HH", 6, 1))

# cast: whole ZeroMQ frames.
def cast_seeds():
    import msgpack

    base = {"method": "poll_for_serial_number", "context": {"user": "x"},
            "domain": {"name": "example.com.", "serial": 5, "id": "z"},
            "destination": "127.0.0.1:5300", "timeout": 1.5,
            "retry_interval": 1, "max_retries": 3, "request_id": 1}
    write("cast", "poll", msgpack.packb(base))
    write("cast", "notify-v6", msgpack.packb(dict(base, method="notify_zone_changed",
                                                 destination="[::1]:53")))
    write("cast", "bad-port", msgpack.packb(dict(base, destination="127.0.0.1:0")))
    write("cast", "bad-name", msgpack.packb(dict(base, domain={"name": "a" * 64 + ".com"})))
    write("cast", "float32-timeout", msgpack.packb(base, use_single_float=True))
    write("cast", "array", msgpack.packb([1, 2, 3]))
    write("cast", "nested", msgpack.packb(dict(base, context=[[[[[[1]]]]]])))
    write("cast", "bin-context", msgpack.packb(dict(base, context=b"\x00\xff"),
                                               use_bin_type=True))
    pool = dict(base, destinations=["127.0.0.1:5300", "[::1]:53", "192.0.2.1"],
                threshold_percentage=66)
    del pool["destination"]
    write("cast", "pool-poll", msgpack.packb(pool))
    write("cast", "pool-duplicate", msgpack.packb(
        dict(pool, destinations=["192.0.2.1", "192.0.2.1:53"])))
    write("cast", "pool-absent", msgpack.packb(dict(pool, expect="absent")))
    get = dict(base, method="get_serial_number", domain={"name": "example.com."})
    write("cast", "get-serial", msgpack.packb(get))
    write("cast", "cancel", msgpack.packb({"method": "cancel", "request_id": [1, "x"]}))
    write("cast", "cancel-no-id", msgpack.packb({"method": "cancel"}))


if "cast" in wanted:
    cast_seeds()


# stream: what a DNS server sends over TCP. Byte 0 is how many chunk-size
# bytes follow (fuzz_stream.cpp: below 0xf0 a size in bytes, 0 an empty
# read; from 0xf0 ((s & 0x0f) + 1) * 4096 bytes); the rest is the stream.
def framed(msg):
    return struct.pack(">H", len(msg)) + msg


def stream(label, sizes, data):
    write("stream", label, bytes([len(sizes)]) + bytes(sizes) + data)


reply_a = soa_reply(2024010101)
reply_b = header(0x2000, 0xA400, 1, 0) + q_soa
two = framed(reply_a) + framed(reply_b)
stream("whole-messages", [], two)
stream("split-messages", [1, 3, 7, 50], two)
stream("byte-by-byte", [1], two)
stream("prefix-split-from-body", [1, 2, len(reply_a)], two)
stream("empty-reads", [0, 0, 5], two)
stream("zero-length", [1, 4], framed(b"") + framed(b"") + framed(b"\x12") +
       framed(b"") + framed(reply_b))
stream("max-length-short-body", [3, 0x80], b"\xff\xff" + reply_a)
stream("max-length-whole", [0xff, 1],
       framed(bytes(range(256)) * 255 + bytes(255)) + framed(reply_b))
stream("huge-then-junk", [0xf0], b"\xff\xfe" + b"\xaa" * 5000)
stream("odd-byte", [], b"\x00")


# tsig: replies to a query signed with "fuzz-key." (hmac-sha256, secret
# "fuzz-secret") whose MAC was 32 bytes of 0x11, checked at time 1700000000
# (fuzz_tsig.cpp). The MAC is computed here as RFC 8945 section 4.3.3 says.
KEY = name("fuzz-key.")
ALG = name("hmac-sha256.")
REQUEST_MAC = b"\x11" * 32
NOW = 1700000000


def tsig_rr(msg, mac=None, error=0, time_signed=NOW, other=b""):
    """The TSIG record for `msg` (ARCOUNT not yet counting it)."""
    variables = (KEY + struct.pack(">HI", 255, 0) + ALG +
                 struct.pack(">HI", time_signed >> 32, time_signed & 0xffffffff) +
                 struct.pack(">HHH", 300, error, len(other)) + other)
    if mac is None:
        data = struct.pack(">H", len(REQUEST_MAC)) + REQUEST_MAC + msg + variables
        mac = hmac.new(b"fuzz-secret", data, hashlib.sha256).digest()
    rdata = (ALG + struct.pack(">HI", time_signed >> 32, time_signed & 0xffffffff) +
             struct.pack(">HH", 300, len(mac)) + mac + msg[:2] +
             struct.pack(">HH", error, len(other)) + other)
    return KEY + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata


def signed(msg, **kw):
    rr = tsig_rr(msg, **kw)
    ar = struct.unpack(">H", msg[10:12])[0] + 1
    return msg[:10] + struct.pack(">H", ar) + msg[12:] + rr


if "tsig" in wanted:
    soa = soa_reply(7)
    write("tsig", "signed-soa", signed(soa))
    write("tsig", "signed-notify", signed(header(0x2000, 0xA400, 1, 0) + q_soa))
    write("tsig", "unsigned", soa)
    write("tsig", "badsig-unsigned",
          signed(header(0x1234, 0x8409, 1, 0) + q_soa, mac=b"", error=16))
    write("tsig", "badtime-signed", signed(soa, error=18))
    write("tsig", "wrong-mac", signed(soa, mac=b"\0" * 32))
    write("tsig", "late", signed(soa, time_signed=NOW - 1000))
    write("tsig", "truncated", signed(soa)[:-7])
