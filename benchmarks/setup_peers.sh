#!/usr/bin/env bash
# Create benchmarks/.venv-grelu: a separate virtual environment holding gReLU 1.1.0, the peer
# of bench_variants.py, and benchmarks/.venv-spliceai (the original spliceai, the peer of
# bench_splice.py; see the end of this file). It cannot share the repository's .venv: gReLU pins captum==0.5.0
# (dnalens needs captum>=0.7) and pulls wandb, genomepy, enformer-pytorch, pyBigWig, ledidi,
# pygenomeviz<=0.4.4 and more, which would move packages under dnalens.
#
# torch is held at the same release as the main environment with -c constraints/cpu.txt
# (torch==2.13.0). gReLU 1.1.0 only asks for torch>=2.0 and pytorch-lightning>=2.0, so the
# pin does not conflict: this resolves to torch 2.13.0+cpu, pytorch-lightning 2.6.6,
# captum 0.5.0 (about 2.6 GB in all). The CPU build comes from where the Makefile's `make`
# gets it: pip's own configuration (here a local wheel of torch-2.13.0+cpu). Where pip would
# otherwise fetch the CUDA build, set TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu.
#
# Usage: benchmarks/setup_peers.sh   (PYTHON=python3.11 to choose the interpreter)
# Re-running it reuses the environment and only installs what is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv-grelu"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
extra=()
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    extra=(--extra-index-url "$TORCH_INDEX_URL")
fi
"$venv/bin/python" -m pip install --quiet "${extra[@]}" -c "$root/constraints/cpu.txt" \
    "grelu==1.1.0"
"$venv/bin/python" - <<'PY'
import importlib.metadata as md

for name in ("grelu", "torch", "pytorch-lightning", "captum"):
    print(f"{name} {md.version(name)}")
PY
echo "gReLU environment ready: $venv" >&2

# benchmarks/.venv-spliceai: the original SpliceAI command (spliceai 1.3.1, Illumina), the
# peer of bench_splice.py. spliceai 1.3.1 needs TensorFlow and Keras 2 (its .h5 models do not
# load in Keras 3), numpy < 2.3 (its one_hot_encode calls np.fromstring in binary mode, gone
# in numpy 2.3) and pkg_resources (setuptools < 81). Working set (about 1.2 GB):
# tensorflow-cpu 2.21.0 (pulls tensorflow 2.21.0 too), tf-keras 2.21.0, numpy 2.2.6, with
# pysam and pyfaidx from spliceai's own requirements. benchmarks/peers/spliceai_cli.py
# routes `keras` to tf_keras (TF_USE_LEGACY_KERAS=1) and runs spliceai's own main().
# SKIP_SPLICEAI=1 skips this part.
if [ -z "${SKIP_SPLICEAI:-}" ]; then
    venv="$here/.venv-spliceai"
    if [ ! -x "$venv/bin/python" ]; then
        "$python" -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet "spliceai==1.3.1" "tensorflow-cpu==2.21.0" \
        "tf-keras==2.21.0" "numpy<2.3" "setuptools<81"
    "$venv/bin/python" "$here/peers/spliceai_cli.py" --help > /dev/null
    "$venv/bin/python" - <<'PY'
import importlib.metadata as md

for name in ("spliceai", "tensorflow-cpu", "tf-keras", "numpy"):
    print(f"{name} {md.version(name)}")
PY
    echo "spliceai environment ready: $venv" >&2
fi
