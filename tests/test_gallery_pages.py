"""Big galleries (harness.report.gallery): split into pages under a byte budget, every sample on exactly one page,
a pager on each, the board's subset cells opening the first page that holds the subset, another page opened
with the same controls; side information every cell shares written once in the notes; in real headless
Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from conftest import run_cli
from harness.adapters import Reasoner
from harness.api import evaluate
from harness.report.gallery import GalleryModels, SampleView, render_gallery, split_pages

BOARD = """name: quick
tasks: [reasoning/embedded-quick]
metrics: [accuracy]
subsets: [category=clock]
reference: constant
"""


class Noting(Reasoner):
    """Answers A; says which mode it ran in (the same every time) and how long each prompt was."""

    def generate(self, prompts, seeds, n=1, **gen_kwargs):
        self.last_info = [{"mode": "fixed", "prompt_chars": len(p["text"])} for p in prompts]
        return [["\\boxed{A}"] * n for _ in prompts]


def test_split_pages_keeps_order_and_budget():
    assert split_pages([3, 3, 3, 3], 6) == [range(0, 2), range(2, 4)]
    assert split_pages([10, 1, 1], 5) == [range(0, 1), range(1, 3)]  # an oversize row is a page of its own
    assert split_pages([1, 1], 100) == [range(0, 2)]


def test_side_information_every_cell_shares_is_written_once():
    views = []
    for k in range(3):
        v = SampleView(f"s{k}", [], "<p>in</p>", cells={0: "out", 1: "out"})
        v.info = {0: {"sampler": "greedy", "n": k}, 1: {"sampler": "greedy", "n": 10 + k}}
        views.append(v)
    (page,) = render_gallery("t", "d", GalleryModels(["a", "b"], 0), ["m"], "m", views)
    assert page.html.count("greedy") == 1 and "every model gave with every sample" in page.html
    assert page.html.count('<ul class="side-info inline"><li>n: ') == 6


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("paged")
    (d / "quick.yaml").write_text(BOARD)
    for model in ("constant", "random-choice", Noting):
        evaluate("reasoning/embedded-quick", model, output=d / "r", progress=False)
    done = run_cli(
        "report", d / "quick.yaml", "-o", d / "r", "--to", d / "site", "--gallery-page-mb", "0.05", check_rc=0
    )
    assert "wrote" in done.stderr
    return d / "site"


def test_a_big_gallery_is_split_into_pages_each_sample_on_one(site):
    pages = sorted((site / "galleries" / "quick").glob("*.html"))
    names = [p.name for p in pages]
    assert "reasoning-embedded-quick.html" in names and "reasoning-embedded-quick-page2.html" in names
    ids = []
    for p in pages:
        text = p.read_text()
        assert len(text.encode()) < 0.05e6 + 20_000  # the budget is the samples' HTML; controls and script on top
        assert text.count('<nav class="pages">') == 2  # above and below the samples
        ids += re.findall(r'<section class="sample" data-id="([^"]+)"', text)
        data = json.loads(re.search(r'id="gallery-data">(.*?)</script>', text).group(1))
        assert set(data["scores"]) == set(re.findall(r'<section class="sample" data-id="([^"]+)"', text))
    assert len(ids) == len(set(ids)) == 100
    first = (site / "galleries" / "quick" / "reasoning-embedded-quick.html").read_text()
    assert first.count("<li>mode: ") == 0 and "mode fixed" in first  # shared: once, in the notes
    assert "<li>prompt_chars: " in first
    assert f"100 samples on {len(pages)} pages" in first


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_board_subset_cell_opens_the_page_of_the_subset_and_the_pager_keeps_the_controls(site):
    if os.environ.get("CI") == "true":
        assert CHROMIUM, "CI=true but no chromium on PATH"
    elif not CHROMIUM:
        pytest.skip("Debian chromium not installed")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((site / "quick.html").as_uri())
        page.locator("table#board-0 tbody tr").first.locator("td a").nth(1).click()  # accuracy [category=clock]
        page.wait_for_load_state("load")
        assert re.search(r"/reasoning-embedded-quick-page\d+\.html$", page.url.split("#")[0])  # clocks: 4th of 5
        assert page.input_value("#ctl-f-category") == "category=clock"
        visible = page.eval_on_selector_all("#samples .sample:not([hidden])", "els => els.map(e => e.dataset.id)")
        assert visible and all(i.startswith("clock-") for i in visible)
        assert "of this page shown" in page.inner_text("#shown")
        a = page.input_value("#ctl-a")
        page.select_option("#ctl-f-category", "")
        page.locator("nav.pages a.page-link").first.click()  # page 1
        page.wait_for_load_state("load")
        assert page.url.split("#")[0].endswith("reasoning-embedded-quick.html")
        assert page.input_value("#ctl-a") == a and page.input_value("#ctl-f-category") == ""
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1] and errors == []
        browser.close()
