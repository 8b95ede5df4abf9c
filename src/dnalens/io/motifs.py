"""Motif files: MEME minimal format in and out, and the bundled JASPAR 2024 clusters.

A motif is a :class:`Motif`: a name, an optional alternative name, and a
position probability matrix ``pwm`` of shape (4, width), rows A, C, G, T, each
column summing to 1 (the transpose of how MEME prints it). Readers return an
ordered ``dict`` name -> Motif in file order.

This module holds the bundled JASPAR clusters and lookup by name; it re-exports
:class:`Motif` (defined in :mod:`dnalens.io.pwm`) and :func:`read_meme` /
:func:`write_meme` (in :mod:`dnalens.io.meme`), so all of them import from here.

Only the DNA alphabet ACGT is supported. No torch here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources

from dnalens.errors import DnalensError
from dnalens.io.meme import read_meme, write_meme
from dnalens.io.pwm import Motif

__all__ = [
    "JASPAR_CITATION",
    "Motif",
    "find_motif",
    "jaspar_motifs",
    "read_meme",
    "search_motifs",
    "write_meme",
]

JASPAR_CITATION = (
    "Rauluseviciute I. et al. JASPAR 2024: 20th anniversary of the open-access database of "
    "transcription factor binding profiles. Nucleic Acids Research 52(D1):D174-D182 (2024). "
    "doi:10.1093/nar/gkad1059"
)
_JASPAR_FILE = "jaspar2024_clusters.meme"


# --------------------------------------------------------------------------- JASPAR


def jaspar_motifs() -> dict[str, Motif]:
    """The 182 JASPAR 2024 motif clusters bundled with dnalens.

    Names look like ``"C055:CTCF:C2H2_ZF"``: cluster id, member TF families and
    DNA-binding-domain class. Taken unchanged from gReLU 1.1.0's resources (MIT), which
    redistribute the JASPAR 2024 non-redundant clusters. JASPAR data are CC BY 4.0; cite:

    Rauluseviciute I. et al. JASPAR 2024: 20th anniversary of the open-access database
    of transcription factor binding profiles. Nucleic Acids Research 52(D1):D174-D182
    (2024). doi:10.1093/nar/gkad1059

    Returns
    -------
    dict[str, Motif]
        Name -> Motif in file order; each ``pwm`` has shape (4, width). A new dict on
        every call (the Motif objects are immutable and shared).
    """
    return dict(_load_jaspar())


@lru_cache(maxsize=1)
def _load_jaspar() -> dict[str, Motif]:
    ref = resources.files("dnalens.resources").joinpath(_JASPAR_FILE)
    with resources.as_file(ref) as path:
        return read_meme(path)


# --------------------------------------------------------------------------- lookup


def _name_fields(motif: Motif) -> tuple[str, str | None]:
    """(cluster id, family field) of a JASPAR cluster name; (name, None) for other names."""
    parts = motif.name.split(":")
    return (parts[0], parts[1]) if len(parts) >= 2 else (motif.name, None)


def _tokens(motif: Motif) -> set[str]:
    """Upper-case TF words of a motif: its family field split on '_', and its alt name."""
    _, family = _name_fields(motif)
    words = set(family.split("_")) if family else set()
    if motif.alt_name:
        words.add(motif.alt_name)
    return {w.upper() for w in words}


def search_motifs(motifs: Mapping[str, Motif] | Iterable[Motif], query: str) -> list[Motif]:
    """Motifs matching ``query``, best kind of match only, in input order.

    Kinds of match, best first (the first kind with any hit is returned):

    1. the exact name, or the cluster id before the first ':' (``"C055"``, any case);
    2. the whole alt name or family field, ignoring case (``"CTCF"`` -> ``C055:CTCF:...``);
    3. one '_'-separated TF word of the family field, ignoring case
       (``"JUN"`` -> both ``C026:FOS_JUN:bZIP`` and ``C036:FOS_JUN:bZIP``);
    4. a substring of the name or alt name, ignoring case.

    Parameters
    ----------
    motifs : mapping name -> Motif, or iterable of Motif
    query : str

    Returns
    -------
    list[Motif]
        Empty when nothing matches.
    """
    pool = list(motifs.values()) if isinstance(motifs, Mapping) else list(motifs)
    q = query.strip().upper()
    tests = (
        lambda m: m.name == query.strip() or _name_fields(m)[0].upper() == q,
        lambda m: q in {(m.alt_name or "").upper(), (_name_fields(m)[1] or "").upper()},
        lambda m: q in _tokens(m),
        lambda m: q in m.name.upper() or q in (m.alt_name or "").upper(),
    )
    for test in tests:
        hits = [m for m in pool if test(m)]
        if hits:
            return hits
    return []


def find_motif(motifs: Mapping[str, Motif] | Iterable[Motif], query: str) -> Motif:
    """The one motif that ``query`` names (see :func:`search_motifs` for how names match).

    Parameters
    ----------
    motifs : mapping name -> Motif, or iterable of Motif
        E.g. ``jaspar_motifs()``.
    query : str
        Exact name, cluster id (``"C055"``), alt name, or TF name (``"CTCF"``).

    Returns
    -------
    Motif

    Raises
    ------
    DnalensError
        Nothing matches (the message lists close names) or several motifs match
        equally well (the message lists them, to pick one by full name or cluster id).
    """
    if not isinstance(query, str) or not query.strip():
        raise DnalensError(f"find_motif: query must be a non-empty string; got {query!r}")
    pool = list(motifs.values()) if isinstance(motifs, Mapping) else list(motifs)
    hits = search_motifs(pool, query)
    if len(hits) == 1:
        return hits[0]
    if hits:
        names = ", ".join(m.name for m in hits[:10])
        raise DnalensError(
            f"find_motif: {query!r} matches {len(hits)} motifs ({names}); "
            "pass a full name or cluster id"
        )
    raise DnalensError(f"find_motif: no motif matches {query!r}; {_suggestions(pool, query)}")


def _suggestions(pool: list[Motif], query: str) -> str:
    # Index every way a motif can be named, so a typo in a TF name still finds its cluster.
    by_word: dict[str, list[str]] = {}
    for motif in pool:
        for word in {motif.name.upper(), *_tokens(motif)}:
            by_word.setdefault(word, []).append(motif.name)
    close = difflib.get_close_matches(query.strip().upper(), list(by_word), n=5, cutoff=0.6)
    names = list(dict.fromkeys(name for word in close for name in by_word[word]))
    if names:
        return "close names: " + ", ".join(names[:8])
    examples = ", ".join(m.name for m in pool[:3])
    return f"{len(pool)} motifs, e.g. {examples}" if pool else "the motif collection is empty"
