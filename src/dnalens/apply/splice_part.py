"""The partial output of ``splice score``: one JSON line per VCF record, for resuming.

Records are scored a batch at a time and each batch's results are appended, in one write, to
``OUT.tmp`` (a first line names the inputs; then per record its number ``n`` among the VCF's
records, its line, INFO entries with and without masking, TSV rows and skip counts). The
output VCF and TSV are built from it at the end, so a run killed half-way continues with
``--resume`` where it stopped, and writes the very outputs an uninterrupted run writes. The
processes of a multi-device run write the same lines to their part files.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from dnalens.apply.splicing import SpliceSummary
from dnalens.errors import InputFileError
from dnalens.files import complete_lines
from dnalens.io.vcf_text import VcfFault, VcfLine, quoted

__all__ = ["EXAMPLES_KEPT", "add_counts", "merged_parts", "open_part", "part_path",
           "read_part", "record_json", "skip_done"]

EXAMPLES_KEPT = 3  # as SpliceSummary.skip
_FORMAT = "dnalens splice score partial output v1"


def part_path(out_vcf: Path) -> Path:
    return out_vcf.with_name(f"{out_vcf.name}.tmp")


def record_json(n: int, record: VcfLine | VcfFault, entries: list, masked: list, rows: list,
                counts: SpliceSummary) -> str:
    """One line of the partial output (with its newline)."""
    return json.dumps({
        "n": n, "line": record.line, "chrom": record.chrom, "pos": record.pos,
        "entries": entries, "masked": masked, "rows": rows, "scored": counts.scored,
        "skipped": dict(counts.skipped), "examples": counts.examples}) + "\n"


def add_counts(summary: SpliceSummary, result: dict) -> None:
    """Add one record's counts (a parsed line) to ``summary``."""
    summary.records += 1
    summary.scored += result["scored"]
    summary.skipped += Counter(result["skipped"])
    for reason, examples in result["examples"].items():
        kept = summary.examples.setdefault(reason, [])
        kept += examples[: max(0, EXAMPLES_KEPT - len(kept))]


def open_part(part: Path, inputs: dict, resume: bool) -> dict | None:
    """Prepare ``part`` for appending; the last record it holds (None when it holds none).

    Without ``resume`` (or without a file) it is started afresh. A half-written last line
    (a kill in the middle of a write) is cut off.

    Raises
    ------
    InputFileError
        The file was written for other inputs, or is not a partial output.
    """
    header = json.dumps({"format": _FORMAT, **inputs}) + "\n"
    if not resume or not part.exists():
        part.write_text(header)
        return None
    lines = complete_lines(part)
    if not lines or lines[0] + "\n" != header:
        found = quoted(lines[0], 80) if lines else "an empty file"
        raise InputFileError(f"{part}:1: cannot resume: expected the partial output of this "
                             f"run ({header.strip()}), found {found}; delete the file to "
                             "start again")
    if len(lines) == 1:
        return None
    try:
        last = json.loads(lines[-1])
        return {"done": len(lines) - 1, **{k: last[k] for k in ("n", "line", "chrom", "pos")}}
    except (ValueError, KeyError, TypeError):
        raise InputFileError(f"{part}:{len(lines)}: cannot resume: not a record of a partial "
                             f"output ({quoted(lines[-1], 80)}); delete the file to start "
                             "again") from None


def skip_done(records: Iterator[VcfLine | VcfFault], last: dict | None, part: Path
              ) -> Iterator[VcfLine | VcfFault]:
    """``records`` after those the partial output already holds, which must be the same."""
    if last is None:
        return records
    done = list(islice(records, last["done"]))
    if len(done) < last["done"] or last["n"] != last["done"] - 1:
        raise InputFileError(f"{part}: cannot resume: it holds {last['done']:,} records but "
                             f"the VCF has {len(done):,}; delete it to start again")
    record = done[-1]
    if (record.line, record.chrom, record.pos) != (last["line"], last["chrom"], last["pos"]):
        raise InputFileError(
            f"{part}:{last['done'] + 1}: cannot resume: its last record is "
            f"{last['chrom']}:{last['pos']} (line {last['line']}) but record {last['done']:,} "
            f"of the VCF is {record.chrom}:{record.pos} (line {record.line}); was the VCF "
            "changed? delete it to start again")
    return records


def read_part(part: Path) -> Iterator[dict]:
    """The records of a partial output, in order."""
    with open(part, encoding="utf-8") as handle:
        next(handle, None)  # the line naming the inputs
        yield from map(json.loads, handle)


def merged_parts(parts: list[Path]) -> Iterator[dict]:
    """The records of the part files of several processes (no header line), by number."""
    handles = [open(p, encoding="utf-8") for p in parts]  # noqa: SIM115 - closed below
    try:
        yield from heapq.merge(*(map(json.loads, h) for h in handles), key=lambda r: r["n"])
    finally:
        for handle in handles:
            handle.close()
