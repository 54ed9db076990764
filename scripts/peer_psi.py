"""Runs OpenMined PSI (PyPI `openmined-psi`) with both parties in one process, as the peer
figure for soberana's PSI benchmark.

The sets mirror soberana's benchmark: `n` random 16-byte items per side (hex-encoded, since
the library takes strings), half of them shared. The run is timed from key creation to the
client's intersection, and fails unless exactly the shared half is found. Prints one JSON line.
"""

import argparse
import json
import os
import sys
import time

import private_set_intersection.python as psi


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, required=True, help="items per side")
    parser.add_argument(
        "--ds",
        choices=["raw", "gcs", "bloom"],
        default="raw",
        help="server data structure (raw is exact; gcs and bloom trade false matches for size)",
    )
    parser.add_argument("--fpr", type=float, default=1e-9, help="false-positive rate for gcs and bloom")
    args = parser.parse_args()
    ds = {"raw": psi.DataStructure.RAW, "gcs": psi.DataStructure.GCS, "bloom": psi.DataStructure.BLOOM_FILTER}[args.ds]

    n = args.n
    client_items = [os.urandom(16).hex() for _ in range(n)]
    server_items = client_items[: n // 2] + [os.urandom(16).hex() for _ in range(n - n // 2)]

    start = time.perf_counter()
    server = psi.server.CreateWithNewKey(True)
    client = psi.client.CreateWithNewKey(True)
    setup = server.CreateSetupMessage(args.fpr, n, server_items, ds)
    request = client.CreateRequest(client_items)
    response = server.ProcessRequest(request)
    intersection = client.GetIntersection(setup, response)
    seconds = time.perf_counter() - start

    found = len(intersection)
    report = {
        "peer": "openmined-psi",
        "version": getattr(psi, "__version__", "unknown"),
        "ds": args.ds,
        "n": n,
        "matches": found,
        "seconds": seconds,
        "bytes_client_to_server": len(request.SerializeToString()),
        "bytes_server_to_client": len(setup.SerializeToString()) + len(response.SerializeToString()),
    }
    print(json.dumps(report))
    if found != n // 2:
        print(f"wrong result: expected {n // 2} matches, found {found}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
