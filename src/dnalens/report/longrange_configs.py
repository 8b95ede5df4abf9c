"""Example run configs for the long-range families on the simulated long-range genome."""

from __future__ import annotations

from pathlib import Path

import yaml

from dnalens.files import write_text_atomic

__all__ = ["longrange_configs", "write_longrange_configs"]



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
    contacts = {"cool": str(Path(data.cool).relative_to(root.parent)), "input_length": 131072,
                "stride": 16384}
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
        "akita": run("akita", {"contacts": {**contacts, "crop_bins": 4}},
                     {"name": "akita", "params": {
                         "stem_channels": 32, "tower_channels": 32, "residual_channels": 16,
                         "residual_repeat": 2, "trunk_channels": 32, "channels_2d": 16,
                         "residual_channels_2d": 16, "residual_repeat_2d": 2}}),
        "deepc": run("deepc", {"contacts": {**contacts, "layout": "strip", "band_bins": 24}},
                     {"name": "deepc", "params": {
                         "conv_channels": [32, 32, 32], "kernel_sizes": [9, 5, 5],
                         "pool_sizes": [8, 8, 4], "channels": 32, "dilations": [1, 2, 4, 8],
                         "pooling": "mean"}}),
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
