"""Variant effects on predicted contacts: Akita maps and deepC strips.

Windows are cut and predicted as for coverage (:mod:`dnalens.apply.variant_longrange`).

Contacts (:func:`contact_variant_effects`)
------------------------------------------
Akita (``output_kind == "contact_map"``) predicts the upper triangle of a map; deepC
(``"contact_strip"``) a strip above the window's centre. Per task, over the entries that are
finite in both alleles: ``scd`` = sqrt(sum (alt - ref)^2) (Akita's SCD, computed like
Akita's ``akita_scd.py`` on the upper-triangle vector, so each bin pair counts once; the full
symmetric map would give sqrt(2) times it), ``max_abs_diff`` and ``mean_diff``. Bins are
compared one to one; for indels shorter than a contact bin (2,048 bp for Akita, 5 kb for
deepC) that is the usual choice.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

import numpy as np
import torch
from torch import nn

from dnalens.apply.predict import default_device
from dnalens.apply.variant_longrange import (
    _RECORD_COLUMNS,
    LongRangeSummary,
    _check_common,
    _check_shape,
    _number,
    _predict_pairs,
    _record_head,
    _require_kind,
    _task_names,
)
from dnalens.apply.variants import _batches, _progress_bar, variant_windows
from dnalens.errors import ConfigError
from dnalens.files import write_atomic
from dnalens.io.genome import Genome
from dnalens.io.variants import VariantRecord
from dnalens.models.ensemble import core_model

__all__ = ["CONTACT_SCORES", "contact_columns", "contact_scores", "contact_variant_effects"]

log = logging.getLogger(__name__)

CONTACT_SCORES = ("scd", "max_abs_diff", "mean_diff")
_CONTACT_KINDS = ("contact_map", "contact_strip")


def contact_scores(ref: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """SCD, largest absolute difference and mean difference of two sets of contacts.

    Parameters
    ----------
    ref, alt : np.ndarray, shape (..., n_entries)
        Contacts, e.g. Akita's upper-triangle vectors (batch, n_tasks, n_pairs) or deepC
        strips. Entries that are not finite in either are left out.

    Returns
    -------
    np.ndarray, shape (..., 3), float64
        ``scd`` = sqrt(sum (alt - ref)^2), ``max_abs_diff`` = max |alt - ref|, ``mean_diff``
        = mean (alt - ref); NaN (SCD 0) where no entry is finite.
    """
    ref = np.asarray(ref, dtype=np.float64)
    alt = np.asarray(alt, dtype=np.float64)
    if ref.shape != alt.shape:
        raise ConfigError(f"contact_scores: ref and alt differ in shape: {ref.shape} vs "
                          f"{alt.shape}")
    diff = alt - ref
    finite = np.isfinite(diff)
    n = finite.sum(axis=-1)
    zeroed = np.where(finite, diff, 0.0)
    scd = np.sqrt((zeroed**2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = zeroed.sum(axis=-1) / n
    biggest = np.where(finite, np.abs(diff), -np.inf).max(axis=-1, initial=-np.inf)
    biggest = np.where(n > 0, biggest, np.nan)
    return np.stack([scd, biggest, mean], axis=-1)


class _Spool:
    """Rows of one float16 array written to an anonymous temporary file, a batch at a time."""

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - see close()
        self.rows = 0

    def add(self, block: np.ndarray) -> None:
        block = np.ascontiguousarray(block, dtype="<f2")
        self.rows += block.shape[0]
        self.file.write(block.tobytes())

    def copy_to(self, archive: zipfile.ZipFile, name: str, shape: tuple[int, ...]) -> None:
        header = {"descr": "<f2", "fortran_order": False, "shape": (self.rows, *shape)}
        with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_2_0(member, header)
            self.file.seek(0)
            shutil.copyfileobj(self.file, member)

    def close(self) -> None:
        self.file.close()


def _write_maps(path: Path, spools: dict[str, _Spool], shape: tuple[int, ...],
                labels: dict[str, np.ndarray]) -> None:
    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED,
                             allowZip64=True) as archive:
            for name, spool in spools.items():
                spool.copy_to(archive, name, shape)
            for name, values in labels.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, values, allow_pickle=False)

    write_atomic(path, write)


def contact_columns(tasks: Sequence[str]) -> list[str]:
    """Columns of :func:`contact_variant_effects`' table."""
    return _RECORD_COLUMNS + [f"{t}_{k}" for t in tasks for k in CONTACT_SCORES]


def contact_variant_effects(
    model: nn.Module,
    genome: Genome,
    records: Iterable[VariantRecord],
    out_tsv: str | Path,
    *,
    maps_npz: str | Path | None = None,
    tasks: Sequence[str] | None = None,
    batch_size: int = 4,
    device: str | torch.device | None = None,
    progress: bool | None = False,
) -> LongRangeSummary:
    """Change of predicted contacts (Akita maps, deepC strips) between ref and alt alleles.

    Parameters
    ----------
    model : nn.Module
        Akita (``output_kind == "contact_map"``): (batch, 4, input_length) -> (batch,
        n_tasks, n_pairs), the upper triangle ``np.triu_indices(map_bins,
        k=diagonal_offset)``; or deepC (``"contact_strip"``): -> (batch, n_tasks,
        band_bins).
    genome : Genome
    records : iterable of VariantRecord
        For example ``read_vcf(path, genome)``; streamed, a batch at a time.
    out_tsv : path
        Output table, columns :func:`contact_columns`: variant (0-based order in
        ``records``), chrom, pos (1-based), id, ref, alt, then per task ``_scd``,
        ``_max_abs_diff`` and ``_mean_diff`` (see :func:`contact_scores`; each bin pair once);
        numbers as ``%.6g``. Written atomically.
    maps_npz : path, optional
        Also save every variant's maps (uncompressed .npz, written atomically; the maps are
        spooled to a temporary file, so memory stays at one batch): ``ref`` and ``alt``,
        float16, shape (n_variants, n_tasks, map_bins, map_bins) for Akita (``model.to_matrix``:
        symmetric, NaN within ``diagonal_offset`` of the diagonal) or (n_variants, n_tasks,
        band_bins) for deepC; ``variant`` (row index), ``chrom``, ``pos``, ``id``,
        ``ref_allele``, ``alt_allele``, ``tasks`` and ``kind`` (the output_kind). Akita at its
        published size takes about 4 MB per variant.
    tasks : sequence of str, optional
        Names for the output columns; default ``task0``, ``task1``, ...
    batch_size : int
        Variants per batch (two windows each).
    device : str or torch.device, optional
        Default: CUDA when available.
    progress : bool, optional
        Show a progress bar; None: when standard error is a terminal.

    Returns
    -------
    LongRangeSummary

    Raises
    ------
    ConfigError
        The model predicts neither a contact map nor a contact strip.
    """
    caller = "contact_variant_effects"
    kind = _require_kind(model, _CONTACT_KINDS, caller, "contacts",
                         "use coverage_variant_effects for Basenji / Enformer, or "
                         "dnalens.apply.variants.score_variants for one output per window")
    _check_common(caller, batch_size)
    core = core_model(model)
    input_length = int(core.input_length)
    n_tasks = int(core.n_tasks)
    tasks = _task_names(tasks, n_tasks, caller)
    if kind == "contact_map":
        entries = int(core.n_pairs)
        map_shape: tuple[int, ...] = (n_tasks, int(core.map_bins), int(core.map_bins))
    else:
        entries = int(core.band_bins)
        map_shape = (n_tasks, entries)
    device = torch.device(device) if device is not None else default_device()
    out_tsv = Path(out_tsv)
    summary = LongRangeSummary(out_tsv, Path(maps_npz) if maps_npz is not None else None)
    header = "\t".join(contact_columns(tasks)) + "\n"
    show = sys.stderr.isatty() if progress is None else progress
    total = len(records) if hasattr(records, "__len__") else None
    spools = {"ref": _Spool(), "alt": _Spool()} if maps_npz is not None else None
    labels: dict[str, list] = {k: [] for k in ("variant", "chrom", "pos", "id", "ref_allele",
                                               "alt_allele")}

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle, \
                _progress_bar(show, total, 0) as bar:
            handle.write(header)
            for batch in _batches(records, batch_size):
                windows = [variant_windows(genome, r, input_length) for r in batch]
                ref, alt = _predict_pairs(model, windows, batch_size, device)
                _check_shape(ref, (n_tasks, entries), caller)
                scores = contact_scores(ref, alt).reshape(len(batch), -1).tolist()
                for k, record in enumerate(batch):
                    index = summary.scored + k
                    handle.write(_record_head(index, record)
                                 + "\t".join(map(_number, scores[k])) + "\n")
                    if spools is not None:
                        for key, value in zip(labels, (index, record.chrom, record.pos,
                                                       record.id, record.ref, record.alt),
                                              strict=True):
                            labels[key].append(value)
                if spools is not None:
                    for key, out in (("ref", ref), ("alt", alt)):
                        if kind == "contact_map":
                            out = core.to_matrix(torch.from_numpy(out)).numpy()
                        spools[key].add(out)
                summary.scored += len(batch)
                summary.rows += len(batch)
                summary.padded += sum(w[2] for w in windows)
                bar.advance(len(batch))

    try:
        write_atomic(out_tsv, write)
        if spools is not None:
            arrays = {
                "variant": np.asarray(labels["variant"], dtype=np.int64),
                "pos": np.asarray(labels["pos"], dtype=np.int64),
                **{k: np.asarray(labels[k], dtype=str)
                   for k in ("chrom", "id", "ref_allele", "alt_allele")},
                "tasks": np.asarray(tasks, dtype=str),
                "kind": np.asarray(kind),
            }
            _write_maps(summary.out_npz, spools, map_shape, arrays)
    finally:
        for spool in (spools or {}).values():
            spool.close()
    summary._take_vcf(records)
    log.debug("%s", summary.describe())
    return summary
