"""Training seeds as an axis: runs of a real adapter that differ only in its marked training-seed argument pool
into one leaderboard row (mean over seeds, two-level CI, seed spread) and one `harness compare` side, with marks
from the two-level test; the two-level test holds its false-alarm rate where a one-level test does not."""

import base64
import json
import re
import sqlite3

import numpy as np
import pytest

from conftest import run_cli
from harness.metrics.stats import sign_flip_p, two_level_ci, two_level_paired_test

# An editor whose output depends on the seed it was "trained" with: noise of amplitude amp * (1 + 0.5 u) where u is
# drawn from the training seed, plus per-sample noise from the run's sample seeds.
PLUGIN = """
import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from harness.adapters import TRAINING_SEED, Editor

class Args(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amp: float = 1.0  # not a value the runs use: model args at their default are left out of row labels
    train_seed: int = Field(0, json_schema_extra=TRAINING_SEED)

class SeededNoise(Editor):
    Args = Args
    def edit(self, images, instructions, seeds):
        scale = self.args.amp * (1 + 0.5 * np.random.default_rng(self.args.train_seed).uniform())
        out = []
        for image, s in zip(images, seeds):
            noise = np.random.default_rng(s).normal(0, scale, image.shape)
            out.append(np.clip(image.astype(float) + noise, 0, 255).astype(np.uint8))
        return out
"""

BOARD = """name: seeds-board
tasks: [edit/scenes]
metrics: [psnr_keep]
reference: seeded:SeededNoise [amp=10]
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("seeds")
    (d / "plugins").mkdir()
    (d / "plugins" / "seeded.py").write_text(PLUGIN)
    for amp, seeds in ((10, (0, 1, 2)), (14, (0, 1, 2)), (10.5, (0,))):
        for s in seeds:
            args = f"amp={amp}" + (f",train_seed={s}" if s else "")  # seed 0 at its default: absent from the args
            run_cli(
                "eval",
                "--task",
                "edit/scenes",
                "--model",
                "seeded:SeededNoise",
                "--model_args",
                args,
                "-o",
                d / "r",
                "--no-progress",
                pythonpath=d / "plugins",
                check_rc=0,
            )
    (d / "board.yaml").write_text(BOARD)
    return d


def test_a_run_records_its_training_seed_in_provenance(store):
    rows = sqlite3.connect(store / "r" / "harness.sqlite").execute("SELECT model_args, provenance FROM runs")
    seeds = {args: json.loads(p)["training_seed"] for args, p in rows}
    assert seeds["amp=10,train_seed=2"] == {"arg": "train_seed", "value": 2}
    assert seeds["amp=10"] == {"arg": "train_seed", "value": 0}


def test_leaderboard_pools_seeds_into_one_row_with_spread_and_two_level_marks(store):
    run_cli(
        "leaderboard", store / "board.yaml", "-o", store / "r", "--format", "json", "--to", store / "b.json", check_rc=0
    )
    rows = {r["label"]: r for r in json.loads((store / "b.json").read_text())["rows"]}
    assert set(rows) == {"seeded:SeededNoise [amp=10]", "seeded:SeededNoise [amp=14]", "seeded:SeededNoise [amp=10.5]"}
    ref, worse, single = (rows[f"seeded:SeededNoise [amp={a}]"]["cells"][0] for a in ("10", "14", "10.5"))
    assert ref["seeds"]["values"] == [0, 1, 2] and len(set(ref["seeds"]["means"])) == 3  # the seed changes scores
    assert ref["seeds"]["sd"] > 0 and ref["n"] == 150
    assert ref["value"] == pytest.approx(np.mean(ref["seeds"]["means"]))
    assert ref["ci_low"] < ref["value"] < ref["ci_high"]
    assert worse["mark"] == "▼" and worse["p"] < 0.05  # 40 % more noise on every seed: PSNR clearly lower
    assert "seeds" not in single  # one run: an ordinary cell
    md = run_cli("leaderboard", store / "board.yaml", "-o", store / "r", "--to", store / "b.md", check_rc=0)
    assert md.returncode == 0
    text = (store / "b.md").read_text()
    assert "3 seeds sd=" in text and "two-level" in text
    # every row of the model has arguments: named by them alone in the tables and plots, the model once in the legend
    assert "| amp=10 " in text and "`ARGS`, is `seeded:SeededNoise [ARGS]`" in text
    html = store / "b.html"
    run_cli("leaderboard", store / "board.yaml", "-o", store / "r", "--format", "html", "--to", html, check_rc=0)
    svgs = [base64.b64decode(s).decode() for s in re.findall(r"data:image/svg\+xml;base64,([^\"]+)", html.read_text())]
    assert svgs and all(">amp=10<" in s and "SeededNoise" not in s for s in svgs)


def test_compare_two_seed_groups_uses_the_two_level_test(store):
    out = run_cli(
        "compare",
        "seeded:SeededNoise [amp=10]",
        "seeded:SeededNoise [amp=14]",
        "--task",
        "edit/scenes",
        "-o",
        store / "r",
        check_rc=0,
    ).stdout
    assert "3 seed(s): 0,1,2" in out and "two-level" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("psnr_keep"))
    diff, p = float(line.split()[5]), float(line.split()[-2])
    assert diff < 0 and p < 0.05
    out = run_cli(
        "compare",
        "seeded:SeededNoise [amp=10]@edit/scenes",
        "seeded:SeededNoise [amp=10.5]@edit/scenes",
        "-o",
        store / "r",
        check_rc=0,
    ).stdout
    assert "(3 seed(s): 0,1,2)" in out and "(1 seed(s): 0)" in out


def _simulate(rng, seeds, q, tau, effect=0.0):
    u = rng.normal(0, tau, seeds)[:, None]
    return (rng.random((seeds, q.size)) < 1 / (1 + np.exp(-(q[None, :] + u + effect)))).astype(float)


def test_two_level_test_keeps_its_false_alarm_rate_under_seed_noise():
    # Two systems with the same distribution whose training seeds shift accuracy (tau = 0.3 on the logit scale):
    # a test on seed-averaged per-question differences alone sees the seed draw as a real effect.
    rng = np.random.default_rng(0)
    two_level = one_level = 0
    for r in range(100):
        q = rng.normal(0, 1.5, 200)
        a, b = _simulate(rng, 3, q, 0.3), _simulate(rng, 3, q, 0.3)
        two_level += two_level_paired_test(a, b, r, n_boot=500).p_value < 0.05
        one_level += sign_flip_p(b.mean(0) - a.mean(0), r, n_perm=500) < 0.05
    assert two_level / 100 <= 0.13  # 8.5 % with 200 simulations (3 seeds understate the seed level a little)
    assert one_level / 100 >= 0.25  # 39 % with 200 simulations


def test_two_level_test_detects_a_real_recipe_effect():
    rng = np.random.default_rng(1)
    q = rng.normal(0, 1.5, 1000)
    a, b = _simulate(rng, 3, q, 0.1), _simulate(rng, 3, q, 0.1, effect=0.6)
    test = two_level_paired_test(a, b, 0)
    assert test.diff > 0.05 and test.p_value < 0.01 and test.ci_low > 0


def test_two_level_ci_includes_the_seed_spread():
    rng = np.random.default_rng(2)
    q = rng.normal(0, 1.5, 300)
    noisy = _simulate(rng, 5, q, 1.0)
    pooled = two_level_ci(noisy, 0)
    one_level = two_level_ci(noisy.mean(axis=0, keepdims=True), 0)  # the seed-averaged scores as one "seed"
    assert pooled.n_seeds == 5 and pooled.seed_sd > 0.05
    assert pooled.ci_high - pooled.ci_low > 1.5 * (one_level.ci_high - one_level.ci_low)
    flat = two_level_ci(np.ones((3, 10)), 0)
    assert (flat.mean, flat.ci_low, flat.ci_high, flat.seed_sd) == (1.0, 1.0, 1.0, 0.0)
