"""python3 -m minidns_client [poll] ENDPOINT ZONE SERIAL DEST[,DEST...] and
python3 -m minidns_client serial ENDPOINT ZONE DEST[,DEST...]"""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from .client import Client
from .protocol import EXPECTS, MinidnsError, Status

PROG = "python3 -m minidns_client"
POLL_USAGE = (f"{PROG} [poll] [--threshold=N] [--expect=serial|absent] "
              f"ENDPOINT ZONE SERIAL DEST[,DEST...]")
SERIAL_USAGE = f"{PROG} serial [--threshold=N] ENDPOINT ZONE DEST[,DEST...]"
USAGE = f"""\
usage: {POLL_USAGE}
       {SERIAL_USAGE}

poll: polls DEST for ZONE until it has SERIAL or newer (with
--expect=absent: until it no longer serves ZONE; SERIAL may be -). Several
comma-separated destinations are one poll: SUCCESS once --threshold percent
of them (default 100) got there, then one line per destination.
serial: prints the serial DEST serves for ZONE (get_serial_number).
Exit status 0 on SUCCESS, 1 otherwise, 2 for a bad command line."""


def _parser(command: str) -> argparse.ArgumentParser:
    """The options and arguments of `command` ("poll" or "serial")."""
    poll = command == "poll"
    p = argparse.ArgumentParser(
        prog=PROG, usage=POLL_USAGE if poll else SERIAL_USAGE,
        add_help=False)
    p.add_argument("endpoint", metavar="ENDPOINT")
    p.add_argument("zone", metavar="ZONE")
    if poll:
        p.add_argument("serial", metavar="SERIAL")
    p.add_argument("destination", metavar="DEST[,DEST...]")
    p.add_argument("--threshold", type=int, metavar="N")
    if poll:
        p.add_argument("--expect", choices=EXPECTS)
    return p


def _destinations(arg: str):
    """One destination, or a list when `arg` has commas."""
    return arg.split(",") if "," in arg else arg


def _print(st: Status) -> None:
    print(st.status, st.actual_serial, st.detail)
    for d in st.destinations:
        print(f"  {d.destination} {d.status} {d.actual_serial} {d.detail}")


def _main(argv: Optional[Sequence[str]] = None) -> int:
    """python3 -m minidns_client [poll|serial] ...: one poll (or
    get_serial_number), its status printed (and each destination's line);
    exit 0 on SUCCESS. See USAGE."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    command = "poll"
    if args and args[0] in ("poll", "serial"):
        command = args.pop(0)
    if any(a in ("-h", "--help") for a in args):
        print(USAGE)
        return 0
    try:
        opts = _parser(command).parse_args(args)
    except SystemExit as e:  # argparse printed why
        return e.code if isinstance(e.code, int) else 2
    serial = None
    if command == "poll" and not (opts.serial == "-" and
                                  opts.expect == "absent"):
        try:
            serial = int(opts.serial)
        except ValueError:
            print(f"SERIAL: expected a number, got {opts.serial!r}",
                  file=sys.stderr)
            return 2
    dest = _destinations(opts.destination)
    with Client(opts.endpoint) as c:
        try:
            if command == "serial":
                fut = c.get_serial(opts.zone, dest, threshold=opts.threshold)
            else:
                fut = c.poll(opts.zone, serial, dest,
                             threshold=opts.threshold, expect=opts.expect)
        except ValueError as e:
            print(e, file=sys.stderr)
            return 2
        try:
            st = fut.result()
        except MinidnsError as e:
            print(f"{type(e).__name__}: {e}", file=sys.stderr)
            return 1
        _print(st)
        return 0 if st.ok else 1
