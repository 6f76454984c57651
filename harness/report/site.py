"""``harness report``: a static site from the results store — an index of the boards, one page per board (tables,
plots) and, per board and task, a gallery of the samples behind its cells (``galleries/<board>/<task>.html``),
with thumbnails and audio under ``media/``. Every page works offline from the file system.

The site is built in a temporary folder next to the destination and swapped in at the end, so an error never
leaves a half-written site behind. ``update=True`` starts that folder from a copy of the existing site and
replaces only the named boards' pages (their runs may live in another store than the other boards'); the index
is then written from every board page the site holds (harness.report.siteindex)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from urllib.parse import urlencode

from harness import leaderboard as lb
from harness.errors import HarnessError
from harness.report.board import render_board
from harness.report.galleries import gallery_module
from harness.report.gallery import PAGE_BYTES, GalleryModels, render_gallery
from harness.report.lock import site_lock
from harness.report.media import Media
from harness.report.siteindex import (
    BoardEntry,
    check_site,
    copy_site,
    gallery_listing,
    index_order,
    legacy_notes,
    read_site,
    remove_unreferenced_media,
    render_index,
)


@dataclass
class SiteSummary:
    root: Path
    pages: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    boards: list[str] = field(default_factory=list)  # every board the index lists
    removed_media: int = 0  # media files of replaced pages that no page references any more

    @property
    def bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())


def slug(task: str) -> str:
    return task.replace("/", "-")


def shipped_boards() -> list[str]:
    return sorted(p.stem for p in lb.LEADERBOARDS_DIR.glob("*.yaml"))


class _Tasks:
    """Loaded tasks by name, each built once for the whole site (loading runs generators or reads folders)."""

    def __init__(self, entries):
        self.entries, self.built, self.errors = entries, {}, {}

    def get(self, name: str):
        if name not in self.built and name not in self.errors:
            from harness.registry import build_task

            try:
                self.built[name] = build_task(self.entries[name])
            except HarnessError as e:  # e.g. a local benchmark whose data is not on this machine
                self.errors[name] = str(e)
        return self.built.get(name)


def _nav(prefix: str, board: str | None = None) -> str:
    back = f' · <a href="{escape(prefix)}{escape(board)}.html">board</a>' if board else ""
    return f'<nav><a href="{escape(prefix)}index.html">all boards</a>{back}</nav>'


@dataclass
class GalleryFiles:
    """The pages of one task's gallery, relative to the site root; ``subsets``: {subset: index of the first page
    holding one of its samples} (a board cell of a subset column opens that page)."""

    pages: list[Path]
    subsets: dict[str, int]

    def link(self, subset: str = "") -> Path:
        return self.pages[self.subsets.get(subset, 0)]


def _gallery(
    table: lb.Table, store, task_name: str, loaded: _Tasks, media: Media, out: Path, notes: list[str], page_bytes: int
):
    """Write the gallery of one task of a board; returns its GalleryFiles, or None."""
    board = table.board
    task = loaded.get(task_name)
    if task is None:
        notes.append(f"{board.name} · {task_name}: no gallery ({loaded.errors.get(task_name)})")
        return None
    module = gallery_module(task.spec.kind)
    if module is None:
        notes.append(f"{board.name} · {task_name}: no gallery for task kind {task.spec.kind!r}")
        return None
    current = task.content_hash()
    runs = []
    for row in table.rows:
        run = row.runs.get(task_name)
        runs.append(run if run is not None and run["task_hash"] == current else None)
    stale = sum(1 for row, run in zip(table.rows, runs) if run is None and task_name in row.runs)
    page_notes = (
        [f"{stale} row(s) were run on another version of this task: their samples are not shown"] if stale else []
    )
    pooled = [row.label for row in table.rows if task_name in row.seed_runs]
    if pooled:  # the board pools training seeds; a gallery shows one run's samples
        page_notes.append(f"rows pooling several training seeds show the newest seed's run: {', '.join(pooled)}")
    for model in lb.shortened_models(table.rows):  # as on the board
        page_notes.append(f"a cell headed by arguments alone, ARGS, is {model} [ARGS]")
    if not any(runs):
        notes.append(f"{board.name} · {task_name}: no gallery (no run on the task's current version {current})")
        return None
    shown = list(dict.fromkeys(m for t, m, _ in table.columns if t == task_name))  # the board's metrics
    metrics = list(dict.fromkeys(shown + list(task.spec.metrics)))  # what the sort can use
    folder = Path("galleries") / board.name
    prefix = "../../"
    views = module.views(task, runs, store, media, shown, prefix)
    labels = [r.label for r in table.rows]
    reference = labels.index(board.reference) if board.reference in labels else None
    primary = next((m for t, m, _ in table.columns if t == task_name), task.spec.primary_metric)
    description = (
        f"{task_name}: {task.spec.description} Samples behind the board {board.title or board.name!r}; "
        f"{len(views)} samples, {sum(r is not None for r in runs)} models."
    )
    pages = render_gallery(
        f"{board.name} · {task_name} samples",
        description,
        GalleryModels(labels, reference, lb.short_labels(table.rows)),
        metrics,
        primary,
        views,
        module.SHOW,
        module.VERDICT_METRIC,
        _nav(prefix, board.name),
        page_notes,
        getattr(module, "COMPACT", False),
        getattr(module, "INFO_OPEN", False),
        slug(task_name),
        page_bytes,
    )
    (out / folder).mkdir(parents=True, exist_ok=True)
    subsets: dict[str, int] = {}
    for k, pg in enumerate(pages):
        (out / folder / pg.name).write_text(pg.html, encoding="utf-8")
        for s in sorted(pg.subsets):
            subsets.setdefault(s, k)
    return GalleryFiles([folder / pg.name for pg in pages], subsets)


def _cell_link(table: lb.Table, galleries: dict[str, GalleryFiles]):
    labels = [r.label for r in table.rows]
    reference = labels.index(table.board.reference) if table.board.reference in labels else None

    def link(i: int, j: int):
        task, metric, subset = table.columns[j]
        if task not in galleries:
            return None
        # A = the reference (or this row, when it is the reference or there is none), B = this row (or the next)
        a = reference if reference is not None else i
        b = i if i != a else (i + 1 if i + 1 < len(labels) else 0)
        params = {"a": a, "b": b, "metric": metric}
        if subset:
            params[f"f-{subset.split('=', 1)[0]}"] = subset
        return f"{galleries[task].link(subset).as_posix()}#{urlencode(params)}"

    return link


def write_site(
    names: list[str], store, tasks, dest: Path, update: bool = False, page_bytes: int = PAGE_BYTES
) -> SiteSummary:
    """Build every board in ``names`` (leaderboard names or YAML paths) with its galleries into ``dest``: a new
    site replacing ``dest`` whole, or with ``update`` only those boards' pages inside the site at ``dest``.
    ``page_bytes``: the HTML budget of one gallery page (a bigger gallery gets more pages)."""
    boards = [lb.load_definition(n, tasks) for n in names]
    dest = Path(dest)
    with site_lock(dest):  # one writer at a time: a second --update would drop the first one's pages
        return _write_site(boards, store, tasks, dest, update, page_bytes)


def _write_site(boards, store, tasks, dest: Path, update: bool, page_bytes: int) -> SiteSummary:
    if update:
        check_site(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    tmp.chmod(0o755)  # mkdtemp's 0700 would hide the site from a web server
    try:
        if update:
            copy_site(dest, tmp, {b.name for b in boards})
            order, old_notes = index_order(dest), legacy_notes(dest)
        else:
            order, old_notes = [], []
        summary = _write(boards, store, tasks, tmp, page_bytes)
        entries = read_site(tmp, order + [b.name for b in boards], old_notes)
        (tmp / "index.html").write_text(render_index(entries), encoding="utf-8")
        summary.pages.insert(0, tmp / "index.html")
        summary.boards = [e.name for e in entries]
        summary.removed_media = remove_unreferenced_media(tmp)
        if dest.exists():
            old = dest.with_name(f".{dest.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            dest.rename(old)
            tmp.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    summary.root = dest
    summary.pages = [dest / p.relative_to(tmp) for p in summary.pages]
    return summary


def _write(boards, store, tasks, out: Path, page_bytes: int = PAGE_BYTES) -> SiteSummary:
    """Each board's page and galleries (media under ``out/media``); the index is written from the site after."""
    summary = SiteSummary(out)
    media = Media(out)
    loaded = _Tasks(tasks)
    for board in boards:
        table = lb.build(board, store, tasks)
        galleries: dict[str, GalleryFiles] = {}
        notes: list[str] = []
        for task_name in dict.fromkeys(t for t, _, _ in table.columns):
            if table.rows:
                files = _gallery(table, store, task_name, loaded, media, out, notes, page_bytes)
                if files is not None:
                    galleries[task_name] = files
                    summary.pages += [out / p for p in files.pages]
        summary.notes += notes
        entry = BoardEntry(
            board.name, board.title, len(table.rows), {t: f.pages[0].as_posix() for t, f in galleries.items()}, notes
        )
        listing = gallery_listing(entry.galleries)
        gallery_html = f"<p>Sample galleries:</p><ul>{listing}</ul>" if galleries else ""
        link = _cell_link(table, galleries)
        html = render_board(table, store, tasks, link, _nav(""), gallery_html, entry.meta(), "harness report")
        (out / f"{board.name}.html").write_text(html, encoding="utf-8")
        summary.pages.append(out / f"{board.name}.html")
    return summary
