"""The wire side of the client: the casts sent to minidns and the replies
read back (msgpack maps, docs/protocol.md), and the errors and Status a
poll's future ends with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import msgpack

POLL = "poll_for_serial_number"
NOTIFY = "notify_zone_changed"


class MinidnsError(Exception):
    """Base class of the errors a poll's future can fail with."""


class DeadlineExceeded(MinidnsError, TimeoutError):
    """No update_status came before the client-side deadline (on any
    instance tried)."""


class CastRefused(MinidnsError):
    """minidns answered the cast with {"method": "error"}: the message
    names the field at fault."""


@dataclass
class Status:
    """One update_status: the outcome of a poll."""

    status: str  #: "SUCCESS" or "ERROR"
    actual_serial: Optional[int]  #: last serial seen, or None
    detail: str  #: a short reason ("matched", "timeout", ...)
    zone: str
    destination: str
    context: Any = None
    instance: int = -1  #: index of the endpoint that answered
    tried: list = field(default_factory=list)  #: instances asked, in order
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"


MAX_DELAY = 3600  #: the longest `delay` minidns takes, in seconds
TRANSPORTS = ("udp", "tcp")  #: the values of `transport`


def check_delay(delay) -> float:
    """`delay` as sent: an int or float (not bool), finite, 0..3600
    seconds, as minidns checks it. Raises ValueError naming it."""
    if isinstance(delay, bool) or not isinstance(delay, (int, float)):
        raise ValueError(f"delay: must be a number of seconds, not "
                         f"{type(delay).__name__}")
    if not 0 <= delay <= MAX_DELAY:  # NaN fails too
        raise ValueError(f"delay: must be in 0..{MAX_DELAY} seconds, got "
                         f"{delay!r}")
    return float(delay)


def check_transport(transport) -> str:
    """`transport` as sent: "udp" or "tcp". Raises ValueError naming it."""
    if not isinstance(transport, str) or transport not in TRANSPORTS:
        raise ValueError(f'transport: expected "udp" or "tcp", got '
                         f"{transport!r}")
    return transport


SOA_NAMES = ("mname", "rname")  #: the names of `domain.soa`
#: the 32-bit numbers of `domain.soa`
SOA_NUMBERS = ("serial", "refresh", "retry", "expire", "minimum", "ttl")


def check_soa(soa) -> dict:
    """`domain.soa` as sent: a dict with every key of SOA_NAMES (str) and
    SOA_NUMBERS (int, 0..2**32-1), nothing else. Raises ValueError naming
    the field."""
    if not isinstance(soa, dict):
        raise ValueError(f"domain.soa: must be a dict, not "
                         f"{type(soa).__name__}")
    for key in soa:
        if key not in SOA_NAMES + SOA_NUMBERS:
            raise ValueError(f"domain.soa: unknown key {key!r}")
    for key in SOA_NAMES:
        if not isinstance(soa.get(key), str):
            raise ValueError(f"domain.soa.{key}: must be a name (str)")
    for key in SOA_NUMBERS:
        v = soa.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or \
                not 0 <= v <= 0xFFFFFFFF:
            raise ValueError(f"domain.soa.{key}: must be an int in "
                             f"0..4294967295, got {v!r}")
    return dict(soa)


def make_cast(method, zone, serial, destination, timeout, retry_interval,
              max_retries, context, delay=None, transport=None,
              want_status=None, soa=None, tsig_key=None) -> dict:
    """The map of one cast, without its request_id (serial None: none).
    `delay`, `transport`, `want_status`, `soa` (domain.soa) and `tsig_key`
    (the name of a key in minidns.tsig-keys-file) are checked (ValueError)
    and sent only when given (not None)."""
    domain = {"name": zone}
    if serial is not None:
        domain["serial"] = serial
    if soa is not None:
        domain["soa"] = check_soa(soa)
    cast = {
        "method": method,
        "context": context,
        "domain": domain,
        "destination": destination,
        "timeout": float(timeout),
        "retry_interval": float(retry_interval),
        "max_retries": int(max_retries),
    }
    if delay is not None:
        cast["delay"] = check_delay(delay)
    if transport is not None:
        cast["transport"] = check_transport(transport)
    if want_status is not None:
        if not isinstance(want_status, bool):
            raise ValueError(f"want_status: must be True or False, got "
                             f"{want_status!r}")
        cast["want_status"] = want_status
    if tsig_key is not None:
        if not isinstance(tsig_key, str) or not tsig_key:
            raise ValueError(f"tsig_key: must be a key name (str), got "
                             f"{tsig_key!r}")
        cast["tsig_key"] = tsig_key
    return cast


def encode_cast(cast: dict) -> bytes:
    """The frame of a cast."""
    return msgpack.packb(cast, use_bin_type=True)


def decode_reply(frame: bytes) -> Optional[dict]:
    """The map a reply frame holds; None when it is no msgpack map."""
    try:
        msg = msgpack.unpackb(frame, raw=False, strict_map_key=False)
    except Exception:  # a broken frame: nothing to resolve
        return None
    if not isinstance(msg, dict):
        return None
    return msg


def make_status(msg: dict, instance: int, tried: list) -> Status:
    """The Status of an update_status reply from `instance`."""
    domain = msg.get("domain") or {}
    return Status(
        status=msg.get("status", ""),
        actual_serial=msg.get("actual_serial"),
        detail=msg.get("detail", ""),
        zone=domain.get("name", "") if isinstance(domain, dict) else "",
        destination=msg.get("destination", ""),
        context=msg.get("context"),
        instance=instance,
        tried=list(tried),
        raw=msg,
    )
