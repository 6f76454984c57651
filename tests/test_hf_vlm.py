"""hf-vlm / hf-lm on tiny random-init checkpoints of real transformers classes (LLaVA, Llama), built locally,
saved with save_pretrained and loaded back through the adapters."""

import json
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from harness.errors import HarnessError

pytest.importorskip("transformers")
from harness_baselines.hf import tiny  # noqa: E402
from harness_baselines.hf.lm import HFLM  # noqa: E402
from harness_baselines.hf.vlm import HFVLM  # noqa: E402

SAMPLING = dict(do_sample=True, temperature=0.8, top_p=0.9)


@pytest.fixture(scope="module")
def llava_dir(tmp_path_factory):
    return tiny.build_llava(tmp_path_factory.mktemp("ckpt") / "tiny-llava")


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    return tiny.build_causal_lm(tmp_path_factory.mktemp("ckpt") / "tiny-llama")


def _prompts(k=4):
    """Prompts of different lengths and image sizes, so a batch really needs padding."""
    rng = np.random.default_rng(0)
    return [
        {
            "text": "How many circles are in the image? " * (i + 1),
            "images": [rng.integers(0, 256, (24 + 12 * i, 40, 3), dtype=np.uint8)],
        }
        for i in range(k)
    ]


def _one_by_one(adapter, prompts, seeds, n, max_new_tokens=10):
    return [adapter.generate([p], [s], n=n, max_new_tokens=max_new_tokens)[0] for p, s in zip(prompts, seeds)]


def test_greedy_outputs_do_not_depend_on_batch_size(llava_dir):
    adapter = HFVLM(pretrained=str(llava_dir))
    prompts, seeds = _prompts(), [11, 12, 13, 14]
    batched = adapter.generate(prompts, seeds, n=1, max_new_tokens=10)
    assert batched == _one_by_one(adapter, prompts, seeds, 1)
    assert adapter.generate(prompts[:2], seeds[:2], max_new_tokens=10) == batched[:2]
    assert all(len(c) == 1 and isinstance(c[0], str) and c[0] for c in batched)


def test_sampled_completions_depend_only_on_the_sample_seed(llava_dir):
    adapter = HFVLM(pretrained=str(llava_dir), **SAMPLING)
    prompts, seeds = _prompts(), [11, 12, 13, 14]
    batched = adapter.generate(prompts, seeds, n=2, max_new_tokens=10)
    assert batched == _one_by_one(adapter, prompts, seeds, 2)
    assert any(a != b for a, b in batched)  # the n completions are different draws
    assert adapter.generate(prompts[:1], [99], n=2, max_new_tokens=10) != batched[:1]


def test_fingerprint_records_decoding_settings_chat_template_and_weights(llava_dir, tmp_path):
    base = HFVLM(pretrained=str(llava_dir)).fingerprint()
    assert HFVLM(pretrained=str(llava_dir)).fingerprint() == base
    for args in (
        {"do_sample": "true"},
        {"temperature": "0.7"},
        {"top_p": "0.5"},
        {"max_new_tokens": "7"},
        {"shared_caption": "true"},
        {"caption_end": "</caption>"},
    ):
        assert HFVLM(pretrained=str(llava_dir), **args).fingerprint() != base, args
    template = tmp_path / "t.jinja"
    template.write_text(tiny.CHAT_TEMPLATE.replace("<|end|>", "<|end|>\n"))
    assert HFVLM(pretrained=str(llava_dir), chat_template=str(template)).fingerprint() != base
    other = tiny.build_llava(tmp_path / "other", seed=1)  # same config, other weights
    assert HFVLM(pretrained=str(other)).fingerprint() != base


def test_bad_model_args_name_the_field():
    with pytest.raises(HarnessError, match="temperature"):
        HFVLM(pretrained="x", temperature="hot")
    with pytest.raises(HarnessError, match="beams"):
        HFVLM(pretrained="x", beams="2")


def test_shared_caption_from_the_first_answer_starts_the_other_completions_with_its_caption(llava_dir):
    prompts, seeds = _prompts(2), [5, 6]
    plain = HFVLM(pretrained=str(llava_dir), **SAMPLING)
    independent = plain.generate(prompts, seeds, n=3, max_new_tokens=8)
    # a random model has no caption marker of its own: take a piece of its first answer as the marker
    marker = independent[0][0][2:4]
    shared = HFVLM(pretrained=str(llava_dir), shared_caption=True, caption_end=marker, **SAMPLING)
    out = shared.generate(prompts, seeds, n=3, max_new_tokens=8)
    assert [c[0] for c in out] == [c[0] for c in independent]  # completion 0 is the independent one, in full
    caption = out[0][0][: out[0][0].index(marker) + len(marker)]
    info = shared.last_info[0]
    assert info["caption"] == caption and all(c.startswith(caption) for c in out[0][1:])
    assert out[0][1:] != independent[0][1:]  # the others continue the caption instead of starting afresh
    assert 1 <= info["caption_tokens"] <= 8 and len(info["solution_tokens"]) == 3
    assert info["generated_tokens"] == info["caption_tokens"] + sum(info["solution_tokens"])
    for c, i in zip(out[1:], shared.last_info[1:]):  # no marker in the first answer: the others are independent
        if marker not in c[0]:
            assert i["caption"] == "" and i["caption_tokens"] == 0
    # per-sample seeds: the same completions whatever the batch
    assert shared.generate(prompts[:1], seeds[:1], n=3, max_new_tokens=8) == out[:1]


def test_prompted_shared_caption_decodes_one_caption_and_counts_its_tokens(llava_dir):
    plain = HFVLM(pretrained=str(llava_dir), **SAMPLING)
    prompted = dict(shared_caption=True, caption_source="prompted", caption_max_new_tokens=6)
    shared = HFVLM(pretrained=str(llava_dir), **prompted, **SAMPLING)
    prompts, seeds = _prompts(2), [5, 6]
    out = shared.generate(prompts, seeds, n=3, max_new_tokens=8)
    assert [len(c) for c in out] == [3, 3]
    for info in shared.last_info:
        assert info["caption"] and 1 <= info["caption_tokens"] <= 6 and len(info["solution_tokens"]) == 3
        assert info["generated_tokens"] == info["caption_tokens"] + sum(info["solution_tokens"])
    plain.generate(prompts, seeds, n=3, max_new_tokens=8)
    assert all(i["caption_tokens"] == 0 and i["generated_tokens"] == sum(i["solution_tokens"]) for i in plain.last_info)
    # the caption is greedy: the same for a sample whatever its batch
    alone = HFVLM(pretrained=str(llava_dir), **prompted, **SAMPLING)
    alone.generate(prompts[1:], seeds[1:], n=3, max_new_tokens=8)
    assert alone.last_info[0]["caption"] == shared.last_info[1]["caption"]


def test_hf_lm_is_batch_invariant_and_refuses_images(lm_dir):
    adapter = HFLM(pretrained=str(lm_dir))
    prompts = [{"text": p["text"], "images": []} for p in _prompts()]
    seeds = [1, 2, 3, 4]
    assert adapter.generate(prompts, seeds, max_new_tokens=10) == _one_by_one(adapter, prompts, seeds, 1)
    sampler = HFLM(pretrained=str(lm_dir), **SAMPLING)
    assert sampler.generate(prompts, seeds, n=2, max_new_tokens=10) == _one_by_one(sampler, prompts, seeds, 2)
    with pytest.raises(ValueError, match="text-only"):
        adapter.generate(_prompts(1), [0], max_new_tokens=4)


def test_harness_list_models_does_not_import_torch():
    code = (
        "import sys; from harness.adapters import registered_adapters; r = registered_adapters();"
        "assert {'hf-vlm', 'hf-lm'} <= set(r); assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_cli_eval_embedded_reasoning_with_hf_vlm(llava_dir, tmp_path, cli):
    args = f"max_new_tokens=6,pretrained={llava_dir}"  # sorted, as the run spec stores them
    proc = cli(
        "eval",
        "--task",
        "reasoning/embedded",
        "--limit",
        "4",
        "--model",
        "hf-vlm",
        "--model_args",
        args,
        "--batch_size",
        "3",
        "--output",
        tmp_path,
        "--no-progress",
        check_rc=0,
    )
    assert "accuracy" in proc.stdout
    run = (
        sqlite3.connect(tmp_path / "harness.sqlite")
        .execute("SELECT model_args, fingerprint, n_samples, n_failed FROM runs")
        .fetchone()
    )
    assert run[0] == args and run[2] == 4 and run[3] == 0
    # re-running with another batch size is a cache hit (batch size is not part of the spec)
    again = cli(
        "eval",
        "--task",
        "reasoning/embedded",
        "--limit",
        "4",
        "--model",
        "hf-vlm",
        "--model_args",
        args,
        "--batch_size",
        "1",
        "--output",
        tmp_path,
        "--no-progress",
        check_rc=0,
    )
    assert "0 computed" in again.stdout
    spec = json.loads(sqlite3.connect(tmp_path / "harness.sqlite").execute("SELECT spec FROM runs").fetchone()[0])
    assert spec["model_fingerprint"] == run[1]
