"""Figures: ROC and PR curves, training curves, sequence logos, ISM heatmaps."""
