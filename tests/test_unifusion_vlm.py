"""UniFusion's frozen VLM: the shipped checkpoint's held-out grounding, several reference images per sample, the
VERIFI rewrite (states of the generated tokens, attending to the image), loading by hub id from an offline local
cache, and deterministic resumable training."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from harness.data import edit_scenes
from harness_baselines.unifusion import tiny_vlm, train_vlm, vlm_data, vlm_report
from harness_baselines.unifusion.adapter import CHECKPOINTS
from harness_baselines.unifusion.encoder import VLMEncoder


def random_vlm(image_size=16, hidden_size=16, num_layers=3):
    """A random-init tiny LLaVA + processor from configs (4 image tokens per 16x16 image at patch 8)."""
    from transformers import LlavaForConditionalGeneration

    torch.manual_seed(0)
    processor = tiny_vlm.build_processor(image_size=image_size, patch_size=8)
    config = tiny_vlm.build_config(
        len(processor.tokenizer), image_size=image_size, hidden_size=hidden_size, num_layers=num_layers
    )
    return LlavaForConditionalGeneration(config), processor


def scene_images(n, size=16):
    return [edit_scenes.render(s, size) for s in tiny_vlm.random_scenes(5, n, size)]


def test_shipped_vlm_held_out_probe_accuracy_matches_its_training_report():
    """Exact-answer accuracy of the shipped checkpoint on held-out scenes (seed 1001, never trained on): the first
    64 scenes agree with the 512-scene report in training.json (the 0.9 target is missed: see the README)."""
    encoder = VLMEncoder.from_pretrained(str(CHECKPOINTS / "vlm"))
    assert encoder.num_hidden_states == 10 and encoder.hidden_size == 128
    report = vlm_report.heldout_report(encoder.model, encoder.processor, n_scenes=64, n_edits_per_type=1)
    shipped = json.loads((CHECKPOINTS / "vlm" / "training.json").read_text())["heldout"]
    for k in (f"probe_{p}" for p in tiny_vlm.PROBES):
        assert shipped[k]["n"] >= 400
        assert abs(report[k]["accuracy"] - shipped[k]["accuracy"]) <= 0.2, (k, report[k], shipped[k])


def test_shipped_vlm_rewrites_held_out_edits_deterministically():
    encoder = VLMEncoder.from_pretrained(str(CHECKPOINTS / "vlm"), layers=[0, 3, 6, 9])
    samples = edit_scenes.generate(seed=vlm_data.HELDOUT_SEED, n_per_type=1, size=64)
    rewrites = encoder.rewrite([s.source for s in samples], [s.instruction for s in samples])
    again = VLMEncoder(encoder.model, encoder.processor, layers=[0, 3, 6, 9]).rewrite(
        [s.source for s in samples], [s.instruction for s in samples]
    )
    for r, a in zip(rewrites, again):
        assert r.text and r.token_ids == a.token_ids and torch.equal(r.states, a.states)
        assert r.states.shape == (4, len(r.token_ids), 128)
        assert tiny_vlm.IMAGE_TOKEN not in r.text


def test_two_references_are_encoded_in_order_with_token_types():
    model, processor = random_vlm()
    encoder = VLMEncoder(model, processor)  # all 4 hidden states
    a, b, c = scene_images(3)
    text = "put the shape from the second image into the first"
    first, second = encoder.encode_full([[a, b], [a, c]], [text, text])
    ref = first.reference.tolist()
    # tiny LLaVA order: text, 4 tokens of image 0, 4 of image 1, "answer :"
    assert ref.count(0) == 4 and ref.count(1) == 4 and ref.index(1) == ref.index(0) + 4 and ref[0] == ref[-1] == -1
    assert first.is_image.tolist() == [r >= 0 for r in ref]
    assert first.states.shape == (4, len(ref), 16)
    # Causal decoder: changing the second image changes its tokens and the ones after it, nothing before it.
    k = ref.index(1)
    assert torch.equal(first.states[:, :k], second.states[:, :k])
    assert not torch.allclose(first.states[:, k:], second.states[:, k:])
    one = encoder.encode([a], ["x"])[0]  # one image as a bare array still works
    assert one.shape[0] == 4


def test_rewrite_returns_states_of_the_generated_tokens_only_and_they_see_the_image():
    model, processor = random_vlm()
    encoder = VLMEncoder(model, processor, layers=[0, -1])
    a, b = scene_images(2)
    (alone,) = encoder.rewrite([a], ["Make the red circle blue."], max_new_tokens=4)
    assert 1 <= len(alone.token_ids) <= 4 and alone.states.shape == (2, len(alone.token_ids), 16)
    fresh = VLMEncoder(model, processor, layers=[0, -1])  # no cache: the same result, whatever the batch
    both = fresh.rewrite([b, a], ["Make the red circle blue."] * 2, max_new_tokens=4)
    assert both[1].token_ids == alone.token_ids and torch.equal(both[1].states, alone.states)
    # Teacher-forced states of the same text are the generated tokens' states (one forward, same context) ...
    forced = encoder.rewrite_states([a, b], ["Make the red circle blue."] * 2, [alone.text] * 2, micro_batch=2)
    assert torch.allclose(forced[0], alone.states, atol=1e-5)
    # ... and the same rewrite text over another image gives other states: the rewrite attends to the image.
    assert not torch.allclose(forced[1], forced[0], atol=1e-3)


HUB_SCRIPT = """
import sys
from harness.errors import HarnessError
from harness_baselines.unifusion.encoder import VLMEncoder
e = VLMEncoder.from_pretrained("tiny-org/tiny-vlm", revision=sys.argv[1])
print(e.hidden_size, e.num_hidden_states, e.layers)
try:
    VLMEncoder.from_pretrained("tiny-org/not-cached")
except HarnessError as err:
    print("error:", err)
"""


def test_vlm_loads_by_hub_id_and_revision_from_the_offline_local_cache(tmp_path):
    """AutoModelForImageTextToText + AutoProcessor by hub id, read from a local HF cache laid out as the hub
    client lays it out (snapshots/<commit>, refs/main), with the hub switched off."""
    model, processor = random_vlm()
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--tiny-org--tiny-vlm"
    model.save_pretrained(repo / "snapshots" / commit)
    processor.save_pretrained(repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub"), "TRANSFORMERS_OFFLINE": "1"}
    for revision in (commit, "main"):
        out = subprocess.run(
            [sys.executable, "-c", HUB_SCRIPT, revision], capture_output=True, text=True, env=env, timeout=300
        )
        assert out.returncode == 0, out.stderr[-2000:]
        lines = out.stdout.strip().splitlines()
        assert lines[0] == "16 4 [0, 1, 2, 3]"
        assert lines[1].startswith("error: vlm tiny-org/not-cached: cannot load") and len(lines) == 2


def test_vlm_training_resumed_after_a_stop_gives_the_same_checkpoint(tmp_path):
    small = dict(steps=4, batch_size=2, n_scenes=12, n_edits_per_type=1, n_pairs_per_type=1, threads=1, save_every=2)
    whole = train_vlm.train_vlm(tmp_path / "whole", heldout_scenes=8, **small)
    assert whole["steps"] == 4 and set(whole["heldout"]) >= {f"probe_{k}" for k in tiny_vlm.PROBES}
    assert train_vlm.train_vlm(tmp_path / "split", heldout_scenes=8, stop_after=3, **small) is None
    assert (tmp_path / "split" / "resume" / "preview" / "config.json").is_file()
    train_vlm.train_vlm(tmp_path / "split", heldout_scenes=8, **small)
    assert not (tmp_path / "split" / "resume").exists()
    a = (tmp_path / "whole" / "model.safetensors").read_bytes()
    assert a == (tmp_path / "split" / "model.safetensors").read_bytes()
    with pytest.raises(ValueError, match="reserved"):
        train_vlm.train_vlm(tmp_path / "x", seed=vlm_data.HELDOUT_SEED, **small)


def test_vlm_continuation_starts_from_saved_weights_with_its_own_schedule(tmp_path):
    """``init``: a second stage continues a saved VLM (probe questions only here); the same call twice gives the
    same bytes, and the stage's report records where it started and what it drew."""
    small = dict(steps=2, batch_size=2, n_scenes=12, n_edits_per_type=1, n_pairs_per_type=1, threads=1)
    train_vlm.train_vlm(tmp_path / "base", heldout_scenes=8, **small)
    stage = dict(small, seed=2, init=tmp_path / "base", schedule=("short",), heldout_scenes=8)
    a = train_vlm.train_vlm(tmp_path / "a", **stage)
    train_vlm.train_vlm(tmp_path / "b", **stage)
    assert a["init"] == str(tmp_path / "base") and a["schedule"] == ["short"]
    weights = [(tmp_path / n / "model.safetensors").read_bytes() for n in ("base", "a", "b")]
    assert weights[1] == weights[2] and weights[1] != weights[0]
    with pytest.raises(ValueError, match="schedule"):
        train_vlm.train_vlm(tmp_path / "x", **(stage | {"schedule": ("probes",)}))
