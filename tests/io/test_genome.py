"""Genome: plain/bgzip FASTA indexing, N-padded fetches, in-memory codes, errors that say what
to do."""

from __future__ import annotations

import gzip
import os
import pickle
import re
import shutil

import numpy as np
import pysam
import pytest

from dnalens.alphabet import encode_codes
from dnalens.errors import ContigError, CoordinateError, FastaError, InputFileError
from dnalens.io.genome import Genome

CHR1 = "ACGTACGTTTGGCCAAACGTNNNNNacgtacgtaaGGCCTTAGCAGTACC"  # 50 bp, soft-masked run, N run
CHR2 = "GATTACAGATTACAGATTACACCCGGGTTT"  # 30 bp


@pytest.fixture
def fasta(tmp_path, write_fasta):
    """A plain two-chromosome FASTA with 12-bp lines and no index."""
    return write_fasta(tmp_path / "genome.fa", {"chr1": CHR1, "chr2": CHR2}, width=12)


@pytest.fixture
def genome(fasta):
    return Genome(fasta)


def test_plain_fasta_without_index_gets_one(fasta):
    assert not (fasta.parent / "genome.fa.fai").exists()
    genome = Genome(fasta)
    assert (fasta.parent / "genome.fa.fai").exists()
    assert genome.chrom_sizes == {"chr1": 50, "chr2": 30}
    assert genome.chroms == ["chr1", "chr2"]
    assert repr(genome) == f"Genome({str(fasta)!r}, 2 sequences)"


def test_fetch_known_sequences_upper_cased(genome):
    assert genome.fetch("chr1", 0, 50) == CHR1.upper()
    assert genome.fetch("chr1", 10, 22) == "GGCCAAACGTNN"
    assert genome.fetch("chr1", 25, 30) == "ACGTA"  # lower case in the file
    assert genome.fetch("chr2", 28, 30) == "TT"
    assert genome.fetch("chr2", 5, 5) == ""


def test_fetch_pads_with_n_before_the_start(genome):
    assert genome.fetch("chr2", -3, 4) == "NNNGATT"


def test_fetch_pads_with_n_past_the_end(genome):
    assert genome.fetch("chr2", 26, 33) == "GTTTNNN"


def test_fetch_pads_both_sides(genome):
    assert genome.fetch("chr2", -2, 32) == "NN" + CHR2 + "NN"


@pytest.mark.parametrize(("start", "end"), [(-10, -5), (-4, 0), (30, 34), (100, 103)])
def test_fetch_window_wholly_outside_is_all_n(genome, start, end):
    assert genome.fetch("chr2", start, end) == "N" * (end - start)


def test_bgzipped_fasta(tmp_path, fasta):
    bgz = tmp_path / "genome.fa.gz"
    pysam.tabix_compress(str(fasta), str(bgz))
    genome = Genome(bgz)
    assert genome.chrom_sizes == {"chr1": 50, "chr2": 30}
    assert genome.fetch("chr1", 20, 30) == "NNNNNACGTA"
    assert genome.fetch("chr2", -1, 3) == "NGAT"
    assert (tmp_path / "genome.fa.gz.gzi").exists()


def test_plain_gzip_fasta_is_refused_naming_bgzip(tmp_path, fasta):
    gz = tmp_path / "plain.fa.gz"
    with gzip.open(gz, "wb") as handle:
        handle.write(fasta.read_bytes())
    with pytest.raises(FastaError, match=r"plain\.fa\.gz: gzip-compressed but not bgzip.*bgzip >"):
        Genome(gz)


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match=r"nothere\.fa: no such FASTA file"):
        Genome(tmp_path / "nothere.fa")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(InputFileError, match="is a folder; expected a FASTA file"):
        Genome(tmp_path)


def test_not_a_fasta_file(write_text):
    path = write_text("junk.fa", "hello world\nfoo\n")
    with pytest.raises(FastaError, match=r"junk\.fa:1: expected a '>name' header line; found "
                                         r"'hello world'"):
        Genome(path)


def test_index_build_error_is_one_clean_line(write_text, capfd):
    path = write_text("junk.fa", "hello world\nfoo\n")
    with pytest.raises(FastaError) as info:
        Genome(path)
    message = str(info.value)
    assert "\n" not in message
    assert "samtools" not in message
    assert capfd.readouterr().err == ""  # no htslib [E::fai_build_core] lines


def test_read_only_folder_without_index_names_samtools_faidx(tmp_path, fasta):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = shutil.copy(fasta, folder / "genome.fa")
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: a 0o555 folder is still writable, so the read-only "
                        "branch cannot be reached this way (see the monkeypatched test)")
        with pytest.raises(FastaError, match=r"no index genome\.fa\.fai .*`samtools faidx "):
            Genome(path)
    finally:
        folder.chmod(0o755)


def test_read_only_folder_message_when_access_is_denied(fasta, monkeypatch):
    # Works as root too: pretend the folder is not writable.
    monkeypatch.setattr("dnalens.io.genome.os.access", lambda path, mode: False)
    expected = (f"{fasta}: no index genome.fa.fai and the folder is read-only; "
                f"run `samtools faidx {fasta}` where you can write")
    with pytest.raises(FastaError, match=re.escape(expected)):
        Genome(fasta)


def test_existing_index_in_read_only_folder_is_used(fasta, monkeypatch):
    Genome(fasta)  # builds the .fai
    monkeypatch.setattr("dnalens.io.genome.os.access", lambda path, mode: False)
    assert Genome(fasta).fetch("chr2", 0, 4) == "GATT"


def test_unknown_chromosome_lists_the_genome_names(genome):
    with pytest.raises(ContigError, match=r"chromosome 'chr9' is not in genome\.fa \(has 'chr1', "
                                          r"'chr2'\)"):
        genome.fetch("chr9", 0, 10)


def test_unknown_chromosome_suggests_the_other_naming_style(genome):
    with pytest.raises(ContigError, match=r"chromosome '1' is not in genome\.fa, which names it "
                                          r"'chr1'"):
        genome.fetch("1", 0, 10)


def test_end_before_start(genome):
    with pytest.raises(CoordinateError, match=r"chr1:10-5: end \(5\) must be >= start \(10\)"):
        genome.fetch("chr1", 10, 5)


def test_codes_of_a_chromosome(genome):
    codes = genome.codes("chr2")
    np.testing.assert_array_equal(codes, encode_codes(CHR2))
    assert codes.dtype == np.uint8
    with pytest.raises(ValueError, match="read-only"):
        codes[0] = 1
    # Loading a second chromosome later keeps both right.
    np.testing.assert_array_equal(genome.codes("chr1"), encode_codes(CHR1))
    np.testing.assert_array_equal(genome.codes("chr2"), encode_codes(CHR2))


def test_fetch_codes_matches_fetch_on_random_windows(genome):
    rng = np.random.default_rng(0)
    for length in (1, 7, 30, 64):
        chroms = rng.choice(["chr1", "chr2"], size=40)
        starts = rng.integers(-70, 80, size=40)
        codes = genome.fetch_codes(chroms, starts, length)
        assert codes.shape == (40, length)
        for row, chrom, start in zip(codes, chroms, starts, strict=True):
            expected = encode_codes(genome.fetch(str(chrom), int(start), int(start) + length))
            np.testing.assert_array_equal(row, expected)


def test_fetch_codes_fast_path_when_all_windows_are_inside(genome):
    chroms = ["chr2", "chr1", "chr1"]
    starts = np.array([3, 0, 42])
    codes = genome.fetch_codes(chroms, starts, 8)
    expected = [encode_codes(genome.fetch(c, s, s + 8))
                for c, s in zip(chroms, starts, strict=True)]
    np.testing.assert_array_equal(codes, np.stack(expected))
    codes[0, 0] = 4  # the result is a copy, not a view of the genome
    assert genome.fetch_codes(["chr2"], [3], 1)[0, 0] == encode_codes("T")[0]


def test_fetch_codes_unknown_chromosome(genome):
    with pytest.raises(ContigError, match=r"chromosome 'chrX' is not in genome\.fa"):
        genome.fetch_codes(["chr1", "chrX"], [0, 0], 5)


def test_pickled_genome_still_fetches(genome):
    genome.load(["chr1"])
    copy = pickle.loads(pickle.dumps(genome))
    assert copy.fetch("chr2", -1, 4) == "NGATT"
    np.testing.assert_array_equal(copy.codes("chr1"), encode_codes(CHR1))
    np.testing.assert_array_equal(copy.fetch_codes(["chr2"], [28], 4)[0], encode_codes("TTNN"))


def test_real_bgzipped_hg38_slice_in_a_read_only_folder(shared_dir):
    path = shared_dir / "data" / "chr2_hg38" / "chr2_1-1750000.hg38.fa.gz"
    if not path.exists():
        pytest.skip(f"{path} not found")
    genome = Genome(path)
    assert genome.chrom_sizes == {"chr2": 1_750_000}
    assert genome.fetch("chr2", -5, 5) == "N" * 10  # hg38 chr2 starts with an N run
    window = genome.fetch("chr2", 1_749_990, 1_750_010)
    assert window.endswith("N" * 10)
    assert set(window[:10]) <= set("ACGT")
