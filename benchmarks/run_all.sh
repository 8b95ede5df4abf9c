#!/usr/bin/env bash
# Run every benchmark; their JSON lines go to benchmarks/results.jsonl (and the terminal),
# progress notes to stderr. Override the interpreter with PYTHON=...; the repository's
# .venv is used by default. bench_loader.py needs tangermeme:
#   .venv/bin/pip install -c constraints/cpu.txt tangermeme
# bench_variants.py compares with gReLU, which lives in its own environment; make it once
# with benchmarks/setup_peers.sh (without it, its gReLU line says "unavailable").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-$root/.venv/bin/python}"
partial="$(mktemp "$here/.results.XXXXXX")"
trap 'rm -f "$partial"' EXIT

for script in bench_loader.py bench_train.py bench_ism.py bench_variants.py; do
    echo "== $script" >&2
    "$python" "$here/$script" | tee -a "$partial"
done
# Replace the previous results only when every benchmark finished.
chmod 644 "$partial"
mv "$partial" "$here/results.jsonl"
echo "wrote $here/results.jsonl" >&2
# Long inputs (Basenji, a small Enformer; training, memory, length sweep, whole-chromosome
# prediction): 10-15 minutes on 2 cores; its lines are appended to results.jsonl.
echo "== bench_longrange.py" >&2
"$python" "$here/bench_longrange.py" --out "$here/results.jsonl"
