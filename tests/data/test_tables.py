"""Labelled sequence tables: TSV and FASTA + labels, centred padding, stratified seeded splits."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest

from dnalens.alphabet import encode_codes
from dnalens.data.tables import random_split, read_fasta_table, read_sequence_table, table_codes
from dnalens.errors import ConfigError, InputFileError


def test_read_sequence_table_upper_cases(write_text):
    text = "id\tsequence\tlabel\n001\tacgTN\t1\ns2\tGGcc\t0\n"
    df = read_sequence_table(write_text("t.tsv", text))
    assert list(df.columns) == ["id", "sequence", "label"]
    assert df["id"].tolist() == ["001", "s2"]  # ids stay text
    assert df["sequence"].tolist() == ["ACGTN", "GGCC"]
    assert df["label"].tolist() == [1.0, 0.0]
    assert df["label"].dtype == np.float32


def test_read_sequence_table_several_labels_and_a_split_column(write_text):
    text = "id\tsequence\ta\tb\tsplit\nx\tAC\t1\t0.5\ttrain\ny\tGT\t0\t2\ttest\n"
    df = read_sequence_table(write_text("t.tsv", text))
    assert df[["a", "b"]].to_numpy().tolist() == [[1.0, 0.5], [0.0, 2.0]]
    assert df["split"].tolist() == ["train", "test"]


def test_read_sequence_table_gzip(tmp_path):
    path = tmp_path / "t.tsv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("id\tsequence\tlabel\nx\tac\t1\n")
    assert read_sequence_table(path)["sequence"].tolist() == ["AC"]


def test_missing_table(tmp_path):
    with pytest.raises(InputFileError, match=r"t\.tsv: no such sequence table"):
        read_sequence_table(tmp_path / "t.tsv")


def test_non_numeric_label_names_the_line(write_text):
    path = write_text("t.tsv", "id\tsequence\tlabel\nx\tAC\t1\ny\tGT\tyes\n")
    with pytest.raises(InputFileError, match=re.escape("t.tsv:3: label 'label' must be a number; "
                                                       "got 'yes'")):
        read_sequence_table(path)


def test_empty_sequence_names_the_line(write_text):
    path = write_text("t.tsv", "id\tsequence\tlabel\nx\tAC\t1\ny\t\t0\n")
    with pytest.raises(InputFileError, match=re.escape("t.tsv:3: empty sequence")):
        read_sequence_table(path)


def test_table_without_sequence_column(write_text):
    path = write_text("t.tsv", "id\tseq\tlabel\nx\tAC\t1\n")
    with pytest.raises(InputFileError, match="needs columns 'id' and 'sequence' plus labels; got "
                                             r"\['id', 'seq', 'label'\]"):
        read_sequence_table(path)


def test_table_without_label_column(write_text):
    path = write_text("t.tsv", "id\tsequence\nx\tAC\n")
    with pytest.raises(InputFileError, match="no label column after 'sequence'"):
        read_sequence_table(path)


def test_table_with_header_only(write_text):
    path = write_text("t.tsv", "id\tsequence\tlabel\n")
    with pytest.raises(InputFileError, match=r"t\.tsv: no sequences"):
        read_sequence_table(path)


@pytest.fixture
def fasta_and_labels(write_text):
    fasta = write_text("seqs.fa", ">s1 description\nACGT\nacgt\n>s2\nGGG\n>s3\nTTTT\n")
    labels = write_text("labels.tsv", "id\tlabel\ts3\ns2\t1\t0\ns1\t0\t1\n")
    return fasta, labels


def test_read_fasta_table_joins_by_id(fasta_and_labels):
    df = read_fasta_table(*fasta_and_labels)
    assert list(df.columns) == ["id", "sequence", "label", "s3"]
    assert df["id"].tolist() == ["s2", "s1"]  # the label table's order
    assert df["sequence"].tolist() == ["GGG", "ACGTACGT"]
    assert df["label"].tolist() == [1.0, 0.0]


def test_read_fasta_table_gzip_fasta(tmp_path, fasta_and_labels):
    fasta, labels = fasta_and_labels
    gz = tmp_path / "seqs.fa.gz"
    gz.write_bytes(gzip.compress(fasta.read_bytes()))
    assert read_fasta_table(gz, labels)["sequence"].tolist() == ["GGG", "ACGTACGT"]


def test_read_fasta_table_missing_id(fasta_and_labels, write_text):
    fasta, _ = fasta_and_labels
    labels = write_text("labels.tsv", "id\tlabel\ns1\t1\ns9\t0\ns8\t1\n")
    with pytest.raises(InputFileError, match=re.escape("labels.tsv: 2 id(s) not in seqs.fa, e.g. "
                                                       "'s8'")):
        read_fasta_table(fasta, labels)


def test_read_fasta_table_label_table_without_id(fasta_and_labels, write_text):
    fasta, _ = fasta_and_labels
    labels = write_text("labels.tsv", "name\tlabel\ns1\t1\n")
    with pytest.raises(InputFileError, match=r"needs a header with an 'id' column; got \['name', "
                                             r"'label'\]"):
        read_fasta_table(fasta, labels)


def test_read_fasta_table_non_numeric_label(fasta_and_labels, write_text):
    fasta, _ = fasta_and_labels
    labels = write_text("labels.tsv", "id\tlabel\ns1\t1\ns2\thigh\n")
    with pytest.raises(InputFileError, match=re.escape("labels.tsv:3: label 'label' must be a "
                                                       "number; got 'high'")):
        read_fasta_table(fasta, labels)


def test_read_fasta_table_missing_label_file(fasta_and_labels, tmp_path):
    fasta, _ = fasta_and_labels
    with pytest.raises(InputFileError, match="cannot read the label table"):
        read_fasta_table(fasta, tmp_path / "nope.tsv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (">a\nAC\n>a\nGT\n", "seqs.fa:3: empty or repeated record name"),
        (">a\nAC\n>\nGT\n", "seqs.fa:3: empty or repeated record name"),
        ("AC\n>a\nGT\n", "seqs.fa:1: sequence before the first '>' line"),
    ],
)
def test_read_fasta_table_bad_fasta(write_text, text, message):
    fasta = write_text("seqs.fa", text)
    labels = write_text("labels.tsv", "id\tlabel\na\t1\n")
    with pytest.raises(InputFileError, match=re.escape(message)):
        read_fasta_table(fasta, labels)


def test_read_fasta_table_missing_fasta(tmp_path, write_text):
    labels = write_text("labels.tsv", "id\tlabel\na\t1\n")
    with pytest.raises(InputFileError, match=r"seqs\.fa: no such FASTA file"):
        read_fasta_table(tmp_path / "seqs.fa", labels)


def decoded(codes: np.ndarray) -> list[str]:
    return ["".join("ACGTN"[c] for c in row) for row in codes]


def test_table_codes_pads_centred_to_the_longest():
    codes = table_codes(["ACGT", "GGCCAA", "T", "ac"])
    assert codes.dtype == np.uint8
    assert decoded(codes) == ["NACGTN", "GGCCAA", "NNTNNN", "NNACNN"]


def test_table_codes_crops_centred():
    # Cropping ACGTAC to 4 drops one base each side; ACGTA loses its last base.
    assert decoded(table_codes(["ACGTAC", "ACGTA", "AC", "ACG"], 4)) == [
        "CGTA", "ACGT", "NACN", "ACGN"]


def test_table_codes_matches_encode_codes_at_full_length():
    seqs = ["ACGTNRacgt", "TTTTGGGGCC"]
    np.testing.assert_array_equal(table_codes(seqs, 10), np.stack([encode_codes(s) for s in seqs]))


def test_random_split_is_stratified():
    labels = np.array([1.0] * 100 + [0.0] * 300)
    split = random_split(labels, valid_fraction=0.1, test_fraction=0.2, seed=0)
    assert split.dtype.kind == "U"
    for value, n in ((1.0, 100), (0.0, 300)):
        part = split[labels == value]
        assert (part == "test").sum() == round(0.2 * n)
        assert (part == "valid").sum() == round(0.1 * n)
        assert (part == "train").sum() == n - round(0.2 * n) - round(0.1 * n)


def test_random_split_stratifies_on_the_first_label_column():
    labels = np.zeros((40, 2))
    labels[:10, 0] = 1
    labels[:, 1] = np.arange(40) % 2
    split = random_split(labels, 0.2, 0.2, seed=1)
    assert (split[:10] == "test").sum() == 2
    assert (split[10:] == "test").sum() == 6


def test_random_split_is_seeded():
    labels = np.arange(200) % 2
    first = random_split(labels, 0.25, 0.25, seed=3)
    np.testing.assert_array_equal(random_split(labels, 0.25, 0.25, seed=3), first)
    assert (random_split(labels, 0.25, 0.25, seed=4) != first).any()


@pytest.mark.parametrize(("valid", "test"), [(0.5, 0.5), (-0.1, 0.2), (0.2, -0.1)])
def test_random_split_bad_fractions(valid, test):
    with pytest.raises(ConfigError, match=re.escape(
            f"split fractions must be >= 0 and sum below 1; got valid {valid}, test {test}")):
        random_split(np.zeros(10), valid, test, seed=0)


def test_real_promoter_table(shared_dir):
    path = shared_dir / "data" / "mouse_tata_promoters" / "train.tsv.gz"
    if not path.exists():
        pytest.skip(f"{path} not found")
    df = read_sequence_table(path)
    assert len(df) == 3589
    assert int(df["label"].sum()) == 941
    assert (df["sequence"].str.len() == 251).all()
    assert not df["sequence"].str.contains("[a-z]").any()
