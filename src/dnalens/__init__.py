"""dnalens: deep learning on genomic DNA sequence.

Layers, each importing only from those before it::

    io -> sequence -> data -> models -> train -> apply / interpret -> plot / report -> cli
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Genome", "__version__", "load_model", "one_hot", "read_bed"]

if TYPE_CHECKING:
    from dnalens.io import Genome, read_bed
    from dnalens.models.store import load_model
    from dnalens.sequence import one_hot


def __getattr__(name: str) -> Any:
    # Lazy so `import dnalens` stays fast and torch loads only when needed.
    if name == "load_model":
        from dnalens.models.store import load_model

        return load_model
    if name == "one_hot":
        from dnalens.sequence import one_hot

        return one_hot
    if name in ("Genome", "read_bed"):
        from dnalens import io

        return getattr(io, name)
    raise AttributeError(f"module 'dnalens' has no attribute {name!r}")
