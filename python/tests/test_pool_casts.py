"""The pool-level casts through the Python client, against the real minidns
daemon on loopback: polls across several destinations with a threshold,
expect "absent", get_serial_number, cancel, and their argument checks."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import unittest
from concurrent.futures import Future

import msgpack
import zmq

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from minidns_client import (  # noqa: E402
    CastRefused,
    Client,
    DestinationStatus,
    _main,
)
from minidns_client.protocol import (  # noqa: E402
    GET_SERIAL,
    NOTIFY,
    POLL,
    cancelled_status,
    make_cast,
)
from support import DaemonTest, Responder  # noqa: E402

WAIT = 15  # seconds a future may take when it must resolve
REFUSED, NXDOMAIN = 5, 3


class PoolCastTest(DaemonTest):
    def setUp(self):
        super().setUp()
        # A pool's three servers.
        self.r = [Responder() for _ in range(3)]

    def tearDown(self):
        for r in self.r:
            r.close()
        super().tearDown()

    def dests(self) -> list[str]:
        return [r.destination for r in self.r]

    def test_pool_poll_with_a_threshold_and_one_server_behind(self):
        d = self.daemon()
        # The two at the serial answer 0.2 s late: the one behind has
        # answered by then, and its line shows what it said.
        for r, serial in zip(self.r, (7, 9, 5)):
            r.serials["pool.test."] = serial
            r.serials["all.test."] = serial
        self.r[0].delay = self.r[1].delay = 0.2
        with Client(d.endpoint) as c:
            st = c.poll("pool.test.", 7, self.dests(), threshold=66,
                        timeout=1, retry_interval=0.05, max_retries=20,
                        context={"pool": "p"}).result(WAIT)
            self.assertEqual(st.status, "SUCCESS", st)
            self.assertEqual(st.detail, "threshold met")
            self.assertEqual(st.actual_serial, 7, "the lowest that reached")
            self.assertEqual(st.zone, "pool.test.")
            self.assertEqual(st.context, {"pool": "p"})
            self.assertEqual(st.destination, "")
            self.assertNotIn("destination", st.raw)
            self.assertEqual(st.destinations, [
                DestinationStatus(self.r[0].destination, "SUCCESS", 7,
                                  "matched"),
                DestinationStatus(self.r[1].destination, "SUCCESS", 9,
                                  "newer"),
                DestinationStatus(self.r[2].destination, "PENDING", 5,
                                  "lower serial"),
            ])
            self.assertEqual([x.ok for x in st.destinations],
                             [True, True, False])
            # All of them (the default, 100): missed, every line final.
            self.r[0].delay = self.r[1].delay = 0
            st = c.poll("all.test.", 7, self.dests(), timeout=1,
                        retry_interval=0.05, max_retries=2).result(WAIT)
            self.assertEqual((st.status, st.detail, st.actual_serial),
                             ("ERROR", "threshold missed", 5))
            self.assertEqual([(x.status, x.actual_serial, x.detail)
                              for x in st.destinations],
                             [("SUCCESS", 7, "matched"),
                              ("SUCCESS", 9, "newer"),
                              ("ERROR", 5, "lower serial")])
            self.assertEqual(c.in_flight(), 0)

    def test_get_serial(self):
        d = self.daemon()
        self.r[0].serials["gs.test."] = 42
        self.r[1].serials["gs.test."] = 40
        self.r[2].silent.add("gs.test.")
        with Client(d.endpoint) as c:
            ok = c.get_serial("gs.test.", self.r[0].destination,
                              context="ctx")
            bad = c.get_serial("gs.test.", self.r[2].destination,
                               timeout=0.1, retry_interval=0, max_retries=0)
            # Two of three answer: a 60 % threshold is met.
            pool = c.get_serial("gs.test.", self.dests(), threshold=60,
                                timeout=0.2, retry_interval=0, max_retries=0)
            st = ok.result(WAIT)
            self.assertEqual((st.status, st.actual_serial, st.detail),
                             ("SUCCESS", 42, "serial read"))
            self.assertEqual(st.raw["method"], "update_status")
            self.assertEqual(st.raw["domain"], {"name": "gs.test."})
            self.assertEqual(st.destination, self.r[0].destination)
            self.assertEqual(st.context, "ctx")
            self.assertEqual(st.destinations, [])
            st = bad.result(WAIT)
            self.assertEqual((st.status, st.actual_serial, st.detail),
                             ("ERROR", None, "timeout"))
            st = pool.result(WAIT)
            self.assertEqual((st.status, st.detail, st.actual_serial),
                             ("SUCCESS", "threshold met", 40))
            self.assertEqual([x.status for x in st.destinations][:2],
                             ["SUCCESS", "SUCCESS"])
        # The command line: serial, and a poll of a list.
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(_main(["serial", d.endpoint, "gs.test.",
                                    self.r[0].destination]), 0)
            self.assertEqual(_main([d.endpoint, "gs.test.", "41",
                                    ",".join(self.dests()[:2]),
                                    "--threshold=50"]), 0)
        lines = out.getvalue().splitlines()
        self.assertEqual(lines[0], "SUCCESS 42 serial read")
        self.assertEqual(lines[1], "SUCCESS 42 threshold met")
        self.assertIn(f"  {self.r[0].destination} SUCCESS 42 newer", lines)

    def test_expect_absent(self):
        d = self.daemon()
        self.r[0].rcodes["gone.test."] = REFUSED
        self.r[1].rcodes["gone.test."] = NXDOMAIN  # AA set: an authority
        self.r[2].serials["gone.test."] = 12  # still serves it
        with Client(d.endpoint) as c:
            gone = c.poll("gone.test.", None, self.r[0].destination,
                          expect="absent")
            served = c.poll("gone.test.", None, self.r[2].destination,
                            expect="absent", timeout=0.2,
                            retry_interval=0.01, max_retries=1)
            pool = c.poll("gone.test.", None, self.dests(), expect="absent",
                          threshold=50, timeout=0.2, retry_interval=0.01,
                          max_retries=1)
            st = gone.result(WAIT)
            self.assertEqual((st.status, st.actual_serial, st.detail),
                             ("SUCCESS", None, "rcode REFUSED"))
            self.assertNotIn("serial", st.raw["domain"])
            st = served.result(WAIT)
            self.assertEqual((st.status, st.actual_serial, st.detail),
                             ("ERROR", 12, "zone served"))
            st = pool.result(WAIT)
            self.assertEqual((st.status, st.detail), ("SUCCESS",
                                                      "threshold met"))
            self.assertEqual(st.destinations[0].detail, "rcode REFUSED")
            self.assertEqual(st.destinations[1].detail, "rcode NXDOMAIN")
            # Still serving it: pending when decided, or failed already.
            self.assertNotEqual(st.destinations[2].status, "SUCCESS")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(_main(["poll", "--expect=absent", d.endpoint,
                                    "gone.test.", "-",
                                    self.r[0].destination]), 0)
        self.assertEqual(out.getvalue(), "SUCCESS None rcode REFUSED\n")

    def test_cancel_ends_a_long_poll_before_its_reply(self):
        a, b = self.daemon(), self.daemon()
        for r in self.r:
            r.silent.update({"long.test.", "longpool.test."})
        errors: list[dict] = []
        with Client([a.endpoint, b.endpoint], on_error=errors.append) as c:
            self.assertTrue(c.wait_connected(WAIT))
            order: list[str] = []
            lock = threading.Lock()

            def record(name):
                def done(_):
                    with lock:
                        order.append(name)
                return done

            poll = c.poll("long.test.", 1, self.r[0].destination,
                          timeout=5, max_retries=3)
            pool = c.poll("longpool.test.", 1, self.dests(), timeout=5,
                          max_retries=3)
            # Both run: their first queries came.
            for r in self.r:
                self.assertTrue(r.wait_for_count(1 if r is not self.r[0]
                                                 else 2))
            poll.add_done_callback(record("poll"))
            pool.add_done_callback(record("pool"))
            n = c.cancel(poll)
            n.add_done_callback(record("cancel poll"))
            m = c.cancel(pool)
            m.add_done_callback(record("cancel pool"))
            self.assertEqual(n.result(WAIT), 1)
            self.assertEqual(m.result(WAIT), 1)
            with lock:
                self.assertLess(order.index("poll"),
                                order.index("cancel poll"), order)
                self.assertLess(order.index("pool"),
                                order.index("cancel pool"), order)
            st = poll.result(0)
            self.assertEqual((st.status, st.detail), ("ERROR", "cancelled"))
            self.assertEqual(len(st.tried), 1, "not sent elsewhere")
            self.assertEqual(st.instance, st.tried[0])
            st = pool.result(0)
            self.assertEqual((st.status, st.detail), ("ERROR", "cancelled"))
            self.assertEqual([x.status for x in st.destinations],
                             ["PENDING"] * 3)
            self.assertEqual(c.in_flight(), 0)
            # Ended already: nothing to cancel.
            self.assertEqual(c.cancel(poll).result(WAIT), 0)
            with self.assertRaisesRegex(ValueError, "^cancel: "):
                c.cancel("1")
            with self.assertRaisesRegex(ValueError, "^deadline: "):
                c.cancel(Future(), deadline=0)
            self.assertEqual(c.cancel(Future()).result(WAIT), 0)
        self.assertEqual(errors, [], "a reply taken as unknown")
        poll_casts = 'minidns_casts_total{method="poll_for_serial_number"}'
        self.assertEqual(a.metric(poll_casts) + b.metric(poll_casts), 2)

    def test_bad_arguments_raise_value_error(self):
        # Checked in the caller's thread, before anything is sent.
        dest = "127.0.0.1:53"
        with Client("tcp://127.0.0.1:1") as c:
            for t in (0, 101, -1, 50.0, "50", True, [50]):
                with self.subTest(threshold=t):
                    with self.assertRaisesRegex(ValueError,
                                                "^threshold_percentage: "):
                        c.poll("x.test.", 1, [dest], threshold=t)
                    with self.assertRaisesRegex(ValueError,
                                                "^threshold_percentage: "):
                        c.get_serial("x.test.", [dest], threshold=t)
            for e in ("Absent", "", "none", 1, b"absent"):
                with self.subTest(expect=e):
                    with self.assertRaisesRegex(ValueError, "^expect: "):
                        c.poll("x.test.", 1, dest, expect=e)
            too_many = [f"127.0.0.{i // 250 + 1}:{i + 1}"
                        for i in range(1001)]
            for dests, pattern in (([], "^destinations: "),
                                   (too_many, "^destinations: "),
                                   ([dest, 53], r"^destinations\[1\]: "),
                                   ([dest, "::1", dest],
                                    r"^destinations\[2\]: .* duplicates "
                                    r"destinations\[0\]"),
                                   ({dest}, "^destinations: ")):
                with self.subTest(destinations=dests):
                    with self.assertRaisesRegex(ValueError, pattern):
                        c.poll("x.test.", 1, dests)
                    with self.assertRaisesRegex(ValueError, pattern):
                        c.get_serial("x.test.", dests)
            self.assertEqual(c.in_flight(), 0)
        # make_cast: a list or one destination, never both; the pool keys
        # only where minidns takes them.
        with self.assertRaisesRegex(ValueError, "^destinations: "):
            make_cast(POLL, "x.test.", 1, dest, 2, 1, 3, None,
                      destinations=[dest])
        with self.assertRaisesRegex(ValueError, "^destinations: "):
            make_cast(NOTIFY, "x.test.", None, None, 2, 1, 3, None,
                      destinations=[dest])
        with self.assertRaisesRegex(ValueError, "^threshold_percentage: "):
            make_cast(NOTIFY, "x.test.", None, dest, 2, 1, 3, None,
                      threshold_percentage=50)
        with self.assertRaisesRegex(ValueError, "^expect: "):
            make_cast(GET_SERIAL, "x.test.", None, dest, 2, 1, 3, None,
                      expect="absent")
        # The command line refuses them too (exit 2).
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(_main(["tcp://127.0.0.1:1", "x.test.", "1",
                                    dest, "--threshold=0"]), 2)
            self.assertEqual(_main(["tcp://127.0.0.1:1", "x.test.", "-",
                                    dest]), 2)
            self.assertEqual(_main(["serial", "tcp://127.0.0.1:1",
                                    "x.test."]), 2)
        self.assertIn("threshold_percentage: ", err.getvalue())

    def test_pool_keys_are_sent_only_when_given(self):
        dest = "127.0.0.1:53"
        one = make_cast(POLL, "x.test.", 1, dest, 2, 1, 3, None)
        self.assertEqual(list(one), ["method", "context", "domain",
                                     "destination", "timeout",
                                     "retry_interval", "max_retries"])
        pool = make_cast(POLL, "x.test.", None, None, 2, 1, 3, None,
                         destinations=(dest, "[::1]:53"),
                         threshold_percentage=50, expect="absent")
        self.assertNotIn("destination", pool)
        self.assertEqual(pool["destinations"], [dest, "[::1]:53"])
        self.assertEqual(pool["threshold_percentage"], 50)
        self.assertEqual(pool["expect"], "absent")
        self.assertEqual(pool["domain"], {"name": "x.test."})
        gs = make_cast(GET_SERIAL, "x.test.", None, dest, 2, 1, 3, None)
        self.assertEqual(gs["method"], "get_serial_number")
        self.assertNotIn("serial", gs["domain"])
        # A poll cancelled before ZeroMQ took it ends as minidns ends one
        # still queued.
        st = cancelled_status(pool, 9, [0])
        self.assertEqual((st.status, st.detail, st.instance, st.tried),
                         ("ERROR", "cancelled", -1, [0]))
        self.assertEqual(st.destinations, [
            DestinationStatus(dest, "PENDING", None, "pending"),
            DestinationStatus("[::1]:53", "PENDING", None, "pending")])
        self.assertEqual(cancelled_status(one, 9, [0]).destination, dest)

    def test_a_refused_cancel_leaves_the_poll_to_its_status(self):
        # A minidns without cancel, played by a ROUTER socket: the cancel
        # fails with CastRefused, the poll still ends with its status.
        ctx = zmq.Context()
        server = ctx.socket(zmq.ROUTER)
        server.setsockopt(zmq.LINGER, 0)
        port = server.bind_to_random_port("tcp://127.0.0.1")

        def receive():
            self.assertTrue(server.poll(WAIT * 1000))
            peer, frame = server.recv_multipart()
            return peer, msgpack.unpackb(frame, raw=False)

        def reply(peer, msg):
            server.send_multipart([peer, msgpack.packb(msg)])

        errors: list[dict] = []
        try:
            with Client(f"tcp://127.0.0.1:{port}",
                        on_error=errors.append) as c:
                poll = c.poll("old.test.", 1, "127.0.0.1:53", timeout=5)
                peer, cast = receive()
                rid = cast["request_id"]
                self.assertEqual(cast["method"], POLL)
                n = c.cancel(poll)
                peer, cancel = receive()
                self.assertEqual(cancel, {"method": "cancel",
                                          "request_id": rid})
                reply(peer, {"method": "error", "request_id": rid,
                             "error": "method: unknown 'cancel'"})
                with self.assertRaisesRegex(CastRefused, "^method: "):
                    n.result(WAIT)
                self.assertFalse(poll.done())
                reply(peer, {"method": "update_status", "context": None,
                             "domain": cast["domain"],
                             "destination": "127.0.0.1:53", "request_id": rid,
                             "status": "SUCCESS", "actual_serial": 1,
                             "detail": "matched"})
                self.assertTrue(poll.result(WAIT).ok)
                # A "cancelled" nobody waits for is dropped, not an error.
                reply(peer, {"method": "cancelled", "request_id": rid,
                             "count": 0})
                self.assertEqual(c.cancel(poll).result(WAIT), 0)
        finally:
            server.close(0)
            ctx.term()
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
