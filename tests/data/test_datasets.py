"""On-the-fly one-hot datasets: known windows, N padding, index-addressed augmentation, loaders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnalens.data.datasets import EpochSampler, GenomeWindowDataset, SequenceDataset, make_loader
from dnalens.data.tables import table_codes
from dnalens.errors import ConfigError
from dnalens.io.genome import Genome
from dnalens.sequence import decode, one_hot, reverse_complement

L = 20


@pytest.fixture
def genome(tmp_path, write_fasta, dna):
    return Genome(write_fasta(tmp_path / "g.fa", {"chr1": dna(600, 11), "chr2": dna(100, 12)}))


@pytest.fixture
def many(genome):
    """GenomeWindowDataset factory over 200 windows inside chr1, labels = example index."""
    centres = np.arange(200) * 2 + 100

    def make(**kwargs) -> GenomeWindowDataset:
        return GenomeWindowDataset(genome, np.array(["chr1"] * 200), centres,
                                   np.arange(200, dtype=np.float32), L, **kwargs)

    return make


def window(genome: Genome, chrom: str, centre: int, shift: int = 0, length: int = L) -> str:
    start = centre - length // 2 + shift
    return genome.fetch(chrom, start, start + length)


def test_item_is_the_one_hot_window(genome):
    labels = np.array([[1, 0], [0, 1]], dtype=np.float32)
    ds = GenomeWindowDataset(genome, np.array(["chr1", "chr2"]), np.array([150, 50]), labels, L)
    assert len(ds) == 2
    x, y = ds[0]
    assert x.shape == (4, L)
    torch.testing.assert_close(x, one_hot(genome.fetch("chr1", 140, 160)))
    torch.testing.assert_close(y, torch.tensor([1.0, 0.0]))
    x, y = ds[1]
    torch.testing.assert_close(x, one_hot(genome.fetch("chr2", 40, 60)))
    torch.testing.assert_close(y, torch.tensor([0.0, 1.0]))


def test_odd_input_length_window(genome):
    ds = GenomeWindowDataset(genome, np.array(["chr1"]), np.array([100]), np.zeros(1), 7)
    assert decode(ds[0][0]) == genome.fetch("chr1", 97, 104)


def test_batch_shapes_and_dtypes(genome):
    ds = GenomeWindowDataset(genome, np.array(["chr1", "chr2", "chr1"]), np.array([100, 50, 300]),
                             np.ones((3, 5)), L)
    x, y = ds.__getitems__([2, 0, 1])
    assert x.shape == (3, 4, L)
    assert y.shape == (3, 5)
    assert x.dtype == torch.float32
    assert y.dtype == torch.float32
    torch.testing.assert_close(x[0], one_hot(window(genome, "chr1", 300)))


def test_one_dimensional_labels_become_one_task(genome):
    ds = GenomeWindowDataset(genome, np.array(["chr1"]), np.array([100]), np.array([3.0]), L)
    assert ds.labels.shape == (1, 1)


def test_windows_past_chromosome_ends_are_n_padded(genome):
    ds = GenomeWindowDataset(genome, np.array(["chr2", "chr2", "chr2"]), np.array([5, 95, 500]),
                             np.zeros(3), L)
    x, _ = ds.__getitems__([0, 1, 2])
    chr2 = genome.fetch("chr2", 0, 100)
    assert decode(x) == ["N" * 5 + chr2[:15], chr2[85:] + "N" * 5, "N" * L]


def test_inconsistent_lengths(genome):
    with pytest.raises(ConfigError, match="inconsistent numbers of examples: chroms 2, centres 3, "
                                          "labels 2"):
        GenomeWindowDataset(genome, np.array(["chr1", "chr1"]), np.array([1, 2, 3]), np.zeros(2), L)


def test_negative_max_shift(genome):
    with pytest.raises(ConfigError, match="max_shift must be >= 0; got -1"):
        GenomeWindowDataset(genome, np.array(["chr1"]), np.array([1]), np.zeros(1), L, max_shift=-1)


def orientations(ds: GenomeWindowDataset, genome: Genome, epoch: int) -> list[bool]:
    """Per example: True when the item is the reverse complement of its window."""
    n = len(ds)
    x, y = ds.__getitems__(list(range(epoch * n, (epoch + 1) * n)))
    flipped = []
    for xi, yi in zip(x, y, strict=True):
        i = int(yi)
        forward = one_hot(window(genome, "chr1", int(ds.starts[i]) + L // 2))
        if torch.equal(xi, forward):
            flipped.append(False)
        else:
            torch.testing.assert_close(xi, reverse_complement(forward))
            flipped.append(True)
    return flipped


def test_reverse_complement_augmentation_is_exact_and_reproducible(genome, many):
    ds = many(reverse_complement=True, seed=3)
    epoch0 = orientations(ds, genome, 0)
    assert 60 < sum(epoch0) < 140  # about half are flipped
    assert orientations(ds, genome, 0) == epoch0  # same (seed, epoch, index) -> same strand
    assert orientations(many(reverse_complement=True, seed=3), genome, 0) == epoch0
    assert orientations(ds, genome, 1) != epoch0  # a new epoch draws again
    assert orientations(many(reverse_complement=True, seed=4), genome, 0) != epoch0


def test_no_augmentation_without_flags(genome, many):
    assert not any(orientations(many(), genome, 3))


def test_shifted_windows_are_genome_subsequences(genome, many):
    ds = many(max_shift=3, seed=0)
    shifts = []
    x, y = ds.__getitems__(list(range(len(ds))))
    for seq, i in zip(decode(x), y[:, 0].int().tolist(), strict=True):
        centre = int(ds.starts[i]) + L // 2
        matches = [s for s in range(-3, 4) if window(genome, "chr1", centre, s) == seq]
        assert len(matches) == 1
        shifts.append(matches[0])
    assert set(shifts) == set(range(-3, 4))  # every shift within the bound occurs


def test_shift_and_flip_together(genome, many):
    ds = many(max_shift=2, reverse_complement=True, seed=1)
    x, y = ds.__getitems__(list(range(len(ds))))
    for seq, i in zip(decode(x), y[:, 0].int().tolist(), strict=True):
        centre = int(ds.starts[i]) + L // 2
        candidates = {window(genome, "chr1", centre, s) for s in range(-2, 3)}
        candidates |= {reverse_complement(c) for c in candidates}
        assert seq in candidates


def test_epoch_sampler_keys():
    sampler = EpochSampler(5, shuffle=False)
    assert list(sampler) == [0, 1, 2, 3, 4]
    sampler.set_epoch(2)
    assert list(sampler) == [10, 11, 12, 13, 14]
    assert len(sampler) == 5
    shuffled = EpochSampler(50, shuffle=True, seed=1)
    first = list(shuffled)
    assert sorted(first) == list(range(50))
    assert first != list(range(50))
    assert list(EpochSampler(50, shuffle=True, seed=1)) == first


def collect(loader) -> tuple[list[int], torch.Tensor]:
    ys, xs = [], []
    for x, y in loader:
        ys.extend(y[:, 0].int().tolist())
        xs.append(x)
    return ys, torch.cat(xs)


def test_make_loader_yields_every_example_once_per_epoch(genome, many):
    ds = many(reverse_complement=True, max_shift=2, seed=0)
    loader = make_loader(ds, batch_size=64, shuffle=True, seed=0)
    sizes = [x.shape[0] for x, _ in loader]
    assert sizes == [64, 64, 64, 8]
    order0, x0 = collect(loader)
    assert sorted(order0) == list(range(200))
    again, x_again = collect(loader)
    assert again == order0  # same epoch, same order and same augmentation
    torch.testing.assert_close(x_again, x0)
    loader.sampler.set_epoch(1)
    order1, _ = collect(loader)
    assert sorted(order1) == list(range(200))
    assert order1 != order0
    # A batch is exactly what the dataset gives for the sampler's keys.
    keys = list(loader.sampler)[:64]
    x_direct, _ = ds.__getitems__(keys)
    torch.testing.assert_close(next(iter(loader))[0], x_direct)


def test_make_loader_without_shuffle_keeps_order(many):
    ys, _ = collect(make_loader(many(), batch_size=50, shuffle=False))
    assert ys == list(range(200))


def test_sequence_dataset_from_table_codes():
    codes = table_codes(["ACGT", "GGCCAA", "T"])
    ds = SequenceDataset(codes, np.array([1.0, 0.0, 1.0]))
    assert ds.input_length == 6
    x, y = ds.__getitems__([0, 1, 2])
    assert decode(x) == ["NACGTN", "GGCCAA", "NNTNNN"]
    torch.testing.assert_close(y, torch.tensor([[1.0], [0.0], [1.0]]))


def test_sequence_dataset_augmentation():
    seqs = ["AACCGGTTAC", "GATTACAGAT", "CCCCAAAATT"] * 30
    ds = SequenceDataset(table_codes(seqs), np.zeros(len(seqs)), reverse_complement=True,
                         max_shift=1, seed=2)
    flipped = 0
    for i, seq in enumerate(decode(ds.__getitems__(list(range(len(seqs))))[0])):
        # Shifted-out bases become N, never a neighbouring sequence's bases.
        shifted = {seqs[i], seqs[i][1:] + "N", "N" + seqs[i][:-1]}
        assert seq in shifted | {reverse_complement(s) for s in shifted}
        flipped += seq not in shifted
    assert 0 < flipped < len(seqs)


def test_sequence_dataset_inconsistent_lengths():
    with pytest.raises(ConfigError, match="inconsistent numbers of examples: codes 3, labels 2"):
        SequenceDataset(table_codes(["A", "C", "G"]), np.zeros(2))


def test_worker_processes_give_the_same_batches(many):
    ds = many(reverse_complement=True, max_shift=2, seed=0)
    serial = collect(make_loader(ds, batch_size=64, shuffle=True, seed=5))
    parallel = collect(make_loader(ds, batch_size=64, shuffle=True, seed=5, num_workers=2))
    assert parallel[0] == serial[0]
    torch.testing.assert_close(parallel[1], serial[1])
