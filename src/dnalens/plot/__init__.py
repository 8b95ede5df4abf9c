"""Figures: ROC and PR curves, training curves (later: logos, ISM maps)."""
