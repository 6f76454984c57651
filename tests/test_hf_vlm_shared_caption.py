"""Shared-caption vs plain k-sample decoding on a tiny random LLaVA: the comparison runs end to end and its token
accounting is consistent (the caption is paid once per question, solutions k times)."""

import pytest

pytest.importorskip("transformers")
from harness_baselines.hf import tiny  # noqa: E402
from harness_baselines.hf.compare_shared_caption import compare  # noqa: E402


def test_shared_caption_comparison_reports_accuracy_and_token_counts(tmp_path):
    ckpt = tiny.build_llava(tmp_path / "tiny-llava")
    report = compare(str(ckpt), limit=3, k=2, max_new_tokens=5, caption_max_new_tokens=4, batch_size=2)
    plain, shared = report["plain"], report["shared_caption"]
    for r in (plain, shared):
        assert r["n"] == 3 and r["k"] == 2
        assert {"accuracy", "maj@n", "pass@n", "extraction_failed"} <= set(r)
    assert plain["caption_tokens_per_question"] == 0
    assert 1 <= shared["caption_tokens_per_question"] <= 4
    # a random model never stops early: k full-length solutions, plus the caption in shared mode
    assert plain["generated_tokens_per_question"] == 2 * 5
    assert shared["generated_tokens_per_question"] == pytest.approx(10 + shared["caption_tokens_per_question"])
