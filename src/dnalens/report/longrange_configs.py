"""Example run configs for the long-range families on the simulated long-range genome."""

from __future__ import annotations

from pathlib import Path

import yaml

from dnalens.files import write_text_atomic

__all__ = ["longrange_configs", "write_longrange_configs"]



# Small Akita / deepC for CPU: one wide pool after the stem and one in the tower (32 x 32 =
# 1,024 bp bins) find the 19 bp CTCF motif within a few epochs; the published ten pools of 2
# stay on the distance-only plateau at this data size.
AKITA_SMALL = {"stem_channels": 32, "stem_kernel": 19, "stem_pool": 32, "tower_channels": 16,
               "tower_pool": 32, "residual_channels": 8, "residual_repeat": 2,
               "trunk_channels": 8, "channels_2d": 16, "residual_channels_2d": 8,
               "residual_repeat_2d": 4}
DEEPC_SMALL = {"conv_channels": [32, 16], "kernel_sizes": [19, 5], "pool_sizes": [32, 32],
               "channels": 16, "dilations": [1, 2, 4], "dropout": 0.0}
# deepC's stem conv and batch norm <- Akita's (same shapes with the settings above).
DEEPC_FROM_AKITA = {"trunk.1.weight": "trunk.trunk_1d.0.conv.weight",
                    "trunk.2": "trunk.trunk_1d.0.norm"}


def longrange_configs(data) -> dict[str, dict]:
    """One run config (as a dict) per family, sized to train on a CPU in minutes.

    Parameters
    ----------
    data : dnalens.data.demo_longrange.LongRangeDemo
    """
    root = Path(data.root)
    chroms = sorted(data.chrom_sizes, key=lambda c: int(c.removeprefix("chr")))
    split = {"valid_chroms": [chroms[-2]], "test_chroms": [chroms[-1]]}
    genome = str(Path(data.genome).relative_to(root.parent))
    coverage = {"tracks": str(Path(data.tracks_tsv).relative_to(root.parent)),
                "input_length": 4096, "bin_size": 64, "crop_bins": 4, "stride": 2048}
    # 32 kb windows of the 1 kb map (several domains each); reverse-complement augmentation
    # mirrors the map. These settings learn the planted boundaries in the known-answer tests.
    contacts = {"cool": str(Path(data.cool).relative_to(root.parent)), "input_length": 32768,
                "stride": 4096}
    train = {"max_epochs": 20, "batch_size": 16, "lr": 0.002, "monitor": "val_pearson",
             "patience": 5}

    def run(name: str, data_block: dict, model: dict, **train_updates) -> dict:
        return {"name": name, "seed": 0, "output_dir": "runs",
                "data": {"genome": genome, **data_block, "split": split},
                "model": model, "train": {**train, **train_updates}}

    return {
        "basenji": run("basenji", {"coverage": coverage},
                       {"name": "basenji", "params": {"channels": 32, "n_dilated": 4}}),
        "enformer": run("enformer", {"coverage": coverage},
                        {"name": "enformer", "params": {"channels": 32, "depth": 2,
                                                        "heads": 4, "key_size": 8}}),
        "akita": run("akita", {"contacts": {**contacts, "crop_bins": 2},
                               "augment": {"reverse_complement": True}},
                     {"name": "akita", "params": AKITA_SMALL},
                     max_epochs=12, batch_size=8, lr=0.005, patience=12),
        # deepC starts from the akita run's stem (train akita first), as the published model
        # pre-trains its convolutions: from scratch one strip per window learns slowly.
        "deepc": run("deepc", {"contacts": {**contacts, "input_length": 16384,
                                            "layout": "strip", "band_bins": 14, "stride": 2048}},
                     {"name": "deepc", "params": DEEPC_SMALL,
                      "init": {"model": "runs/akita", "layers": DEEPC_FROM_AKITA}},
                     max_epochs=6, batch_size=8, lr=0.003, patience=6),
        "pair": run("pair", {"pairs": {"bedpe": str(Path(data.bedpe).relative_to(root.parent)),
                                       "anchor_length": 500}},
                    {"name": "pair", "params": {"conv_channels": 64, "kernel_size": 12,
                                                "pool_size": 10, "combiner": "dense",
                                                "hidden": 32, "batch_norm": True}},
                    monitor="val_auroc", baseline="none", batch_size=32, lr=0.001),
    }


def write_longrange_configs(data, out_dir: str | Path) -> list[Path]:
    """Write ``<family>.yaml`` next to the data folder; paths in them are relative."""
    out_dir = Path(out_dir)
    return [write_text_atomic(out_dir / f"{name}.yaml", yaml.safe_dump(config, sort_keys=False))
            for name, config in longrange_configs(data).items()]
