"""Shared-caption vs plain k-sample decoding on a tiny random LLaVA: the comparison runs end to end and its token
accounting is consistent (the caption is paid once per question, solutions k times)."""

import pytest

pytest.importorskip("transformers")
from harness_baselines.hf import tiny  # noqa: E402
from harness_baselines.hf.compare_shared_caption import compare  # noqa: E402


def test_shared_caption_comparison_reports_accuracy_and_token_counts(tmp_path):
    ckpt = tiny.build_llava(tmp_path / "tiny-llava")
    report = compare(str(ckpt), limit=3, k=2, max_new_tokens=5, caption_max_new_tokens=4, batch_size=2)
    plain, shared, prompted = report["plain"], report["shared_caption"], report["prompted_caption"]
    for r in (plain, shared, prompted):
        assert r["n"] == 3 and r["k"] == 2
        assert {"accuracy", "maj@n", "pass@n", "mean@n", "extraction_failed"} <= set(r)
    assert plain["caption_tokens_per_question"] == 0
    assert 1 <= prompted["caption_tokens_per_question"] <= 4
    # a random model never stops early: k full-length solutions, plus the separately asked caption when prompted
    assert plain["generated_tokens_per_question"] == 2 * 5
    assert prompted["generated_tokens_per_question"] == pytest.approx(10 + prompted["caption_tokens_per_question"])
    # ... and never writes the end-of-caption marker: the first answer's caption is empty, nothing is shared
    assert shared["caption_tokens_per_question"] == 0 and shared["generated_tokens_per_question"] == 10
    assert shared["accuracy"] == plain["accuracy"]  # completion 0 is the same in both
