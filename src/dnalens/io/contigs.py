"""One place where every input's chromosome names and lengths meet the genome's.

Naming styles differ between sources (UCSC ``chr1``/``chrM`` against Ensembl
``1``/``MT``) and so do assemblies (hg19 against hg38). These checks turn such
mismatches into one-line errors that say which mapping to use or which
assembly the coordinates probably belong to, instead of empty results.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import pandas as pd

from dnalens.errors import ContigError, CoordinateError

__all__ = [
    "KNOWN_ASSEMBLIES",
    "GenomeNames",
    "bare_name",
    "check_within_chromosomes",
    "contig_lookup",
    "describe_missing_contig",
    "describe_missing_in_file",
    "genome_name",
    "guess_assembly",
    "list_names",
    "match_contigs",
]

log = logging.getLogger(__name__)


class GenomeNames(Protocol):
    """What name matching needs of a genome (:class:`dnalens.io.genome.Genome` has it).

    A protocol rather than an import: ``io.genome`` uses this module for its own
    messages, so the dependency runs one way only (genome -> contigs).
    """

    @property
    def path(self) -> Path: ...

    @property
    def chrom_sizes(self) -> Mapping[str, int]: ...

    @property
    def chroms(self) -> list[str]: ...

_HUMAN = [str(i) for i in range(1, 23)] + ["X", "Y"]
# Primary chromosome lengths (UCSC / GRC), to name the likely assembly of mismatched inputs.
KNOWN_ASSEMBLIES: dict[str, dict[str, int]] = {
    "hg38": dict(zip(_HUMAN, [
        248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973,
        145138636, 138394717, 133797422, 135086622, 133275309, 114364328, 107043718,
        101991189, 90338345, 83257441, 80373285, 58617616, 64444167, 46709983, 50818468,
        156040895, 57227415], strict=True)),
    "hg19": dict(zip(_HUMAN, [
        249250621, 243199373, 198022430, 191154276, 180915260, 171115067, 159138663,
        146364022, 141213431, 135534747, 135006516, 133851895, 115169878, 107349540,
        102531392, 90354753, 81195210, 78077248, 59128983, 63025520, 48129895, 51304566,
        155270560, 59373566], strict=True)),
}

_MITO = {"chrM": "MT", "MT": "chrM"}


def _alternative_names(chrom: str) -> list[str]:
    """Other spellings of one chromosome name across UCSC and Ensembl styles."""
    names = []
    if chrom in _MITO:
        names.append(_MITO[chrom])
    if chrom.startswith("chr"):
        names.append(chrom[3:])
    else:
        names.append("chr" + chrom)
    return names


def _bare(chrom: str) -> str:
    name = chrom[3:] if chrom.startswith("chr") else chrom
    return "M" if name == "MT" else name


def bare_name(chrom: str) -> str:
    """A chromosome name without its style: ``chr1`` and ``1`` give ``1``, ``chrM`` and
    ``MT`` give ``M``; for comparing names across UCSC and Ensembl files."""
    return _bare(chrom)


def genome_name(chrom: str, genome: GenomeNames) -> str | None:
    """The genome's name for ``chrom`` (itself, or its other style), or None if it has none."""
    if chrom in genome.chrom_sizes:
        return chrom
    return next((a for a in _alternative_names(chrom) if a in genome.chrom_sizes), None)


def list_names(names: Iterable[str], limit: int = 6) -> str:
    """Quoted names for a message, the first ``limit`` then how many there are in all."""
    names = list(names)
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def describe_missing_contig(chrom: str, genome: GenomeNames, source: str = "") -> str:
    """One-line explanation of why ``chrom`` is not in the genome, with a fix."""
    prefix = f"{source}: " if source else ""
    for alt in _alternative_names(chrom):
        if alt in genome.chrom_sizes:
            return (
                f"{prefix}chromosome '{chrom}' is not in {genome.path.name}, which names it "
                f"'{alt}'; map the names (rename_contigs: true in the config, or "
                f"chrom_map: {{'{chrom}': '{alt}'}})"
            )
    return (
        f"{prefix}chromosome '{chrom}' is not in {genome.path.name} "
        f"(has {list_names(genome.chroms)})"
    )


def match_contigs(
    names: Iterable[str],
    genome: GenomeNames,
    *,
    source: str,
    rename: bool = True,
    chrom_map: Mapping[str, str] | None = None,
    lines: Mapping[str, int] | None = None,
) -> dict[str, str]:
    """Map each input chromosome name to the genome's name for it.

    Parameters
    ----------
    names : iterable of str
        Chromosome names found in an input file.
    genome : Genome
    source : str
        The input's name for messages (a file path).
    rename : bool
        Map ``chr1`` <-> ``1`` and ``chrM`` <-> ``MT`` automatically (logged). When
        False such a difference is an error that states the mapping to use.
    chrom_map : mapping, optional
        Explicit renames, applied first.
    lines : mapping, optional
        Input name -> the first line it is on, so an error names ``source:line``.

    Returns
    -------
    dict
        input name -> genome name, for every input name.

    Raises
    ------
    ContigError
        For a name with no counterpart in the genome.
    """
    chrom_map = dict(chrom_map or {})
    mapping: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for name in dict.fromkeys(names):
        target = chrom_map.get(name, name)
        if target in genome.chrom_sizes:
            mapping[name] = target
            continue
        alt = genome_name(target, genome)
        if alt is None or not rename:
            where = f"{source}:{lines[name]}" if lines and name in lines else source
            raise ContigError(describe_missing_contig(name, genome, where))
        mapping[name] = renamed[name] = alt
    if renamed:
        log.warning("%s: renamed chromosomes to the genome's style: %s", source,
                    list_names(f"{k}->{v}" for k, v in renamed.items()))
    return mapping


def guess_assembly(lengths: Mapping[str, int]) -> str | None:
    """Name of the known assembly whose chromosome lengths equal these (by bare name)."""
    bare = {_bare(c): n for c, n in lengths.items()}
    for assembly, sizes in KNOWN_ASSEMBLIES.items():
        shared = [c for c in sizes if c in bare]
        if shared and all(bare[c] == sizes[c] for c in shared):
            return assembly
    return None


def _assembly_hint(chrom: str, end: int, genome: GenomeNames) -> str:
    """Why an interval can end past its chromosome, naming a build only on evidence.

    A build is named only when the genome's lengths are those of a known assembly
    and the end fits that chromosome in another one (hg38 against hg19). Otherwise,
    a toy genome or a slice of hg38 say, the genome is simply shorter than the one
    the intervals were made on, and that is what the hint says.
    """
    own = guess_assembly(genome.chrom_sizes)
    if own is None:
        return (f"; is the BED for another genome, or {genome.path.name} only part of it? "
                "give the full genome with --genome (genome: in a config)")
    for assembly, sizes in KNOWN_ASSEMBLIES.items():
        if assembly != own and end <= sizes.get(_bare(chrom), -1):
            return (f"; it fits {assembly} ({genome.path.name} looks like {own}): were the "
                    f"coordinates made on {assembly}?")
    return ""


def check_within_chromosomes(df: pd.DataFrame, genome: GenomeNames, *, source: str) -> None:
    """Raise a CoordinateError for the first interval ending past its chromosome.

    Parameters
    ----------
    df : DataFrame with columns chrom, end (and ``line`` for messages, optional)
    genome : Genome
    source : str
        File name for messages.
    """
    sizes = df["chrom"].map(genome.chrom_sizes)
    past = df["end"] > sizes
    if not past.any():
        return
    first = df[past].iloc[0]
    where = f"{source}:{int(first['line'])}" if "line" in df.columns else source
    chrom, end, size = first["chrom"], int(first["end"]), int(sizes[past].iloc[0])
    raise CoordinateError(
        f"{where}: interval {chrom}:{int(first['start'])}-{end} ends past the end of {chrom} "
        f"({size:,} bp in {genome.path.name}); {int(past.sum())} interval(s) do"
        + _assembly_hint(chrom, end, genome)
    )


# A data file's chromosome names (bigWig, .cool headers) against the genome's: unlike
# match_contigs, the file may hold extra sequences.


def contig_lookup(
    file_chroms: Iterable[str],
    genome: GenomeNames,
    *,
    source: str,
    rename: bool = True,
    chrom_map: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Genome name -> the data file's name, for each genome chromosome the file has.

    Unlike :func:`match_contigs` the file may hold extra sequences the
    genome lacks (bigWig and cooler headers list every scaffold); they are ignored.

    Parameters
    ----------
    file_chroms : iterable of str
        Chromosome names in the file's header.
    genome : Genome
    source : str
        File name for messages.
    rename : bool
        Match ``chr1`` <-> ``1`` and ``chrM`` <-> ``MT`` (an exact name wins).
    chrom_map : mapping, optional
        Explicit renames, file name -> genome name, applied first.

    Returns
    -------
    dict
        genome name -> file name.

    Raises
    ------
    ContigError
        When no file chromosome matches the genome; it lists both sets of names.
    """
    chrom_map = dict(chrom_map or {})
    file_chroms = list(dict.fromkeys(file_chroms))
    lookup: dict[str, str] = {}
    for name in file_chroms:
        target = chrom_map.get(name, name)
        if target in genome.chrom_sizes:
            lookup.setdefault(target, name)
    renamed: dict[str, str] = {}
    if rename:
        # Second pass so an exact name always wins over a restyled one.
        for name in file_chroms:
            alt = genome_name(chrom_map.get(name, name), genome)
            if alt is not None and alt not in lookup:
                lookup[alt] = name
                renamed[name] = alt
    if renamed:
        log.warning("%s: renamed chromosomes to the genome's style: %s", source,
                    list_names(f"{k}->{v}" for k, v in renamed.items()))
    if not lookup:
        hint = ("set rename_contigs=True or pass chrom_map={file name: genome name}"
                if not rename else "pass chrom_map={file name: genome name}")
        raise ContigError(
            f"{source}: none of its chromosomes ({list_names(file_chroms)}) is in "
            f"{genome.path.name} (has {list_names(genome.chroms)}); {hint}"
        )
    return lookup


def describe_missing_in_file(chrom: str, file_chroms: Sequence[str], *, source: str,
                             rename: bool) -> str:
    """One-line reason why genome chromosome ``chrom`` has no counterpart in a data file."""
    same = [c for c in file_chroms if bare_name(c) == bare_name(chrom)]
    if same and not rename:
        return (f"{source}: chromosome '{chrom}' is named '{same[0]}' in this file; set "
                f"rename_contigs=True or chrom_map={{'{same[0]}': '{chrom}'}}")
    return (f"{source}: no chromosome '{chrom}' (has {list_names(file_chroms)}); "
            f"map names with chrom_map={{file name: genome name}}")
