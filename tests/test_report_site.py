"""`harness report` in a real headless Chromium (Debian's, driven by Playwright): the four shipped boards and their
galleries, built from a store of small full runs (simple baselines; two HoneyBee proxies trained for 20 steps
stand in for the recipe rows, whose real training takes ~20 CPU minutes). Every page fits 1400 px without
horizontal scrolling, logs no console error, decodes every image; gallery filters and sorts change the visible
rows; a board cell leads to its samples; an XSS probe in a model label and a task description stays inert.
Screenshots go to the test's temp folder (``--screenshots DIR`` also copies them there, e.g. docs/)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from conftest import run_cli
from harness.adapters import Editor
from harness.api import evaluate

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if os.environ.get("CI") == "true":  # CI must run this test, never skip it
    assert CHROMIUM, "CI=true but no chromium on PATH (.ci/run installs Debian's chromium)"
    from playwright.sync_api import sync_playwright
else:
    if not CHROMIUM:
        pytest.skip("Debian chromium not installed (.ci/run installs it)", allow_module_level=True)
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

PROBE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
XSS_TASK = f"""name: edit/probe
kind: edit
description: 'Probe task {PROBE}'
source: {{loader: edit_scenes, args: {{seed: 0, n_per_type: 2, size: 32}}}}
metrics: [success, psnr_keep]
primary_metric: success
"""
XSS_BOARD = f"""name: probe
title: 'Probe board {PROBE}'
tasks: [edit/probe]
metrics: [success, psnr_keep]
reference: identity
"""


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""


class Labelled(Editor):
    """Returns the source; its ``name`` arg puts the XSS probe into the row label."""

    Args = Args

    def edit(self, images, instructions, seeds):
        return [i.copy() for i in images]


REASONING_BOARD = """name: answers
tasks: [reasoning/embedded-quick]
metrics: [accuracy]
reference: constant
"""
BOARDS = ("edit", "retrieval", "recipes", "t2i")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("site")
    r = d / "r"
    (d / "tasks").mkdir()
    (d / "tasks" / "probe.yaml").write_text(XSS_TASK)
    (d / "probe.yaml").write_text(XSS_BOARD)
    (d / "answers.yaml").write_text(REASONING_BOARD)

    def ev(task, model, args=""):  # in-process runs build the store; the report itself runs through the CLI
        evaluate(task, model, args, output=r, include=(d / "tasks",), progress=False, batch_size=32)

    for model in ("identity", "oracle", "noise"):
        ev("edit", model)
    for model, args in (("identity", ""), ("noise", ""), ("oracle", "task=t2i")):
        ev("edit/t2i-scenes", model, args)
    for model in ("bow", "random-embed"):
        ev("retrieval", model)
    _train_proxies(d / "honeybee")
    for seed in (1, 2):
        ev("reasoning", "honeybee-proxy", f"recipe=smoke{seed},cache_dir={d / 'honeybee'}")
    for model in ("constant", "random-choice"):  # some right answers, unlike 20-step proxies
        ev("reasoning/embedded-quick", model)
    ev("edit/probe", "identity")
    ev("edit/probe", Labelled, {"name": PROBE})
    run_cli(
        "report",
        *BOARDS,
        d / "probe.yaml",
        d / "answers.yaml",
        "-o",
        r,
        "--to",
        d / "site",
        "--include",
        d / "tasks",
        check_rc=0,
    )
    return d / "site"


def _train_proxies(cache: Path) -> None:
    """Two 20-step proxies (the recipes board's rows are honeybee-proxy runs): seconds instead of minutes."""
    from harness_baselines.honeybee.build import build
    from harness_baselines.honeybee.recipe import Recipe
    from harness_baselines.honeybee.train import train

    for seed in (1, 2):
        recipe = Recipe.model_validate(
            {
                "name": f"smoke{seed}",
                "seed": seed,
                "sources": [{"name": "mixed", "size": 16}],
                "train": {"steps": 20, "batch_size": 8},
                "decontamination": {"enabled": False},
            }
        )  # rows then carry the † mark
        build(recipe, cache)
        train(recipe, cache, log=None)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    context.close()


def _shot(pg, tmp_path, request, name):
    path = tmp_path / name
    pg.screenshot(path=path)
    target = request.config.getoption("--screenshots")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)
    return path


DECODE_ALL = """async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(i => i.loading = 'eager');
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return imgs.filter(i => !(i.naturalWidth > 0)).map(i => i.getAttribute('src').slice(0, 80));
}"""


def _visible(pg) -> list[str]:
    return pg.eval_on_selector_all("#samples .sample:not([hidden])", "els => els.map(e => e.dataset.id)")


def test_every_page_fits_1400px_decodes_its_images_and_logs_no_error(site, page, tmp_path, request):
    pages = sorted(site.rglob("*.html"))
    assert {p.stem for p in site.glob("*.html")} == {"index", *BOARDS, "probe", "answers"}
    galleries = {p.relative_to(site).as_posix() for p in (site / "galleries").rglob("*.html")}
    assert {
        "galleries/edit/edit-scenes.html",
        "galleries/retrieval/retrieval-i2i.html",
        "galleries/recipes/reasoning-embedded.html",
        "galleries/t2i/edit-t2i-scenes.html",
    } <= galleries
    for path in pages:
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1] == 1400, (path, width)
        assert page.evaluate(DECODE_ALL) == [], path
        assert page.errors == [], (path, page.errors)
    page.goto((site / "retrieval.html").as_uri())
    _shot(page, tmp_path, request, "board-retrieval.png")
    page.goto((site / "edit.html").as_uri())
    page.locator("#board-0").scroll_into_view_if_needed()
    _shot(page, tmp_path, request, "board-edit.png")


def test_committed_site_pages_fit_1400px_and_decode_their_images(page, tmp_path, request):
    """The pages shipped under leaderboards/site (rebuilt from real runs by `harness report`) pass the same checks."""
    from harness.resources import leaderboards_dir

    pages = sorted((leaderboards_dir() / "site").rglob("*.html"))
    if not pages:
        pytest.skip("no committed site pages")
    for path in pages:
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1] == 1400, (path, width)
        assert page.evaluate(DECODE_ALL) == [], path
        assert page.errors == [], (path, page.errors)
    board = leaderboards_dir() / "site" / "retrieval.html"
    if board.is_file():
        page.goto(board.as_uri())
        _shot(page, tmp_path, request, "site-board-retrieval.png")
    gallery = leaderboards_dir() / "site" / "galleries" / "retrieval" / "retrieval-i2i.html"
    if gallery.is_file():
        page.goto(gallery.as_uri() + "#f-subset=subset%3Daudio")
        page.wait_for_load_state("load")
        _shot(page, tmp_path, request, "site-gallery-retrieval.png")


def test_every_page_of_the_full_embedded_suites_weighs_under_20_mb(site):
    """A page's weight: its HTML and every media file it references (what a browser fetches to show it all); its
    HTML alone stays near the 2 MB a gallery page holds (harness.report.gallery.PAGE_BYTES)."""
    import re

    from PIL import Image

    weights = {}
    for path in site.rglob("*.html"):
        text = path.read_text()
        media = {(path.parent / m).resolve() for m in re.findall(r'src="([^"]*media/[^"]+)"', text)}
        weights[path.relative_to(site).as_posix()] = path.stat().st_size + sum(m.stat().st_size for m in media)
    heaviest = max(weights, key=weights.get)
    assert weights[heaviest] < 20e6, (heaviest, weights[heaviest])
    assert max(p.stat().st_size for p in site.rglob("*.html")) < 2.5e6
    thumbs = list((site / "media").glob("*.webp"))
    assert thumbs and all(max(Image.open(t).size) <= 128 for t in thumbs[:300])


def test_edit_gallery_filters_by_subset_and_sorts_by_difference(site, page, tmp_path, request):
    page.goto((site / "galleries/edit/edit-scenes.html").as_uri())
    everything = _visible(page)
    assert len(everything) == 150
    page.select_option("#ctl-f-edit_type", "edit_type=move")
    moved = _visible(page)
    assert len(moved) == 30 and all(i.startswith("scenes-move") for i in moved)
    labels = page.eval_on_selector_all("#ctl-a option", "os => os.map(o => o.textContent)")
    page.select_option("#ctl-f-edit_type", "")
    page.select_option("#ctl-a", str(labels.index("noise")))
    page.select_option("#ctl-b", str(labels.index("identity")))
    page.select_option("#ctl-metric", "psnr_keep")
    assert _visible(page) == everything  # task order
    page.select_option("#ctl-sort", "b-a")
    ordered = _visible(page)
    assert ordered != everything and sorted(ordered) == sorted(everything)
    # every sample shows source, target, mask and one output per model, images decoded
    first = page.locator(f'.sample[data-id="{ordered[0]}"]')
    assert first.locator("img").count() == 3 + len(labels)
    first.scroll_into_view_if_needed()
    _shot(page, tmp_path, request, "gallery-edit.png")


def test_board_cell_leads_to_its_samples_in_two_clicks(site, page):
    page.goto((site / "retrieval.html").as_uri())
    cell = page.locator("table#board-1 tbody tr").first.locator("td a").nth(1)  # i2i, ndcg@10 [subset=audio]
    cell.click()
    page.wait_for_load_state("load")
    assert page.url.split("#")[0].endswith("galleries/retrieval/retrieval-i2i.html")
    assert page.input_value("#ctl-f-subset") == "subset=audio"
    visible = _visible(page)
    assert len(visible) == 96  # the audio subset of 192 queries
    sample = page.locator(f'.sample[data-id="{visible[0]}"]')
    assert sample.locator("audio").count() == 1
    assert sample.locator(".model-cell:not([hidden]) .tile").count() == 2 * 10  # A and B, top 10 each
    page.select_option("#ctl-f-subset", "")
    assert len(_visible(page)) == 192


def test_reasoning_gallery_shows_responses_and_filters_by_verdict(site, page, tmp_path, request):
    page.goto((site / "galleries/recipes/reasoning-embedded.html").as_uri())
    n = len(_visible(page))
    assert n >= 100 and n % 5 == 0  # five categories of equal size
    page.select_option("#ctl-f-category", "category=clock")
    clocks = _visible(page)
    assert len(clocks) == n // 5 and all(i.startswith("clock-") for i in clocks)
    sample = page.locator(f'.sample[data-id="{clocks[0]}"]')
    cell = sample.locator(".model-cell:not([hidden])")
    assert cell.count() == 2 and "extracted" in cell.first.inner_text()  # two proxies side by side
    assert sample.inner_text().count("gold:") == 1  # once per sample, above the models
    page.goto((site / "recipes.html").as_uri())
    assert page.inner_text("#board-0 tbody").count("†") == 2  # trained without decontamination: marked
    page.goto((site / "galleries/answers/reasoning-embedded-quick.html").as_uri())
    n = len(_visible(page))
    labels = page.eval_on_selector_all("#ctl-a option", "os => os.map(o => o.textContent)")
    assert page.input_value("#ctl-a") == str(labels.index("constant"))  # the board's reference
    page.select_option("#ctl-verdict", "a-right")
    right = _visible(page)
    page.select_option("#ctl-verdict", "a-wrong")
    wrong = _visible(page)
    assert right and wrong and len(right) + len(wrong) == n and not set(right) & set(wrong)
    text = page.locator(
        f'.sample[data-id="{wrong[0]}"] .model-cell[data-model="{labels.index("constant")}"]'
    ).inner_text()
    assert "wrong" in text and "extracted: A" in text and "\\boxed{A}" in text  # response, extraction, verdict
    page.select_option("#ctl-verdict", "")
    page.select_option("#ctl-f-difficulty", "difficulty=3")
    _shot(page, tmp_path, request, "gallery-reasoning.png")


def test_long_row_labels_wrap_whole_and_the_legend_shows_code(site, page):
    """A recipe row's label (its recipe name is the point of the row) wraps inside the model column, never cut."""
    page.goto((site / "recipes.html").as_uri())
    cells = page.eval_on_selector_all(
        "#board-0 td.model", "els => els.map(e => [e.dataset.value, e.innerText, e.scrollWidth <= e.clientWidth])"
    )
    long = [c for c in cells if len(c[0]) > 60]  # the proxies' labels carry their cache folder
    assert long and all(fits for _, _, fits in cells), cells
    # the two proxies' rows are named by their arguments (the legend names the model once)
    named = {label: text.removesuffix(" †") for label, text, _ in cells}
    assert all(named[label] == label.removeprefix("honeybee-proxy [")[:-1] for label, _, _ in long), cells
    legend = page.locator("p").first.inner_text()
    assert "harness report recipes" in legend and "is honeybee-proxy [ARGS]" in legend


def test_xss_probe_in_a_label_and_a_task_description_stays_inert(site, page):
    for rel in ("probe.html", "galleries/probe/edit-probe.html", "index.html"):
        page.goto((site / rel).as_uri())
        page.wait_for_load_state("load")
        assert page.evaluate("window.__pwned") is None, rel
        assert page.locator("script").count() == (2 if rel.startswith("galleries") else 1), rel
    page.goto((site / "galleries/probe/edit-probe.html").as_uri())
    assert "<script>window.__pwned=1</script>" in page.inner_text("body")  # shown as text
    page.goto((site / "probe.html").as_uri())
    assert PROBE in page.inner_text("h1")


QUICK_BOARD = """name: quick
title: 'Answers, second store'
tasks: [reasoning/embedded-quick]
metrics: [accuracy]
reference: constant
"""


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _media_refs(root: Path, pages) -> set[str]:
    import re

    return {m for p in pages for m in re.findall(r"media/[0-9a-f]{20}\.\w+", (root / p).read_text())}


@pytest.fixture(scope="module")
def updated(site, tmp_path_factory):
    """The site after `harness report --update` of two of its boards and one new board from another store that
    has only a `constant` run: answers loses its random-choice row, probe loses every row (and so its gallery and
    the thumbnails only it showed), quick is added."""
    d = tmp_path_factory.mktemp("update")
    shutil.copytree(site, d / "site")
    (d / "quick.yaml").write_text(QUICK_BOARD)
    evaluate("reasoning/embedded-quick", "constant", output=d / "r", progress=False, batch_size=32)
    proc = run_cli(
        "report",
        site.parent / "answers.yaml",
        site.parent / "probe.yaml",
        d / "quick.yaml",
        "--update",
        "-o",
        d / "r",
        "--to",
        d / "site",
        "--include",
        site.parent / "tasks",
        check_rc=0,
    )
    return d / "site", proc


def test_update_rewrites_the_named_boards_and_keeps_the_others(site, updated):
    new, proc = updated
    before, after = _files(site), _files(new)
    boards = ("answers", "probe", "quick")
    replaced = {"index.html", *(f"{b}.html" for b in boards)}
    kept = [
        r for r in before if r not in replaced and not r.startswith(("media/", *(f"galleries/{b}/" for b in boards)))
    ]
    assert kept and all(after.get(rel) == before[rel] for rel in kept)  # other boards' pages: byte-identical
    assert "random-choice" in before["answers.html"].decode() and "random-choice" not in after["answers.html"].decode()
    assert "galleries/answers/reasoning-embedded-quick.html" in after
    assert "galleries/quick/reasoning-embedded-quick.html" in after
    assert not any(rel.startswith("galleries/probe/") for rel in after)  # no run: no gallery
    # the thumbnails only the old probe gallery showed are gone; every reference of every page resolves
    probe_only = _media_refs(site, ["galleries/probe/edit-probe.html"]) - _media_refs(
        site, [r for r in before if r.endswith(".html") and not r.startswith("galleries/probe/")]
    )
    assert probe_only and not probe_only & set(after)
    assert _media_refs(new, [r for r in after if r.endswith(".html")]) <= set(after)
    assert f"removed {len(probe_only)} media files" in " ".join(proc.stderr.split())
    assert not [p for p in new.parent.iterdir() if p.name.startswith(".")]  # no temp folder left


def test_updated_index_links_every_board_in_its_order_and_pages_work(updated, page):
    import re

    new, _ = updated
    index = (new / "index.html").read_text()
    boards = re.findall(r'<td class="model"><a href="([^"]+)\.html">', index)
    assert boards == [*BOARDS, "probe", "answers", "quick"]  # the old order, then the new board
    assert set(boards) == {p.stem for p in new.glob("*.html")} - {"index"}
    assert "galleries/edit/edit-scenes.html" in index and "galleries/quick/reasoning-embedded-quick.html" in index
    assert "galleries/probe/" not in index
    page.goto((new / "index.html").as_uri())
    for name in boards:  # every index link opens its board page in Chromium, which fits and logs no error
        page.click(f'td.model a[href="{name}.html"]')
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/{name}.html")
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1] == 1400, (name, width)
        assert page.errors == [], (name, page.errors)
        page.go_back()
    page.goto((new / "quick.html").as_uri())
    page.locator("#board-0 tbody td a").first.click()  # a cell of the new board leads to its gallery
    page.wait_for_load_state("load")
    assert page.url.split("#")[0].endswith("galleries/quick/reasoning-embedded-quick.html")
    assert len(_visible(page)) == 100 and page.evaluate(DECODE_ALL) == [] and page.errors == []


def test_update_of_a_site_written_before_board_records_keeps_its_index_rows(site, tmp_path):
    """A committed site's pages may predate the board record in their head: the index row is read from the page."""
    import re

    old = tmp_path / "site"
    shutil.copytree(site, old)
    for p in old.glob("*.html"):  # strip the records, as pages written by an older harness
        p.write_text(re.sub(r'<meta name="harness-board" content="[^"]*">', "", p.read_text()))
    (tmp_path / "quick.yaml").write_text(QUICK_BOARD)
    index_rows = lambda root: re.findall(r"<tr><td class=\"model\">.*?</tr>", (root / "index.html").read_text())
    run_cli("report", tmp_path / "quick.yaml", "--update", "-o", site.parent / "r", "--to", old, check_rc=0)
    assert index_rows(old)[:-1] == index_rows(site)  # same rows, rows counted and galleries found on the pages
    assert index_rows(old)[-1].startswith('<tr><td class="model"><a href="quick.html">')
    assert "<li>" in (old / "index.html").read_text().split('class="notes"')[1]  # the notes of the old index


def test_update_bad_input_is_one_line_and_changes_nothing(tmp_path):
    from conftest import one_line_error

    (tmp_path / "quick.yaml").write_text(QUICK_BOARD)
    evaluate("reasoning/embedded-quick", "constant", output=tmp_path / "r", progress=False, batch_size=32)
    copy, store = tmp_path / "site", ("-o", tmp_path / "r")
    run_cli("report", tmp_path / "quick.yaml", *store, "--to", copy, check_rc=0)
    before = _files(copy)
    one_line_error(run_cli("report", "nosuchboard", "--update", *store, "--to", copy), "nosuchboard")
    one_line_error(run_cli("report", "--update", *store, "--to", copy), "--update", "name the boards")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "index.html").write_text("<p>my own page</p>")
    bad = tmp_path / "quick.yaml"
    one_line_error(run_cli("report", bad, "--update", *store, "--to", tmp_path / "plain"), "plain", "not a site")
    one_line_error(run_cli("report", bad, "--update", *store, "--to", tmp_path / "absent"), "absent", "no report site")
    assert _files(copy) == before and (tmp_path / "plain" / "index.html").read_text() == "<p>my own page</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain", "quick.yaml", "r", "site"]  # no temp folder
