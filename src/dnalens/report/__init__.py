"""Reports of a run: evaluation tables and figures and the self-contained HTML report."""
