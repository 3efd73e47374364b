"""A DNS server for the cluster test, run inside a network namespace:
answers SOA queries with a serial and NOTIFYs with NOERROR, after a delay,
and prints one line per query: "query OPCODE ZONE FROM_IP".

    python3 dns_server.py ADDRESS PORT SERIAL DELAY_SECONDS
"""

import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "python", "tests"))

from support import Responder  # noqa: E402

lock = threading.Lock()


def log(opcode, zone, peer):
    with lock:
        print(f"query {opcode} {zone} {peer}", flush=True)


def main():
    host, port, serial, delay = sys.argv[1:5]
    r = Responder(host, int(port), on_query=log)
    r.default_serial = int(serial)
    r.delay = float(delay)
    print("ready", flush=True)
    sys.stdin.read()  # runs until stdin closes
    r.close()


main()
