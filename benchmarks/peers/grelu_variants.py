"""gReLU's side of bench_variants.py: ``grelu.variant.predict_variant_effects`` timed.

Runs in ``benchmarks/.venv-grelu`` (made by ``benchmarks/setup_peers.sh``), never in the
repository's ``.venv``: gReLU 1.1.0 pins captum==0.5.0 and much else. bench_variants.py
starts it with that environment's python; it is not meant to be run by hand, but can be:

    benchmarks/.venv-grelu/bin/python benchmarks/peers/grelu_variants.py --workdir DIR

``DIR`` holds what bench_variants.py wrote: ``model.json`` (the dnalens model spec),
``model.pt`` (its state_dict), ``variants.tsv`` (chrom, pos = VCF POS, 1-based, ref, alt) and
``genome.fa`` with ``genome.fa.fai`` and ``genome.fa.sizes`` (gReLU's ``CustomGenome``: a
FASTA path is read with pyfaidx, so nothing is downloaded). The Basset module is built from
the spec with dnalens' own model code, imported from ``src/`` (only ``dnalens.models``,
whose imports, torch and safetensors, gReLU's environment has too).

The model goes into gReLU as a ``grelu.lightning.LightningModel`` with
``task="binary"`` (so its output activation is a sigmoid per task), whose ``.model`` is
replaced by the Basset module with a length-1 output axis added: gReLU wants
(batch, tasks, length) outputs.

Timed: the whole ``predict_variant_effects(variants, model, devices="cpu", seq_len=...,
batch_size=..., num_workers=0, genome=<fasta>, rc=False, compare_func="subtract",
return_ad=False)`` call, which builds its ``VariantDataset`` (reads every window from the
FASTA), makes a ``pytorch_lightning.Trainer`` and predicts. A warm-up call on a few variants
comes first (untimed). Also reported, not part of the rate: ``import_s`` (importing gReLU),
``setup_s`` (building the LightningModel and loading the weights), ``dataset_s`` (building
the ``VariantDataset`` alone, once) and ``call_overhead_s`` (a call on one variant).

Prints one JSON object on stdout; gReLU's own prints ("making dataset") and Lightning's
messages go to stderr. The alt - ref differences are saved to ``DIR/grelu_diff.npy``,
shape (variants, tasks), float32.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import re
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import thread_env

# --threads, read here before numpy and torch size their thread pools (argparse reads it
# again in main); the variables stay as set for the whole process.
os.environ.update(thread_env(
    int((re.findall(r"--threads[= ](\d+)", " ".join(sys.argv[1:])) or ["2"])[-1])))

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--seq-len", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=256,
                        help="sequences per forward pass (gReLU counts each allele)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--warmup-variants", type=int, default=64)
    args = parser.parse_args()
    real_stdout = sys.stdout
    result: dict = {"peer": "grelu"}
    # gReLU prints progress with print(); keep stdout for the one JSON line.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            result.update(run(args))
            result["status"] = "ok"
        except Exception as exc:  # report, do not crash the benchmark
            import traceback

            traceback.print_exc()
            result.update(status="unavailable", reason=f"{type(exc).__name__}: {exc}"[:500])
    print(json.dumps(result), file=real_stdout, flush=True)


def run(args: argparse.Namespace) -> dict:
    tic = time.perf_counter()
    import numpy as np
    import pandas as pd
    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import grelu.lightning
        import grelu.variant
        from grelu.data.dataset import VariantDataset
    import_s = time.perf_counter() - tic

    sys.path.insert(0, str(ROOT / "src"))
    from dnalens.models import model_from_spec

    tic = time.perf_counter()
    spec = json.loads((args.workdir / "model.json").read_text())
    basset = model_from_spec(spec)
    basset.load_state_dict(torch.load(args.workdir / "model.pt", weights_only=True))
    basset.eval()
    n_tasks = spec["config"]["n_tasks"]

    class WithLengthAxis(nn.Module):
        """(batch, tasks) logits -> (batch, tasks, 1): gReLU's output layout."""

        def __init__(self, model: nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.model(x).unsqueeze(-1)

    # A tiny registered gReLU model to satisfy the constructor (its metrics read
    # model.head.n_tasks), then ours in its place. task="binary" -> sigmoid activation.
    lightning_model = grelu.lightning.LightningModel(
        model_params={"model_type": "ConvModel", "n_tasks": n_tasks, "n_conv": 0,
                      "stem_channels": 4, "stem_kernel_size": 1},
        train_params={"task": "binary", "loss": "bce"},
    )
    lightning_model.model = WithLengthAxis(basset)
    lightning_model.eval()
    setup_s = time.perf_counter() - tic

    variants = pd.read_csv(args.workdir / "variants.tsv", sep="\t",
                           dtype={"chrom": str, "ref": str, "alt": str})
    fasta = str(args.workdir / "genome.fa")

    def call(frame: pd.DataFrame) -> np.ndarray:
        out = grelu.variant.predict_variant_effects(
            frame.copy(), lightning_model, devices="cpu", seq_len=args.seq_len,
            batch_size=args.batch_size, num_workers=0, genome=fasta, rc=False,
            compare_func="subtract", return_ad=False,
        )
        return np.asarray(out)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(variants.iloc[: args.warmup_variants])
        tic = time.perf_counter()
        call(variants.iloc[:1])
        overhead_s = time.perf_counter() - tic
        tic = time.perf_counter()
        VariantDataset(variants.copy(), seq_len=args.seq_len, genome=fasta)
        dataset_s = time.perf_counter() - tic
        runs = []
        out = None
        for _ in range(args.repeats):
            tic = time.perf_counter()
            out = call(variants)
            runs.append(time.perf_counter() - tic)
    messages = sorted({f"{w.category.__name__}: {str(w.message)[:160]}" for w in caught})
    if out.shape != (len(variants), n_tasks, 1):
        raise RuntimeError(f"unexpected output shape {out.shape}")
    np.save(args.workdir / "grelu_diff.npy", out[:, :, 0].astype(np.float32))
    mkldnn = getattr(getattr(torch.backends, "mkldnn", None), "matmul", None)
    return {
        "grelu": importlib.metadata.version("grelu"),
        "torch": torch.__version__,
        "pytorch_lightning": importlib.metadata.version("pytorch-lightning"),
        "variants": len(variants),
        "batch_size_sequences": args.batch_size,
        "seconds_runs": runs,
        "import_s": import_s,
        "setup_s": setup_s,
        "dataset_s": dataset_s,
        "call_overhead_s": overhead_s,
        "torch_threads_after": torch.get_num_threads(),
        "float32_matmul_precision_after": torch.get_float32_matmul_precision(),
        "mkldnn_matmul_fp32_precision_after": getattr(mkldnn, "fp32_precision", None),
        "warnings": messages[:10],
    }


if __name__ == "__main__":
    main()
