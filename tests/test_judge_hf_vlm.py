"""The hf-vlm judge: a tiny random LLaVA (real transformers classes, saved and loaded like a checkpoint) judging
GEdit-style edits. Its replies are gibberish, so every sample must end as a counted parse failure — with the
calls stored (raw text, the model named) and the protocol's retry round asked — never as a score."""

from __future__ import annotations

import pytest
from editbench_fixtures import gedit_release, sha256, task_yaml

from harness.api import evaluate, open_store


@pytest.mark.slow
def test_tiny_vlm_judge_stores_calls_and_counts_parse_failures(tmp_path):
    from harness_baselines.hf.tiny import build_llava

    vlm = build_llava(tmp_path / "llava")
    data = gedit_release(
        tmp_path / "GEdit-Bench",
        [("color_alter", "k1", "make it red", "en", True), ("style_change", "k2", "make it a sketch", "en", False)],
    )
    task_yaml(
        tmp_path / "tasks",
        "edit/gedit-vlm",
        "gedit_bench",
        {"path": str(data)},
        ["viescore_o", "viescore_o_macro"],
        "viescore_o_macro",
        {
            "output_size": "any",
            "judge_protocol": "viescore_tie_qwen",
            "macro_over": "edit_type",
            "judge_templates": {"file": "viescore/vie_prompts.py", "sha256": sha256(data / "viescore/vie_prompts.py")},
        },
    )
    [res] = evaluate(
        "edit/gedit-vlm",
        "identity",
        include=(tmp_path / "tasks",),
        output=tmp_path / "out",
        progress=False,
        judge="hf-vlm",
        judge_args={"pretrained": str(vlm), "max_new_tokens": 8},
    )
    assert res.aggregates[""]["viescore_o"].n == 0
    assert {e.split(":")[0] for e in res.failures.values()} == {"judge parse"}
    store = open_store(tmp_path / "out")
    rec = store.get_records(store.find_run(res.spec.run_id())[0]["cache_key"], ["en/k1"])["en/k1"]
    assert set(rec.info["judge_calls"]) == {"sc", "pq", "sc#1", "pq#1"}  # the protocol's own retry round
    calls = store.judge_calls(list(rec.info["judge_calls"].values()))
    assert {c["model"] for c in calls.values()} == {str(vlm)}
    assert all(c["status"] != "transport" for c in calls.values())
    # re-judging reads every reply from the store: nothing is generated or asked again
    [again] = evaluate(
        "edit/gedit-vlm",
        "identity",
        include=(tmp_path / "tasks",),
        output=tmp_path / "out",
        progress=False,
        judge="hf-vlm",
        judge_args={"pretrained": str(vlm), "max_new_tokens": 8},
    )
    assert again.computed == 0 and again.failures == res.failures
