"""Per-base splice-site labels from a gene annotation, laid out as SpliceAI's training data.

Every transcript is read in its own orientation (minus-strand transcripts are reverse
complemented, sequence and labels) and tiled from its 5' end by blocks of ``output_length``
labelled bases::

    label  0  neither           (inside the transcript)
           1  acceptor          (first base of an exon after the first, transcript order)
           2  donor             (last base of an exon before the last)
          -1  ignored           (past the transcript's 3' end in its last block)

The model's input is the block plus ``context / 2`` bases on each side; bases outside the
transcript (and past the chromosome's ends) are N, as SpliceAI did ("context is provided on
the RNA, not the DNA"). A block therefore sees exactly what the model sees when SpliceAI
scores variants in that gene. Coordinates are 0-based half-open; a block's ``start``/``end``
is its labelled stretch on the forward strand of the genome (it may pass the transcript's
3' end, where the labels are -1).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch.utils.data import Dataset

from dnalens.errors import ConfigError, ContigError
from dnalens.io.annotation import GeneTable, Transcript
from dnalens.io.contigs import match_contigs
from dnalens.io.genome import Genome, gather_windows
from dnalens.sequence.encoding import codes_to_one_hot

__all__ = [
    "IGNORE",
    "SPLICE_CLASSES",
    "SpliceDataset",
    "site_scores",
    "splice_blocks",
    "transcripts_on_genome",
]

log = logging.getLogger(__name__)

SPLICE_CLASSES = ("neither", "acceptor", "donor")
IGNORE = -1
_N_CODE = 4
_COMPLEMENT_CODE = np.array([3, 2, 1, 0, 4], dtype=np.uint8)


def transcripts_on_genome(genes: GeneTable, genome: Genome, *, chroms: Sequence[str] | None = None,
                          rename: bool = True,
                          chrom_map: dict[str, str] | None = None) -> list[Transcript]:
    """Transcripts whose chromosome is in the genome (renamed to its spelling, ``2`` -> ``chr2``).

    Transcripts on chromosomes the genome lacks are dropped (logged); ``chroms`` keeps only
    those on the named genome chromosomes.

    Raises
    ------
    ConfigError
        No transcript is left.
    """
    names = dict.fromkeys(t.chrom for t in genes)
    mapping = {}
    for name in names:
        try:
            mapping.update(match_contigs([name], genome, source=genes.source, rename=rename,
                                         chrom_map=chrom_map))
        except ContigError:
            continue
    missing = [n for n in names if n not in mapping]
    if missing:
        log.warning("%s: skipped transcripts on %d chromosome(s) not in %s: %s", genes.source,
                    len(missing), genome.path.name, ", ".join(missing[:6]))
    wanted = set(chroms) if chroms is not None else None
    kept = []
    for t in genes:
        chrom = mapping.get(t.chrom)
        if chrom is None or (wanted is not None and chrom not in wanted):
            continue
        kept.append(t if chrom == t.chrom else Transcript(
            t.name, chrom, t.strand, t.tx_start, t.tx_end, t.exon_starts, t.exon_ends))
    if not kept:
        where = f" on {sorted(wanted)}" if wanted is not None else ""
        raise ConfigError(f"{genes.source}: no transcript{where} lies on a chromosome of "
                          f"{genome.path.name} (it has {', '.join(genome.chroms[:6])}...)")
    return kept


def _transcript_labels(t: Transcript) -> np.ndarray:
    """Labels along the transcript in its own orientation, shape (tx_end - tx_start,) int8."""
    labels = np.zeros(t.tx_end - t.tx_start, dtype=np.int8)
    labels[t.acceptors - t.tx_start] = 1
    labels[t.donors - t.tx_start] = 2
    return labels[::-1] if t.strand == "-" else labels


def splice_blocks(transcripts: Sequence[Transcript],
                  output_length: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Tile each transcript, 5' to 3', with blocks of ``output_length`` labelled bases.

    Parameters
    ----------
    transcripts : sequence of Transcript
    output_length : int

    Returns
    -------
    blocks : DataFrame, one row per block
        chrom, start, end (the labelled stretch, forward-strand coordinates), strand, name,
        tx_start, tx_end, block (0 at the transcript's 5' end).
    labels : np.ndarray, shape (n_blocks, output_length), int8
        0 neither, 1 acceptor, 2 donor, -1 past the transcript; column ``j`` is the ``j``-th
        base in transcript orientation (genome position ``start + j`` on ``+``,
        ``end - 1 - j`` on ``-``).
    """
    if output_length <= 0:
        raise ConfigError(f"splice output_length must be > 0; got {output_length}")
    rows, labels = [], []
    for t in transcripts:
        y = _transcript_labels(t)
        n = -(-y.size // output_length)
        padded = np.full(n * output_length, IGNORE, dtype=np.int8)
        padded[: y.size] = y
        labels.append(padded.reshape(n, output_length))
        k = np.arange(n, dtype=np.int64)
        start = (t.tx_start + k * output_length if t.strand == "+"
                 else t.tx_end - (k + 1) * output_length)
        rows.append(pd.DataFrame({"chrom": t.chrom, "start": start, "end": start + output_length,
                                  "strand": t.strand, "name": t.name, "tx_start": t.tx_start,
                                  "tx_end": t.tx_end, "block": k}))
    if not rows:
        columns = ["chrom", "start", "end", "strand", "name", "tx_start", "tx_end", "block"]
        return (pd.DataFrame({c: pd.Series(dtype="int64") for c in columns}),
                np.zeros((0, output_length), dtype=np.int8))
    return pd.concat(rows, ignore_index=True), np.concatenate(labels)


class SpliceDataset(Dataset):
    """Blocks of transcripts as (one-hot input, per-base class labels).

    Parameters
    ----------
    genome : Genome
    blocks : DataFrame from :func:`splice_blocks` (chrom, start, end, strand, tx_start, tx_end)
    labels : np.ndarray, shape (n, output_length), int8
    context : int
        Even; the input reaches ``context // 2`` past each end of the block.

    Items are ``(x, y)``: x (4, output_length + context) float32 one-hot in transcript
    orientation, N (all-zero) outside the transcript; y (output_length,) int64 classes, -1
    ignored. Batches from :func:`dnalens.data.datasets.make_loader` are (batch, 4, L + context)
    and (batch, L).
    """

    def __init__(self, genome: Genome, blocks: pd.DataFrame, labels: np.ndarray,
                 context: int) -> None:
        if context < 0 or context % 2:
            raise ConfigError(f"SpliceDataset: context must be even and >= 0; got {context}")
        if len(blocks) != labels.shape[0]:
            raise ConfigError(f"SpliceDataset: inconsistent numbers of examples: blocks "
                              f"{len(blocks)}, labels {labels.shape[0]}")
        self.genome = genome
        self.labels = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int8))
        self.output_length = labels.shape[1]
        self.context = context
        self.input_length = self.output_length + context
        self.offsets, self.sizes = genome.locate(blocks["chrom"].to_numpy()) if len(blocks) \
            else (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.starts = blocks["start"].to_numpy(np.int64) - context // 2
        self.tx_start = blocks["tx_start"].to_numpy(np.int64)
        self.tx_end = blocks["tx_end"].to_numpy(np.int64)
        self.minus = blocks["strand"].to_numpy() == "-"

    def __len__(self) -> int:
        return self.labels.shape[0]

    def batch_codes(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Codes (batch, output_length + context) uint8, transcript orientation, and indices."""
        index = np.asarray(keys, dtype=np.int64) % max(len(self), 1)
        starts = self.starts[index]
        codes = gather_windows(self.genome.store, self.offsets[index], self.sizes[index],
                               starts, self.input_length)
        position = starts[:, None] + np.arange(self.input_length)
        outside = (position < self.tx_start[index, None]) | (position >= self.tx_end[index, None])
        codes = np.where(outside, np.uint8(_N_CODE), codes)
        flip = self.minus[index]
        if flip.any():
            codes[flip] = _COMPLEMENT_CODE[codes[flip, ::-1]]
        return codes, index

    def __getitems__(self, keys: list[int]) -> tuple[Tensor, Tensor]:
        codes, index = self.batch_codes(np.asarray(keys, dtype=np.int64))
        return codes_to_one_hot(codes), self.labels[index].long()

    def __getitem__(self, key: int) -> tuple[Tensor, Tensor]:
        x, y = self.__getitems__([key])
        return x[0], y[0]

    def counts(self) -> dict[str, int]:
        """Number of labelled bases, acceptors and donors."""
        labels = self.labels
        return {"bases": int((labels >= 0).sum()), "acceptors": int((labels == 1).sum()),
                "donors": int((labels == 2).sum())}


def site_scores(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten per-base outputs to one row per labelled base, for per-class metrics.

    Parameters
    ----------
    probabilities : np.ndarray, shape (n, 3, L)
        P(neither), P(acceptor), P(donor).
    labels : np.ndarray, shape (n, L)
        Classes, -1 ignored.

    Returns
    -------
    y_true : np.ndarray, shape (m, 2), uint8
        Is acceptor, is donor, for the m bases whose label is >= 0.
    y_score : np.ndarray, shape (m, 2), float32
        P(acceptor), P(donor) at those bases.
    """
    if probabilities.ndim != 3 or probabilities.shape[1] != 3 \
            or probabilities.shape[::2] != labels.shape:
        raise ConfigError(f"site_scores: probabilities (n, 3, L) and labels (n, L) do not fit: "
                          f"{probabilities.shape} vs {labels.shape}")
    keep = labels >= 0
    y_true = np.stack([labels[keep] == 1, labels[keep] == 2], axis=1).astype(np.uint8)
    y_score = np.stack([probabilities[:, 1][keep], probabilities[:, 2][keep]], axis=1)
    return y_true, y_score.astype(np.float32)
