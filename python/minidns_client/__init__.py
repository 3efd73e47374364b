"""The pool manager's side of minidns: a client for one or several minidns
instances over ZeroMQ, speaking the msgpack casts of docs/protocol.md.

    from minidns_client import Client

    with Client(["tcp://10.0.0.1:5358", "tcp://10.0.0.2:5358"]) as c:
        c.notify("example.com.", "192.0.2.53", instance=0)
        status = c.poll("example.com.", 2024010101, "192.0.2.53").result()
        print(status.status, status.actual_serial, status.detail)

Each poll returns a concurrent.futures.Future resolved by minidns's
`update_status` (a Status, SUCCESS or ERROR) or, when no status comes by a
client-side deadline, failed with DeadlineExceeded. Polls without a chosen
instance are spread round-robin over the connected instances; with
`failover` on (the default) a poll whose instance is lost (ZeroMQ heartbeat
timeout) or whose deadline passes is sent again to another instance, and
its future still resolves exactly once.

A poll may name a list of destinations (a pool's servers) and a threshold
percentage: its Status then has one DestinationStatus per destination.
`expect="absent"` waits for the zone to be gone, get_serial() reads the
serial a server has, and cancel(future) ends a poll, whose future then
resolves with ERROR "cancelled".

Each socket has a stable routing id (given, or made once per Client), so
that replies minidns finished while the connection was down are delivered
when it comes back (minidns holds them for `minidns.reply-hold`).

Only pyzmq and msgpack are needed (Debian: python3-zmq, python3-msgpack).
"""

from __future__ import annotations

# The package is split by job: protocol (casts, replies, errors, Status),
# keys (CURVE key files), client (the Client's API), _internals (its
# sockets and I/O thread) and cli
# (python3 -m minidns_client). Everything is importable from here as
# before the split, __main__'s _main too.
from .cli import _main  # noqa: F401
from .client import Client, _Pending  # noqa: F401
from .keys import generate_keys, load_key_file
from .protocol import (  # noqa: F401
    CANCEL,
    GET_SERIAL,
    NOTIFY,
    POLL,
    CastRefused,
    DeadlineExceeded,
    DestinationStatus,
    MinidnsError,
    Status,
)

__all__ = [
    "Client",
    "Status",
    "DestinationStatus",
    "MinidnsError",
    "DeadlineExceeded",
    "CastRefused",
    "load_key_file",
    "generate_keys",
]
