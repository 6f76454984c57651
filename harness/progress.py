"""The progress bar shown while a run computes (rich, on stderr): the CLI's and the Python API's."""

from __future__ import annotations

from rich.console import Console

err_console = Console(stderr=True)


class progress_bar:
    """Context manager yielding a callable(advance, total) that drives a rich progress bar on stderr."""

    def __init__(self, label: str, enabled: bool = True):
        self.enabled, self.label, self.bar, self.task_id, self.total = enabled, label, None, None, None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
        )
        self.bar.start()
        return self._advance

    def _advance(self, advance: int, total: int) -> None:
        if self.task_id is None or total != self.total:  # a new total: the next stage (judging) gets its own row
            stage = "" if self.task_id is None else " · judge"
            self.task_id, self.total = self.bar.add_task(self.label + stage, total=total), total
        self.bar.update(self.task_id, advance=advance)

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()
