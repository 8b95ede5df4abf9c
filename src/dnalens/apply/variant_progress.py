"""A progress bar over variants on standard error (rich), or nothing."""

from __future__ import annotations

__all__ = ["progress_bar"]


class progress_bar:  # noqa: N801 - used like a function, as a context manager
    """A rich progress bar over variants, or nothing; ``advance(n, read)``."""

    def __init__(self, show: bool, total: int | None, done: int) -> None:
        self._progress = None
        if not show:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = [TextColumn("variants"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn()]
        if total is not None:
            columns.append(TimeRemainingColumn())
        from rich.console import Console

        self._progress = Progress(*columns, console=Console(stderr=True), transient=True)
        self._task = self._progress.add_task("variants", total=total, completed=done)

    def __enter__(self) -> progress_bar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, n: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)
