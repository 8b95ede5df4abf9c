"""A tiny genome with a planted motif and a run config over it that trains in seconds.

Imported by tests as ``import planted`` (tests/ is on sys.path through its conftest).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MOTIF = "CACGTGAC"


def write_planted_genome(root: Path, *, n_chroms: int = 3, length: int = 40_000,
                         n_peaks: int = 60, seed: int = 0) -> tuple[Path, Path]:
    """FASTA of random chromosomes and a BED of peaks, each peak carrying MOTIF at its centre."""
    rng = np.random.default_rng(seed)
    lines, peaks = [], []
    for c in range(n_chroms):
        chrom = f"chr{c + 1}"
        seq = np.array(list("ACGT"))[rng.integers(0, 4, length)]
        centres = np.sort(rng.choice(np.arange(300, length - 300, 400), n_peaks, replace=False))
        for centre in centres:
            seq[centre - 4 : centre + 4] = list(MOTIF)
            peaks.append(f"{chrom}\t{centre - 25}\t{centre + 25}\n")
        text = "".join(seq)
        lines.append(f">{chrom}\n" + "\n".join(text[i : i + 60] for i in range(0, length, 60)))
    genome = root / "genome.fa"
    genome.write_text("\n".join(lines) + "\n")
    bed = root / "peaks.bed"
    bed.write_text("".join(peaks))
    return genome, bed


def run_dict(tmp_path: Path, genome: Path, bed: Path, **overrides) -> dict:
    """A run config (as a dict) over the planted genome; overrides replace top-level sections."""
    raw = {
        "name": "tiny",
        "seed": 0,
        "output_dir": str(tmp_path / "runs"),
        "data": {
            "genome": str(genome),
            "targets": [{"name": "motif", "bed": str(bed)}],
            "windows": {"mode": "peaks", "eval_mode": "tile", "bin_size": 50,
                        "input_length": 100, "negatives_per_positive": 1.0},
            "split": {"valid_chroms": ["chr2"], "test_chroms": ["chr3"]},
        },
        "model": {"name": "mlp", "params": {"hidden_sizes": [16], "dropout": 0.0}},
        "train": {"max_epochs": 4, "batch_size": 32, "lr": 0.01, "progress_bar": False,
                  "kmer_k": 3},
    }
    raw.update(overrides)
    return raw


def scoring_inputs(root: Path, genome: Path, bed: Path, *, name: str, exons: str) -> dict:
    """What `variants` and `splice score` need over the planted genome: a run trained one
    epoch (``runs/NAME``), an untrained small SpliceAI model, a one-gene table on chr1 with
    ``exons`` ("TX_START\\tTX_END\\tEXON_STARTS\\tEXON_ENDS") and chr1's sequence."""
    import torch
    import yaml

    from dnalens.cli.main import main
    from dnalens.models import build_model, save_model
    from dnalens.models.spliceai import CLASSES

    raw = run_dict(root, genome, bed, name=name)
    raw["train"]["max_epochs"] = 1
    (root / f"{name}.yaml").write_text(yaml.safe_dump(raw))
    assert main(["-q", "train", str(root / f"{name}.yaml")]) == 0
    torch.manual_seed(0)
    splice_model = save_model(build_model("spliceai", context=80, channels=8),
                              root / "splice_model", tasks=CLASSES)
    genes = root / "genes.txt"
    genes.write_text("#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
                     f"GENE\tchr1\t+\t{exons}\n")
    seq = genome.read_text().split(">chr1\n")[1].split(">")[0].replace("\n", "")
    return {"root": root, "run": root / "runs" / name, "genome": genome, "seq": seq,
            "splice_model": splice_model, "genes": genes}
