"""The wire side of the client: the casts sent to minidns and the replies
read back (msgpack maps, docs/protocol.md), and the errors and Status a
poll's future ends with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import msgpack

POLL = "poll_for_serial_number"
NOTIFY = "notify_zone_changed"
GET_SERIAL = "get_serial_number"
CANCEL = "cancel"


class MinidnsError(Exception):
    """Base class of the errors a poll's future can fail with."""


class DeadlineExceeded(MinidnsError, TimeoutError):
    """No update_status came before the client-side deadline (on any
    instance tried)."""


class CastRefused(MinidnsError):
    """minidns answered the cast with {"method": "error"}: the message
    names the field at fault."""


@dataclass
class DestinationStatus:
    """One destination's line in the update_status of a poll across several
    destinations (`Status.destinations`)."""

    destination: str  #: as the cast wrote it
    status: str  #: "SUCCESS", "ERROR" or "PENDING" (not ended at decision)
    actual_serial: Optional[int]  #: the last serial it answered with
    detail: str  #: its own reason ("matched", "lower serial", ...)

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"


@dataclass
class Status:
    """One update_status: the outcome of a poll."""

    status: str  #: "SUCCESS" or "ERROR"
    #: last serial seen, or None; for several destinations the consensus:
    #: the lowest among those that reached the goal (SUCCESS), the lowest
    #: seen (ERROR)
    actual_serial: Optional[int]
    detail: str  #: a short reason ("matched", "timeout", ...)
    zone: str
    destination: str  #: "" for a poll across several destinations
    context: Any = None
    instance: int = -1  #: index of the endpoint that answered
    tried: list = field(default_factory=list)  #: instances asked, in order
    raw: dict = field(default_factory=dict, repr=False)
    #: a poll across several destinations: one DestinationStatus each, in
    #: the cast's order; empty for a poll of one destination
    destinations: list[DestinationStatus] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"


MAX_DELAY = 3600  #: the longest `delay` minidns takes, in seconds
TRANSPORTS = ("udp", "tcp")  #: the values of `transport`
MAX_DESTINATIONS = 1000  #: the most `destinations` one poll takes
EXPECTS = ("serial", "absent")  #: the values of `expect`


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


def check_destinations(destinations) -> list:
    """`destinations` as sent: a list or tuple of 1..1000 distinct strings
    (each checked by minidns like `destination`; it also refuses two
    spellings of one address). Raises ValueError naming it."""
    if not isinstance(destinations, (list, tuple)):
        raise ValueError(f"destinations: must be a list of destinations, "
                         f"not {type(destinations).__name__}")
    if not 1 <= len(destinations) <= MAX_DESTINATIONS:
        raise ValueError(f"destinations: must list 1 to {MAX_DESTINATIONS} "
                         f"destinations, got {len(destinations)}")
    seen: dict[str, int] = {}
    for i, d in enumerate(destinations):
        if not isinstance(d, str):
            raise ValueError(f"destinations[{i}]: must be a string, not "
                             f"{type(d).__name__}")
        if d in seen:
            raise ValueError(f"destinations[{i}]: {d!r} duplicates "
                             f"destinations[{seen[d]}]")
        seen[d] = i
    return list(destinations)


def check_threshold(threshold) -> int:
    """`threshold_percentage` as sent: an int (not bool) in 1..100, the
    share of the destinations that must reach the goal. Raises ValueError
    naming it."""
    if isinstance(threshold, bool) or not isinstance(threshold, int) or \
            not 1 <= threshold <= 100:
        raise ValueError(f"threshold_percentage: must be an int in 1..100, "
                         f"got {threshold!r}")
    return threshold


def check_expect(expect) -> str:
    """`expect` as sent: "serial" or "absent". Raises ValueError naming
    it."""
    if not isinstance(expect, str) or expect not in EXPECTS:
        raise ValueError(f'expect: expected "serial" or "absent", got '
                         f"{expect!r}")
    return expect


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
              want_status=None, soa=None, tsig_key=None, destinations=None,
              threshold_percentage=None, expect=None) -> dict:
    """The map of one cast, without its request_id (serial None: none).
    `delay`, `transport`, `want_status`, `soa` (domain.soa), `tsig_key`
    (the name of a key in minidns.tsig-keys-file), `threshold_percentage`
    (POLL and GET_SERIAL) and `expect` (POLL) are checked (ValueError) and
    sent only when given (not None). `destinations` (a list, checked; POLL
    and GET_SERIAL) is sent instead of `destination`, which must then be
    None."""
    domain = {"name": zone}
    if serial is not None:
        domain["serial"] = serial
    if soa is not None:
        domain["soa"] = check_soa(soa)
    cast = {
        "method": method,
        "context": context,
        "domain": domain,
    }
    polls = method in (POLL, GET_SERIAL)
    if destinations is not None:
        if destination is not None:
            raise ValueError("destinations: give destination or "
                             "destinations, not both")
        if not polls:
            raise ValueError("destinations: only polls take a list of "
                             "destinations")
        cast["destinations"] = check_destinations(destinations)
    else:
        cast["destination"] = destination
    cast["timeout"] = float(timeout)
    cast["retry_interval"] = float(retry_interval)
    cast["max_retries"] = int(max_retries)
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
    if threshold_percentage is not None:
        if not polls:
            raise ValueError("threshold_percentage: only polls take a "
                             "threshold")
        cast["threshold_percentage"] = check_threshold(threshold_percentage)
    if expect is not None:
        if method != POLL:
            raise ValueError(f"expect: only {POLL} takes expect")
        cast["expect"] = check_expect(expect)
    return cast


def make_cancel(request_id) -> dict:
    """The map of a cancel: it ends every cast of this connection (routing
    id) that carries `request_id`."""
    return {"method": CANCEL, "request_id": request_id}


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


def make_destinations(lines) -> list:
    """The DestinationStatus lines of a pool poll's `destinations` (maps);
    anything that is no map is skipped."""
    if not isinstance(lines, list):
        return []
    return [DestinationStatus(
        destination=line.get("destination", ""),
        status=line.get("status", ""),
        actual_serial=line.get("actual_serial"),
        detail=line.get("detail", ""),
    ) for line in lines if isinstance(line, dict)]


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
        destinations=make_destinations(msg.get("destinations")),
    )


def cancelled_status(cast: dict, request_id: int, tried: list) -> Status:
    """The Status of a poll cancelled before minidns got it: ERROR
    "cancelled", as minidns ends a poll still queued (every destination
    of a pool poll PENDING); `instance` -1, since none answered."""
    msg = {"method": "update_status", "context": cast.get("context"),
           "domain": cast.get("domain")}
    if "destination" in cast:
        msg["destination"] = cast["destination"]
    msg.update({"request_id": request_id, "status": "ERROR",
                "actual_serial": None, "detail": "cancelled"})
    if "destinations" in cast:
        msg["destinations"] = [
            {"destination": d, "status": "PENDING", "actual_serial": None,
             "detail": "pending"} for d in cast["destinations"]]
    return make_status(msg, -1, tried)
