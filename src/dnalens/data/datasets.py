"""torch Datasets that one-hot encode windows on the fly.

The genome stays in memory as one array of base codes (see
:class:`dnalens.io.genome.Genome`); a dataset stores only each example's
offset, so nothing like a (n, 4, L) matrix is ever built ahead of time.
Batches are gathered whole through ``__getitems__`` (one strided copy and one
table lookup per batch), which is what makes the loader fast.

Augmentation is addressed by index: the sampler of :func:`make_loader` yields
``epoch * n + i`` and the dataset derives example ``i``'s shift and strand from
a hash of (seed, epoch, i). Epochs are therefore reproducible whatever the
batch size, worker count or process.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from dnalens.errors import ConfigError
from dnalens.io.genome import Genome, gather_windows
from dnalens.sequence.encoding import codes_to_one_hot

__all__ = ["EpochSampler", "GenomeWindowDataset", "SequenceDataset", "make_loader"]

_COMPLEMENT_CODE = np.array([3, 2, 1, 0, 4], dtype=np.uint8)


def _mix(seed: int, epoch: np.ndarray, index: np.ndarray) -> np.ndarray:
    """SplitMix64 hash of (seed, epoch, index): independent uniform 64-bit draws."""
    with np.errstate(over="ignore"):
        z = (np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
             + epoch.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9)
             + index.astype(np.uint64) * np.uint64(0x94D049BB133111EB))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def augment_draws(keys: np.ndarray, n: int, seed: int, max_shift: int,
                  reverse_complement: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Example index, shift and flip of each sampler key.

    Parameters
    ----------
    keys : np.ndarray of int64, shape (batch,)
        Sampler keys ``epoch * n + index``, so each epoch draws anew.
    n : int
        Examples in the dataset.
    seed, max_shift, reverse_complement
        Shifts are uniform in ``[-max_shift, max_shift]``; flips have probability 1/2.

    Returns
    -------
    index (batch,) int64, shift (batch,) int64, flip (batch,) bool
    """
    index, epoch = keys % n, keys // n
    shift = np.zeros(len(keys), dtype=np.int64)
    flip = np.zeros(len(keys), dtype=bool)
    if max_shift or reverse_complement:
        h = _mix(seed, epoch, index)
        if max_shift:
            shift = (h % np.uint64(2 * max_shift + 1)).astype(np.int64) - max_shift
        if reverse_complement:
            flip = ((h >> np.uint64(40)) & np.uint64(1)).astype(bool)
    return index, shift, flip


def reverse_complement_codes(codes: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Reverse-complement the rows of ``codes`` (batch, length) uint8 where ``flip``; in place."""
    if flip.any():
        codes[flip] = _COMPLEMENT_CODE[codes[flip, ::-1]]
    return codes


class _AugmentedOneHot(Dataset):
    """Shared batching, reverse-complement and shift logic; subclasses give codes."""

    def __init__(self, labels: np.ndarray, *, reverse_complement: bool, max_shift: int,
                 seed: int) -> None:
        if max_shift < 0:
            raise ConfigError(f"max_shift must be >= 0; got {max_shift}")
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.float32))
        if self.labels.ndim == 1:
            self.labels = self.labels[:, None]
        self.reverse_complement = reverse_complement
        self.max_shift = max_shift
        self.seed = seed

    def __len__(self) -> int:
        return self.labels.shape[0]

    def _codes(self, index: np.ndarray, shift: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def batch_codes(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Codes (batch, length) uint8 and example indices for sampler keys."""
        index, shift, flip = augment_draws(np.asarray(keys, dtype=np.int64), len(self),
                                           self.seed, self.max_shift, self.reverse_complement)
        codes = reverse_complement_codes(self._codes(index, shift), flip)
        return codes, index

    def __getitems__(self, keys: list[int]) -> tuple[Tensor, Tensor]:
        codes, index = self.batch_codes(np.asarray(keys, dtype=np.int64))
        return codes_to_one_hot(codes), self.labels[index]

    def __getitem__(self, key: int) -> tuple[Tensor, Tensor]:
        x, y = self.__getitems__([key])
        return x[0], y[0]


class GenomeWindowDataset(_AugmentedOneHot):
    """Windows of a genome centred on bins, with labels.

    Parameters
    ----------
    genome : Genome
    chroms : array of str, shape (n,)
    centres : array of int, shape (n,)
        0-based centre of each bin; the window is
        ``[centre - input_length // 2, centre - input_length // 2 + input_length)``.
    labels : array, shape (n,) or (n, n_tasks)
    input_length : int
    reverse_complement : bool
        Randomly (per example and epoch) take the reverse strand.
    max_shift : int
        Randomly shift each window by up to this many bp either way.
    seed : int

    Items are ``(x, y)``: x (4, input_length) float32 one-hot, y (n_tasks,) float32;
    batches from :func:`make_loader` are (batch, 4, input_length) and (batch, n_tasks).
    Windows reaching past a chromosome end are padded with N.
    """

    def __init__(self, genome: Genome, chroms: np.ndarray, centres: np.ndarray,
                 labels: np.ndarray, input_length: int, *, reverse_complement: bool = False,
                 max_shift: int = 0, seed: int = 0) -> None:
        super().__init__(labels, reverse_complement=reverse_complement, max_shift=max_shift,
                         seed=seed)
        if len(chroms) != len(self) or len(centres) != len(self):
            raise ConfigError(
                f"GenomeWindowDataset: inconsistent numbers of examples: chroms "
                f"{len(chroms)}, centres {len(centres)}, labels {len(self)}"
            )
        self.genome = genome
        self.input_length = input_length
        self.offsets, self.sizes = genome.locate(chroms) if len(chroms) else (
            np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.starts = np.asarray(centres, dtype=np.int64) - input_length // 2

    def _codes(self, index: np.ndarray, shift: np.ndarray) -> np.ndarray:
        return gather_windows(self.genome.store, self.offsets[index], self.sizes[index],
                              self.starts[index] + shift, self.input_length)


class SequenceDataset(_AugmentedOneHot):
    """Labelled sequences held as codes, e.g. from a TSV table.

    Parameters
    ----------
    codes : np.ndarray, shape (n, length), uint8
        Base codes (see :mod:`dnalens.alphabet`), all of one length (pad with N).
    labels : array, shape (n,) or (n, n_tasks)
    reverse_complement, max_shift, seed
        As for :class:`GenomeWindowDataset`; shifted-out bases become N.
    """

    def __init__(self, codes: np.ndarray, labels: np.ndarray, *,
                 reverse_complement: bool = False, max_shift: int = 0, seed: int = 0) -> None:
        super().__init__(labels, reverse_complement=reverse_complement, max_shift=max_shift,
                         seed=seed)
        if codes.shape[0] != len(self):
            raise ConfigError(
                f"SequenceDataset: inconsistent numbers of examples: codes {codes.shape[0]}, "
                f"labels {len(self)}"
            )
        self.codes = np.ascontiguousarray(codes, dtype=np.uint8)
        self.input_length = codes.shape[1]
        n, length = self.codes.shape
        # The same gather as genome windows: each sequence is its own "chromosome".
        self._offsets = np.arange(n, dtype=np.int64) * length
        self._sizes = np.full(n, length, dtype=np.int64)

    def _codes(self, index: np.ndarray, shift: np.ndarray) -> np.ndarray:
        return gather_windows(self.codes.reshape(-1), self._offsets[index], self._sizes[index],
                              shift, self.input_length)


class EpochSampler(Sampler[int]):
    """Yields ``epoch * n + i`` keys (shuffled when asked) so augmentation is reproducible.

    Lightning calls :meth:`set_epoch` before each training epoch.
    """

    def __init__(self, n: int, *, shuffle: bool, seed: int = 0) -> None:
        self.n, self.shuffle, self.seed, self.epoch = n, shuffle, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
                 if self.shuffle else np.arange(self.n))
        return iter((order + self.epoch * self.n).tolist())


def _keep_batch(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    # __getitems__ already returns a stacked batch; default collation would re-stack it.
    return batch


def make_loader(dataset: _AugmentedOneHot, *, batch_size: int, shuffle: bool, seed: int = 0,
                num_workers: int = 0, pin_memory: bool = False) -> DataLoader:
    """DataLoader over a dnalens dataset, gathering each batch in one call.

    Parameters
    ----------
    dataset : GenomeWindowDataset or SequenceDataset
    batch_size : int
    shuffle : bool
        Shuffle (and, if the dataset augments, vary augmentation) each epoch.
    seed : int
    num_workers : int
        Worker processes; the in-memory genome is shared copy-on-write.
    """
    return DataLoader(
        dataset, batch_size=batch_size, sampler=EpochSampler(len(dataset), shuffle=shuffle,
                                                             seed=seed),
        collate_fn=_keep_batch, num_workers=num_workers, pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
    )
