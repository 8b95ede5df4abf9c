"""The built-in demo: synthetic genome with planted motifs -> trained, evaluated model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from dnalens.apply.evaluate import EvaluationResult
from dnalens.config import parse_run_config
from dnalens.data.demo import DemoData, make_demo_data
from dnalens.report.evaluation import write_evaluation
from dnalens.report.html import write_report
from dnalens.train.fit import train_run

__all__ = ["DemoResult", "demo_config", "run_demo"]


@dataclass
class DemoResult:
    data: DemoData
    config_path: Path
    run_dir: Path
    evaluation: EvaluationResult
    written: list[Path]


def demo_config(data: DemoData, *, max_epochs: int = 20, progress_bar: bool = True) -> dict:
    """A DeepSEA-style run on the demo genome, small enough for a CPU in a few minutes.

    Bins: 200 bp; input: 1,000 bp (DeepSEA's convention). Training bins are
    centred on peaks plus twice as many random negatives; the held-out
    chromosomes are tiled, as a genome-wide prediction would be.
    """
    return {
        "name": "demo",
        "seed": data.seed,
        "output_dir": "runs",
        "data": {
            "genome": str(data.genome),
            "targets": [{"name": task, "bed": str(path)} for task, path in data.peaks.items()],
            "windows": {"mode": "peaks", "eval_mode": "tile", "bin_size": 200,
                        "input_length": 1000, "negatives_per_positive": 2.0},
            "split": {"valid_chroms": [data.chroms[-2]], "test_chroms": [data.chroms[-1]]},
            "augment": {"reverse_complement": True, "max_shift": 20},
        },
        "model": {"name": "deepsea", "params": {
            "conv_channels": [64, 96, 128], "hidden": 128, "dropouts": [0.1, 0.1, 0.3],
            "batch_norm": True}},
        "train": {"lr": 2e-3, "batch_size": 64, "max_epochs": max_epochs, "patience": 4,
                  "monitor": "val_auprc", "progress_bar": progress_bar},
    }


def run_demo(out_dir: str | Path, *, n_chroms: int = 4, chrom_length: int = 1_000_000,
             seed: int = 0, max_epochs: int = 20, progress_bar: bool = True) -> DemoResult:
    """Write the demo data and config into ``out_dir``, train, evaluate on held-out chromosomes,
    score the demo variants (``variants.tsv``: SNVs breaking planted motifs on the test
    chromosome, and background SNVs) and write the HTML report (``report.html`` in the run
    folder).

    Returns
    -------
    DemoResult; the run folder is ``out_dir/runs/demo``.
    """
    out_dir = Path(out_dir).resolve()
    data = make_demo_data(out_dir / "data", n_chroms=n_chroms, chrom_length=chrom_length,
                          seed=seed)
    raw = demo_config(data, max_epochs=max_epochs, progress_bar=progress_bar)
    config_path = out_dir / "config.yaml"
    config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    config = parse_run_config(raw, out_dir, str(config_path))
    result = train_run(config, overwrite=True)
    evaluation, written = write_evaluation(result.run_dir)
    written.append(_score_demo_variants(data, result.run_dir))
    written.append(write_report(result.run_dir))
    return DemoResult(data, config_path, result.run_dir, evaluation, written)


def _score_demo_variants(data: DemoData, run_dir: Path) -> Path:
    """Score ``data/variants.vcf`` (written here) with the trained model: ``variants.tsv``."""
    from dnalens.apply.variants import score_variants
    from dnalens.data.demo_variants import write_demo_variants
    from dnalens.io.genome import Genome
    from dnalens.io.variants import read_vcf
    from dnalens.models.store import load_model, read_model_card

    vcf = write_demo_variants(data.genome, data.planted, data.motif_file, data.chroms[-1],
                              data.root / "variants.vcf", seed=data.seed)
    card, genome = read_model_card(run_dir), Genome(data.genome)
    out = run_dir / "variants.tsv"
    score_variants(load_model(run_dir), genome, read_vcf(vcf, genome),
                   input_length=card.input_length, tasks=list(card.tasks), out_tsv=out,
                   progress=False)
    return out
