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
        help="Folder of the static site, replaced whole unless --update (default "
        "leaderboards/site; OUTPUT/leaderboards/site for an installed harness).",
    ),
    update: bool = typer.Option(
        False,
        "--update",
        help="Rewrite only the named boards' pages (board page, galleries, their media) inside the existing site "
        "at --to, from this results store; keep the other boards' pages and rewrite the index from what the "
        "site then holds.",
    ),
    page_mb: float | None = typer.Option(
        None,
        "--gallery-page-mb",
        min=0.01,
        help="HTML budget of one gallery page in MB (default 2): a bigger gallery is split into pages, samples in "
        "task order.",
    ),
    include: list[Path] = IncludeOpt,
) -> None:
    """Write a static site: an index of the boards, each board page (tables, plots) and per-sample galleries
    (images, audio, responses) linked from every cell. Works offline from the file system."""
    from harness import leaderboard as lb
    from harness.errors import HarnessError
    from harness.report.gallery import PAGE_BYTES
    from harness.report.site import shipped_boards, write_site

    if update and not names:
        raise HarnessError("--update: name the boards to rewrite (e.g. harness report recipes --update)")
    site = to or lb.default_path("index", "html", output).parent
    store, tasks = open_results_store(output), find_tasks(include)
    summary = write_site(
        names or shipped_boards(),
        store,
        tasks,
        site,
        update=update,
        page_bytes=int(page_mb * 1e6) if page_mb else PAGE_BYTES,
    )
    for note in summary.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    removed = f", removed {summary.removed_media} media files no page uses" if summary.removed_media else ""
    err_console.print(
        f"wrote {len(summary.pages)} pages to {summary.root} (site {summary.bytes / 1e6:.1f} MB, index lists "
        f"{', '.join(summary.boards) or 'no board'}{removed}); open {summary.root / 'index.html'}",
        markup=False,
        highlight=False,
    )
