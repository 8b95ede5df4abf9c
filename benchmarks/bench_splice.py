"""Splice-variant scoring, variants per second: dnalens (batched / one at a time) vs spliceai.

Model: the published SpliceAI 5-model ensemble (context 10,000), imported from the installed
``spliceai`` package's ``.h5`` files (``import_spliceai(published_h5_paths())``), float32,
``--threads`` threads (default 2). Data: ``../shared/spliceai`` (hg38 chr2:1-2,333,275, its
9-transcript ``annotation.txt`` and ``variants.vcf``, 180 records); the first ``--records``
records (default 40; 0 = all) are written to a VCF that every implementation scores with
D = 50 (``-D 50``), no masking. Variants/s counts VCF records (intergenic ones included:
every tool reads and writes them).

* ``dnalens_batched``: ``score_splice_variants(model, genome, genes, vcf, out, distance=50,
  batch_size=--batch-size, device="cpu")``: windows of many records per forward pass, each
  alt window computed incrementally on its ref window (``dnalens.apply.splice_fast``).
* ``dnalens_one_at_a_time``: the same with ``batch_size=1`` (one record per pass: its ref
  and alt windows, the alt still incremental).
* ``dnalens_whole`` (``--whole``): batched, but every window through the whole model (the
  path used for models other than SpliceAI), to show what the incremental alt pass gives.
* ``spliceai``: the original command, ``spliceai -I in.vcf -O out.vcf -R genome.fa -A
  annotation.txt -D 50`` (spliceai 1.3.1, TensorFlow CPU, Keras 2 through ``tf_keras``) in
  ``benchmarks/.venv-spliceai`` (``benchmarks/setup_peers.sh``), through
  ``benchmarks/peers/spliceai_cli.py``. Its wall time includes TensorFlow's start-up and
  model loading; the same command on a header-only VCF measures that part, and the rate
  is given both with it (``variants_per_s_total``) and without it (``variants_per_s``, the
  one the ratios use; dnalens rates also exclude loading the model).

Agreement: every dnalens output is parsed and compared entry by entry with spliceai's (and
with ``expected_D50.vcf``): each score within 0.01, each position equal where the score is
at least 0.02 (as tests/realdata/test_spliceai_variants.py).

One JSON line per figure on stdout, notes on stderr. Run:
``.venv/bin/python benchmarks/bench_splice.py`` (about 6 minutes with the spliceai peer
on 40 records and 2 cores; ``--records 0`` for all 180, ``--no-peer`` to skip spliceai).
"""

from __future__ import annotations

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import emit, machine, note, thread_env

THREADS = int((re.findall(r"--threads[= ](\d+)", " ".join(sys.argv[1:])) or ["2"])[-1])
os.environ.update(thread_env(THREADS))

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
SHARED = (HERE.parent / ".." / "shared" / "spliceai").resolve()
PEER_PYTHON = HERE / ".venv-spliceai" / "bin" / "python"
PEER_SCRIPT = HERE / "peers" / "spliceai_cli.py"
TOLERANCE = 0.01
NEGLIGIBLE = 0.02


def parse_vcf(path: Path) -> dict[str, list[str]]:
    """``{record ID: SpliceAI entries}`` ([] where the record has none)."""
    out = {}
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        info = dict(kv.split("=", 1) for kv in fields[7].split(";") if "=" in kv)
        out[fields[2]] = info["SpliceAI"].split(",") if "SpliceAI" in info else []
    return out


def compare(ours: dict[str, list[str]], theirs: dict[str, list[str]]) -> dict:
    """Entries compared; score differences; mismatches (score > 0.01 or position)."""
    entries = mismatches = 0
    worst = 0.0
    examples = []
    for record, expected in theirs.items():
        mine = ours.get(record)
        if mine is None or len(mine) != len(expected):
            mismatches += 1
            examples.append(record)
            continue
        for a, b in zip(mine, expected, strict=True):
            entries += 1
            fa, fb = a.split("|"), b.split("|")
            bad = fa[:2] != fb[:2]
            if fb[2] == ".":
                bad |= fa[2:] != fb[2:]
            else:
                for k in range(4):
                    diff = abs(float(fa[2 + k]) - float(fb[2 + k]))
                    worst = max(worst, diff)
                    bad |= diff > TOLERANCE + 1e-9
                    bad |= abs(float(fb[2 + k])) >= NEGLIGIBLE and fa[6 + k] != fb[6 + k]
            if bad:
                mismatches += 1
                examples.append(f"{record}: {a} vs {b}")
    return {"records": len(theirs), "entries": entries, "max_abs_score_diff": round(worst, 4),
            "mismatches": mismatches, "examples": examples[:3]}


def subset_vcf(src: Path, dst: Path, n: int) -> int:
    lines = src.read_text().splitlines()
    head = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    body = body[:n] if n else body
    dst.write_text("\n".join(head + body) + "\n")
    return len(body)


def run_peer(vcf: Path, out: Path) -> float:
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(THREADS), TF_NUM_INTEROP_THREADS="1",
               TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [str(PEER_PYTHON), str(PEER_SCRIPT), "-I", str(vcf), "-O", str(out), "-R",
           str(SHARED / "genome_chr2_0_2333275.fa"), "-A", str(SHARED / "annotation.txt"),
           "-D", "50"]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"spliceai failed ({done.returncode}): {done.stderr[-500:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--records", type=int, default=40, help="first N records; 0 = all")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--no-peer", action="store_true", help="skip the spliceai command")
    parser.add_argument("--whole", action="store_true",
                        help="also time the batched whole-window path")
    args = parser.parse_args()
    base = {"benchmark": "splice_variants", "machine": machine(), "threads": args.threads}
    if not (SHARED / "variants.vcf").is_file():
        emit({**base, "status": "unavailable", "reason": f"{SHARED} is absent"})
        return
    if importlib.util.find_spec("spliceai") is None:
        emit({**base, "status": "unavailable",
              "reason": "the spliceai package (weights) is not installed in this environment"})
        return

    import torch

    from dnalens.io.annotation import read_gene_table
    from dnalens.io.genome import Genome
    from dnalens.models.spliceai_keras import import_spliceai, published_h5_paths

    torch.set_num_threads(args.threads)
    model, _ = import_spliceai(published_h5_paths())
    model = model.eval()
    genome = Genome(SHARED / "genome_chr2_0_2333275.fa")
    genes = read_gene_table(SHARED / "annotation.txt")
    work = Path(tempfile.mkdtemp(prefix="bench_splice_"))
    try:
        run(args, base, model, genome, genes, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, base: dict, model, genome, genes, work: Path) -> None:
    from dnalens.apply import splicing
    from dnalens.apply.splice_vcf import score_splice_variants

    expected = parse_vcf(SHARED / "expected_D50.vcf")
    vcf = work / "in.vcf"
    n = subset_vcf(SHARED / "variants.vcf", vcf, args.records)
    subset_vcf(SHARED / "variants.vcf", work / "warm.vcf", 2)
    expected = {k: v for k, v in expected.items() if k in parse_vcf(vcf)}
    base.update(records=n, distance=50)
    note(f"{n} records, ensemble of {len(model.members)}, {args.threads} threads, in {work}")

    def dnalens(name: str, batch_size: int, whole: bool = False) -> tuple[float, dict]:
        original = splicing._spliceai_members
        if whole:
            splicing._spliceai_members = lambda model, context: None
        try:
            score_splice_variants(model, genome, genes, work / "warm.vcf", work / "w.vcf",
                                  distance=50, batch_size=batch_size, device="cpu")
            start = time.perf_counter()
            score_splice_variants(model, genome, genes, vcf, work / f"{name}.vcf",
                                  distance=50, batch_size=batch_size, device="cpu")
            took = time.perf_counter() - start
        finally:
            splicing._spliceai_members = original
        return took, parse_vcf(work / f"{name}.vcf")

    rates: dict[str, float] = {}
    outputs = {}
    runs = [("dnalens_batched", args.batch_size, False), ("dnalens_one_at_a_time", 1, False)]
    if args.whole:
        runs.append(("dnalens_whole", args.batch_size, True))
    for name, size, whole in runs:
        note(f"{name} ...")
        took, outputs[name] = dnalens(name, size, whole)
        rates[name] = n / took
        emit({**base, "impl": name, "batch_size": size, "seconds": round(took, 2),
              "variants_per_s": round(n / took, 3)})
        emit({**base, "agreement": f"{name}_vs_expected_D50",
              **compare(outputs[name], expected)})

    if args.no_peer:
        emit({**base, "peer": "spliceai", "status": "skipped"})
    elif not PEER_PYTHON.exists():
        emit({**base, "peer": "spliceai", "status": "unavailable",
              "reason": f"{PEER_PYTHON} missing: run benchmarks/setup_peers.sh"})
    else:
        try:
            note("spliceai (header-only VCF: start-up and model loading) ...")
            subset_vcf(vcf, work / "empty.vcf", -len(vcf.read_text().splitlines()))
            startup = run_peer(work / "empty.vcf", work / "empty_out.vcf")
            note(f"spliceai on {n} records ...")
            took = run_peer(vcf, work / "spliceai.vcf")
        except (RuntimeError, OSError) as err:
            emit({**base, "peer": "spliceai", "status": "unavailable", "reason": str(err)})
        else:
            theirs = parse_vcf(work / "spliceai.vcf")
            rates["spliceai"] = n / (took - startup)
            emit({**base, "impl": "spliceai", "version": "1.3.1", "seconds": round(took, 2),
                  "startup_s": round(startup, 2),
                  "variants_per_s": round(n / (took - startup), 3),
                  "variants_per_s_total": round(n / took, 3)})
            emit({**base, "agreement": "spliceai_vs_expected_D50", **compare(theirs, expected)})
            for name in outputs:
                emit({**base, "agreement": f"{name}_vs_spliceai",
                      **compare(outputs[name], theirs)})
    ratios = {f"{a}_over_{b}": round(rates[a] / rates[b], 2)
              for a in rates for b in rates if a != b and b in ("spliceai", "dnalens_whole",
                                                                "dnalens_one_at_a_time")}
    emit({**base, "ratios": ratios})


if __name__ == "__main__":
    main()
