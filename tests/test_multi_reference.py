"""Multi-reference editing (Editor.max_images, EditSample.references, the edit/compose suite) and per-sample side
information (Adapter.last_info: checked, stored, kept by cached and resumed runs, printed by ``harness show
--info``), through real CLI runs of a plugin adapter on a real SQLite store."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import one_line_error, run_cli
from harness import registry
from harness.adapters import Editor
from harness.data import edit_compose, edit_scenes
from harness.data.samples import EditSample
from harness.errors import HarnessError
from harness.runner import evaluate
from harness.spec import RunSpec
from harness.store import RunStore

PLUGIN = '''
import numpy as np
from harness.adapters import Editor


class Composer(Editor):
    """Pastes the reference's pixels where they differ from its top-left corner colour (its shapes, roughly) into
    the first image, and says what it saw as side information."""

    max_images = 2

    def edit(self, images, instructions, seeds, references=None):
        out, self.last_info = [], []
        for img, text, refs in zip(images, instructions, references):
            ref = refs[0]
            shapes = np.any(ref != ref[0, 0], -1)
            edited = img.copy()
            edited[shapes] = ref[shapes]
            out.append(edited)
            self.last_info.append({"rewrite": f"{len(refs) + 1} images: {text}", "pixels": int(shapes.sum())})
        return out


class SingleSource(Editor):
    def edit(self, images, instructions, seeds):
        return [i.copy() for i in images]


class Forgetful(Editor):
    max_images = 3  # but no references argument

    def edit(self, images, instructions, seeds):
        return [i.copy() for i in images]
'''


@pytest.fixture
def plugins(tmp_path):
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "compose_plugin.py").write_text(textwrap.dedent(PLUGIN))
    return d


def _run_id(stdout: str) -> str:
    return re.search(r"run ([0-9a-f]{16})", stdout).group(1)


def test_compose_suite_has_exact_targets_two_images_and_the_fixed_instruction_family():
    samples = edit_compose.generate(seed=0, n_per_type=6)
    assert [s.edit_type for s in samples] == [t for t in edit_compose.EDIT_TYPES for _ in range(6)]
    patterns = {
        k: re.escape(v).replace(r"\{where\}", ".+").replace(r"\{shape\}", r"\w+").replace(r"\{name\}", ".+")
        for k, v in edit_compose.TEMPLATES.items()
    }
    for s in samples:
        assert len(s.images) == 2 and s.references[0].shape == s.source.shape == s.target.shape
        assert np.array_equal(s.mask, np.any(s.source != s.target, -1)) and s.mask.any()
        assert re.fullmatch(patterns[s.edit_type], s.instruction), s.instruction
        assert s.caption and set(s.meta) >= {"source_scene", "reference_scene", "target_scene"}
    again = edit_compose.generate(seed=0, n_per_type=6)
    assert all(np.array_equal(a.references[0], b.references[0]) for a, b in zip(samples, again))
    other = edit_compose.generate(seed=1, n_per_type=6)  # training seeds give other scenes
    assert not any(np.array_equal(a.source, b.source) for a in samples for b in other)


def test_a_copied_shape_comes_from_the_reference_at_its_place():
    for s in edit_compose.generate(seed=3, n_per_type=5)[5:10]:  # the copy samples
        new = s.meta["target_scene"]["objects"][-1]
        assert new in s.meta["reference_scene"]["objects"] and new["shape"] in s.instruction
        assert np.array_equal(s.target[new["y"], new["x"]], s.references[0][new["y"], new["x"]])


def test_identity_returns_the_first_image_and_oracle_is_exact_on_compose(tmp_path):
    out = tmp_path / "r"
    ident = run_cli("eval", "--task", "edit/compose", "--model", "identity", "-o", out, "--no-progress", check_rc=0)
    run_cli(
        "eval",
        "--task",
        "edit/compose",
        "--model",
        "oracle",
        "--model_args",
        "task=edit-multi",
        "-o",
        out,
        "--no-progress",
        check_rc=0,
    )
    res = {p.name.split("_")[0]: json.loads(p.read_text()) for p in (out / "edit" / "compose").glob("*.json")}
    assert res["identity"]["aggregates"]["all"]["psnr_keep"]["value"] == 100.0
    assert res["identity"]["aggregates"]["all"]["success"]["value"] == 0.0
    assert res["oracle"]["aggregates"]["all"]["success"]["value"] == 1.0
    assert "150" in ident.stdout


def test_an_editor_reading_one_image_is_refused_naming_task_and_model(tmp_path, plugins):
    proc = run_cli(
        "eval", "--task", "edit/compose", "--model", "compose_plugin:SingleSource", "-o", tmp_path, pythonpath=plugins
    )
    one_line_error(proc, "edit/compose", "compose_plugin:SingleSource", "2 images per sample", "max_images = 1")
    assert not (tmp_path / "edit").exists()  # refused before any work
    proc = run_cli(
        "eval", "--task", "edit/compose", "--model", "compose_plugin:Forgetful", "-o", tmp_path, pythonpath=plugins
    )
    one_line_error(proc, "compose_plugin:Forgetful", "max_images = 3", "no references argument")
    # single-image tasks run unchanged for it
    run_cli(
        "eval",
        "--task",
        "edit/scenes",
        "--model",
        "compose_plugin:SingleSource",
        "--limit",
        "2",
        "-o",
        tmp_path,
        "--no-progress",
        pythonpath=plugins,
        check_rc=0,
    )


def test_side_information_is_stored_kept_by_cached_and_resumed_runs_and_shown(tmp_path, plugins):
    out = tmp_path / "r"
    args = ("eval", "--task", "edit/compose", "--model", "compose_plugin:Composer", "-o", out, "--no-progress")
    run_cli(*args, "--limit", "3", pythonpath=plugins, check_rc=0)
    full = run_cli(*args, pythonpath=plugins, check_rc=0)  # resumes: 3 samples cached, the rest computed
    assert "147 computed, 3 cached" in full.stdout
    again = run_cli(*args, pythonpath=plugins, check_rc=0)
    assert "0 computed, 150 cached" in again.stdout
    shown = run_cli("show", _run_id(again.stdout), "--info", "-o", out, check_rc=0).stdout
    assert "side information: 150 samples" in shown
    line = next(x for x in shown.splitlines() if x.startswith("  compose-insert-000: "))
    info = json.loads(line.split(": ", 1)[1])
    assert (
        info["rewrite"]
        == "2 images: Put the shape from the second image into the first image, in the " + ("top-left corner.")
        and info["pixels"] > 0
    )
    # the composer saw the reference: pasting its shapes in place gets every copied shape right (identity: ~7 dB)
    (res,) = [r for r in map(json.loads, map(Path.read_text, out.rglob("*Composer*.json"))) if r["n_samples"] == 150]
    assert res["aggregates"]["edit_type=copy"]["psnr_edit"]["value"] == 100.0
    assert "side information" not in run_cli("show", _run_id(again.stdout), "-o", out, check_rc=0).stdout


def _edit_task(samples):
    entry = registry.discover_tasks()["edit/scenes"]
    return registry.build_task(entry).__class__(entry.spec, samples)


def _spec(task, adapter, name):
    return RunSpec(
        task=task.name, task_hash=task.content_hash(), model=name, model_fingerprint=adapter.fingerprint(), seed=0
    )


class TurnNotes(Editor):
    def edit(self, images, instructions, seeds):
        self.last_info = [{"said": text} for text in instructions]
        return [i.copy() for i in images]


def test_multi_turn_side_information_keeps_every_turn(tmp_path):
    base = edit_compose.generate(n_per_type=1)[0]
    kw = {"source": base.source, "target": base.target, "mask": base.mask, "edit_type": "x"}
    task = _edit_task(
        [EditSample("one", instruction="a", **kw), EditSample("two", instruction="b", turns=("c",), **kw)]
    )
    adapter, store = TurnNotes(), RunStore(tmp_path / "s.sqlite")
    spec = _spec(task, adapter, "turn-notes")
    evaluate(task, adapter, spec, store, batch_size=2)
    records = store.get_records(spec.cache_key())
    assert records["one"].info == {"said": "a"}
    assert records["two"].info == {"turns": [{"said": "b"}, {"said": "c"}]}


@pytest.mark.parametrize(
    ("info", "needle"),
    [
        ([{"v": np.float32(1)}], "not JSON-able"),
        ([{"a": 1}, {"a": 2}], "2 entries for a call over 1 samples"),
        ([{"generation_key": "x"}], "engine's key 'generation_key'"),
        (["text"], "is a str, expected a dict"),
        ([{"big": "x" * 70_000}], "side info, not data"),
    ],
)
def test_side_information_that_breaks_the_contract_stops_the_run(tmp_path, info, needle):
    class Bad(Editor):
        def edit(self, images, instructions, seeds):
            self.last_info = info
            return [i.copy() for i in images]

    task = _edit_task(edit_scenes.generate(n_per_type=1)[:1])
    adapter = Bad()
    with pytest.raises(HarnessError, match="broke the Editor contract: .*" + re.escape(needle)):
        evaluate(task, adapter, _spec(task, adapter, "bad"), RunStore(tmp_path / "s.sqlite"))


class InlineComposer(Editor):
    """Pastes the reference's non-corner pixels into the first image; says so as side information."""

    max_images = 2

    def edit(self, images, instructions, seeds, references=None):
        out, self.last_info = [], []
        for img, text, refs in zip(images, instructions, references):
            shapes = np.any(refs[0] != refs[0][0, 0], -1)
            edited = img.copy()
            edited[shapes] = refs[0][shapes]
            out.append(edited)
            self.last_info.append({"rewrite": f"<b>pasted</b> for: {text}"})
        return out


MINI_TASK = """name: edit/compose-mini
kind: edit
description: Two-reference editing, two samples per type.
source: {loader: edit_compose, args: {seed: 0, n_per_type: 2, size: 64}}
metrics: [success, psnr_edit, psnr_keep]
primary_metric: success
"""
MINI_BOARD = """name: multi
tasks: [edit/compose-mini]
metrics: [success, psnr_edit, psnr_keep]
reference: identity
"""


def test_report_gallery_shows_both_images_and_the_side_information_under_the_output(tmp_path):
    import os
    import shutil

    from harness.api import evaluate as api_evaluate

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if os.environ.get("CI") == "true":
        assert chromium, "CI=true but no chromium on PATH"
    elif not chromium:
        pytest.skip("Debian chromium not installed")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "mini.yaml").write_text(MINI_TASK)
    (tmp_path / "multi.yaml").write_text(MINI_BOARD)
    r, site = tmp_path / "r", tmp_path / "site"
    for model in ("identity", InlineComposer):
        api_evaluate("edit/compose-mini", model, output=r, include=(tmp_path / "tasks",), progress=False)
    run_cli("report", tmp_path / "multi.yaml", "-o", r, "--to", site, "--include", tmp_path / "tasks", check_rc=0)
    gallery = site / "galleries" / "multi" / "edit-compose-mini.html"
    assert "&lt;b&gt;pasted&lt;/b&gt;" in gallery.read_text()  # escaped, never markup
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(gallery.as_uri())
        page.wait_for_load_state("load")
        first = page.locator('.sample[data-id="compose-copy-000"]')
        first.scroll_into_view_if_needed()
        # image 1, image 2, target, mask; then one output per model
        assert first.locator("figure.input .cap").all_inner_texts() == ["image 1", "image 2", "target", "edit mask"]
        assert first.locator("img").count() == 6
        decoded = """async () => {
          const imgs = Array.from(document.images);
          imgs.forEach(i => i.loading = 'eager');
          await Promise.all(imgs.map(i => i.decode().catch(() => null)));
          return imgs.every(i => i.naturalWidth > 0);
        }"""
        assert page.evaluate(decoded)
        note = first.locator(".side-info li")
        assert note.count() == 1 and note.is_visible()  # open under the output, without a click
        assert note.inner_text() == "rewrite: <b>pasted</b> for: " + first.locator(".text").first.inner_text()
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1] and errors == []
        page.screenshot(path=tmp_path / "gallery-compose.png")
        browser.close()


def _write_png(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_a_local_folder_with_references_runs_two_image_editors_and_names_a_bad_reference(tmp_path, plugins):
    data = tmp_path / "data"
    lines = []
    for s in edit_compose.generate(seed=7, n_per_type=1):
        for part, image in (("src", s.source), ("ref", s.references[0]), ("tgt", s.target)):
            _write_png(data / f"{s.id}-{part}.png", image)
        row = {"id": s.id, "source": f"{s.id}-src.png", "references": [f"{s.id}-ref.png"], "target": f"{s.id}-tgt.png"}
        lines.append(json.dumps({**row, "instruction": s.instruction, "edit_type": s.edit_type}))
    (data / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "mine.yaml").write_text(
        "name: edit/mine\nkind: edit\nsource: {loader: edit_folder, args: {path: ../data, size: 64}}\n"
        "metrics: [success, psnr_edit, psnr_keep]\nprimary_metric: success\n"
    )
    common = ("--task", "edit/mine", "--include", tasks, "-o", tmp_path / "r", "--no-progress")
    done = run_cli("eval", *common, "--model", "compose_plugin:Composer", pythonpath=plugins, check_rc=0)
    assert "5 computed" in done.stdout
    (res,) = map(json.loads, map(Path.read_text, (tmp_path / "r").rglob("*Composer*.json")))
    assert res["aggregates"]["edit_type=copy"]["psnr_edit"]["value"] == 100.0  # shapes pasted in place: exact
    one_line_error(
        run_cli("eval", *common, "--model", "compose_plugin:SingleSource", pythonpath=plugins),
        "edit/mine",
        "2 images per sample",
    )
    (data / "metadata.jsonl").write_text(lines[0].replace('-ref.png"]', '-gone.png"]') + "\n")
    one_line_error(run_cli("eval", *common, "--model", "identity"), "metadata.jsonl", "references[0]", "gone.png")
    (data / "metadata.jsonl").write_text(lines[0].replace('["', '"').replace('.png"],', '.png",') + "\n")
    one_line_error(run_cli("eval", *common, "--model", "identity"), "metadata.jsonl", "'references' must be a list")


def test_list_models_says_how_many_images_each_editor_reads():
    rows = {line.split()[0]: line.split() for line in run_cli("list", "models", check_rc=0).stdout.splitlines()[2:]}
    assert rows["identity"][1:3] == ["edit", "any"] and rows["oracle"][2] == "any"
    assert rows["bow"][1] == "retrieval" and rows["bow"][2] != "1"


EMBED_PLUGIN = """
import numpy as np
from harness.adapters import Embedder


class Noting(Embedder):
    def embed(self, items, modalities, seeds, role="document", instruction=None):
        self.last_info = [{"chars": len(it.get("text") or "")} for it in items]
        return np.stack([np.eye(8, dtype=np.float32)[len(it.get("text") or "") % 8] for it in items])
"""


def test_side_information_travels_with_outputs_shared_across_tasks(tmp_path):
    from conftest import FIXTURES

    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "noting.py").write_text(EMBED_PLUGIN)
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    for mode in ("q2i", "i2i"):
        (tasks / f"{mode}.yaml").write_text(
            f"name: shared/{mode}\nkind: retrieval\nsource: {{loader: retrieval_folder, args: {{path: "
            f"'{FIXTURES / 'retrieval_local'}', size: 8}}}}\nmetrics: [ndcg@10]\nprimary_metric: ndcg@10\n"
            f"options: {{mode: {mode}, modalities: [text, image]}}\n"
        )
    for task in ("shared/q2i", "shared/i2i"):
        run_cli(
            "eval",
            "--task",
            task,
            "--include",
            tasks,
            "--model",
            "noting:Noting",
            "-o",
            tmp_path / "r",
            "--no-progress",
            pythonpath=tmp_path / "plugins",
            check_rc=0,
        )
    store = RunStore(tmp_path / "r" / "harness.sqlite")
    (i2i,) = [r for r in store.runs() if r["task"] == "shared/i2i"]
    reused = [r.info for r in store.get_records(i2i["cache_key"], with_output=False).values() if r.info.get("shared")]
    assert reused and all(isinstance(info["chars"], int) for info in reused)


def test_a_store_from_before_shared_side_information_gains_the_column(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    RunStore(path).close()
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TABLE shared_outputs; CREATE TABLE shared_outputs "
        "(share_key TEXT PRIMARY KEY, output BLOB NOT NULL, created REAL NOT NULL);"
        "INSERT INTO shared_outputs VALUES ('old', x'01', 0);"
    )
    conn.commit()
    conn.close()
    store = RunStore(path)
    store.put_shared([("new", b"\x02", {"note": "kept"})])
    assert store.get_shared(["old", "new"]) == {"old": (b"\x01", {}), "new": (b"\x02", {"note": "kept"})}


class Rewriting(Editor):
    """Returns the source (so the scripted judge recognises each edit) and a rewrite as side information."""

    def edit(self, images, instructions, seeds):
        self.last_info = [{"rewrite": f"rewritten: {text}"} for text in instructions]
        return [i.copy() for i in images]


def test_a_judged_run_shows_the_editors_side_information_from_its_generation_records(tmp_path):
    import html

    from editbench_fixtures import ScriptedChat
    from test_judge_gedit import ROWS, gedit_release, judge_args, script, sha256, task_yaml

    from harness.api import evaluate as api_evaluate
    from harness.api import open_store
    from harness.registry import discover_tasks
    from harness.report.site import write_site

    data = gedit_release(tmp_path / "GEdit-Bench", ROWS)
    tasks, out = tmp_path / "tasks", tmp_path / "out"
    task_yaml(
        tasks, "edit/gedit-test", "gedit_bench", {"path": str(data)}, ["viescore_o"], "viescore_o",
        {
            "output_size": "any",
            "judge_protocol": "viescore_tie",
            "judge_templates": {"file": "viescore/vie_prompts.py", "sha256": sha256(data / "viescore/vie_prompts.py")},
        },
    )  # fmt: skip
    with ScriptedChat(script) as server:
        api_evaluate(
            "edit/gedit-test", Rewriting, include=(tasks,), output=out, progress=False, judge="openai-chat",
            judge_args=judge_args(server.url),
        )  # fmt: skip
    store = open_store(out)
    (run,) = [r for r in store.runs() if r["task"] == "edit/gedit-test"]
    info = store.run_info(run)
    assert info and all(v["rewrite"].startswith("rewritten: ") for v in info.values())
    assert not any({"generation_key", "judge_calls"} & set(v) for v in info.values())  # bookkeeping left out
    shown = run_cli("show", run["run_id"], "--info", "-o", out, check_rc=0).stdout
    assert "rewritten: " in shown and "generation_key" not in shown
    (tmp_path / "gedit.yaml").write_text("name: gedit\ntasks: [edit/gedit-test]\nmetrics: [viescore_o]\n")
    write_site([str(tmp_path / "gedit.yaml")], store, discover_tasks((tasks,)), tmp_path / "site")
    page = html.unescape((tmp_path / "site" / "galleries" / "gedit" / "edit-gedit-test.html").read_text())
    assert page.count("rewritten: ") == len(info) and "judge reply · sc" in page
