"""``harness report``: the static site of boards and per-sample galleries."""

from __future__ import annotations

from pathlib import Path

import typer

from harness.commands.common import IncludeOpt, OutputOpt, err_console, find_tasks, open_results_store


def report(
    names: list[str] | None = typer.Argument(
        None, help="Leaderboard names or YAML files (default: every leaderboards/*.yaml)."
    ),
    output: Path = OutputOpt,
    to: Path | None = typer.Option(
        None,
        "--to",
        help="Folder of the static site, replaced (default "
        "leaderboards/site; OUTPUT/leaderboards/site for an installed harness).",
    ),
    include: list[Path] = IncludeOpt,
) -> None:
    """Write a static site: an index of the boards, each board page (tables, plots) and per-sample galleries
    (images, audio, responses) linked from every cell. Works offline from the file system."""
    from harness import leaderboard as lb
    from harness.report.site import shipped_boards, write_site

    site = to or lb.default_path("index", "html", output).parent
    summary = write_site(names or shipped_boards(), open_results_store(output), find_tasks(include), site)
    for note in summary.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    err_console.print(
        f"wrote {len(summary.pages)} pages ({summary.bytes / 1e6:.1f} MB) to {summary.root}; "
        f"open {summary.root / 'index.html'}",
        markup=False,
        highlight=False,
    )
