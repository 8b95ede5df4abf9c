"""Dinucleotide-preserving shuffles (Altschul-Erickson, via a random Eulerian path)."""

from __future__ import annotations

import itertools

import numpy as np

from dnalens.errors import SequenceError

__all__ = ["dinucleotide_shuffle"]


def dinucleotide_shuffle(seq: str, rng: np.random.Generator | int | None = None) -> str:
    """Shuffle a DNA string keeping every dinucleotide count.

    The sequence is a walk through a graph whose nodes are letters and whose
    edges are the observed dinucleotides; a random Eulerian walk with the same
    start and end uses every edge once, so mono- and dinucleotide counts are kept
    exactly (Altschul & Erickson 1985). The last-exit edges are chosen as a random
    arborescence towards the final letter, which makes the walk always complete.

    Parameters
    ----------
    seq : str
        DNA (any letters; case kept).
    rng : numpy Generator, int seed or None

    Returns
    -------
    str
        Same length, first and last letter, and dinucleotide counts as ``seq``.
    """
    if not isinstance(seq, str):
        raise SequenceError(f"dinucleotide_shuffle: expected a str; got {type(seq).__name__}")
    rng = np.random.default_rng(rng)
    if len(seq) <= 2:
        return seq
    letters = sorted(set(seq))
    idx = {c: i for i, c in enumerate(letters)}
    codes = [idx[c] for c in seq]
    n = len(letters)
    edges: list[list[int]] = [[] for _ in range(n)]
    for a, b in itertools.pairwise(codes):
        edges[a].append(b)
    last = codes[-1]
    # Random spanning arborescence rooted at `last` (reversed random walk, Wilson-like):
    # each node other than `last` that has out-edges keeps one edge towards the root
    # as its final exit, which guarantees the walk can always finish.
    last_exit: dict[int, int] = {}
    in_tree = {last}
    for start in range(n):
        if start in in_tree or not edges[start]:
            continue
        node = start
        nxt: dict[int, int] = {}
        while node not in in_tree:
            choice = edges[node][rng.integers(len(edges[node]))]
            nxt[node] = choice
            node = choice
        node = start
        while node not in in_tree:
            last_exit[node] = nxt[node]
            in_tree.add(node)
            node = nxt[node]
    for node in range(n):
        out = edges[node]
        if not out:
            continue
        if node in last_exit:
            out.remove(last_exit[node])
            rng.shuffle(out)
            out.append(last_exit[node])
        else:
            rng.shuffle(out)
    pointers = [0] * n
    walk = [codes[0]]
    node = codes[0]
    for _ in range(len(codes) - 1):
        node_next = edges[node][pointers[node]]
        pointers[node] += 1
        walk.append(node_next)
        node = node_next
    return "".join(letters[c] for c in walk)
