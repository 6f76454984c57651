"""CI gates this project's own reference models: every committed baseline in baselines/regress/ must still hold
(fast subsets, fresh evaluation each time: the gate's own pytest plugin does the work).

The HoneyBee proxy's checkpoints are not committed (one per recipe and seed): its gate first rebuilds the base
recipe's proxy from the committed pretrained base, deterministically (build + fine-tune, one thread), into a
temporary cache, then gates that checkpoint."""

from pathlib import Path

import pytest

from harness.regress import read_baseline

BASELINES = sorted((Path(__file__).resolve().parents[1] / "baselines" / "regress").glob("*.json"))


def test_there_are_reference_baselines():
    assert BASELINES


def _honeybee_args(model_args: str, cache: Path) -> str:
    """Rebuild the baseline's recipe (recipe=NAME in its model_args) into ``cache``; model_args pointing there."""
    from harness_baselines.honeybee.build import build
    from harness_baselines.honeybee.recipe import load_recipe
    from harness_baselines.honeybee.train import train

    args = dict(kv.split("=", 1) for kv in model_args.split(",") if kv)
    recipe = load_recipe(args["recipe"])
    build(recipe, cache)
    train(recipe, cache, log=None, train_seed=int(args.get("train_seed", 0)))
    return ",".join(f"{k}={v}" for k, v in {**args, "cache_dir": str(cache)}.items())


@pytest.mark.parametrize("baseline", BASELINES, ids=[p.stem for p in BASELINES])
def test_no_regression(harness_regress, baseline, tmp_path):
    doc = read_baseline(baseline)
    if doc["model"] == "honeybee-proxy":
        harness_regress(baseline, model_args=_honeybee_args(doc.get("model_args", ""), tmp_path / "honeybee"))
    else:
        harness_regress(baseline)
