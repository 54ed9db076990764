#!/usr/bin/env bash
# Side-by-side finance benchmark: DuckDB (PyPI `duckdb`) against soberana on the same generated
# two-country ledger: CSV ingest, a 6-hop forward trace from the same seed (DuckDB: a recursive
# SQL query), and the typology rules (DuckDB: SQL with soberana's default thresholds). Prints
# both sets of figures and the trace ratio.
#
# Usage: scripts/peer-finance.sh [N ...]     (default: 1000000 transactions; the bar is 10000000)
# The peer is installed into .venv-finance/ (gitignored) on first use. The ledger is written to
# bench-out/finance-N/ (gitignored) by `soberana finance generate --no-split` (the whole ledger
# only), or, if that command is not
# wired, by the soberana-finance example `finance generate` (same generator, same seed, same rows).
# Both sides run on one thread.
set -euo pipefail

cd "$(dirname "$0")/.."
sizes=("$@")
if [ ${#sizes[@]} -eq 0 ]; then
    sizes=(1000000)
fi

venv=.venv-finance
peer_version=2.0.0
if ! "$venv/bin/python" -c "import duckdb" 2>/dev/null; then
    echo "installing duckdb $peer_version into $venv/" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "duckdb==$peer_version"
fi
py="$venv/bin/python"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target-finance}"

# The `soberana` binary is used once it calls the finance crate (building it in release takes
# minutes, so it is not tried before then).
cli_has_finance() {
    grep -rqs 'soberana_finance' crates/cli/src
}

generate() {
    local n=$1 dir=$2
    if cli_has_finance \
        && cargo run --quiet --release -p soberana -- finance generate --n "$n" --seed 1 --no-split --out "$dir" 2>/dev/null \
        && [ -s "$dir/summary.json" ]; then
        return
    fi
    echo "(soberana finance generate unavailable; using the soberana-finance example)" >&2
    cargo run --quiet --release -p soberana-finance --example finance -- generate --n "$n" --seed 1 --out "$dir"
}

soberana_json() {
    local n=$1 out
    if cli_has_finance \
        && out=$(cargo run --quiet --release -p soberana -- bench finance --n "$n" --json 2>/dev/null) \
        && grep -q '^{' <<<"$out"; then
        grep '^{' <<<"$out" | tail -n 1
    else
        echo "(soberana bench finance unavailable; using the soberana-finance example)" >&2
        cargo run --quiet --release -p soberana-finance --example finance -- bench --n "$n" --json \
            | grep '^{' | tail -n 1
    fi
}

for n in "${sizes[@]}"; do
    echo "== $n transactions ==" >&2
    dir="bench-out/finance-$n"
    # Regenerated every run (the generator may have changed); KEEP=1 reuses the files.
    if [ "${KEEP:-0}" != 1 ] || [ ! -s "$dir/summary.json" ]; then
        rm -rf "$dir"
        generate "$n" "$dir" >&2
    fi
    ours=$(soberana_json "$n")
    # The same seeds as soberana's first five traces (the demo collector, then
    # accounts spread over the population).
    mapfile -t seeds < <("$py" -c "import json,sys; [print(s['account']) for s in json.loads(sys.argv[1])['trace']['per_seed'][:5]]" "$ours")
    args=()
    for s in "${seeds[@]}"; do args+=(--seed "$s"); done
    peer=$("$py" scripts/peer_finance.py --dir "$dir" "${args[@]}" --hops 6 --threads 1 | tail -n 1)
    "$py" - "$peer" "$ours" <<'PY'
import json, statistics, sys
peer, ours = json.loads(sys.argv[1]), json.loads(sys.argv[2])
t = ours["trace"]
print(f"{'':44} {peer['engine']:>22} {'soberana':>22}")
rows = [
    ("rows", f"{peer['rows']:,}", f"{ours['transactions']:,}"),
    ("CSV ingest, rows/s", f"{peer['ingest_rows_per_sec']:,.0f}", f"{ours['ingest_rows_per_sec']:,.0f}"),
    ("typology scan, s", f"{peer['scan_secs']:.2f} (4 rules)", f"{ours['scan_secs']:.2f} (6 rules)"),
    ("memory, bytes/transaction", "", f"{ours['bytes_per_transaction']:.1f}"),
    ("recall / precision (planted)", "", f"{ours['score']['recall']:.3f} / {ours['score']['precision']:.3f}"),
]
for name, a, b in rows:
    print(f"{name:44} {a:>22} {b:>22}")
ratios = []
for p, o in zip(peer["traces"], t["per_seed"]):
    assert p["account"] == o["account"]
    ratios.append(p["ms"] / max(o["ms"], 1e-3))
    print(f"6-hop trace {o['account'][:30]:32} {p['ms']:>12.2f} ms ({p['accounts']:>7,} acc.) {o['ms']:>10.3f} ms ({o['nodes']:>5,} nodes)")
print(f"trace: soberana is {statistics.median(ratios):,.0f}x DuckDB, median over {len(ratios)} seeds (goal >= 10x).")
print("DuckDB computes time-respecting reachability (a recursive query); soberana follows attributed")
print("money (tainted-first FIFO) and stops at the border, which the SQL query does not.")
print(json.dumps({"n": peer["rows"], "duckdb": peer, "soberana": ours}))
PY
done
