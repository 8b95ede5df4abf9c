"""``dnalens demo [--out DIR]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dnalens.cli.output import console, print_evaluation


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo data, config and run.")] = Path(
        "dnalens-demo"),
    chrom_length: Annotated[int, typer.Option(help="Length of each synthetic chromosome.")
                            ] = 1_000_000,
    n_chroms: Annotated[int, typer.Option(help="Synthetic chromosomes (last two held out).")
                        ] = 4,
    max_epochs: Annotated[int, typer.Option(help="Training epochs at most.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the genome and the training.")] = 0,
) -> None:
    """Synthetic genome with real JASPAR motifs planted in cell-type peak sets -> a trained,
    evaluated DeepSEA-style model, on the CPU in a few minutes."""
    from dnalens.report.demo import run_demo

    result = run_demo(out, n_chroms=n_chroms, chrom_length=chrom_length, seed=seed,
                      max_epochs=max_epochs)
    print_evaluation(result.evaluation, [])
    console.print(f"\ndemo data:   {result.data.root}\nconfig:      {result.config_path}\n"
                  f"run folder:  {result.run_dir} (model.safetensors, model.json, metrics.csv, "
                  "evaluation.tsv, roc.png, pr.png, training.png)\n"
                  f"report:      {result.run_dir / 'report.html'}\n"
                  f"re-run with: dnalens train {result.config_path} --overwrite")




def longrange_demo(
    out: Annotated[Path, typer.Option(help="Folder for the data and the example configs.")
                   ] = Path("dnalens-longrange"),
    chrom_length: Annotated[int, typer.Option(help="Length of each synthetic chromosome.")
                            ] = 600_000,
    n_chroms: Annotated[int, typer.Option(help="Synthetic chromosomes (last two held out).")
                        ] = 6,
    seed: Annotated[int, typer.Option(help="Seed of the genome.")] = 0,
) -> None:
    """Write the simulated long-range genome (convergent CTCF domains in a .cool, enhancer
    coverage bigWigs, enhancer-promoter BEDPE) and one run config per long-range family
    (basenji, enformer, akita, deepc, pair) to train with `dnalens train`."""
    from dnalens.data.demo_longrange import write_longrange_demo
    from dnalens.report.longrange_configs import write_longrange_configs

    # A 1 kb map with 16-48 kb domains: several boundaries in each 32 kb contact window.
    data = write_longrange_demo(out / "data", seed=seed, n_chroms=n_chroms,
                                chrom_length=chrom_length, resolution=1024,
                                domain_size=(16_384, 49_152), pairs_per_chrom=1000)
    paths = write_longrange_configs(data, out)
    console.print(f"data:    {data.root}\nconfigs: " + ", ".join(str(p) for p in paths)
                  + f"\ntrain:   dnalens train {paths[0]}")


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.command("longrange-demo")(longrange_demo)
