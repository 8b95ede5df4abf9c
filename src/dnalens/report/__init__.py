"""Reports of a run: evaluation tables and figures (later: the HTML report)."""
