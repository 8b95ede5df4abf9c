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

__all__ = ["default_device", "predict", "predict_regions", "region_windows"]


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
