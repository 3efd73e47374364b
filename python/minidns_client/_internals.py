"""The internals of minidns_client.Client, and the I/O thread among them:
only that thread touches the DEALER sockets (ZeroMQ sockets belong to one
thread). Other threads hand it work through a queue and an inproc wake-up
socket; it sends casts, matches replies to their futures, fails polls over
to another instance and expires deadlines."""

from __future__ import annotations

import queue
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Optional

import zmq

from .protocol import (
    CastRefused,
    DeadlineExceeded,
    cancelled_status,
    decode_reply,
    encode_cast,
    make_cancel,
    make_cast,
    make_status,
)


@dataclass
class _Pending:
    future: Future
    cast: dict
    deadline: float  # time.monotonic()
    instance: int
    tried: list
    chosen: bool  # the caller chose the instance: no failover
    sent: bool = False  # ZeroMQ took the cast (else: tried again soon)
    cancelling: bool = False  # cancel() sent for it: no failover either


@dataclass
class _Cancel:
    future: Future  # of the count in minidns's "cancelled" reply
    deadline: float  # time.monotonic()


class _ClientInternals:
    """What Client's public methods build on; Client.__init__ sets up the
    attributes used here (sockets, pending casts, the command queue)."""

    _cast = staticmethod(make_cast)

    def _budget(self, cast: dict) -> float:
        """Seconds a poll may take on one instance: its delay, every
        attempt's timeout and pause, plus the grace time."""
        return cast.get("delay", 0.0) + (
            cast["timeout"] + cast["retry_interval"]) * (
            cast["max_retries"] + 1) + self._grace

    def _submit(self, cast: dict, deadline: Optional[float],
                instance: Optional[int]) -> Future:
        """Hands a cast that ends with an update_status to the I/O thread;
        returns its future."""
        if deadline is None:
            deadline = self._budget(cast)
        fut: Future = Future()
        fut.set_running_or_notify_cancel()
        self._command(("poll", cast, fut, deadline, instance))
        return fut

    def _command(self, cmd) -> None:
        if self._closing and cmd[0] != "close":
            raise RuntimeError("client closed")
        self._commands.put(cmd)
        with self._wake_lock:
            try:
                self._wake_w.send(b"", zmq.NOBLOCK)
            except zmq.Again:
                pass  # plenty of wake-ups are pending already

    def _pick(self, exclude: set) -> Optional[int]:
        """The next instance round-robin, preferring connected ones not
        tried yet; None when every instance was tried."""
        n = len(self.endpoints)
        start = next(self._rr)
        order = [(start + k) % n for k in range(n)]
        fresh = [i for i in order if i not in exclude]
        if not fresh:
            return None
        up = [i for i in fresh if self._up[i]]
        return (up or fresh)[0]

    def _send(self, request_id: int, p: _Pending) -> None:
        """Hands the cast to ZeroMQ without blocking: with no connection
        (or a full pipe) it stays unsent and is tried again."""
        cast = dict(p.cast)
        cast["request_id"] = request_id
        p.sent = self._try_send(p.instance, cast)

    def _try_send(self, instance: int, cast: dict) -> bool:
        try:
            self._socks[instance].send(encode_cast(cast), zmq.NOBLOCK)
            return True
        except zmq.Again:
            return False

    def _start(self, cast, fut, deadline, instance) -> None:
        rid = next(self._ids)
        chosen = instance is not None
        if chosen and not 0 <= instance < len(self.endpoints):
            fut.set_exception(ValueError(f"instance {instance}: no such "
                                         f"endpoint"))
            return
        inst = instance if chosen else self._pick(set())
        p = _Pending(fut, cast, time.monotonic() + deadline, inst, [inst],
                     chosen)
        self._pending[rid] = p
        self._send(rid, p)

    def _reissue(self, rid: int, why: str) -> None:
        """Sends a pending poll again to an instance not tried yet, under a
        new request id, or fails it when there is none (or it is being
        cancelled)."""
        p = self._pending.pop(rid)
        nxt = None if p.chosen or p.cancelling or not self._failover \
            else self._pick(set(p.tried))
        if nxt is None:
            p.future.set_exception(DeadlineExceeded(
                f"no update_status for {p.cast['domain']['name']} from "
                f"instance(s) {sorted(p.tried)} ({why})"))
            return
        p.instance = nxt
        p.tried.append(nxt)
        p.deadline = time.monotonic() + self._budget(p.cast)
        new_rid = next(self._ids)
        self._pending[new_rid] = p
        self._send(new_rid, p)

    def _cancel(self, target: Future, fut: Future,
                deadline: Optional[float]) -> None:
        """Sends the cancel of the pending poll whose future is `target`
        (see cancel())."""
        found = [(r, p) for r, p in self._pending.items()
                 if p.future is target]
        if not found:  # ended already, or not ours
            fut.set_result(0)
            return
        rid, p = found[0]
        if not p.sent:
            # minidns never got it: it ends here, as minidns would end it.
            del self._pending[rid]
            p.future.set_result(cancelled_status(p.cast, rid, p.tried))
            fut.set_result(1)
            return
        p.cancelling = True
        now = time.monotonic()
        if deadline is None:
            deadline = max(p.deadline - now, self._grace)
        self._cancels.setdefault((p.instance, rid), []).append(
            _Cancel(fut, now + deadline))
        cast = make_cancel(rid)
        if not self._try_send(p.instance, cast):
            self._unsent_casts.append((p.instance, cast))

    def _take_cancel(self, instance: int, rid) -> Optional[_Cancel]:
        """The oldest cancel awaiting a reply for `rid` from `instance`."""
        waiting = self._cancels.get((instance, rid)) \
            if isinstance(rid, int) else None
        if not waiting:
            return None
        c = waiting.pop(0)
        if not waiting:
            del self._cancels[(instance, rid)]
        return c

    def _on_reply(self, instance: int, frame: bytes) -> None:
        msg = decode_reply(frame)
        if msg is None:  # a broken frame: nothing to resolve
            return
        rid = msg.get("request_id")
        method = msg.get("method")
        if method == "cancelled":
            # Shares its request id with the poll it ended, whose status
            # came first.
            c = self._take_cancel(instance, rid)
            if c is not None:
                count = msg.get("count")
                c.future.set_result(count if isinstance(count, int) and
                                    not isinstance(count, bool) else 0)
            return
        if method == "error" and (instance, rid) in self._cancels and (
                str(msg.get("error", "")).startswith("method:")
                or rid not in self._pending):
            # The cancel refused (a minidns without it: "method: unknown
            # 'cancel'"); the poll goes on.
            c = self._take_cancel(instance, rid)
            c.future.set_exception(CastRefused(msg.get("error", "")))
            p = self._pending.get(rid)
            if p is not None and (instance, rid) not in self._cancels:
                p.cancelling = False
            return
        p = self._pending.pop(rid, None) if isinstance(rid, int) else None
        if method == "error":
            if p is not None:
                p.future.set_exception(CastRefused(msg.get("error", "")))
            elif self._on_error is not None:
                self._on_error(msg)
            return
        if p is None or method != "update_status":
            return  # a late status of a poll that was sent elsewhere too
        if (msg.get("detail") == "busy" and not p.chosen and self._failover
                and not p.cancelling
                and self._pick(set(p.tried)) is not None):
            # That instance has too much of ours waiting: try another.
            self._pending[rid] = p
            self._reissue(rid, "busy")
            return
        p.future.set_result(make_status(msg, instance, p.tried))

    def _on_event(self, instance: int) -> None:
        from zmq.utils.monitor import recv_monitor_message

        ev = recv_monitor_message(self._monitors[instance], zmq.NOBLOCK)
        if ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self._set_up(instance, True)
        elif ev["event"] == zmq.EVENT_DISCONNECTED:
            self._set_up(instance, False)
            if self._failover:
                # Its polls may never be answered: try them elsewhere now.
                for rid in [r for r, p in self._pending.items()
                            if p.instance == instance and not p.chosen
                            and not p.cancelling]:
                    self._reissue(rid, "connection lost")

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._wake_r, zmq.POLLIN)
        for s in self._socks:
            poller.register(s, zmq.POLLIN)
        for m in self._monitors:
            poller.register(m, zmq.POLLIN)
        running = True
        while running:
            now = time.monotonic()
            for rid in [r for r, p in self._pending.items()
                        if p.deadline <= now]:
                self._reissue(rid, "deadline passed")
            self._expire_cancels(now)
            unsent = [(r, p) for r, p in self._pending.items() if not p.sent]
            for rid, p in unsent:
                self._send(rid, p)
            self._unsent_casts = [
                (i, c) for i, c in self._unsent_casts
                if not self._try_send(i, c)]
            wait = None
            deadlines = [p.deadline for p in self._pending.values()] + [
                c.deadline for cs in self._cancels.values() for c in cs]
            if deadlines:
                wait = max(0, int((min(deadlines) - now) * 1000) + 1)
            if self._unsent_casts or any(
                    not p.sent for p in self._pending.values()):
                wait = 20 if wait is None else min(wait, 20)
            events = dict(poller.poll(wait))
            if self._wake_r in events:
                while True:
                    try:
                        self._wake_r.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
            while True:
                try:
                    kind, cast, fut, deadline, instance = \
                        self._commands.get_nowait()
                except queue.Empty:
                    break
                if kind == "close":
                    running = False
                elif kind == "poll":
                    self._start(cast, fut, deadline, instance)
                elif kind == "notify":
                    inst = instance if instance is not None \
                        else self._pick(set())
                    if not self._try_send(inst, cast):
                        self._unsent_casts.append((inst, cast))
                elif kind == "cancel":
                    self._cancel(cast, fut, deadline)
                elif kind == "reconnect":
                    ep = self.endpoints[instance]
                    self._socks[instance].disconnect(ep)
                    self._set_up(instance, False)
                    self._socks[instance].connect(ep)
            for i, m in enumerate(self._monitors):
                while m in events and m.poll(0):
                    self._on_event(i)
            for i, s in enumerate(self._socks):
                if s not in events:
                    continue
                while True:
                    try:
                        frame = s.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self._on_reply(i, frame)
        for p in self._pending.values():
            p.future.set_exception(DeadlineExceeded("client closed"))
        self._pending.clear()
        for cs in self._cancels.values():
            for c in cs:
                c.future.set_exception(DeadlineExceeded("client closed"))
        self._cancels.clear()

    def _expire_cancels(self, now: float) -> None:
        """Fails the cancels whose reply did not come in time."""
        for key in [k for k, cs in self._cancels.items()
                    if any(c.deadline <= now for c in cs)]:
            kept = []
            for c in self._cancels[key]:
                if c.deadline <= now:
                    c.future.set_exception(DeadlineExceeded(
                        f"no reply to the cancel of request {key[1]} from "
                        f"instance {key[0]}"))
                else:
                    kept.append(c)
            if kept:
                self._cancels[key] = kept
            else:
                del self._cancels[key]
