"""The pool manager of the cluster test, run inside its own network
namespace with the Python client: NOTIFYs of pool A through minidns
instance 0 and of pool B through instance 1, then polls spread over all
three instances. Prints "sent" once the polls are out (the driver then cuts
one instance off), then one JSON line with the outcome.

    python3 pool_manager.py POLLS DNS1 DNS2 ENDPOINT...
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "python"))

from minidns_client import Client, MinidnsError  # noqa: E402


def main():
    polls = int(sys.argv[1])
    dns = sys.argv[2:4]
    endpoints = sys.argv[4:]
    out = {"statuses": [], "errors": [], "first_instance": {}}
    with Client(endpoints, routing_id="cluster-pm", heartbeat=0.5) as c:
        # Every instance connected first, so that the spread is even.
        out["connected"] = c.wait_connected(20)
        for i in range(5):
            for d in dns:
                c.notify(f"a{i}.pool-a.test.", d, instance=0)
                c.notify(f"b{i}.pool-b.test.", d, instance=1)
        futs = []
        for i in range(polls):
            futs.append(c.poll(f"p{i}.test.", 1, dns[i % 2], timeout=6,
                               retry_interval=0, max_retries=0))
        print("sent", flush=True)
        sys.stdin.readline()  # the driver has cut an instance off
        for i, f in enumerate(futs):
            try:
                st = f.result(60)
                out["statuses"].append([st.zone, st.status, st.tried])
            except MinidnsError as e:
                out["errors"].append([f"p{i}.test.", repr(e)])
    print(json.dumps(out), flush=True)


main()
