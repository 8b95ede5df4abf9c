"""Labels for bins: peak sets -> multitask 0/1 labels."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from dnalens.data.windows import coverage_fraction
from dnalens.errors import ConfigError

__all__ = ["peak_labels"]


def peak_labels(
    bins: pd.DataFrame, peak_sets: Mapping[str, pd.DataFrame], min_overlap: float = 0.5
) -> np.ndarray:
    """Multitask labels: a bin is positive for a peak set when enough of it is covered.

    Parameters
    ----------
    bins : DataFrame with chrom, start, end, n rows
    peak_sets : mapping task name -> DataFrame of peaks (chrom, start, end)
    min_overlap : float in (0, 1]
        Fraction of the bin that the union of the set's peaks must cover
        (DeepSEA: half of the 200 bp bin).

    Returns
    -------
    np.ndarray, shape (n, n_tasks), float32 of 0 and 1, tasks in mapping order.
    """
    if not 0 < min_overlap <= 1:
        raise ConfigError(f"min_overlap must be in (0, 1]; got {min_overlap}")
    labels = np.zeros((len(bins), len(peak_sets)), dtype=np.float32)
    for column, peaks in enumerate(peak_sets.values()):
        # Small tolerance so a bin covered exactly to the threshold counts.
        labels[:, column] = coverage_fraction(bins, peaks) >= min_overlap - 1e-9
    return labels
