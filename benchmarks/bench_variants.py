"""Variant-effect scoring, SNVs per second: dnalens (fast / full) vs plain PyTorch vs gReLU.

Model: the published Basset, ``build_model("basset", input_length=1000, n_tasks=164)``
(seed 0, eval mode), as in bench_ism.py; ``--threads`` threads (default 2). Genome:
``common.genome_files`` (the real chr2 excerpt when ``../shared`` has it, else a random
2 Mb FASTA). Variants: ``--variants`` random SNVs (seed 0), at distinct positions at least
1,000 bp from either end of the sequence, on A/C/G/T reference bases, written as a VCF
(REF from the genome, ALT one of the three other bases); ``--near-n`` of them (8) where the
window holds N bases, when the genome has any (the real excerpt starts with 10 kb of N).
Every implementation scores all of them, ``--batch-size`` variants (twice as many windows)
per forward pass, and its figure is alt - ref of the per-task sigmoid:

* ``dnalens_fast``: ``score_variants(model, genome, records, input_length=1000, tasks=...,
  out_tsv=..., batch_size=B, device="cpu", progress=False, fast=True)`` (the reference pass
  reused, the alt allele by incremental recompute). Reported as unavailable when this
  dnalens has no ``fast`` argument.
* ``dnalens_naive``: the same with ``fast=False`` (without the argument on a dnalens that
  does not have it): ref and alt windows both through the whole model.
  Both dnalens lines include what ``score_variants`` does besides the model: cutting the
  windows from the (bgzipped, indexed) FASTA, and writing the TSV. The records are read
  from the VCF beforehand (``vcf_read_s``, not in the rate).
* ``plain_pytorch``: the baseline. The genome is held as one ``bytes`` object per sequence;
  per batch, numpy slices the windows, one-hot encodes them with a (256, 4) lookup table,
  copies them and writes the ALT base, and ``model(torch.cat([ref, alt]))`` runs under
  ``torch.inference_mode``, then sigmoid and the difference.
* ``grelu``: ``grelu.variant.predict_variant_effects`` (gReLU 1.1.0), in its own virtual
  environment (``benchmarks/setup_peers.sh``) through ``benchmarks/peers/grelu_variants.py``,
  on the same weights, FASTA (uncompressed copy), variants, window length, and forward-pass
  size (gReLU's ``batch_size`` counts alleles, so it gets ``2 * B``). The whole call is timed,
  including its dataset build and Lightning ``Trainer``; import, model set-up, the dataset
  build alone and the cost of a 1-variant call are reported apart. When that environment is
  missing or fails, a ``{"peer": "grelu", "status": "unavailable", "reason": ...}`` line says
  so and the rest runs.

Windows. dnalens puts an SNV at offset ``L // 2`` = 500 of its window (0-based start
``pos0 - 500``); gReLU puts it at ``floor(L/2 - 1/2)`` = 499 (start ``pos0 - 499``): for an
even length its window is one base further right. The plain baseline follows dnalens; the
agreement check also runs it (untimed) with gReLU's window so that each peer is compared
with the baseline built its own way (``grelu_vs_plain_grelu_window``); ``grelu_vs_dnalens``
is the raw difference between the two tools (not checked: the windows differ).

Each rate is the best of ``--repeats`` runs (dnalens and plain interleaved; gReLU's runs
come one after the other in its own process), warm-up calls excluded. One JSON line per
figure on stdout (progress notes on stderr): one per implementation, an ``agreement`` line
(max abs differences of alt - ref, tolerance 1e-4 absolute) and a ratio line.

Run: ``.venv/bin/python benchmarks/bench_variants.py`` (about 3-4 minutes on 2 cores;
``benchmarks/setup_peers.sh`` first for the gReLU line).
"""

from __future__ import annotations

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import emit, genome_files, machine, note, read_plain_fasta, thread_env

# --threads, read here before numpy and torch size their thread pools (argparse reads it
# again in main); the variables stay as set for the whole process.
os.environ.update(thread_env(
    int((re.findall(r"--threads[= ](\d+)", " ".join(sys.argv[1:])) or ["2"])[-1])))

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dnalens.apply.variants import score_variants
from dnalens.io.genome import Genome
from dnalens.io.variants import read_vcf
from dnalens.models import build_model, model_spec

LENGTH = 1000
N_TASKS = 164
TASKS = [f"t{i}" for i in range(N_TASKS)]
MARGIN = 1000  # variants at least this far from either sequence end: no padded windows
TOLERANCE = 1e-4
HERE = Path(__file__).resolve().parent
GRELU_PYTHON = HERE / ".venv-grelu" / "bin" / "python"
GRELU_SCRIPT = HERE / "peers" / "grelu_variants.py"
# Offset of the SNV in its window: dnalens (L // 2) and gReLU (floor(L/2 - 1/2)).
DNALENS_OFFSET = LENGTH // 2
GRELU_OFFSET = int(np.floor(LENGTH / 2 - 0.5))

# byte -> one-hot row (A, C, G, T); lowercase like uppercase; anything else (N) all zero.
_LUT = np.zeros((256, 4), dtype=np.float32)
for _i, _base in enumerate("ACGT"):
    _LUT[ord(_base), _i] = _LUT[ord(_base.lower()), _i] = 1.0


def random_snvs(sequences: dict[str, bytes], n: int, seed: int, near_n: int) -> pd.DataFrame:
    """``n`` SNVs at distinct A/C/G/T positions of the longest sequence, sorted by position:
    chrom, pos0 (0-based), ref, alt, and n_in_window (N bases in the widest of the two
    tools' windows). ``near_n`` of them (when there are such positions) are drawn among those
    whose window holds an N, the rest among the others."""
    chrom = max(sequences, key=lambda c: len(sequences[c]))
    seq = np.frombuffer(sequences[chrom].upper(), dtype=np.uint8)
    is_base = np.isin(seq, np.frombuffer(b"ACGT", dtype=np.uint8))
    candidates = np.flatnonzero(is_base)
    candidates = candidates[(candidates >= MARGIN) & (candidates < len(seq) - MARGIN)]
    if len(candidates) < n:
        raise SystemExit(f"only {len(candidates):,} usable positions for {n:,} variants")
    # N count of [p - 500, p + 501): covers both the dnalens and the gReLU window.
    not_base = np.concatenate([[0], np.cumsum(~is_base)])
    before, after = DNALENS_OFFSET, LENGTH - GRELU_OFFSET
    n_in_window = not_base[candidates + after] - not_base[candidates - before]
    rng = np.random.default_rng(seed)
    near, clear = candidates[n_in_window > 0], candidates[n_in_window == 0]
    k = min(near_n, len(near), n)
    pos0 = np.sort(np.concatenate([rng.choice(near, size=k, replace=False),
                                   rng.choice(clear, size=n - k, replace=False)]))
    refs = [chr(b) for b in seq[pos0]]
    shift = rng.integers(1, 4, size=n)
    alts = ["ACGT"[("ACGT".index(r) + s) % 4] for r, s in zip(refs, shift, strict=True)]
    return pd.DataFrame({"chrom": chrom, "pos0": pos0, "ref": refs, "alt": alts,
                         "n_in_window": not_base[pos0 + after] - not_base[pos0 - before]})


def write_vcf(path: Path, snvs: pd.DataFrame, sizes: dict[str, int]) -> None:
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<ID={c},length={s}>" for c, s in sizes.items()]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    lines += [f"{r.chrom}\t{r.pos0 + 1}\tsnv{i}\t{r.ref}\t{r.alt}\t.\tPASS\t."
              for i, r in enumerate(snvs.itertuples())]
    path.write_text("\n".join(lines) + "\n")


def plain_scores(model: torch.nn.Module, arrays: dict[str, np.ndarray], snvs: pd.DataFrame,
                 batch: int, offset: int = DNALENS_OFFSET) -> np.ndarray:
    """Baseline: alt - ref sigmoid outputs (n, tasks); the SNV at ``offset`` of its window."""
    chroms = snvs["chrom"].to_numpy()
    pos0 = snvs["pos0"].to_numpy()
    alt_rows = _LUT[np.frombuffer("".join(snvs["alt"]).encode(), dtype=np.uint8)]
    out = np.empty((len(snvs), N_TASKS), dtype=np.float32)
    with torch.inference_mode():
        for lo in range(0, len(snvs), batch):
            hi = min(lo + batch, len(snvs))
            codes = np.stack([arrays[c][p - offset : p - offset + LENGTH]
                              for c, p in zip(chroms[lo:hi], pos0[lo:hi], strict=True)])
            ref = _LUT[codes].transpose(0, 2, 1)  # (b, 4, L)
            alt = ref.copy()
            alt[:, :, offset] = alt_rows[lo:hi]
            x = torch.from_numpy(np.ascontiguousarray(np.concatenate([ref, alt])))
            y = torch.sigmoid(model(x))
            out[lo:hi] = (y[hi - lo :] - y[: hi - lo]).numpy()
    return out


def dnalens_scores(model: torch.nn.Module, genome: Genome, records: list, batch: int,
                   out_tsv: Path, fast: bool | None) -> bool | None:
    """score_variants on ``records``; ``fast=None`` leaves the argument out. Whether it
    used its fast path (None when this dnalens does not say)."""
    extra = {} if fast is None else {"fast": fast}
    summary = score_variants(model, genome, records, input_length=LENGTH, tasks=TASKS,
                             out_tsv=out_tsv, batch_size=batch, device="cpu", progress=False,
                             **extra)
    return getattr(summary, "fast_path", None)


def read_diffs(out_tsv: Path) -> np.ndarray:
    table = pd.read_csv(out_tsv, sep="\t", usecols=[f"{t}_diff" for t in TASKS])
    return table[[f"{t}_diff" for t in TASKS]].to_numpy(dtype=np.float32)


def has_fast(model: torch.nn.Module, genome: Genome, records: list, batch: int,
             out_tsv: Path) -> tuple[bool, str]:
    """Whether score_variants takes ``fast=True`` (a call on one batch, also a warm-up)."""
    try:
        dnalens_scores(model, genome, records[:batch], batch, out_tsv, fast=True)
    except TypeError as exc:
        if "fast" not in str(exc):
            raise
        return False, f"score_variants has no fast argument here ({exc})"
    return True, ""


def run_grelu(workdir: Path, args: argparse.Namespace) -> dict:
    """gReLU's result (its JSON), or status "unavailable" with the reason."""
    if not GRELU_PYTHON.exists():
        return {"status": "unavailable",
                "reason": f"{GRELU_PYTHON.relative_to(HERE.parent)} is missing; "
                          "run benchmarks/setup_peers.sh"}
    command = [str(GRELU_PYTHON), str(GRELU_SCRIPT), "--workdir", str(workdir),
               "--seq-len", str(LENGTH), "--batch-size", str(2 * args.batch_size),
               "--threads", str(args.threads), "--repeats", str(args.repeats),
               "--warmup-variants", str(args.batch_size)]
    note("gReLU: " + " ".join(command))
    try:
        # cwd: each gReLU call makes a Lightning Trainer, which writes lightning_logs/ there.
        done = subprocess.run(command, capture_output=True, text=True, cwd=workdir,
                              timeout=args.peer_timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"status": "unavailable", "reason": f"timed out after {args.peer_timeout} s"}
    stderr_lines = [line for line in done.stderr.splitlines() if line.strip()]
    for line in stderr_lines[-15:]:
        note(f"  grelu| {line[:200]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = " | ".join(stderr_lines[-3:])[-400:]
        return {"status": "unavailable",
                "reason": f"the gReLU script exited with {done.returncode} and no result: {tail}"}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=2000, help="number of SNVs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128,
                        help="variants per forward pass (2x as many windows)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per implementation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--near-n", type=int, default=8,
                        help="variants drawn among those whose window holds N bases "
                             "(when the genome has any)")
    parser.add_argument("--no-grelu", action="store_true", help="skip the gReLU peer")
    parser.add_argument("--peer-timeout", type=int, default=900,
                        help="seconds allowed for the gReLU process")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    model = build_model("basset", input_length=LENGTH, n_tasks=N_TASKS).eval()

    with tempfile.TemporaryDirectory(prefix="dnalens-bench-") as tmp:
        work = Path(tmp)
        files = genome_files(work, seed=args.seed)
        sequences = read_plain_fasta(files.plain_fasta)
        arrays = {c: np.frombuffer(s, dtype=np.uint8) for c, s in sequences.items()}
        sizes = {c: len(s) for c, s in sequences.items()}
        snvs = random_snvs(sequences, args.variants, args.seed, args.near_n)
        vcf = work / "variants.vcf"
        write_vcf(vcf, snvs, sizes)
        n = len(snvs)

        tic = time.perf_counter()
        genome = Genome(files.fasta)
        genome_open_s = time.perf_counter() - tic
        tic = time.perf_counter()
        stream = read_vcf(vcf, genome)
        records = list(stream)
        vcf_read_s = time.perf_counter() - tic
        if len(records) != n:
            raise SystemExit(f"read_vcf kept {len(records)} of {n} variants: "
                             f"{stream.summary.skipped}")

        common = {"bench": "variants", "length": LENGTH, "threads": args.threads,
                  "model": "basset", "n_tasks": N_TASKS, "variants": n,
                  "batch_size": args.batch_size, "genome": files.source,
                  "chrom": str(snvs["chrom"].iloc[0]), "machine": machine(),
                  "torch": torch.__version__,
                  "load_average_at_start": round(os.getloadavg()[0], 2)}

        # ---- inputs for the gReLU process -------------------------------------------------
        torch.save(model.state_dict(), work / "model.pt")
        (work / "model.json").write_text(json.dumps(model_spec(model)))
        grelu_fasta = work / "genome.fa"  # files.plain_fasta, uncompressed
        (work / "genome.fa.sizes").write_text("".join(f"{c}\t{s}\n" for c, s in sizes.items()))
        snvs.assign(pos=snvs["pos0"] + 1)[["chrom", "pos", "ref", "alt"]].to_csv(
            work / "variants.tsv", sep="\t", index=False)
        assert grelu_fasta == files.plain_fasta

        # ---- warm-up -------------------------------------------------------------------
        note(f"{n:,} SNVs on {common['chrom']} ({files.source}); warm-up ...")
        out_tsv = work / "dnalens.tsv"
        fast_ok, fast_reason = has_fast(model, genome, records, args.batch_size, out_tsv)
        naive_flag = False if fast_ok else None
        dnalens_scores(model, genome, records[: args.batch_size], args.batch_size, out_tsv,
                       naive_flag)
        plain_scores(model, arrays, snvs.iloc[: args.batch_size], args.batch_size)

        # ---- timing: dnalens and plain, interleaved ---------------------------------------
        runs: dict[str, list[float]] = {}
        diffs: dict[str, np.ndarray] = {}
        fast_path_used: dict[str, bool | None] = {}
        order = [*(["dnalens_fast"] if fast_ok else []), "dnalens_naive", "plain_pytorch"]
        for _ in range(args.repeats):
            for impl in order:
                out_tsv.unlink(missing_ok=True)
                tic = time.perf_counter()
                if impl == "plain_pytorch":
                    diffs[impl] = plain_scores(model, arrays, snvs, args.batch_size)
                else:
                    fast_path_used[impl] = dnalens_scores(
                        model, genome, records, args.batch_size, out_tsv,
                        True if impl == "dnalens_fast" else naive_flag)
                dt = time.perf_counter() - tic
                if impl != "plain_pytorch":
                    diffs[impl] = read_diffs(out_tsv)  # reading the TSV back is not timed
                runs.setdefault(impl, []).append(dt)
                note(f"{impl}: {dt:.2f} s ({n / dt:.1f} variants/s)")

        rates: dict[str, float] = {}

        def record(impl: str, seconds: list[float], **extra) -> None:
            best = min(seconds)
            rates[impl] = n / best
            emit({**common, "impl": impl, "variants_per_s": n / best, "seconds": best,
                  "seconds_runs": seconds, "measured": True, **extra})

        if fast_ok:
            record("dnalens_fast", runs["dnalens_fast"], fast_argument=True,
                   fast_path_used=fast_path_used["dnalens_fast"], vcf_read_s=vcf_read_s,
                   genome_open_s=genome_open_s, snv_offset_in_window=DNALENS_OFFSET)
        else:
            emit({**common, "impl": "dnalens_fast", "status": "unavailable",
                  "reason": fast_reason})
        record("dnalens_naive", runs["dnalens_naive"], fast_argument=naive_flag,
               fast_path_used=fast_path_used["dnalens_naive"],
               vcf_read_s=vcf_read_s, genome_open_s=genome_open_s,
               snv_offset_in_window=DNALENS_OFFSET)
        record("plain_pytorch", runs["plain_pytorch"], snv_offset_in_window=DNALENS_OFFSET)

        # ---- gReLU, in its own environment -----------------------------------------------
        grelu: dict = {"status": "unavailable", "reason": "--no-grelu"}
        if not args.no_grelu:
            grelu = run_grelu(work, args)
        grelu_path = work / "grelu_diff.npy"
        if grelu.get("status") == "ok" and grelu_path.exists():
            diffs["grelu"] = np.load(grelu_path)
            extra = {k: v for k, v in grelu.items()
                     if k not in ("peer", "status", "seconds_runs", "variants", "torch")}
            record("grelu", grelu["seconds_runs"], grelu_torch=grelu.get("torch"),
                   snv_offset_in_window=GRELU_OFFSET, **extra)
        else:
            note(f"gReLU unavailable: {grelu.get('reason')}")
            emit({**common, "peer": "grelu", "status": "unavailable",
                  "reason": grelu.get("reason", "no result")})

        # ---- agreement (alt - ref), tolerance 1e-4 absolute --------------------------------
        if "grelu" in diffs:
            note("agreement check: the plain baseline once more, with gReLU's window ...")
            diffs["plain_grelu_window"] = plain_scores(model, arrays, snvs, args.batch_size,
                                                       offset=GRELU_OFFSET)

        def gap(a: str, b: str) -> float | None:
            if a in diffs and b in diffs:
                return float(np.abs(diffs[a] - diffs[b]).max())
            return None

        checked = {
            "dnalens_naive_vs_plain": gap("dnalens_naive", "plain_pytorch"),
            "dnalens_fast_vs_plain": gap("dnalens_fast", "plain_pytorch"),
            "dnalens_fast_vs_naive": gap("dnalens_fast", "dnalens_naive"),
            "grelu_vs_plain_grelu_window": gap("grelu", "plain_grelu_window"),
        }
        checked = {k: v for k, v in checked.items() if v is not None}
        unchecked = {
            "grelu_vs_dnalens_naive": gap("grelu", "dnalens_naive"),
            "grelu_vs_plain": gap("grelu", "plain_pytorch"),
            "plain_grelu_window_vs_plain": gap("plain_grelu_window", "plain_pytorch"),
        }
        unchecked = {k: v for k, v in unchecked.items() if v is not None}
        ok = all(v <= TOLERANCE for v in checked.values())
        # A random-weight model gives small effects (sigmoids near 0.5): the same gaps as
        # fractions of the largest |alt - ref| show how tight 1e-4 absolute really is.
        scale = float(np.abs(diffs["plain_pytorch"]).max())
        common["load_average_at_end"] = round(os.getloadavg()[0], 2)
        emit({**common, "check": "agreement", "max_abs_diff": checked,
              "max_abs_diff_different_windows": unchecked, "tolerance": TOLERANCE,
              "max_abs_effect": scale,
              "windows_with_n": int((snvs["n_in_window"] > 0).sum()),
              "max_diff_over_max_effect": {k: v / scale for k, v in checked.items()},
              "windows": {"dnalens": f"[pos0-{DNALENS_OFFSET}, pos0+{LENGTH - DNALENS_OFFSET})",
                          "grelu": f"[pos0-{GRELU_OFFSET}, pos0+{LENGTH - GRELU_OFFSET})"},
              "ok": ok})

        best = "dnalens_fast" if "dnalens_fast" in rates else "dnalens_naive"
        emit({**common, "ratio": best,
              **{f"vs_{impl}": rates[best] / rate for impl, rate in rates.items()
                 if impl != best}})
        if not ok:
            note(f"outputs disagree: {checked}")
            sys.exit(1)


if __name__ == "__main__":
    main()
