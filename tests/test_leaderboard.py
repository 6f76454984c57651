"""Leaderboards from a real store in every format, significance marks against the reference row, version
mixing refused, the HTML report in headless Chromium, and `harness compare`."""

import json
import shutil
import subprocess

import pytest

from conftest import require_tool, run_cli

BOARD = """name: test-board
title: Test board <b>bold</b>
tasks: [edit/scenes]
metrics: [success, psnr_keep, l1_edit]
reference: identity
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory, request):
    d = tmp_path_factory.mktemp("board")
    plugins = d / "plugins"
    plugins.mkdir()
    (plugins / "tagged.py").write_text(
        "from pydantic import BaseModel, ConfigDict\nfrom harness.adapters import Editor\n"
        "class Args(BaseModel):\n    model_config = ConfigDict(extra='forbid')\n    name: str = ''\n"
        "class Tagged(Editor):\n    Args = Args\n"
        "    def describe(self):\n        return {'train_rows': 1234}\n"
        "    def edit(self, images, instructions, seeds):\n        return [i.copy() for i in images]\n"
    )
    for model, args in (
        ("identity", ""),
        ("oracle", ""),
        ("noise", ""),
        ("tagged:Tagged", "name=<script>document.title='pwned'</script>"),
    ):
        run_cli(
            "eval",
            "--task",
            "edit/scenes",
            "--model",
            model,
            "--model_args",
            args,
            "-o",
            d / "r",
            "--no-progress",
            pythonpath=plugins,
            check_rc=0,
        )
    (d / "board.yaml").write_text(BOARD)
    return d


def _render(store, fmt, **kw):
    out = store / f"board.{fmt}"
    run_cli("leaderboard", store / "board.yaml", "-o", store / "r", "--format", fmt, "--to", out, check_rc=0, **kw)
    return out.read_text()


def test_markdown_marks_rows_that_differ_from_the_reference(store):
    text = _render(store, "md")
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert "Holm-adjusted" in text and "`identity`" in text
    oracle, noise, identity = rows["oracle"], rows["noise"], rows["identity"]
    assert oracle.split("|")[2].strip().endswith("▲")  # success 1 vs 0
    assert noise.split("|")[3].strip().endswith("▼")  # psnr_keep collapses
    assert "▲" not in identity and "▼" not in identity
    # sorted by the first column (success, higher is better): oracle first
    assert list(rows)[1] == "oracle"


def test_csv_latex_json_formats(store):
    csv_text = _render(store, "csv")
    assert csv_text.splitlines()[0] == "model,edit/scenes success,edit/scenes psnr_keep,edit/scenes l1_edit"
    assert "\\toprule" in _render(store, "latex")
    doc = json.loads(_render(store, "json"))
    cell = next(r for r in doc["rows"] if r["label"] == "oracle")["cells"][0]
    assert cell["value"] == 1.0 and cell["n"] == 150 and cell["mark"] == "▲" and cell["p"] < 0.05


def test_html_escapes_every_string(store):
    html = _render(store, "html")
    assert "<script>document.title" not in html
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html
    assert "Test board &lt;b&gt;bold&lt;/b&gt;" in html and "data:image/svg+xml;base64," in html


def test_html_report_in_headless_chromium(store, tmp_path):
    chromium = require_tool("chromium")
    page = store / "board.html"
    _render(store, "html")
    dom = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=2000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert '<table id="board-0">' in dom
    assert dom.count("<tr") == 1 + 4  # header + four rows
    assert "<title>Test board &lt;b&gt;bold&lt;/b&gt;</title>" in dom  # the injected script never ran
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom  # shown as text


def test_runs_on_another_task_version_are_left_out_and_named(store, tmp_path):
    shutil.copytree(store / "r", tmp_path / "r")
    import sqlite3

    db = sqlite3.connect(tmp_path / "r" / "harness.sqlite")
    db.execute("UPDATE runs SET task_hash='0000000000000000', started=0 WHERE model='noise'")
    db.commit()
    out = tmp_path / "b.md"
    run_cli("leaderboard", store / "board.yaml", "-o", tmp_path / "r", "--to", out, check_rc=0)
    text = out.read_text()
    assert "| noise" not in text and "1 run(s) on an older task version" in text
    proc = run_cli("compare", "identity", "noise", "--task", "edit/scenes", "-o", tmp_path / "r")
    assert proc.returncode == 2 and "different versions of task edit/scenes" in proc.stderr


def test_compare_reports_difference_ci_and_p_value(store):
    out = run_cli("compare", "identity", "oracle", "--task", "edit/scenes", "-o", store / "r", check_rc=0).stdout
    line = next(x for x in out.splitlines() if x.startswith("success"))
    # every sample: 0 vs 1, a zero-width interval: the values as they are, not 0.0000 vs 1.0000
    assert line.split()[1:6] == ["0", "1", "+1", "[+1,", "+1]"] and "150 paired samples" in out
    move = next(x for x in out.splitlines() if x.startswith("edit_type=move") and " success " in x).split()
    assert move[2:5] == ["0", "1", "+1"] and float(move[-2]) < 0.001 and move[-1] == "30"  # paired
    run_id = json.loads(next((store / "r").glob("edit/scenes/noise_*.json")).read_text())["run_id"]
    out2 = run_cli("compare", run_id[:10], "oracle", "-o", store / "r")
    assert out2.returncode == 2 and "'oracle'" in out2.stderr


def test_subset_columns_show_per_subset_aggregates(store, tmp_path):
    (tmp_path / "b.yaml").write_text(
        BOARD.replace("metrics: [success, psnr_keep, l1_edit]", "metrics: [success]\nsubsets: [edit_type=move]")
    )
    out = tmp_path / "b.csv"
    run_cli("leaderboard", tmp_path / "b.yaml", "-o", store / "r", "--format", "csv", "--to", out, check_rc=0)
    header, *rows = out.read_text().splitlines()
    assert header == "model,edit/scenes success,edit/scenes success [edit_type=move]"
    oracle = next(r for r in rows if r.startswith("oracle,"))
    assert oracle.endswith(",1 ± 0 (n=30) ▲")  # paired on the subset's samples (membership is stored)


def test_html_plots_scores_against_a_model_fact(store, tmp_path):
    """Adapter.describe() lands in run provenance; plot_x plots each column against it (recipes: data size)."""
    (tmp_path / "b.yaml").write_text(BOARD + "plot_x: train_rows\n")
    out = tmp_path / "b.html"
    run_cli("leaderboard", tmp_path / "b.yaml", "-o", store / "r", "--format", "html", "--to", out, check_rc=0)
    html = out.read_text()
    assert 'alt="edit/scenes success against train_rows"' in html
    import sqlite3

    prov = (
        sqlite3.connect(store / "r" / "harness.sqlite")
        .execute("SELECT provenance FROM runs WHERE model='tagged:Tagged'")
        .fetchone()[0]
    )
    assert json.loads(prov)["model"] == {"train_rows": 1234}


def test_markdown_splits_wide_boards_into_tables_of_at_most_eight_value_columns(store, tmp_path):
    metrics = "[success, l1, psnr, ssim, l1_edit, psnr_edit, ssim_edit, l1_keep, psnr_keep, ssim_keep]"
    (tmp_path / "b.yaml").write_text(BOARD.replace("metrics: [success, psnr_keep, l1_edit]", f"metrics: {metrics}"))
    out = tmp_path / "b.md"
    run_cli("leaderboard", tmp_path / "b.yaml", "-o", store / "r", "--to", out, check_rc=0)
    text = out.read_text()
    assert text.count("Holm-adjusted") == 1  # one shared legend
    assert "## edit/scenes (1/2)" in text and "## edit/scenes (2/2)" in text
    headers = [line for line in text.splitlines() if line.startswith("| model")]
    assert [h.count("|") - 2 for h in headers] == [8, 2]  # value columns per table, every metric kept
    assert "ssim_keep" in headers[1]


def test_plots_are_horizontal_bars_with_capped_values_as_an_annotated_break(store):
    import base64
    import re

    html = _render(store, "html")
    svgs = {
        alt: base64.b64decode(data).decode()
        for alt, data in re.findall(r'<img alt="([^"]+)" loading="lazy" src="data:image/svg\+xml;base64,([^"]+)"', html)
    }
    assert set(svgs) == {"edit/scenes success plot", "edit/scenes psnr_keep plot", "edit/scenes l1_edit plot"}
    keep = svgs["edit/scenes psnr_keep plot"]
    # oracle, identity and the tagged copy keep the region exactly: 100 dB, each drawn as a break, noise is not
    assert keep.count("(cap)") == 3
    assert "noise" in keep and "lower is better" in svgs["edit/scenes l1_edit plot"]


def test_a_cell_is_rounded_to_the_precision_of_its_interval():
    from harness.leaderboard import cell_text, ci_decimals

    def cell(value, low, high, **extra):
        return {"value": value, "ci_low": low, "ci_high": high, "n": 100, "mark": "", **extra}

    assert cell_text(cell(16.9, 14.6, 19.2)) == "16.9 ± 2.3 (n=100)"
    assert cell_text(cell(0.56204, 0.5308, 0.5932)) == "0.562 ± 0.031 (n=100)"
    assert cell_text(cell(41.37, 28.0, 54.0)) == "41 ± 13 (n=100)"
    seeds = {"means": [0.5, 0.6, 0.55], "sd": 0.05}
    assert cell_text(cell(0.55, 0.5, 0.6, seeds=seeds)) == "0.550 ± 0.050 (n=100, 3 seeds sd=0.050)"
    assert [ci_decimals(h) for h in (0.0, float("nan"), 0.0004, 0.99, 1.0, 250.0)] == [3, 3, 5, 2, 1, 0]
    assert cell_text(cell(100.0, 100.0, 100.0)) == "100 ± 0 (n=100)"  # every sample alike: not 100.000 ± 0.000
    assert cell_text(cell(0.25, 0.25, 0.25)) == "0.25 ± 0 (n=100)"
