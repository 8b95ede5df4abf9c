"""MEME motif files: the bundled JASPAR clusters, round trips, errors and lookup."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dnalens.errors import DnalensError, InputFileError
from dnalens.io.motifs import (
    Motif,
    find_motif,
    jaspar_motifs,
    read_meme,
    search_motifs,
    write_meme,
)

HEADER = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"

SMALL = (
    HEADER
    + """Background letter frequencies
A 0.3 C 0.2 G 0.2 T 0.3

MOTIF first FIRST
letter-probability matrix: alength= 4 w= 2 nsites= 10 E= 0
 0.1 0.2 0.3 0.4
 1.0 0.0 0.0 0.0

MOTIF second
letter-probability matrix: alength= 4 w= 3 nsites= 10 E= 0
 0.25 0.25 0.25 0.25
 0.0 0.0 1.0 0.0
 0.0 0.5 0.0 0.5
URL http://example.org
"""
)


def write(tmp_path: Path, text: str, name: str = "m.meme") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bundled_jaspar_has_182_probability_matrices():
    motifs = jaspar_motifs()
    assert len(motifs) == 182
    first = next(iter(motifs.values()))
    assert first.name == "C001:HES_SREBF:bHLH"
    assert first.consensus == "CACGTG"
    for name, motif in motifs.items():
        assert motif.name == name
        assert motif.pwm.dtype == np.float64
        assert motif.pwm.shape == (4, motif.width)
        np.testing.assert_allclose(motif.pwm.sum(axis=0), 1.0, atol=1e-12)


def test_jaspar_motifs_returns_a_fresh_dict_of_read_only_matrices():
    motifs = jaspar_motifs()
    motifs.clear()
    assert len(jaspar_motifs()) == 182
    ctcf = jaspar_motifs()["C055:CTCF:C2H2_ZF"]
    with pytest.raises(ValueError):
        ctcf.pwm[0, 0] = 1.0


def test_read_meme_known_values(tmp_path):
    motifs = read_meme(write(tmp_path, SMALL))
    assert list(motifs) == ["first", "second"]
    first = motifs["first"]
    assert first.alt_name == "FIRST"
    assert motifs["second"].alt_name is None
    # MEME prints one row per position; the pwm is (4, width), rows A, C, G, T.
    np.testing.assert_allclose(first.pwm, [[0.1, 1.0], [0.2, 0.0], [0.3, 0.0], [0.4, 0.0]])
    assert motifs["second"].consensus == "AGC"  # ties go to the first base in ACGT order


def test_read_meme_skips_log_odds_blocks(tmp_path):
    text = SMALL.replace(
        "URL http://example.org\n",
        "log-odds matrix: alength= 4 w= 1 E= 0\n 1.0 -2.0 -3.0 0.5\n",
    )
    assert list(read_meme(write(tmp_path, text))) == ["first", "second"]


def test_write_then_read_round_trip(tmp_path):
    motifs = jaspar_motifs()
    path = tmp_path / "out.meme"
    write_meme(motifs, path)
    back = read_meme(path)
    assert list(back) == list(motifs)
    for name, motif in motifs.items():
        assert back[name].alt_name == motif.alt_name
        np.testing.assert_allclose(back[name].pwm, motif.pwm, atol=1e-6)


def test_write_meme_keeps_alt_names_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "out.meme"
    path.write_text("old contents")
    write_meme([Motif("m1", np.eye(4), alt_name="ALT")], path)
    assert read_meme(path)["m1"].alt_name == "ALT"
    assert [p.name for p in tmp_path.iterdir()] == ["out.meme"]


def test_write_meme_accepts_arrays_and_rejects_bad_ones(tmp_path):
    write_meme({"uniform": np.full((4, 3), 0.25)}, tmp_path / "a.meme")
    assert read_meme(tmp_path / "a.meme")["uniform"].width == 3
    with pytest.raises(DnalensError, match=r"shape \(4, width >= 1\).*got shape \(3, 4\)"):
        write_meme({"bad": np.full((3, 4), 1 / 3)}, tmp_path / "b.meme")
    with pytest.raises(DnalensError, match="repeated: m"):
        write_meme([Motif("m", np.eye(4)), Motif("m", np.eye(4))], tmp_path / "c.meme")
    assert not (tmp_path / "c.meme").exists()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("ALPHABET= ACGT\n", r"bad\.meme:1: expected 'MEME version 4'"),
        (HEADER, r"bad\.meme: no 'MOTIF'"),
        ("", r"bad\.meme: empty file"),
        (
            HEADER.replace("ACGT", "ACGU"),
            r"bad\.meme:3: only the DNA alphabet 'ALPHABET= ACGT' is supported",
        ),
        (
            HEADER + "MOTIF m\nletter-probability matrix: w= 2\n 0.5 0.5 0 0\n 0.5 0.4 0 0\n",
            r"bad\.meme:10: row sums to 0\.900000; expected 1",
        ),
        (
            HEADER + "MOTIF m\nletter-probability matrix: w= 1\n 0.5 0.5 0\n",
            r"bad\.meme:9: expected 4 probabilities \(A C G T\); found 3 values",
        ),
        (
            HEADER + "MOTIF m\nletter-probability matrix: w= 3\n 1 0 0 0\n 0 1 0 0\n\n",
            r"bad\.meme:8: 'letter-probability matrix' declares w= 3 but 2 rows follow",
        ),
        (
            HEADER + "MOTIF m\nletter-probability matrix: alength= 20 w= 1\n 1 0 0 0\n",
            r"bad\.meme:8: expected 'alength= 4'",
        ),
        (
            HEADER + "MOTIF m\nletter-probability matrix: w= 1\n 1 0 x 0\n",
            r"bad\.meme:9: expected 4 numbers",
        ),
        (
            HEADER + "MOTIF m\nletter-probability matrix: w= 1\n 1.5 -0.5 0 0\n",
            r"bad\.meme:9: probabilities must be >= 0",
        ),
        (
            HEADER + "MOTIF a\nMOTIF b\nletter-probability matrix: w= 1\n 1 0 0 0\n",
            r"bad\.meme:7: MOTIF 'a' has no 'letter-probability matrix'",
        ),
        (
            HEADER + "MOTIF a\nletter-probability matrix: w= 1\n 1 0 0 0\n"
            "MOTIF a\nletter-probability matrix: w= 1\n 1 0 0 0\n",
            r"bad\.meme:10: motif id 'a' appears twice",
        ),
        (
            HEADER + "letter-probability matrix: w= 1\n 1 0 0 0\n",
            r"bad\.meme:7: 'letter-probability matrix' before any 'MOTIF' line",
        ),
        (HEADER + "MOTIF\n", r"bad\.meme:7: expected 'MOTIF id \[alt_name\]'"),
    ],
)
def test_malformed_files_name_the_line(tmp_path, text, match):
    with pytest.raises(InputFileError, match=match):
        read_meme(write(tmp_path, text, "bad.meme"))


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(InputFileError, match=r"nope\.meme: no such motif file"):
        read_meme(tmp_path / "nope.meme")
    binary = tmp_path / "x.meme"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(InputFileError, match="not a text"):
        read_meme(binary)


def test_motif_checks_its_matrix():
    with pytest.raises(DnalensError, match=r"column 1 of pwm sums to 0\.500000"):
        Motif("m", [[1, 0.5], [0, 0], [0, 0], [0, 0]])
    with pytest.raises(DnalensError, match="without spaces"):
        Motif("two words", np.eye(4))


def test_reverse_complement_and_log_odds():
    motif = Motif("m", np.eye(4)[:, [0, 0, 2]])  # AAG
    assert motif.reverse_complement().consensus == "CTT"
    scores = Motif("u", np.full((4, 2), 0.25)).log_odds()
    np.testing.assert_allclose(scores, 0.0)
    skewed = Motif("a", np.eye(4)[:, [0]]).log_odds([0.5, 0.25, 0.125, 0.125], pseudocount=0)
    assert skewed[0, 0] == pytest.approx(1.0)  # log2(1 / 0.5)
    assert skewed[1, 0] == -np.inf


def test_find_motif_by_tf_name_and_cluster_id():
    motifs = jaspar_motifs()
    assert find_motif(motifs, "CTCF").name == "C055:CTCF:C2H2_ZF"
    assert find_motif(motifs, "ctcf").name == "C055:CTCF:C2H2_ZF"
    assert find_motif(motifs, "C101").name == "C101:GATA_MECOM:GATA"
    assert find_motif(motifs, "C036:FOS_JUN:bZIP").name == "C036:FOS_JUN:bZIP"
    assert find_motif(motifs.values(), "MECOM").name == "C101:GATA_MECOM:GATA"
    assert {m.name for m in search_motifs(motifs, "jun")} == {
        "C026:FOS_JUN:bZIP",
        "C036:FOS_JUN:bZIP",
    }


def test_find_motif_uses_alt_names():
    motifs = [Motif("MA0139.2", np.eye(4), alt_name="CTCF"), Motif("MA0035.4", np.eye(4))]
    assert find_motif(motifs, "ctcf").name == "MA0139.2"


def test_find_motif_errors_list_candidates():
    motifs = jaspar_motifs()
    with pytest.raises(DnalensError, match=r"'CTFC'.*close names: .*C055:CTCF:C2H2_ZF"):
        find_motif(motifs, "CTFC")
    with pytest.raises(
        DnalensError, match=r"'GATA' matches 2 motifs \(C045:GATA_TFCP2:Grainyhead, C101:"
    ):
        find_motif(motifs, "GATA")
    with pytest.raises(DnalensError, match="non-empty"):
        find_motif(motifs, " ")


ONE = HEADER + "MOTIF m alt\nletter-probability matrix: alength= 4{w}\n 1 0 0 0\n{row}\n"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (ONE.format(w="", row=" 0.1x 0.2 0.3 0.4"),
         r"bad\.meme:10: expected 4 probabilities \(A C G T\); found '0.1x 0.2 0.3 0.4'"),
        (ONE.format(w=" w= 2", row=" 0.1x 0.2 0.3 0.4"), r"bad\.meme:10: expected 4 prob"),
        (ONE.format(w=" w= 2", row=" 0.1 0.2_0 0.3 0.4"),
         r"bad\.meme:10: expected 4 numbers \(A C G T\); found '0.1 0.2_0 0.3 0.4'"),
        (ONE.format(w=" w= 2", row=" 1e999 0 0 0"), r"bad\.meme:10: probabilities must be "
                                                        r">= 0 \(and finite\)"),
    ],
)
def test_damaged_matrix_rows_name_the_line(tmp_path, text, match):
    with pytest.raises(InputFileError, match=match):
        read_meme(write(tmp_path, text, "bad.meme"))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ((HEADER + "MOTIF \u00d6\n").encode("latin-1"),
         r"x\.meme:7: not a text motif file \(byte 0xd6 at column 7 is not UTF-8"),
        (b"\x1f\x8b" + b"junk" * 10, r"x\.meme:1: truncated or corrupt gzip file"),
    ],
)
def test_undecodable_and_corrupt_gzip_name_the_line(tmp_path, data, match):
    (tmp_path / "x.meme").write_bytes(data)
    with pytest.raises(InputFileError, match=match):
        read_meme(tmp_path / "x.meme")


def test_bom_crlf_and_gzip_read_the_same(tmp_path):
    import gzip

    text = ONE.format(w=" w= 2", row=" 0.1 0.2 0.3 0.4")
    expected = read_meme(write(tmp_path, text))["m"].pwm
    for name, data in [("bom.meme", b"\xef\xbb\xbf" + text.encode()),
                       ("crlf.meme", text.replace("\n", "\r\n").encode()),
                       ("z.meme.gz", gzip.compress(text.encode()))]:
        (tmp_path / name).write_bytes(data)
        np.testing.assert_array_equal(read_meme(tmp_path / name)["m"].pwm, expected)


def test_shared_jaspar_file_reads_like_the_bundled_one(shared_dir):
    shared = read_meme(shared_dir / "motifs" / "jaspar2024_clusters.meme")
    bundled = jaspar_motifs()
    assert list(shared) == list(bundled) and len(shared) == 182
    assert all(np.array_equal(shared[n].pwm, bundled[n].pwm) for n in shared)
