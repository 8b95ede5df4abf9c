"""Region windows: centred, N-padded past ends, and a note on every region that does not fit."""

from __future__ import annotations

import pandas as pd
import pytest

from dnalens.apply.predict import region_fit_notes, region_windows
from dnalens.io.genome import Genome
from dnalens.sequence import decode

CHR1 = "AACCGGTTAC" * 4  # 40 bp


@pytest.fixture
def genome(tmp_path, write_fasta) -> Genome:
    return Genome(write_fasta(tmp_path / "g.fa", {"chr1": CHR1}))


def regions(*rows: tuple[int, int]) -> pd.DataFrame:
    return pd.DataFrame({"chrom": ["chr1"] * len(rows), "start": [r[0] for r in rows],
                         "end": [r[1] for r in rows], "line": range(3, 3 + len(rows))})


def test_short_region_is_widened_with_genome_flanks(genome):
    x = region_windows(genome, regions((10, 14)), 8)
    assert decode(x) == [CHR1[8:16]]  # centre 12, window 8..16


def test_window_past_the_end_is_n_padded(genome):
    x = region_windows(genome, regions((36, 40)), 8)
    assert decode(x) == [CHR1[34:40] + "NN"]


def test_every_misfit_kind_is_named_with_file_and_line(genome):
    table = regions((10, 18), (10, 14), (0, 30), (36, 40))
    notes = region_fit_notes(table, genome, 8, "peaks.bed")
    text = "\n".join(notes)
    assert "2 of 4 regions shorter than the model input (8 bp)" in text
    assert "peaks.bed:4: chr1:10-14 (4 bp): scored on chr1:8-16, with genome flanks" in text
    assert "peaks.bed:5: chr1:0-30 (30 bp): only its centre chr1:11-19 is scored" in text
    assert "peaks.bed:6: chr1:36-40 (4 bp): window chr1:34-42 runs past chr1 (0-40)" in text
    assert "peaks.bed:3" not in text  # exactly the input length, inside the chromosome


def test_many_misfits_are_counted_not_all_listed(genome):
    table = regions(*[(i, i + 2) for i in range(10, 22)])
    notes = region_fit_notes(table, genome, 8, "a.bed", examples=3)
    assert notes[0].startswith("12 of 12 regions shorter")
    assert len(notes) == 1 + 3 + 1 and notes[-1] == "  ... and 9 more"
    assert region_fit_notes(regions((10, 18)), genome, 8, "a.bed") == []
