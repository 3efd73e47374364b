"""python3 -m minidns_client [poll|serial] ... (see cli.USAGE)"""

from minidns_client import _main

raise SystemExit(_main())
