"""DuckDB side of the finance benchmark: the same generated ledger, the same
6-hop forward trace from the same seed as a recursive SQL query, and the same
typology rules in SQL. Prints one JSON line of timings.

The SQL trace is time-respecting reachability (every later outgoing payment
of a reached account is followed, up to 6 hops), which is what a recursive
query can express; soberana's trace also attributes amounts (tainted-first
FIFO), which needs per-account state that SQL has no natural form for. The
typology queries follow soberana's default thresholds (USD 10,000 CTR line,
USD 8,000 band, 3 deposits in 7 days at 2 branches on 2 days; funnel: 5
sources in 14 days and border-zone cash withdrawals of 70 % of the inflow;
fan-out: an inflow of USD 5,000 or more dispersed to 5 or more recipients
within 3 days; pass-through: 90–110 % out within 48 hours, twice or more).

Usage: peer_finance.py --dir DIR --seed ACCOUNT [--seed ACCOUNT ...] [--hops 6] [--threads 1]
"""

import argparse
import json
import time

import duckdb

MXN_TO_USD = 0.055  # the same rate as soberana's default `Rates`


def timed(con, sql, params=None):
    t = time.perf_counter()
    rows = con.execute(sql, params or []).fetchall()
    return time.perf_counter() - t, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--seed", required=True, action="append")
    ap.add_argument("--hops", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    con = duckdb.connect()
    con.execute(f"SET threads = {a.threads}")
    out = {"engine": f"duckdb {duckdb.__version__}", "threads": a.threads}

    t = time.perf_counter()
    con.execute(
        f"""
        CREATE TABLE tx AS
        SELECT tx_id, time::TIMESTAMP AS time, amount::DECIMAL(18,2) AS amount, currency, channel,
               NULLIF(from_account, '') AS from_account, NULLIF(to_account, '') AS to_account,
               country, NULLIF(branch, '') AS branch, border_zone::INT = 1 AS border_zone,
               CASE currency WHEN 'MXN' THEN amount::DOUBLE * {MXN_TO_USD} ELSE amount::DOUBLE END AS usd
        FROM read_csv('{a.dir}/transactions.csv', header = true, all_varchar = true)
        ORDER BY time, tx_id
        """
    )
    out["ingest_secs"] = time.perf_counter() - t
    out["rows"] = con.execute("SELECT count(*) FROM tx").fetchone()[0]
    out["ingest_rows_per_sec"] = out["rows"] / out["ingest_secs"]

    # Recursive, time-respecting trace from the seed, deduplicated on
    # (account, arrival time, hop).
    trace_sql = """
        WITH RECURSIVE trail(acct, t, hop) AS (
            SELECT to_account, time, 1 FROM tx
            WHERE from_account = ? AND to_account IS NOT NULL
          UNION
            SELECT tx.to_account, tx.time, trail.hop + 1
            FROM trail JOIN tx ON tx.from_account = trail.acct AND tx.time > trail.t
            WHERE trail.hop < ? AND tx.to_account IS NOT NULL
        )
        SELECT count(DISTINCT acct), count(*) FROM trail
    """
    out["traces"] = []
    for seed in a.seed:
        secs, rows = timed(con, trace_sql, [seed, a.hops])
        out["traces"].append({"account": seed, "ms": secs * 1000, "accounts": rows[0][0], "rows": rows[0][1]})

    rules = {
        "structuring": """
            WITH d AS (
                SELECT to_account, time, amount, branch FROM tx
                WHERE channel = 'cash_deposit' AND currency = 'USD' AND amount >= 8000 AND amount < 10000
            ), w AS (
                SELECT a.to_account, a.time, count(*) AS n, sum(b.amount) AS total,
                       count(DISTINCT b.branch) AS branches, count(DISTINCT b.time::DATE) AS days
                FROM d a JOIN d b ON a.to_account = b.to_account
                     AND b.time >= a.time AND b.time <= a.time + INTERVAL 7 DAY
                GROUP BY a.to_account, a.time
            )
            SELECT count(DISTINCT to_account) FROM w
            WHERE n >= 3 AND total > 10000 AND branches >= 2 AND days >= 2
        """,
        "funnel": """
            WITH w AS (
                SELECT from_account AS acct, time, usd FROM tx
                WHERE channel = 'cash_withdrawal' AND border_zone
            ), i AS (
                SELECT w.acct, w.time,
                       count(DISTINCT coalesce(tx.from_account, tx.branch)) AS sources,
                       sum(tx.usd) AS inflow
                FROM w JOIN tx ON tx.to_account = w.acct
                     AND tx.time >= w.time - INTERVAL 14 DAY AND tx.time < w.time
                GROUP BY w.acct, w.time
            ), o AS (
                SELECT w.acct, w.time, sum(w2.usd) AS withdrawn
                FROM w JOIN w w2 ON w2.acct = w.acct
                     AND w2.time >= w.time AND w2.time <= w.time + INTERVAL 72 HOUR
                GROUP BY w.acct, w.time
            )
            SELECT count(DISTINCT i.acct) FROM i JOIN o USING (acct, time)
            WHERE sources >= 5 AND inflow >= 5000 AND withdrawn >= 0.7 * inflow
        """,
        "fan_out": """
            WITH x AS (
                SELECT to_account AS acct, time, usd FROM tx WHERE usd >= 5000 AND to_account IS NOT NULL
            )
            SELECT count(DISTINCT acct) FROM (
                SELECT x.acct FROM x JOIN tx ON tx.from_account = x.acct
                     AND tx.time > x.time AND tx.time <= x.time + INTERVAL 3 DAY
                GROUP BY x.acct, x.time, x.usd
                HAVING count(DISTINCT tx.to_account) >= 5 AND sum(tx.usd) >= 0.7 * x.usd
            )
        """,
        "pass_through": """
            WITH x AS (
                SELECT to_account AS acct, time, usd FROM tx WHERE usd >= 3000 AND to_account IS NOT NULL
            ), e AS (
                SELECT x.acct, x.time, any_value(x.usd) AS inflow, sum(tx.usd) AS outflow
                FROM x JOIN tx ON tx.from_account = x.acct
                     AND tx.time > x.time AND tx.time <= x.time + INTERVAL 48 HOUR
                GROUP BY x.acct, x.time
            )
            SELECT count(*) FROM (
                SELECT acct FROM e WHERE outflow BETWEEN 0.9 * inflow AND 1.1 * inflow
                GROUP BY acct HAVING count(*) >= 2
            )
        """,
    }
    total = 0.0
    for name, sql in rules.items():
        secs, rows = timed(con, sql)
        out[f"{name}_secs"] = secs
        out[f"{name}_hits"] = rows[0][0]
        total += secs
    out["scan_secs"] = total
    print(json.dumps(out))


if __name__ == "__main__":
    main()
