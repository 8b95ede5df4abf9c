"""Predictions along the genome for models whose outputs run along the sequence.

A *track model* maps ``(batch, 4, input_length)`` to ``(batch, n_tasks, output_bins)``, one
output per ``bin_size`` bases, the bins centred in the input window (SpliceAI: one output per
base over the input less its context; Basenji/Enformer: one per 128 bp bin less the cropped
edges). A region is covered by tiling such windows so that their output bins meet end to end;
``overlap_bins`` > 0 drops that many bins at each window edge and overlaps the windows instead,
keeping only window centres (for models whose edge bins see little context).

Windows past a chromosome end are N-padded, and outputs past the end are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dnalens.errors import ConfigError, CoordinateError
from dnalens.io.genome import Genome
from dnalens.models.ensemble import core_model
from dnalens.sequence.encoding import one_hot, reverse_complement

__all__ = ["TrackLayout", "TrackPrediction", "predict_bigwigs", "predict_contact_map",
           "predict_contact_region", "predict_region_tracks", "predict_track", "track_layout",
           "track_windows"]


@dataclass(frozen=True)
class TrackLayout:
    """Where a track model's outputs lie in its input window.

    Attributes
    ----------
    input_length : int
        Bases per input window.
    output_bins : int
        Outputs per window.
    bin_size : int
        Bases per output.
    activation : str
        What turns outputs into the values written: 'softmax' over the task axis (class
        outputs, e.g. SpliceAI's neither/acceptor/donor logits) or 'none' (coverage models
        already output non-negative rates).
    """

    input_length: int
    output_bins: int
    bin_size: int
    activation: str = "none"

    @property
    def span(self) -> int:
        """Bases covered by one window's outputs."""
        return self.output_bins * self.bin_size

    @property
    def offset(self) -> int:
        """Bases from the window start to its first output bin."""
        return (self.input_length - self.span) // 2


def track_layout(model: nn.Module) -> TrackLayout | None:
    """The :class:`TrackLayout` of a track model (or an ensemble of them), else None.

    Parameters
    ----------
    model : nn.Module
        SpliceAI models declare ``context`` and ``config.output_length``; coverage models
        (``output_kind == "coverage"``) declare ``output_bins`` and ``bin_size``.
    """
    core = core_model(model)
    kind = getattr(core, "output_kind", None)
    if kind == "coverage":
        return TrackLayout(int(core.input_length), int(core.output_bins), int(core.bin_size))
    context = getattr(core, "context", None)
    output_length = getattr(getattr(core, "config", None), "output_length", None)
    if context is not None and output_length is not None:
        return TrackLayout(int(output_length) + int(context), int(output_length), 1,
                           "softmax")
    return None


@dataclass
class TrackPrediction:
    """Predicted values along one region.

    Attributes
    ----------
    chrom : str
    starts : np.ndarray, shape (n,), int64
        0-based start of each bin; bins are ``bin_size`` long (the last one may be cut at the
        region's or chromosome's end: see ``ends``).
    ends : np.ndarray, shape (n,), int64
    values : np.ndarray, shape (n_tasks, n), float32
    """

    chrom: str
    starts: np.ndarray
    ends: np.ndarray
    values: np.ndarray


def track_windows(layout: TrackLayout, start: int, end: int, overlap_bins: int = 0
                  ) -> tuple[np.ndarray, int]:
    """Input window starts that cover ``[start, end)`` with output bins, and bins kept each.

    Returns
    -------
    window_starts : np.ndarray, shape (n_windows,)
        0-based start of each input window (may be negative: N-padded).
    keep : int
        Output bins kept from each window, from bin ``overlap_bins`` on.
    """
    keep = layout.output_bins - 2 * overlap_bins
    if overlap_bins < 0 or keep < 1:
        raise ConfigError(f"overlap_bins must be in [0, {(layout.output_bins - 1) // 2}] for "
                          f"a model with {layout.output_bins} output bins; got {overlap_bins}")
    n_bins = math.ceil((end - start) / layout.bin_size)
    n_windows = math.ceil(n_bins / keep)
    first_bins = start + np.arange(n_windows, dtype=np.int64) * keep * layout.bin_size
    return first_bins - overlap_bins * layout.bin_size - layout.offset, keep


@torch.inference_mode()
def predict_track(model: nn.Module, genome: Genome, chrom: str, start: int, end: int, *,
                  strand: str = "+", overlap_bins: int = 0, batch_size: int = 8,
                  device: str | torch.device | None = None,
                  layout: TrackLayout | None = None) -> TrackPrediction:
    """Tile a track model over ``chrom:start-end`` and stitch its outputs.

    Parameters
    ----------
    model : nn.Module
        A track model (see :func:`track_layout`), in evaluation mode.
    genome : Genome
    chrom : str
    start, end : int
        0-based half-open region; bins start at ``start``. Parts past the chromosome end
        are not returned.
    strand : {'+', '-'}
        '-' predicts on the reverse complement (for strand-specific models such as
        SpliceAI's) and returns the values in genome order.
    overlap_bins : int
        Output bins dropped at each window edge (windows overlap by twice this).
    batch_size : int
        Windows per forward pass.
    device : optional; default CUDA when available.
    layout : TrackLayout, optional
        Default: :func:`track_layout` of the model.

    Returns
    -------
    TrackPrediction
        ``values`` (n_tasks, n_bins) after the layout's activation.
    """
    from dnalens.apply.predict import default_device

    layout = layout or track_layout(model)
    if layout is None:
        raise ConfigError(f"{type(model).__name__} has one output per window, not a track "
                          "along the sequence; use predict_regions")
    if strand not in ("+", "-"):
        raise ConfigError(f"strand must be '+' or '-'; got {strand!r}")
    size = genome.check_chrom(chrom)
    if not 0 <= start < end <= size:
        raise CoordinateError(f"{chrom}:{start}-{end} is not a region inside {chrom} "
                              f"(0-{size:,})")
    device = torch.device(device) if device is not None else default_device()
    model = model.to(device).eval()
    dtype = next(model.parameters()).dtype
    window_starts, keep = track_windows(layout, start, end, overlap_bins)
    pieces = []
    for batch in _batches(window_starts, batch_size):
        seqs = [genome.fetch(chrom, int(a), int(a) + layout.input_length) for a in batch]
        x = one_hot(seqs).to(device, dtype)
        if strand == "-":
            x = reverse_complement(x)
        out = model(x).float()
        if strand == "-":
            out = out.flip(-1)
        if layout.activation == "softmax":
            out = torch.softmax(out, dim=1)
        out = out[..., overlap_bins : overlap_bins + keep]
        pieces.append(out.permute(1, 0, 2).reshape(out.shape[1], -1).cpu().numpy())
    values = np.concatenate(pieces, axis=1)
    starts = start + np.arange(values.shape[1], dtype=np.int64) * layout.bin_size
    inside = starts < end
    starts, values = starts[inside], values[:, inside]
    ends = np.minimum(starts + layout.bin_size, end)
    return TrackPrediction(chrom, starts, ends, values.astype(np.float32))


def _batches(values: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def predict_region_tracks(model: nn.Module, genome: Genome, regions, tasks: list[str], *,
                          overlap_bins: int = 0, batch_size: int = 8,
                          device: str | torch.device | None = None):
    """One row per output bin of every region: ``chrom, start, end, region, strand, tasks``.

    Parameters
    ----------
    regions : DataFrame with chrom, start, end (and ``strand``: '-' regions are predicted
        on the reverse complement, anything else on '+')
    tasks : list of str
        Column names of the model's outputs.

    Returns
    -------
    pandas.DataFrame
        ``region`` is the 0-based row number of the region in ``regions``.
    """
    import pandas as pd

    layout = track_layout(model)
    strands = regions["strand"] if "strand" in regions else pd.Series("+", index=regions.index)
    frames = []
    for number, (chrom, start, end, strand) in enumerate(zip(
            regions["chrom"], regions["start"], regions["end"], strands, strict=True)):
        strand = "-" if strand == "-" else "+"
        track = predict_track(model, genome, chrom, int(start), int(end), strand=strand,
                              overlap_bins=overlap_bins, batch_size=batch_size, device=device,
                              layout=layout)
        frame = pd.DataFrame({"chrom": chrom, "start": track.starts, "end": track.ends,
                              "region": number, "strand": strand})
        frames.append(pd.concat([frame, pd.DataFrame(track.values.T, columns=tasks)], axis=1))
    return pd.concat(frames, ignore_index=True)


def predict_bigwigs(model: nn.Module, genome: Genome, chroms: list[str], out_dir, tasks:
                    list[str], *, overlap_bins: int = 0, batch_size: int = 8,
                    device: str | torch.device | None = None, progress: bool = False):
    """Predict whole chromosomes and write one bigWig per task, ``out_dir/<task>.bw``.

    Parameters
    ----------
    chroms : chromosomes to predict (each from 0 to its end)
    tasks : names of the model's outputs (file names)
    overlap_bins, batch_size, device : as for :func:`predict_track`
    progress : show a progress bar per chromosome

    Returns
    -------
    list of Path, one per task.
    """
    from pathlib import Path

    from dnalens.io.tracks import write_bigwig_tracks

    layout = track_layout(model)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pieces = []
    for chrom in _progress(chroms, progress):
        size = genome.check_chrom(chrom)
        track = predict_track(model, genome, chrom, 0, size, overlap_bins=overlap_bins,
                              batch_size=batch_size, device=device, layout=layout)
        pieces.append(track)
    chrom_names = np.concatenate([np.full(len(t.starts), t.chrom, dtype=object)
                                  for t in pieces])
    paths = [out_dir / f"{task}.bw" for task in tasks]
    sizes = {chrom: genome.chrom_sizes[chrom] for chrom in chroms}
    return write_bigwig_tracks(paths, sizes, chrom_names,
                               np.concatenate([t.starts for t in pieces]),
                               np.concatenate([t.ends for t in pieces]),
                               np.concatenate([t.values for t in pieces], axis=1))


def _progress(items: list[str], show: bool):
    if not show:
        yield from items
        return
    from rich.progress import track

    yield from track(items, description="chromosomes")


@torch.inference_mode()
def predict_contact_map(model: nn.Module, genome: Genome, chrom: str, centre: int, *,
                        device: str | torch.device | None = None) -> tuple[int, np.ndarray]:
    """The contact map an Akita-style model predicts for the window centred on ``centre``.

    Returns
    -------
    start : int
        0-based genome position of the map's first bin (the window start plus the crop),
        a multiple of the bin size when ``centre`` is.
    maps : np.ndarray, shape (n_tasks, m, m)
        Symmetric, NaN within ``diagonal_offset`` of the diagonal.
    """
    from dnalens.apply.predict import default_device

    core = core_model(model)
    if getattr(core, "output_kind", None) != "contact_map":
        raise ConfigError(f"{type(model).__name__} does not predict contact maps (akita "
                          "models do)")
    device = torch.device(device) if device is not None else default_device()
    model = model.to(device).eval()
    length, bin_size = int(core.input_length), int(core.bin_size)
    window_start = (centre - length // 2) // bin_size * bin_size
    x = one_hot(genome.fetch(chrom, window_start, window_start + length))[None]
    with torch.no_grad():
        vec = model(x.to(device, next(model.parameters()).dtype)).float()
    maps = core.to_matrix(vec)[0].cpu().numpy()
    crop = (length // bin_size - core.map_bins) // 2
    return window_start + crop * bin_size, maps


def predict_contact_region(model: nn.Module, genome: Genome, chrom: str, start: int, end: int,
                           *, step_bins: int | None = None, batch_size: int = 32,
                           device: str | torch.device | None = None) -> tuple[int, np.ndarray]:
    """Contact maps of a region longer than one window, from Akita or deepC models.

    Akita-style models (``output_kind`` 'contact_map'): windows advance by ``step_bins`` and
    their maps are averaged where they overlap. deepC-style models ('contact_strip'): one
    window per bin, each giving the zig-zag strip above its centre bin; the strips of
    consecutive centres tile the band of ``band_bins`` diagonals exactly. Either way pixels
    farther from the diagonal than a window reaches stay NaN: the result is a band around the
    diagonal, enough for insulation scores and boundary calls along a whole chromosome
    (:func:`dnalens.plot.contacts.call_boundaries`).

    Parameters
    ----------
    model : nn.Module
    genome : Genome
    chrom : str
    start, end : int
        0-based half-open region; maps cover the bins whose windows fit the chromosome.
    step_bins : int, optional
        Akita: stride between windows in bins; default half the map.
    batch_size : int
        deepC: windows per forward pass.
    device : str or torch.device, optional

    Returns
    -------
    first : int
        Genome position of bin 0 of the result (a multiple of the bin size).
    maps : np.ndarray, shape (n_tasks, n, n)
        Symmetric; mean prediction per pixel, NaN where no window predicted it.
    """
    core = core_model(model)
    kind = getattr(core, "output_kind", None)
    if kind not in ("contact_map", "contact_strip"):
        raise ConfigError(f"{type(model).__name__} does not predict contact maps (akita and "
                          "deepc models do)")
    size = genome.check_chrom(chrom)
    if kind == "contact_strip":
        return _strip_region(model, core, genome, chrom, start, end, size, batch_size, device)
    length, bin_size, m = int(core.input_length), int(core.bin_size), int(core.map_bins)
    crop = (length // bin_size - m) // 2
    first_window = max(start // bin_size * bin_size - crop * bin_size, 0)
    last_window = (min(end + crop * bin_size, size) - length) // bin_size * bin_size
    _check_fits(chrom, start, end, size, length, last_window >= first_window)
    step = (step_bins or max(m // 2, 1)) * bin_size
    starts = list(range(first_window, last_window + 1, step))
    if starts[-1] != last_window:
        starts.append(last_window)
    first = starts[0] + crop * bin_size
    n = (starts[-1] - starts[0]) // bin_size + m
    total = np.zeros((core.n_tasks, n, n))
    count = np.zeros((n, n))
    for window in starts:
        map_start, maps = predict_contact_map(model, genome, chrom, window + length // 2,
                                              device=device)
        k = (map_start - first) // bin_size
        seen = np.isfinite(maps[0])
        total[:, k:k + m, k:k + m] += np.where(seen, maps, 0.0)
        count[k:k + m, k:k + m] += seen
    with np.errstate(invalid="ignore"):
        return first, (total / count).astype(np.float32)


def _check_fits(chrom: str, start: int, end: int, size: int, length: int, fits: bool) -> None:
    if not fits:
        raise CoordinateError(f"{chrom}:{start}-{end} does not hold one {length:,} bp window "
                              f"of the model inside the chromosome ({size:,} bp)")


def _strip_region(model: nn.Module, core: nn.Module, genome: Genome, chrom: str, start: int,
                  end: int, size: int, batch_size: int, device) -> tuple[int, np.ndarray]:
    """deepC strips at every centre bin of [start, end) assembled into a band map."""
    from dnalens.apply.predict import default_device
    from dnalens.models.deepc import strip_pairs

    length, bin_size = int(core.input_length), int(core.bin_size)
    pairs = np.asarray(strip_pairs(length, bin_size, int(core.band_bins)))
    centre = (length // bin_size) // 2
    first_bin = max(start // bin_size - centre, 0)
    last_bin = min((end - 1) // bin_size - centre, (size - length) // bin_size)
    _check_fits(chrom, start, end, size, length, last_bin >= first_bin)
    windows = np.arange(first_bin, last_bin + 1)
    low, high = int(pairs[:, 0].min()), int(pairs[:, 1].max())
    n = last_bin - first_bin + high - low + 1
    maps = np.full((core.n_tasks, n, n), np.nan, dtype=np.float32)
    device = torch.device(device) if device is not None else default_device()
    model = model.to(device).eval()
    dtype = next(model.parameters()).dtype
    for chunk in _batches(windows, batch_size):
        x = torch.stack([one_hot(genome.fetch(chrom, int(w) * bin_size,
                                              int(w) * bin_size + length)) for w in chunk])
        with torch.no_grad():
            strips = model(x.to(device, dtype)).float().cpu().numpy()  # (b, tasks, band)
        rows = (chunk - first_bin)[:, None] + pairs[None, :, 0] - low
        cols = (chunk - first_bin)[:, None] + pairs[None, :, 1] - low
        maps[:, rows, cols] = strips.transpose(1, 0, 2)
        maps[:, cols, rows] = strips.transpose(1, 0, 2)
    return (first_bin + low) * bin_size, maps
