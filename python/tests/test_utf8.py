"""A pool manager that decodes strictly (Python's msgpack, raw=False) gets
every reply: casts whose strings are not UTF-8 come back as an error that
names the field, and no reply carries the bad bytes."""

from __future__ import annotations

import os
import signal
import sys
import unittest

import msgpack
import zmq

sys.path.insert(0, os.path.dirname(__file__))

from support import Daemon  # noqa: E402

WAIT_MS = 15000


class RawStr:
    """Bytes packed as a msgpack str (not bin), UTF-8 or not: what a buggy
    or fuzzing pool manager sends."""

    def __init__(self, data: bytes):
        self.data = data


def pack(obj) -> bytes:
    """msgpack.packb, except that RawStr values become str with raw bytes."""
    if isinstance(obj, RawStr):
        n = len(obj.data)
        head = bytes([0xA0 | n]) if n < 32 else b"\xd9" + bytes([n])
        return head + obj.data
    if isinstance(obj, dict):
        n = len(obj)
        head = bytes([0x80 | n]) if n < 16 else b"\xde" + n.to_bytes(2, "big")
        return head + b"".join(pack(k) + pack(v) for k, v in obj.items())
    return msgpack.packb(obj, use_bin_type=True)


class Utf8Test(unittest.TestCase):
    def setUp(self):
        self.daemon = Daemon(metrics=False)
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.daemon.endpoint)

    def tearDown(self):
        self.sock.close()
        self.ctx.term()
        status = self.daemon.stop()
        if self.daemon.proc.returncode not in (0, -signal.SIGKILL):
            self.fail(f"minidns exited {status}:\n{self.daemon.log()}")

    def ask(self, cast: dict) -> dict:
        self.sock.send(pack(cast))
        self.assertTrue(self.sock.poll(WAIT_MS), "no reply")
        # raw=False: every str must be UTF-8, as many pool managers insist.
        return msgpack.unpackb(self.sock.recv(), raw=False)

    @staticmethod
    def poll_cast(**over) -> dict:
        # request_id first: it is echoed if read before a bad string.
        cast = {
            "request_id": 7,
            "method": "poll_for_serial_number",
            "context": {"tenant": "t1"},
            "domain": {"name": "example.com.", "serial": 1},
            "destination": "127.0.0.1:9",
            "timeout": 0.2,
            "retry_interval": 0.0,
            "max_retries": 0,
        }
        cast.update(over)
        return cast

    def test_bad_strings_come_back_as_a_decodable_error_naming_the_field(self):
        cases = {
            "context": {"context": {"tenant": RawStr(b"t\xff1")}},
            "domain": {"domain": {"name": RawStr(b"ex\xffample.com."),
                                  "serial": 1}},
            "destination": {"destination": RawStr(b"127.0.0.\xff")},
            "method": {"method": RawStr(b"poll\xff")},
        }
        for field, over in cases.items():
            with self.subTest(field=field):
                reply = self.ask(self.poll_cast(**over))
                self.assertEqual(reply["method"], "error", reply)
                self.assertTrue(reply["error"].startswith(field + ":"), reply)
                self.assertIn("UTF-8", reply["error"])
                self.assertEqual(reply.get("request_id"), 7, reply)

    def test_valid_utf8_beyond_ascii_is_echoed(self):
        reply = self.ask(self.poll_cast(context={"équipe": "😀"}))
        self.assertEqual(reply["method"], "update_status", reply)
        self.assertEqual(reply["context"], {"équipe": "😀"})


if __name__ == "__main__":
    unittest.main()
