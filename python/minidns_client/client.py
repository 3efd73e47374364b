"""The Client: its public API (poll, get_serial, notify, cancel, the
connection state). The DEALER sockets and the I/O thread that sends casts,
resolves the polls' (and cancels') futures and fails polls over are in
_internals.py (see the package's docstring)."""

from __future__ import annotations

import itertools
import queue
import threading
import uuid
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any, Callable, Optional, Sequence, Union

import zmq

from ._internals import _Cancel, _ClientInternals, _Pending  # noqa: F401
from .protocol import GET_SERIAL, NOTIFY, POLL, make_cast

#: One destination ("192.0.2.53:53"), or a list of them (a pool's servers).
Destinations = Union[str, Sequence[str]]


class Client(_ClientInternals):
    """Connects to minidns instances and sends casts; thread-safe."""

    def __init__(
        self,
        endpoints: Sequence[str] | str,
        *,
        routing_id: Optional[bytes | str] = None,
        server_key: Optional[str] = None,
        public_key: Optional[str] = None,
        secret_key: Optional[str] = None,
        failover: bool = True,
        grace: float = 2.0,
        heartbeat: float = 1.0,
        on_error: Optional[Callable[[dict], None]] = None,
    ):
        """`endpoints`: one or several ZeroMQ endpoints of minidns.
        `routing_id`: kept across reconnections (default: one made for this
        Client; pass a fixed one to survive restarts of the pool manager
        too). With `server_key` (minidns's public key, Z85) and this
        client's `public_key`/`secret_key`, connections use CURVE.
        `grace`: seconds added to a poll's own retry budget for its
        client-side deadline. `heartbeat`: ZeroMQ heartbeat interval; a
        connection silent for three of them counts as lost. `on_error`:
        called (on the I/O thread) with error replies to notifies."""
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        if not endpoints:
            raise ValueError("endpoints: need at least one")
        if (server_key is None) != (secret_key is None) or (
            secret_key is not None and public_key is None
        ):
            raise ValueError("CURVE needs server_key, public_key and "
                             "secret_key together")
        if routing_id is None:
            routing_id = b"pm-" + uuid.uuid4().hex[:16].encode()
        elif isinstance(routing_id, str):
            routing_id = routing_id.encode()
        self.endpoints = list(endpoints)
        self.routing_id = routing_id
        self._failover = failover
        self._grace = grace
        self._on_error = on_error
        self._ctx = zmq.Context()
        self._socks: list[zmq.Socket] = []
        self._monitors: list[zmq.Socket] = []
        self._up = [False] * len(self.endpoints)
        self._up_cv = threading.Condition()
        for i, ep in enumerate(self.endpoints):
            s = self._ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.ROUTING_ID, routing_id)
            s.setsockopt(zmq.LINGER, 2000)
            ivl = max(1, int(heartbeat * 1000))
            s.setsockopt(zmq.HEARTBEAT_IVL, ivl)
            s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3 * ivl)
            s.setsockopt(zmq.RECONNECT_IVL, 100)
            s.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
            if server_key is not None:
                s.curve_serverkey = server_key.encode()
                s.curve_publickey = public_key.encode()
                s.curve_secretkey = secret_key.encode()
            m = s.get_monitor_socket(
                zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED
            )
            s.connect(ep)
            self._socks.append(s)
            self._monitors.append(m)
        self._ids = itertools.count(1)
        self._rr = itertools.count()
        self._pending: dict[int, _Pending] = {}
        # Cancels awaiting their "cancelled" reply, by (instance, request
        # id) of the poll they end, oldest first.
        self._cancels: dict[tuple[int, int], list[_Cancel]] = {}
        # Casts without a future (notifies, cancels) ZeroMQ did not take
        # yet: (instance, cast).
        self._unsent_casts: list[tuple[int, dict]] = []
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_r = self._ctx.socket(zmq.PAIR)
        self._wake_w = self._ctx.socket(zmq.PAIR)
        addr = f"inproc://minidns-client-wake-{id(self)}"
        self._wake_r.bind(addr)
        self._wake_w.connect(addr)
        self._wake_lock = threading.Lock()
        self._closing = False
        self._thread = threading.Thread(
            target=self._run, name="minidns-client", daemon=True
        )
        self._thread.start()

    # -- the public API ---------------------------------------------------

    def poll(
        self,
        zone: str,
        serial: Optional[int],
        destination: Destinations,
        *,
        timeout: float = 2.0,
        retry_interval: float = 1.0,
        max_retries: int = 3,
        context: Any = None,
        instance: Optional[int] = None,
        deadline: Optional[float] = None,
        delay: Optional[float] = None,
        transport: Optional[str] = None,
        tsig_key: Optional[str] = None,
        threshold: Optional[int] = None,
        expect: Optional[str] = None,
    ) -> Future:
        """Asks minidns to poll `destination` for `zone`'s SOA until it has
        `serial` or newer. Returns a Future resolved with a Status, or
        failed with DeadlineExceeded (no status within `deadline` seconds;
        default: the poll's own budget, its `delay` and `grace`) or
        CastRefused. `delay`: seconds (0..3600) minidns waits before the
        first query; `transport`: "udp" or "tcp" (every query over TCP);
        `tsig_key`: the name of a TSIG key in minidns's
        minidns.tsig-keys-file, to sign the queries with; each is sent only
        when given, and a bad one raises ValueError.

        `destination` may also be a list (or tuple) of 1..1000 distinct
        destinations, a pool's servers (sent as `destinations`): minidns
        polls them all with this budget and sends one Status, SUCCESS
        ("threshold met") once `threshold` percent of them (1..100, default
        100, rounded up) reached the goal, else ERROR ("threshold missed");
        `Status.destinations` then has one DestinationStatus per
        destination, in this order, and `actual_serial` is the lowest
        serial among those that reached it. `expect`: "serial" (the
        default) or "absent": wait until the server no longer serves the
        zone (REFUSED, NOTAUTH, or NXDOMAIN from an authority; detail
        "rcode REFUSED" and the like; a server still serving it gives
        "zone served"); `serial` may then be None. Bad `threshold`,
        `expect` or lists raise ValueError."""
        one, many = _split_destinations(destination)
        cast = self._cast(POLL, zone, serial, one, timeout,
                          retry_interval, max_retries, context, delay,
                          transport, tsig_key=tsig_key, destinations=many,
                          threshold_percentage=threshold, expect=expect)
        return self._submit(cast, deadline, instance)

    def get_serial(
        self,
        zone: str,
        destination: Destinations,
        *,
        timeout: float = 2.0,
        retry_interval: float = 1.0,
        max_retries: int = 3,
        context: Any = None,
        instance: Optional[int] = None,
        deadline: Optional[float] = None,
        delay: Optional[float] = None,
        transport: Optional[str] = None,
        tsig_key: Optional[str] = None,
        threshold: Optional[int] = None,
    ) -> Future:
        """Asks minidns for the serial `destination` serves for `zone`
        (get_serial_number): a poll that any usable SOA answer ends.
        Returns a Future resolved with a Status, SUCCESS with
        `actual_serial` and detail "serial read", or ERROR with the detail
        of the last failed attempt; failed as a poll's. `destination` may
        be a list, with `threshold`, as for poll(); the other arguments are
        poll()'s."""
        one, many = _split_destinations(destination)
        cast = self._cast(GET_SERIAL, zone, None, one, timeout,
                          retry_interval, max_retries, context, delay,
                          transport, tsig_key=tsig_key, destinations=many,
                          threshold_percentage=threshold)
        return self._submit(cast, deadline, instance)

    def notify(
        self,
        zone: str,
        destination: str,
        *,
        timeout: float = 2.0,
        retry_interval: float = 1.0,
        max_retries: int = 3,
        context: Any = None,
        instance: Optional[int] = None,
        delay: Optional[float] = None,
        transport: Optional[str] = None,
        want_status: bool = False,
        soa: Optional[dict] = None,
        deadline: Optional[float] = None,
        tsig_key: Optional[str] = None,
    ) -> Optional[Future]:
        """Asks minidns to send a NOTIFY for `zone` to `destination`. Fire
        and forget: minidns answers only when the cast is invalid (passed
        to `on_error`). With `want_status`, returns a Future resolved, like
        a poll's, with the NOTIFY's Status (SUCCESS "acknowledged", or
        ERROR with the detail; no serial). Send a pool's NOTIFYs through
        the instance its secondaries transfer from (`instance`). `soa`: the
        zone's new SOA for the NOTIFY's answer section (RFC 1996 3.7), a
        dict of mname, rname, serial, refresh, retry, expire, minimum and
        ttl. `delay`, `transport`, `tsig_key` and `deadline`: as for
        poll()."""
        cast = self._cast(NOTIFY, zone, None, destination, timeout,
                          retry_interval, max_retries, context, delay,
                          transport, True if want_status else None, soa,
                          tsig_key)
        if not want_status:
            self._command(("notify", cast, None, 0.0, instance))
            return None
        return self._submit(cast, deadline, instance)

    def cancel(self, future: Future, *,
               deadline: Optional[float] = None) -> Future:
        """Ends a poll this Client started: `future` is what poll(),
        get_serial() or notify(want_status=True) returned. Sends minidns's
        `cancel` for the request id the poll runs under to the instance it
        runs on; minidns ends it (running or still queued) with its
        update_status, ERROR "cancelled", which resolves `future` as usual
        (a pool poll's lines then say how far each destination got). From
        then on the poll is not sent to another instance (no failover, no
        re-issue when busy). Returns a Future of the count in minidns's
        `cancelled` reply, which comes after the poll's status: 1, or 0
        when the poll had ended already (its future then has the status it
        ended with). A future that is done already, or not this Client's,
        gives 0 at once; a poll ZeroMQ has not taken yet ends here with
        the same ERROR "cancelled" Status and a count of 1. Fails with
        DeadlineExceeded when no reply comes within `deadline` seconds
        (default: what is left of the poll's deadline, at least `grace`),
        or with CastRefused from a minidns that knows no cancel."""
        if not isinstance(future, Future):
            raise ValueError(f"cancel: expected the Future of a poll, not "
                             f"{type(future).__name__}")
        if deadline is not None and (isinstance(deadline, bool) or
                                     not isinstance(deadline, (int, float))
                                     or not deadline > 0):
            raise ValueError(f"deadline: must be a number of seconds > 0, "
                             f"got {deadline!r}")
        fut: Future = Future()
        fut.set_running_or_notify_cancel()
        if future.done():
            fut.set_result(0)
            return fut
        self._command(("cancel", future, fut, deadline, None))
        return fut

    def connected(self) -> list[bool]:
        """Which instances have a connection up now."""
        with self._up_cv:
            return list(self._up)

    def wait_connected(self, timeout: Optional[float] = None) -> bool:
        """Waits until every instance has a connection up; False on
        timeout."""
        with self._up_cv:
            return self._up_cv.wait_for(lambda: all(self._up), timeout)

    def _set_up(self, instance: int, up: bool) -> None:
        with self._up_cv:
            self._up[instance] = up
            self._up_cv.notify_all()

    def in_flight(self) -> int:
        """Polls awaiting their status (cancels not counted)."""
        return len(self._pending)

    def reconnect(self, instance: int) -> None:
        """Drops and re-establishes the connection to one instance (same
        routing id): statuses finished meanwhile still arrive."""
        self._command(("reconnect", None, None, 0.0, instance))

    def close(self) -> None:
        """Stops the I/O thread; polls and cancels still pending fail with
        DeadlineExceeded."""
        if self._closing:
            return
        self._closing = True
        self._command(("close", None, None, 0.0, None))
        self._thread.join()
        for m in self._monitors:
            m.close(0)
        for s in self._socks:
            s.close()
        self._wake_r.close(0)
        self._wake_w.close(0)
        self._ctx.term()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _split_destinations(destination: Destinations) -> tuple:
    """(destination, None) for one destination, (None, destinations) for a
    list or tuple of them (checked by make_cast, which refuses other
    collections). Anything else is sent as one destination, for minidns
    to judge, as before."""
    if isinstance(destination, (str, bytes)) or \
            not isinstance(destination, Iterable):
        return destination, None
    return None, destination
