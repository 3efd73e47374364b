"""The Python client against the real minidns daemon on loopback."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from minidns_client import (  # noqa: E402
    Client,
    DeadlineExceeded,
    generate_keys,
    load_key_file,
)
from minidns_client.protocol import (  # noqa: E402
    NOTIFY,
    POLL,
    encode_cast,
    make_cast,
)
from support import DaemonTest, Responder  # noqa: E402

WAIT = 15  # seconds a future may take when it must resolve


class ClientTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.responder = Responder()

    def tearDown(self):
        self.responder.close()
        super().tearDown()

    def test_poll_resolves_with_success_and_error(self):
        d = self.daemon()
        self.responder.serials["ok.test."] = 7
        self.responder.silent.add("silent.test.")
        with Client(d.endpoint) as c:
            ok = c.poll("ok.test.", 7, self.responder.destination,
                        context={"pool": "a"})
            bad = c.poll("silent.test.", 7, self.responder.destination,
                         timeout=0.1, retry_interval=0, max_retries=1)
            st = ok.result(WAIT)
            self.assertTrue(st.ok)
            self.assertEqual(st.actual_serial, 7)
            self.assertEqual(st.detail, "matched")
            self.assertEqual(st.zone, "ok.test.")
            self.assertEqual(st.context, {"pool": "a"})
            err = bad.result(WAIT)
            self.assertEqual(err.status, "ERROR")
            self.assertEqual(err.detail, "timeout")
            self.assertIsNone(err.actual_serial)
            self.assertEqual(c.in_flight(), 0)

    def test_invalid_cast_comes_back_named(self):
        d = self.daemon()
        with Client(d.endpoint) as c:
            st = c.poll("ok.test.", 1, "not-an-address").result(WAIT)
            self.assertEqual(st.status, "ERROR")
            self.assertEqual(st.detail, "invalid cast")
            self.assertTrue(st.raw["error"].startswith("destination:"),
                            st.raw)
            errors = []
            got = __import__("threading").Event()

            def on_error(msg):
                errors.append(msg)
                got.set()

        with Client(d.endpoint, on_error=on_error) as c:
            c.notify("ok.test.", "192.0.2.1", timeout=-1)
            self.assertTrue(got.wait(WAIT))
            self.assertTrue(errors[0]["error"].startswith("timeout:"),
                            errors)

    def test_client_deadline_when_nobody_answers(self):
        # A port nobody listens on: no connection, no status.
        with Client("tcp://127.0.0.1:1") as c:
            fut = c.poll("x.test.", 1, "127.0.0.1:53", deadline=0.3)
            with self.assertRaises(DeadlineExceeded):
                fut.result(WAIT)

    def test_polls_spread_over_instances(self):
        a, b = self.daemon(), self.daemon()
        with Client([a.endpoint, b.endpoint]) as c:
            # Polls go to connected instances first: wait for both.
            self.assertTrue(c.wait_connected(WAIT))
            futs = [c.poll(f"z{i}.test.", 1, self.responder.destination)
                    for i in range(20)]
            statuses = [f.result(WAIT) for f in futs]
        self.assertTrue(all(s.ok for s in statuses))
        used = [s.instance for s in statuses]
        self.assertEqual(used.count(0), 10)
        self.assertEqual(used.count(1), 10)
        poll = 'minidns_casts_total{method="poll_for_serial_number"}'
        self.assertEqual(a.metric(poll), 10)
        self.assertEqual(b.metric(poll), 10)

    def test_notify_goes_through_the_chosen_instance(self):
        a, b = self.daemon(), self.daemon()
        with Client([a.endpoint, b.endpoint]) as c:
            # Three zones: identical NOTIFYs would be coalesced.
            for i in range(3):
                c.notify(f"pool{i}.test.", self.responder.destination,
                         instance=1)
            self.assertTrue(self.responder.wait_for_count(3))
        notify = 'minidns_casts_total{method="notify_zone_changed"}'
        self.assertEqual(a.metric(notify), 0)
        self.assertEqual(b.metric(notify), 3)
        self.assertTrue(all(op == 4 for op, _ in self.responder.queries))

    def test_busy_polls_move_to_another_instance(self):
        # Instance 0 runs one cast and queues one: a third is busy.
        a = self.daemon("--minidns.max-in-flight=1",
                        "--minidns.max-queued-per-pool-manager=1")
        b = self.daemon()
        self.responder.silent.add("stuck.test.")
        self.responder.serials["ok.test."] = 4
        with Client([a.endpoint, b.endpoint]) as c:
            self.assertTrue(c.wait_connected(WAIT))
            stuck = [c.poll("stuck.test.", 1, self.responder.destination,
                            timeout=5, max_retries=0, instance=0)
                     for _ in range(2)]
            self.assertTrue(self.responder.wait_for_count(1))
            # Round-robin sends one of these to instance 0: busy there, it
            # moves to instance 1.
            oks = [c.poll("ok.test.", 4, self.responder.destination,
                          max_retries=0) for _ in range(2)]
            statuses = [f.result(WAIT) for f in oks]
            for st in statuses:
                self.assertTrue(st.ok, st)
                self.assertEqual(st.instance, 1)
            self.assertIn([0, 1], [st.tried for st in statuses])
            self.assertEqual(a.metric("minidns_casts_busy_total"), 1)
            del stuck

    def test_curve_keys(self):
        tmp = tempfile.mkdtemp()
        server_pub, server_sec = generate_keys()
        pm_pub, pm_sec = generate_keys()
        key_file = os.path.join(tmp, "server.key")
        with open(key_file, "w") as f:
            f.write(f'public-key = "{server_pub}"\nsecret-key = '
                    f'"{server_sec}"\n')
        clients = os.path.join(tmp, "clients")
        with open(clients, "w") as f:
            f.write(pm_pub + "\n")
        self.assertEqual(load_key_file(key_file), (server_pub, server_sec))
        d = self.daemon(f"--minidns.curve-key-file={key_file}",
                        f"--minidns.curve-clients-file={clients}")
        with Client(d.endpoint, server_key=server_pub, public_key=pm_pub,
                    secret_key=pm_sec) as c:
            self.assertTrue(c.poll("k.test.", 1,
                                   self.responder.destination)
                            .result(WAIT).ok)
        other_pub, other_sec = generate_keys()
        with Client(d.endpoint, server_key=server_pub, public_key=other_pub,
                    secret_key=other_sec) as c:
            with self.assertRaises(DeadlineExceeded):
                c.poll("k.test.", 1, self.responder.destination,
                       deadline=0.5).result(WAIT)
        self.assertIsNotNone(d.wait_for("refused a pool manager", WAIT))
        with self.assertRaises(ValueError):
            Client(d.endpoint, server_key=server_pub)

    def test_status_survives_a_reconnect(self):
        d = self.daemon()
        self.responder.delay = 0.3
        with Client(d.endpoint, routing_id="pm-test") as c:
            fut = c.poll("slow.test.", 1, self.responder.destination,
                         timeout=2)
            self.assertTrue(self.responder.wait_for_count(1))
            c.reconnect(0)
            st = fut.result(WAIT)
            self.assertTrue(st.ok)
            self.assertEqual(st.instance, 0)

    def test_polls_of_a_lost_instance_move_to_another(self):
        a, b = self.daemon(), self.daemon()
        self.responder.delay = 0.5
        with Client([a.endpoint, b.endpoint]) as c:
            self.assertTrue(c.wait_connected(WAIT))
            futs = [c.poll(f"f{i}.test.", 1, self.responder.destination,
                           timeout=3, max_retries=0)
                    for i in range(10)]
            # Both instances have sent their queries; then one dies.
            self.assertTrue(self.responder.wait_for_count(10))
            a.kill()
            statuses = [f.result(WAIT) for f in futs]
        self.assertTrue(all(s.ok for s in statuses), statuses)
        # Every poll ended once, all on the survivor; half of them had gone
        # to the lost instance first.
        self.assertEqual({s.instance for s in statuses}, {1})
        self.assertEqual(sum(s.tried == [0, 1] for s in statuses), 5)
        self.assertEqual(sorted(s.zone for s in statuses),
                         sorted(f"f{i}.test." for i in range(10)))

    def test_a_killed_instance_restarted_takes_casts_again(self):
        a, b = self.daemon(), self.daemon()
        self.responder.delay = 0.3
        with Client([a.endpoint, b.endpoint]) as c:
            self.assertTrue(c.wait_connected(WAIT))
            futs = [c.poll(f"k{i}.test.", 1, self.responder.destination,
                           timeout=3, max_retries=0) for i in range(10)]
            self.assertTrue(self.responder.wait_for_count(10))
            a.kill()  # SIGKILL mid-run: its polls move to b
            statuses = [f.result(WAIT) for f in futs]
            self.assertTrue(all(s.ok for s in statuses), statuses)
            self.assertEqual(len({s.zone for s in statuses}), 10)
            # Restarted on its endpoint: the client reconnects by itself,
            # and the instance takes casts again.
            self.daemon(endpoint=a.endpoint)
            self.assertTrue(c.wait_connected(WAIT))
            st = c.poll("back.test.", 1, self.responder.destination,
                        instance=0, timeout=2).result(WAIT)
            self.assertTrue(st.ok, st)
            self.assertEqual(st.instance, 0)
            spread = [c.poll(f"s{i}.test.", 1, self.responder.destination,
                             timeout=2) for i in range(10)]
            self.assertEqual({f.result(WAIT).instance for f in spread},
                             {0, 1})

    def test_bad_delay_and_transport_raise_value_error(self):
        # Checked in the caller's thread, before anything is sent: the
        # same ranges as minidns's (docs/protocol.md).
        bad_delays = [-1, -0.001, 3600.5, 3601, float("nan"), float("inf"),
                      "1", True, [1]]
        bad_transports = ["sctp", "UDP", "", 1, b"udp"]
        with Client("tcp://127.0.0.1:1") as c:
            for delay in bad_delays:
                with self.subTest(delay=delay):
                    with self.assertRaisesRegex(ValueError, "^delay: "):
                        c.poll("x.test.", 1, "127.0.0.1:53", delay=delay)
                    with self.assertRaisesRegex(ValueError, "^delay: "):
                        c.notify("x.test.", "127.0.0.1:53", delay=delay)
            for transport in bad_transports:
                with self.subTest(transport=transport):
                    with self.assertRaisesRegex(ValueError, "^transport: "):
                        c.poll("x.test.", 1, "127.0.0.1:53",
                               transport=transport)
                    with self.assertRaisesRegex(ValueError, "^transport: "):
                        c.notify("x.test.", "127.0.0.1:53",
                                 transport=transport)
            self.assertEqual(c.in_flight(), 0)

    def test_delay_and_transport_are_sent_only_when_given(self):
        plain = make_cast(POLL, "x.test.", 1, "127.0.0.1:53", 2, 1, 3, None)
        self.assertNotIn("delay", plain)
        self.assertNotIn("transport", plain)
        both = make_cast(POLL, "x.test.", 1, "127.0.0.1:53", 2, 1, 3, None,
                         delay=0, transport="tcp")
        self.assertEqual(both["delay"], 0.0)
        self.assertEqual(both["transport"], "tcp")
        self.assertEqual(make_cast(POLL, "x.test.", 1, "127.0.0.1:53", 2, 1,
                                   3, None, delay=3600)["delay"], 3600.0)
        self.assertIn(b"\xa9transport\xa3tcp", encode_cast(both))

    def test_notify_with_want_status_resolves_with_its_status(self):
        d = self.daemon()
        self.responder.silent.add("silent.test.")
        soa = {"mname": "ns1.n.test.", "rname": "admin.n.test.",
               "serial": 5, "refresh": 3600, "retry": 600,
               "expire": 86400, "minimum": 300, "ttl": 900}
        with Client(d.endpoint) as c:
            self.assertIsNone(c.notify("plain.test.",
                                       self.responder.destination))
            ok = c.notify("n.test.", self.responder.destination,
                          want_status=True, soa=soa)
            bad = c.notify("silent.test.", self.responder.destination,
                           want_status=True, timeout=0.1, retry_interval=0,
                           max_retries=0)
            st = ok.result(WAIT)
            self.assertTrue(st.ok)
            self.assertEqual(st.detail, "acknowledged")
            self.assertIsNone(st.actual_serial)
            self.assertEqual(st.zone, "n.test.")
            err = bad.result(WAIT)
            self.assertFalse(err.ok)
            self.assertEqual(err.detail, "timeout")
            self.assertEqual(c.in_flight(), 0)

    def test_bad_soa_and_want_status_raise_value_error(self):
        good = {"mname": "a.", "rname": "b.", "serial": 1, "refresh": 2,
                "retry": 3, "expire": 4, "minimum": 5, "ttl": 6}
        cast = make_cast(NOTIFY, "x.test.", None, "127.0.0.1:53", 2, 1, 3,
                         None, want_status=True, soa=good)
        self.assertEqual(cast["domain"]["soa"], good)
        self.assertIs(cast["want_status"], True)
        bad = [("x", "^domain.soa: "),
               ({**good, "serial": -1}, "^domain.soa.serial: "),
               ({**good, "ttl": 2 ** 32}, "^domain.soa.ttl: "),
               ({**good, "mname": 1}, "^domain.soa.mname: "),
               ({k: v for k, v in good.items() if k != "expire"},
                "^domain.soa.expire: "),
               ({**good, "extra": 1}, "^domain.soa: ")]
        for soa, pattern in bad:
            with self.subTest(soa=soa):
                with self.assertRaisesRegex(ValueError, pattern):
                    make_cast(NOTIFY, "x.test.", None, "127.0.0.1:53", 2, 1,
                              3, None, soa=soa)
        with self.assertRaisesRegex(ValueError, "^want_status: "):
            make_cast(NOTIFY, "x.test.", None, "127.0.0.1:53", 2, 1, 3, None,
                      want_status=1)
        keyed = make_cast(POLL, "x.test.", 1, "127.0.0.1:53", 2, 1, 3, None,
                          tsig_key="pm-key")
        self.assertEqual(keyed["tsig_key"], "pm-key")
        self.assertNotIn("tsig_key", cast)
        for bad_key in ("", 1, b"k"):
            with self.assertRaisesRegex(ValueError, "^tsig_key: "):
                make_cast(POLL, "x.test.", 1, "127.0.0.1:53", 2, 1, 3, None,
                          tsig_key=bad_key)

    def test_delay_holds_the_first_query_back(self):
        d = self.daemon()
        arrived: dict[str, float] = {}  # zone: when its first query came
        cv = threading.Condition()

        def on_query(opcode, zone, peer):
            with cv:
                arrived.setdefault(zone, time.monotonic())
                cv.notify_all()

        def arrival(zone: str) -> float:
            with cv:
                self.assertTrue(cv.wait_for(lambda: zone in arrived, WAIT),
                                f"no query for {zone}")
                return arrived[zone]

        self.responder.on_query = on_query
        with Client(d.endpoint) as c:
            self.assertTrue(c.wait_connected(WAIT))
            start = time.monotonic()
            fut = c.poll("later.test.", 1, self.responder.destination,
                         delay=0.3, transport="udp", max_retries=0)
            st = fut.result(WAIT)
            answered = time.monotonic()
            self.assertTrue(st.ok, st)
            self.assertGreaterEqual(answered - start, 0.3)
            self.assertGreaterEqual(arrival("later.test.") - start, 0.3)
            # A notify's delay reaches minidns too.
            start = time.monotonic()
            c.notify("later-notify.test.", self.responder.destination,
                     delay=0.3)
            self.assertGreaterEqual(arrival("later-notify.test.") - start,
                                    0.3)
        poll = 'minidns_casts_total{method="poll_for_serial_number"}'
        self.assertEqual(d.metric(poll), 1)


if __name__ == "__main__":
    unittest.main()
