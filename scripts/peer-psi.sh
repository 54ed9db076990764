#!/usr/bin/env bash
# Side-by-side PSI benchmark: OpenMined PSI (PyPI `openmined-psi`, both parties in one process,
# its exact `raw` mode, which was its fastest here) against soberana's OT-based PSI over
# loopback TCP, at the same sizes on the same machine. Prints both figures and their ratio.
#
# Usage: scripts/peer-psi.sh [N ...]     (default: 4096; the README's bar is 1048576)
# The peer is installed into .venv-psi/ (gitignored) on first use. soberana's figure comes from
# `soberana bench psi` (a release build of the whole binary); SOBERANA_PSI_BENCH=example takes
# it from the psi crate's benchmark example instead, which builds only that crate.
set -euo pipefail

cd "$(dirname "$0")/.."
sizes=("$@")
if [ ${#sizes[@]} -eq 0 ]; then
    sizes=(4096)
fi

venv=.venv-psi
peer_version=2.0.6
if ! "$venv/bin/python" -c "import private_set_intersection.python" 2>/dev/null; then
    echo "installing openmined-psi $peer_version into $venv/" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "openmined-psi==$peer_version"
fi
py="$venv/bin/python"

# soberana's figure: the last JSON line of `soberana bench psi --json`. Until that command is
# wired, the crate's own benchmark example prints the same report.
soberana_json() {
    local n=$1 out
    if [ "${SOBERANA_PSI_BENCH:-cli}" != example ] \
        && out=$(cargo run --quiet --release -p soberana -- bench psi --n "$n" --protocol ot --json 2>/dev/null) \
        && grep -q '^{' <<<"$out"; then
        grep '^{' <<<"$out" | tail -n 1
    else
        echo "(taking soberana's figure from the soberana-psi benchmark example)" >&2
        cargo run --quiet --release -p soberana-psi --example psi_bench -- "$n" ot | grep '^{' | tail -n 1
    fi
}

for n in "${sizes[@]}"; do
    echo "== n = $n per side ==" >&2
    peer=$("$py" scripts/peer_psi.py --n "$n" --ds raw | tail -n 1)
    ours=$(soberana_json "$n")
    "$py" - "$peer" "$ours" <<'PY'
import json, sys
peer, ours = json.loads(sys.argv[1]), json.loads(sys.argv[2])
mib = lambda b: b / 2**20
print(f"openmined-psi {peer['version']} ({peer['ds']}): n={peer['n']} {peer['seconds']:.3f} s, "
      f"wire {mib(peer['bytes_client_to_server'] + peer['bytes_server_to_client']):.2f} MiB, "
      f"{peer['matches']} matches")
wire = ours['bytes_requester_to_responder'] + ours['bytes_responder_to_requester']
print(f"soberana {ours['protocol']}: n={ours['n']} {ours['seconds']:.3f} s, wire {mib(wire):.2f} MiB, "
      f"{ours['matches']} matches, peak memory {mib(ours.get('peak_memory_bytes') or 0):.0f} MiB")
print(f"ratio (openmined-psi time / soberana time): {peer['seconds'] / ours['seconds']:.1f}")
PY
done
