"""Matching motifs against a database (TOMTOM through memelite), and TF-MoDISco.

memelite compiles its TOMTOM kernels with numba on first use (about a minute on a cold
cache; numba then caches them on disk), so the first call in a fresh environment is slow.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from dnalens.errors import DnalensError
from dnalens.io.motifs import Motif

__all__ = ["MATCH_COLUMNS", "benjamini_hochberg", "modisco", "tomtom_matches"]

MATCH_COLUMNS = [
    "query", "target", "target_alt", "p_value", "e_value", "q_value", "offset", "orientation",
    "rank",
]


def tomtom_matches(
    query: Iterable[Motif] | Mapping[str, Motif],
    database: Mapping[str, Motif] | Iterable[Motif],
    *,
    top: int = 3,
    reverse_complement: bool = True,
    n_jobs: int = -1,
) -> pd.DataFrame:
    """The ``top`` best database matches of each query motif, by TOMTOM p-value.

    Parameters
    ----------
    query : list of Motif (or dict name -> Motif)
        Each ``pwm`` has shape (4, width), rows A, C, G, T.
    database : dict name -> Motif (or list of Motif)
        E.g. :func:`dnalens.io.motifs.jaspar_motifs`. TOMTOM's null distribution is built
        from the database columns, so use a whole database (memelite warns below 25 motifs).
    top : int
        Matches kept per query.
    reverse_complement : bool
        Also match the reverse complement of every target.
    n_jobs : int
        numba threads; -1 uses all.

    Returns
    -------
    pandas.DataFrame
        One row per (query, match), sorted by query order then rank, columns:
        ``query`` and ``target`` (motif names); ``target_alt`` (the target's alt name, or for
        a JASPAR cluster name ``Cxxx:FAMILY:CLASS`` its family field, e.g. ``FOS_JUN``);
        ``p_value`` (memelite's complete-score TOMTOM p-value); ``e_value`` = p_value x the
        number of database motifs; ``q_value`` (Benjamini-Hochberg over that query's p-values
        against every database motif); ``offset`` (the target column that the query's first
        column aligns with, counted on the matched target strand; negative when the query
        starts before the target); ``orientation`` (``"+"``: the target as
        given, ``"-"``: its reverse complement); ``rank`` (1 = best).
    """
    from memelite.tomtom import tomtom

    queries = _motif_list(query, "query")
    targets = _motif_list(database, "database")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise DnalensError(f"tomtom_matches: top must be a positive integer; got {top!r}")
    if not queries:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    if not targets:
        raise DnalensError("tomtom_matches: the database is empty; pass e.g. jaspar_motifs()")
    # Fresh writable float64 copies: Motif.pwm is read-only, and a layout change would make
    # numba compile another kernel.
    qs = [np.array(m.pwm, dtype=np.float64) for m in queries]
    ts = [np.array(m.pwm, dtype=np.float64) for m in targets]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # numba/numpy edge cases
        p, _scores, offsets, _overlaps, strands = tomtom(
            qs, ts, reverse_complement=reverse_complement, n_jobs=n_jobs
        )[:5]
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    n_targets = len(targets)
    rows = []
    for i, motif in enumerate(queries):
        q = benjamini_hochberg(p[i])
        order = np.argsort(p[i], kind="stable")[: min(top, n_targets)]
        for rank, j in enumerate(order, 1):
            rows.append({
                "query": motif.name,
                "target": targets[j].name,
                "target_alt": _alt(targets[j]),
                "p_value": float(p[i, j]),
                "e_value": float(p[i, j] * n_targets),
                "q_value": float(q[j]),
                "offset": int(offsets[i, j]),
                "orientation": "-" if int(strands[i, j]) == 1 else "+",
                "rank": rank,
            })
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values.

    Parameters
    ----------
    p_values : np.ndarray, shape (n,)

    Returns
    -------
    np.ndarray, shape (n,)
        ``min over k >= rank of p_(k) * n / k``, clipped to 1, in the input order.
    """
    p = np.asarray(p_values, dtype=np.float64)
    n = p.size
    if n == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * n / np.arange(1, n + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(n)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def modisco(
    attributions: np.ndarray,
    one_hot: np.ndarray,
    *,
    max_seqlets: int = 2000,
    window: int = 20,
    flank: int = 5,
    **kwargs: Any,
) -> Any:
    """Run TF-MoDISco (modisco-lite) on hypothetical contributions.

    Parameters
    ----------
    attributions : array, shape (batch, 4, length)
        Hypothetical contributions, e.g. ``attribute(..., method="deepshap",
        hypothetical=True)``.
    one_hot : array, shape (batch, 4, length)
        The sequences.
    max_seqlets, window, flank : int
        ``max_seqlets_per_metacluster``, ``sliding_window_size`` and ``flank_size`` of
        ``modiscolite.tfmodisco.TFMoDISco``; other keyword arguments are passed on.

    Returns
    -------
    Whatever ``modiscolite.tfmodisco.TFMoDISco`` returns (positive and negative patterns).

    Notes
    -----
    Needs the optional package modisco-lite (``pip install modisco-lite``). The wrapper is
    not covered by the dnalens tests (the package is not a dependency).
    """
    try:
        from modiscolite.tfmodisco import TFMoDISco
    except ImportError:
        raise DnalensError(
            "modisco: TF-MoDISco needs the optional package modisco-lite; "
            "install it with `pip install modisco-lite`"
        ) from None
    attr = np.asarray(attributions, dtype=np.float32)
    seqs = np.asarray(one_hot, dtype=np.float32)
    if attr.ndim != 3 or attr.shape[1] != 4 or attr.shape != seqs.shape:
        raise DnalensError(
            f"modisco: attributions {attr.shape} and one_hot {seqs.shape} must both have "
            "shape (batch, 4, length)"
        )
    # modisco-lite wants (batch, length, 4).
    return TFMoDISco(
        one_hot=seqs.transpose(0, 2, 1),
        hypothetical_contribs=attr.transpose(0, 2, 1),
        max_seqlets_per_metacluster=max_seqlets,
        sliding_window_size=window,
        flank_size=flank,
        **kwargs,
    )


def _motif_list(motifs: object, what: str) -> list[Motif]:
    if isinstance(motifs, Motif):
        return [motifs]
    items = list(motifs.values()) if isinstance(motifs, Mapping) else list(motifs)
    for m in items:
        if not isinstance(m, Motif):
            raise DnalensError(
                f"tomtom_matches: {what} must hold Motif objects; got {type(m).__name__}"
            )
    return items


def _alt(motif: Motif) -> str | None:
    if motif.alt_name:
        return motif.alt_name
    parts = motif.name.split(":")
    return parts[1] if len(parts) >= 3 else None
