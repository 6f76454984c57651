"""UniFusion training ladder: one command trains every shipped generator (both regimes, every variant, the extra
training seeds) from features computed once; finished runs are skipped, a SIGKILLed run resumes to the same
weights; the adapter finds the checkpoints by regime / variant / train_seed. Real subprocesses, a tiny real VLM
built from configs, real safetensors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.data import edit_scenes
from harness_baselines.unifusion import tiny_vlm
from harness_baselines.unifusion.train import checkpoint_dir, shipped_runs

TINY = ["--n_scenes", "6", "--n_edits_per_type", "1", "--batch_size", "2", "--threads", "1"]


@pytest.fixture(scope="module")
def tiny_vlm_dir(tmp_path_factory):
    """A random tiny LLaVA at 64x64 input (patch 8: 64 image tokens, the generator's grid), saved with a
    training.json so `train all` uses it instead of training one."""
    from transformers import LlavaForConditionalGeneration

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("ufvlm") / "checkpoints"
    processor = tiny_vlm.build_processor(image_size=64, patch_size=8)
    config = tiny_vlm.build_config(
        len(processor.tokenizer), image_size=64, patch_size=8, vision_hidden_size=16, hidden_size=16, num_layers=3
    )
    model = LlavaForConditionalGeneration(config)
    model.generation_config.max_new_tokens = 4
    model.save_pretrained(root / "vlm")
    processor.save_pretrained(root / "vlm")
    (root / "vlm" / "training.json").write_text("{}")
    return root


def train_all(out: Path, work: Path, *extra: str, **popen) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "harness_baselines.unifusion.train", "all", "--out", str(out), "--work", str(work)]
    return subprocess.Popen([*cmd, *TINY, *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def copy_vlm(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src / "vlm", dst / "vlm")
    return dst


def test_one_command_trains_every_shipped_generator_and_skips_finished_ones(tiny_vlm_dir, tmp_path):
    out = copy_vlm(tiny_vlm_dir, tmp_path / "ck")
    steps = ["--zero_shot_steps", "2", "--edit_ft_steps", "2"]
    proc = train_all(out, tmp_path / "work", *steps)
    log, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, log[-2000:]
    runs = shipped_runs()
    assert {(r.regime, r.variant) for r in runs} >= {
        (g, v) for g in ("zero-shot", "edit-ft") for v in ("lap", "verifi")
    }
    for run in runs:
        info = json.loads((checkpoint_dir(out, run.regime, run.variant, run.seed) / "training.json").read_text())
        assert (info["regime"], info["variant"], info["seed"]) == (run.regime, run.variant, run.seed)
        assert info["feature_source"] == ("rewrite" if run.variant == "verifi" else "prompt")
        if run.regime == "zero-shot":
            assert info["mixture"]["edit"] == 0  # the zero-shot regime never sees an edit pair
        else:
            assert info["init"] == str(checkpoint_dir(out, "zero-shot", run.variant, 1)) and info["mixture"]["edit"] > 0
    ladder = json.loads((out / "ladder.json").read_text())
    assert len(ladder["runs"]) == len(runs) and ladder["cpu_seconds_this_process"] > 0
    features = sorted(p.name.split("-")[0] + "/" + p.name.split("-")[1] for p in (tmp_path / "work").glob("*.pt"))
    assert features == sorted(f"{p}/{s}" for p in ("t2i", "recon", "edit") for s in ("prompt", "rewrite"))
    # Started again: nothing is retrained (features read back, every run's training.json matches).
    weights = {p: p.read_bytes() for p in out.rglob("*.safetensors") if "vlm" not in p.parts}
    again = train_all(out, tmp_path / "work", *steps)
    log, _ = again.communicate(timeout=600)
    assert again.returncode == 0 and "step 2/2" not in log and "features t2i/prompt: 6/6" not in log
    assert all(p.read_bytes() == b for p, b in weights.items())
    # The adapter reads the ladder's layout: regime, variant and training seed select the folder.
    from harness_baselines.unifusion.adapter import UniFusionEditor

    sample = edit_scenes.generate(seed=0, n_per_type=1, size=64)[0]
    for args in ({"variant": "lap", "regime": "zero-shot"}, {"variant": "last_layer", "train_seed": 3}):
        gen = checkpoint_dir(out, args.get("regime", "edit-ft"), args["variant"], args.get("train_seed", 1))
        editor = UniFusionEditor(vlm=str(out / "vlm"), generator=str(gen), steps=2, **args)
        (image,) = editor.edit([sample.source], [sample.instruction], [0])
        assert image.shape == sample.source.shape and image.dtype == np.uint8 and editor.last_info is None
    verifi = UniFusionEditor(
        vlm=str(out / "vlm"), generator=str(checkpoint_dir(out, "edit-ft", "verifi")), variant="verifi", steps=2
    )
    verifi.edit([sample.source], [sample.instruction], [0])
    assert list(verifi.last_info[0]) == ["rewrite"] and isinstance(verifi.last_info[0]["rewrite"], str)


def test_a_killed_training_run_resumes_to_the_same_weights(tiny_vlm_dir, tmp_path):
    common = ["--only", "zero-shot/last_layer", "--zero_shot_steps", "120", "--save_every", "10"]
    whole = copy_vlm(tiny_vlm_dir, tmp_path / "whole")
    proc = train_all(whole, tmp_path / "work", *common)
    log, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, log[-2000:]
    cut = copy_vlm(tiny_vlm_dir, tmp_path / "cut")
    proc = train_all(cut, tmp_path / "work", *common, start_new_session=True)
    deadline = time.time() + 300
    while not list((tmp_path / "work").glob("state-zero-shot-last_layer-*.pt")) and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-run, after at least one saved state
    proc.communicate()
    assert not (checkpoint_dir(cut, "zero-shot", "last_layer") / "training.json").exists()
    proc = train_all(cut, tmp_path / "work", *common)
    log, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0 and "resumed at step" in log, log[-2000:]
    name = "diffusion_pytorch_model.safetensors"
    a = (checkpoint_dir(whole, "zero-shot", "last_layer") / name).read_bytes()
    b = (checkpoint_dir(cut, "zero-shot", "last_layer") / name).read_bytes()
    assert a == b
    assert not list((tmp_path / "work").glob("state-*.pt"))  # a finished run leaves no resume state
