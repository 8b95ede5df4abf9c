"""Use trained models: predictions, evaluation (later: variants, mutagenesis, splicing)."""
