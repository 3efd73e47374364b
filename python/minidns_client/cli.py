"""python3 -m minidns_client ENDPOINT ZONE SERIAL DESTINATION"""

from __future__ import annotations

from typing import Optional, Sequence

from .client import Client
from .protocol import MinidnsError


def _main(argv: Optional[Sequence[str]] = None) -> int:
    """python3 -m minidns_client ENDPOINT ZONE SERIAL DESTINATION: one poll,
    its status printed; exit 0 on SUCCESS."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 4:
        print("usage: python3 -m minidns_client ENDPOINT ZONE SERIAL "
              "DESTINATION", file=sys.stderr)
        return 2
    with Client(args[0]) as c:
        try:
            st = c.poll(args[1], int(args[2]), args[3]).result()
        except MinidnsError as e:
            print(f"{type(e).__name__}: {e}", file=sys.stderr)
            return 1
        print(st.status, st.actual_serial, st.detail)
        return 0 if st.ok else 1
