"""python3 -m minidns_client ENDPOINT ZONE SERIAL DESTINATION"""

from minidns_client import _main

raise SystemExit(_main())
