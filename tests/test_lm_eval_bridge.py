"""The lm-eval bridge: harness Reasoners as lm-eval models, the text suite as an lm-eval task, results recorded in
our store. lm-eval runs in a subprocess with the hub switched off (HF_DATASETS_OFFLINE / HF_HUB_OFFLINE)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from harness import registry
from harness.adapters import adapter_class
from harness.leaderboard import Leaderboard, build
from harness.runner import evaluate
from harness.spec import RunSpec
from harness.store import RunStore

pytest.importorskip("lm_eval")
from harness import lm_eval_bridge as bridge  # noqa: E402

SCRIPT = textwrap.dedent("""
    import json, sys
    import lm_eval
    from lm_eval.tasks import TaskManager
    from harness import lm_eval_bridge as bridge
    from harness.store import RunStore

    store_path, include, model_args, limit, gen_kwargs = sys.argv[1:6]
    limit = int(limit) if limit != "none" else None
    results = lm_eval.simple_evaluate(model="harness", model_args=model_args, tasks=["harness_reasoning_text"],
                                      task_manager=TaskManager(include_path=include), log_samples=True,
                                      limit=limit, gen_kwargs=gen_kwargs or None)
    lm = bridge.HarnessLM.create_from_arg_string(model_args)
    spec = bridge.record_lm_eval_results(results, RunStore(store_path), lm, limit=limit)
    print(json.dumps({"run_id": spec.run_id(), "results": results["results"]["harness_reasoning_text"]}))
""")


def _run_lm_eval(tmp_path, model_args, limit=None, gen_kwargs=""):
    include = bridge.lm_eval_include_dir()  # the repo folder itself: lm-eval reads our task YAML in place
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(tmp_path / "harness.sqlite"),
            str(include),
            model_args,
            "none" if limit is None else str(limit),
            gen_kwargs,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_reasoner_through_lm_eval_scores_like_harness_eval_and_lands_on_the_leaderboard(tmp_path):
    # random-choice is seeded per sample: equal scores prove the bridge derives the same seeds as harness eval.
    out = _run_lm_eval(tmp_path, "model=random-choice,seed=0")
    store = RunStore(tmp_path / "harness.sqlite")
    entry = registry.resolve("reasoning/text", registry.discover_tasks())[0]
    task = registry.build_task(entry)
    adapter = adapter_class("random-choice")()
    spec = RunSpec(
        task=task.name,
        task_hash=task.content_hash(),
        model="random-choice",
        model_fingerprint=adapter.fingerprint(),
        seed=0,
    )
    native = evaluate(task, adapter, spec, store)
    bridged = store.find_run(out["run_id"])[0]
    assert bridged["status"] == "finished" and bridged["n_samples"] == len(task.samples) == 1000
    assert bridged["model_args"] == "via=lm-eval"
    assert store.run_scores(bridged) == store.run_scores(store.find_run(spec.run_id())[0])
    agg = {a["metric"]: a for a in store.aggregates(bridged["run_id"]) if a["subset"] == ""}
    assert agg["accuracy"]["value"] == pytest.approx(native.aggregates[""]["accuracy"].mean)
    assert agg["accuracy"]["value"] == pytest.approx(out["results"]["accuracy,none"])
    assert agg["accuracy"]["ci_low"] < agg["accuracy"]["value"] < agg["accuracy"]["ci_high"]
    assert json.loads(bridged["provenance"])["lm_eval"]["task"] == "harness_reasoning_text"
    board = build(Leaderboard(name="t", tasks=["reasoning/text"]), store, registry.discover_tasks())
    assert {r.label for r in board.rows} == {"random-choice", "random-choice [via=lm-eval]"} and not board.notes


@pytest.mark.slow
def test_tiny_hf_lm_through_lm_eval(tmp_path):
    from harness_baselines.hf import tiny

    ckpt = tiny.build_causal_lm(tmp_path / "tiny-llama")
    out = _run_lm_eval(tmp_path, f"model=hf-lm,pretrained={ckpt}", limit=3, gen_kwargs="max_gen_toks=6")
    run = RunStore(tmp_path / "harness.sqlite").find_run(out["run_id"])[0]
    assert run["n_samples"] == 3 and run["sample_limit"] == 3 and f"pretrained={ckpt}" in run["model_args"]
    assert out["results"]["extraction_failed,none"] == 100.0  # a random model never writes \\boxed{}


def test_loglikelihood_requests_fail_with_a_clear_message():
    lm = bridge.HarnessLM(model="constant")
    with pytest.raises(NotImplementedError, match="generate_until"):
        lm.loglikelihood([])
    with pytest.raises(NotImplementedError, match="only generates text"):
        lm.loglikelihood_rolling([])


def test_generate_until_cuts_at_stop_strings_and_refuses_non_reasoners():
    class Req:
        def __init__(self, ctx, kwargs, doc):
            self.args, self.doc = (ctx, kwargs), doc

    lm = bridge.HarnessLM(model="constant")
    reqs = [Req("q1", {"until": ["{"], "max_gen_toks": 8}, {"id": "a"}), Req("q2", {"until": []}, {"id": "b"})]
    assert lm.generate_until(reqs) == ["\\boxed", "\\boxed{A}"]
    with pytest.raises(Exception, match="not a Reasoner"):
        bridge.HarnessLM(model="identity")


def test_lm_eval_task_files_are_invisible_to_the_harness_registry():
    assert not any("lm_eval" in str(e.file) for e in registry.discover_tasks().values())


def test_registering_the_bridge_keeps_lm_evals_own_models():
    from lm_eval.api.registry import model_registry

    assert {"harness", "hf"} <= set(model_registry.keys())
