"""Decontamination in `harness recipe build`: a recipe that deliberately includes evaluation images and questions
(the clock source shares most of its pictures with the eval suites' clocks, pixel for pixel; the text-only source
repeats eval questions word for word) has them dropped or flagged, counted in the manifest; the Hamming threshold
is an option; bad settings are one line; leaderboards flag rows trained without decontamination."""

import json

import numpy as np
import pytest

from conftest import one_line_error, run_cli
from harness import registry
from harness_baselines.honeybee.dataset import iter_rows, load_image
from harness_baselines.honeybee.decontaminate import ngrams, phash64

RECIPE = """name: leaky
seed: 3
sources: [{name: clock, size: 12}, {name: text_only, size: 12}]
"""


def _build(tmp_path, extra=""):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "leaky.yaml"
    path.write_text(RECIPE + extra)
    cache = tmp_path / "cache"
    run_cli("recipe", "build", path, "--cache-dir", cache, "--output", tmp_path / "res", check_rc=0)
    pointer = json.loads((cache / "datasets" / "leaky.json").read_text())
    folder = cache / "datasets" / pointer["path"]
    return folder, json.loads((folder / "manifest.json").read_text()), list(iter_rows(folder))


@pytest.fixture(scope="module")
def eval_samples():
    found = registry.discover_tasks()
    return {
        f"{name}:{s.id}": s
        for name in ("reasoning/embedded", "reasoning/text")
        for s in registry.build_task(found[name]).samples
    }


def test_flag_mode_marks_the_rows_that_are_eval_samples(tmp_path, eval_samples):
    folder, manifest, rows = _build(tmp_path, "decontamination: {action: flag}\n")
    d = manifest["decontamination"]
    flagged = [r for r in rows if "contaminated" in r]
    assert d["enabled"] and d["action"] == "flag" and d["eval_images"] == d["eval_texts"] == 1100
    assert d["flagged"] == d["image_matches"] + d["text_matches"] == len(flagged) and len(rows) == 24
    assert d["image_matches"] >= 6 and d["text_matches"] >= 1  # deliberately leaky: most clocks are eval clocks
    for row in flagged:
        hit = row["contaminated"]
        if hit["kind"] == "image":
            sample = eval_samples.get(hit["eval_id"])
            if sample is not None:  # (a -quick suite's id otherwise; same pictures)
                assert np.array_equal(load_image(folder, row["image"]), sample.images[0])
        else:
            assert hit["score"] >= 0.8


def test_drop_mode_leaves_no_training_row_that_matches_an_eval_sample(tmp_path, eval_samples):
    folder, manifest, rows = _build(tmp_path)
    d, stages = manifest["decontamination"], manifest["stages"]
    assert d["action"] == "drop" and d["dropped"] == stages["2_dropped_contaminated"] == 24 - len(rows)
    eval_hashes = np.array([phash64(s.images[0]) for s in eval_samples.values() if s.images], dtype=np.uint64)
    eval_texts = [ngrams(s.question, 8) for s in eval_samples.values() if not s.images]
    for row in rows:
        if row["image"]:
            h = np.uint64(phash64(load_image(folder, row["image"])))
            assert np.bitwise_count(np.bitwise_xor(eval_hashes, h)).min() > 4
        else:
            grams = ngrams(row["question"], 8)
            assert max(len(grams & e) for e in eval_texts) / len(grams) < 0.8


def test_hamming_threshold_is_an_option_and_off_is_recorded(tmp_path):
    _, strict, _ = _build(tmp_path / "a", "decontamination: {action: flag, phash_distance: 0}\n")
    _, loose, _ = _build(tmp_path / "b", "decontamination: {action: flag, phash_distance: 12}\n")
    assert loose["decontamination"]["image_matches"] >= strict["decontamination"]["image_matches"]
    _, off, rows = _build(tmp_path / "c", "decontamination: {enabled: false}\n")
    assert off["decontamination"] == {"enabled": False} and len(rows) == 24


def test_bad_decontamination_settings_are_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(RECIPE + "decontamination: {phash_distance: 65}\n")
    one_line_error(run_cli("recipe", "build", path, "--cache-dir", tmp_path / "c"), "phash_distance", str(path))


PLUGIN = """
from pydantic import BaseModel, ConfigDict
from harness.adapters import Editor

class Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clean: bool = True

class Trained(Editor):
    Args = Args
    def describe(self):
        return {"decontaminated": self.args.clean}
    def edit(self, images, instructions, seeds):
        return [i.copy() for i in images]
"""


def test_leaderboard_flags_rows_trained_without_decontamination(tmp_path):
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "trained.py").write_text(PLUGIN)
    for args in ("clean=true", "clean=false"):
        run_cli(
            "eval",
            "--task",
            "edit/scenes",
            "--model",
            "trained:Trained",
            "--model_args",
            args,
            "-o",
            tmp_path / "r",
            "--no-progress",
            pythonpath=tmp_path / "plugins",
            check_rc=0,
        )
    (tmp_path / "b.yaml").write_text("name: b\ntasks: [edit/scenes]\n")
    run_cli("leaderboard", tmp_path / "b.yaml", "-o", tmp_path / "r", "--to", tmp_path / "b.md", check_rc=0)
    text = (tmp_path / "b.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| trained")}
    # clean=true is the Args default, and row labels leave default args out
    assert set(rows) == {"trained:Trained [clean=false] †", "trained:Trained"}
    assert "no decontamination): trained:Trained [clean=false]" in text
    run_cli(
        "leaderboard",
        tmp_path / "b.yaml",
        "-o",
        tmp_path / "r",
        "--format",
        "json",
        "--to",
        tmp_path / "b.json",
        check_rc=0,
    )
    flags = {r["label"]: r["flags"] for r in json.loads((tmp_path / "b.json").read_text())["rows"]}
    assert flags == {"trained:Trained [clean=false]": ["not decontaminated"], "trained:Trained": []}
