"""Terminal output shared by commands (rich tables)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from dnalens.apply.evaluate import EvaluationResult
from dnalens.report.evaluation import comparison_table

console = Console()


def _fmt(value: float) -> str:
    return "-" if value != value else f"{value:.3f}"


def print_evaluation(result: EvaluationResult, written: list[Path]) -> None:
    """Per-task AUROC/AUPRC, next to the k-mer baseline when there is one."""
    table = comparison_table(result)
    view = Table(title="Evaluation", show_lines=False)
    for column in table.columns:
        view.add_column(column, justify="left" if column == "task" else "right")
    for row in table.itertuples(index=False):
        view.add_row(*(str(v) if isinstance(v, str | int) else _fmt(v) for v in row))
    console.print(view)
    if written:
        console.print(f"written: {', '.join(str(p) for p in written)}")
