"""Predictions of a model over tensors, datasets or BED regions of a genome."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from dnalens.data.datasets import GenomeWindowDataset, make_loader
from dnalens.errors import SequenceError
from dnalens.io.genome import Genome

__all__ = ["default_device", "predict", "predict_regions", "region_fit_notes", "region_windows"]


def default_device() -> torch.device:
    """The first CUDA device when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.inference_mode()
def predict(model: nn.Module, data: Tensor | DataLoader | GenomeWindowDataset, *,
            batch_size: int = 256, device: str | torch.device | None = None,
            probabilities: bool = False) -> np.ndarray:
    """Model outputs for every example, in order.

    Parameters
    ----------
    model : nn.Module
        (batch, 4, L) -> (batch, n_tasks).
    data : Tensor of shape (n, 4, L), a DataLoader, or a dnalens dataset
    batch_size : int
    device : str or torch.device, optional
        Defaults to CUDA when available.
    probabilities : bool
        Apply a sigmoid (for models trained with the 'bce' loss).

    Returns
    -------
    np.ndarray, shape (n, n_tasks), float32
    """
    device = torch.device(device) if device is not None else default_device()
    model = model.to(device).eval()
    param = next(iter(model.parameters()), None)
    # Inputs follow the model's float type (a float64 or half model gets float64 or half).
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    if isinstance(data, Tensor):
        if data.ndim != 3 or data.shape[1] != 4:
            raise SequenceError(f"predict: expected (n, 4, length); got {tuple(data.shape)}")
        batches = ((data[i : i + batch_size],) for i in range(0, data.shape[0], batch_size))
    elif isinstance(data, DataLoader):
        batches = iter(data)
    else:
        batches = iter(make_loader(data, batch_size=batch_size, shuffle=False))
    outputs = []
    for batch in batches:
        out = model(batch[0].to(device, dtype, non_blocking=True)).float()
        outputs.append((torch.sigmoid(out) if probabilities else out).cpu().numpy())
    if not outputs:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(outputs)


def _region_dataset(genome: Genome, regions: pd.DataFrame, input_length: int,
                    n_tasks: int) -> GenomeWindowDataset:
    centres = ((regions["start"] + regions["end"]) // 2).to_numpy()
    return GenomeWindowDataset(genome, regions["chrom"].to_numpy(), centres,
                               np.zeros((len(regions), n_tasks), np.float32), input_length)


def region_windows(genome: Genome, regions: pd.DataFrame, input_length: int) -> Tensor:
    """One-hot windows of ``input_length`` centred on each region's midpoint.

    Returns
    -------
    Tensor, shape (n_regions, 4, input_length), float32; N-padded past chromosome ends.
    """
    dataset = _region_dataset(genome, regions, input_length, 1)
    return dataset.__getitems__(list(range(len(regions))))[0]


def region_fit_notes(regions: pd.DataFrame, genome: Genome, input_length: int, source: str,
                     *, examples: int = 5) -> list[str]:
    """Messages on regions whose window is not the region itself, a few per kind.

    Every region is scored on the window of ``input_length`` centred on its midpoint (see
    :func:`region_windows`). This says which regions that changes: shorter ones get genome
    flanks, longer ones lose their ends, and windows past a chromosome end are N-padded.

    Parameters
    ----------
    regions : DataFrame with chrom, start, end and line (as from ``read_bed``)
    genome : Genome
    input_length : int
    source : str
        The file the regions came from, for ``file:line`` in the messages.
    examples : int
        Per-record messages shown per kind; the rest are counted.

    Returns
    -------
    list of str
        For each kind that occurs, one count line then up to ``examples`` lines of the form
        ``file:line: chrom:start-end ...``; empty when every region fits exactly.
    """
    notes: list[str] = []
    kinds: dict[str, list[str]] = {"shorter": [], "longer": [], "past the end": []}
    lines = regions["line"] if "line" in regions else pd.Series(range(1, len(regions) + 1))
    for chrom, start, end, line in zip(regions["chrom"], regions["start"], regions["end"],
                                       lines, strict=True):
        size = end - start
        first = (start + end) // 2 - input_length // 2
        window = f"{chrom}:{first}-{first + input_length}"
        where = f"{source}:{line}: {chrom}:{start}-{end} ({size:,} bp)"
        if size < input_length:
            kinds["shorter"].append(f"{where}: scored on {window}, with genome flanks")
        elif size > input_length:
            kinds["longer"].append(f"{where}: only its centre {window} is scored")
        chrom_size = genome.check_chrom(chrom)
        if first < 0 or first + input_length > chrom_size:
            kinds["past the end"].append(
                f"{where}: window {window} runs past {chrom} (0-{chrom_size:,}); N-padded")
    titles = {
        "shorter": "shorter than the model input ({:,} bp), widened around their centre",
        "longer": "longer than the model input ({:,} bp), only their centre scored",
        "past the end": "whose {:,} bp window runs past a chromosome end, N-padded",
    }
    for kind, found in kinds.items():
        if found:
            notes.append(f"{len(found):,} of {len(regions):,} regions "
                         + titles[kind].format(input_length) + ":")
            notes += [f"  {text}" for text in found[:examples]]
            if len(found) > examples:
                notes.append(f"  ... and {len(found) - examples:,} more")
    return notes


def predict_regions(model: nn.Module, genome: Genome, regions: pd.DataFrame, input_length: int,
                    tasks: list[str], *, batch_size: int = 256,
                    device: str | torch.device | None = None,
                    probabilities: bool = True) -> pd.DataFrame:
    """One prediction per region, from the input window centred on the region's midpoint.

    Parameters
    ----------
    regions : DataFrame with chrom, start, end (validated against the genome)
    input_length : int
        The model's input length; windows past a chromosome end are N-padded.
    tasks : list of str
        Output column names.

    Returns
    -------
    DataFrame: the regions' columns (without ``line``) and one column per task.
    """
    dataset = _region_dataset(genome, regions, input_length, len(tasks))
    scores = predict(model, dataset, batch_size=batch_size, device=device,
                     probabilities=probabilities)
    out = regions.drop(columns=["line"], errors="ignore").reset_index(drop=True)
    return pd.concat([out, pd.DataFrame(scores, columns=tasks)], axis=1)
