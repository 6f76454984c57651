"""UniFusion diagnostics (ceilings.py): the pixel readout of the frozen VLM's image tokens -- the bound on the
keep-region PSNR a generator can reach from them."""

from __future__ import annotations

import json

import torch

from harness_baselines.unifusion import ceilings
from harness_baselines.unifusion.adapter import CHECKPOINTS
from harness_baselines.unifusion.encoder import VLMEncoder


def test_ridge_readout_recovers_a_linear_map_and_rank_limits_it():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 6, generator=g)
    w = torch.randn(6, 5, generator=g)
    y = x @ w + 0.5
    full = ceilings.fit_readout(x, y, ridge=1e-9)
    a = torch.cat([x, torch.ones(len(x), 1)], 1).double()
    assert torch.allclose(a @ full, y.double(), atol=1e-5)
    assert torch.allclose(ceilings.fit_readout(x, y, ridge=1e-9, rank=5), full, atol=1e-6)  # rank >= outputs: same
    low = a @ ceilings.fit_readout(x, y, ridge=1e-9, rank=2)
    assert torch.linalg.matrix_rank((low - low.mean(0)).float(), atol=1e-3) == 2
    assert torch.allclose(low.mean(0), y.double().mean(0), atol=1e-6)  # the mean output stays exact


def test_mlp_readout_fits_what_a_linear_one_cannot():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2000, 2, generator=g) * 2 - 1
    y = (x[:, :1] * x[:, 1:]).abs()  # no linear part
    net = ceilings.fit_mlp(x, y, hidden=32, steps=300, batch=256)
    with torch.no_grad():
        mlp_err = torch.nn.functional.mse_loss(net(x), y)
    a = torch.cat([x, torch.ones(len(x), 1)], 1).double()
    linear_err = torch.nn.functional.mse_loss((a @ ceilings.fit_readout(x, y)).float(), y)
    assert mlp_err < 0.5 * linear_err, (mlp_err, linear_err)


def test_neighbourhood_concatenates_the_3x3_cells_in_row_major_order():
    tokens = torch.arange(64, dtype=torch.float32).reshape(1, 64, 1)
    ctx = ceilings.neighbourhood(tokens)[0]
    assert ctx.shape == (64, 9)
    assert ctx[9].tolist() == [0, 1, 2, 8, 9, 10, 16, 17, 18]  # cell (1, 1)
    assert ctx[0].tolist() == [0, 0, 0, 0, 0, 1, 0, 8, 9]  # corner: zeros past the border


def test_patch_order_round_trips_and_matches_the_tokens_cells():
    images = torch.rand(2, 64, 64, 3)
    patches = ceilings.to_patches(images)
    assert patches.shape == (2, 64, 192)
    assert torch.equal(ceilings.from_patches(patches), images)
    assert torch.equal(patches[0, 9].reshape(8, 8, 3), images[0, 8:16, 8:16])  # cell (1, 1)


def test_shipped_vlm_state0_carries_the_pixels_better_than_its_last_layer():
    """The pixel head trained hidden state 0 to keep each patch; by the last decoder layer less of it is left.
    The keep-region scores use the task's own metric on held-out edits."""
    encoder = VLMEncoder.from_pretrained(str(CHECKPOINTS / "vlm"), layers=[0, 9])
    train = ceilings.scene_set(encoder, 1, 48)
    scenes = ceilings.scene_set(encoder, 1001, 16)
    edits = ceilings.edit_set(encoder, 1001, 2)
    assert train[0].shape == (48, 2, 64, 128) and train[1].shape == (48, 64, 192) and len(edits[2]) == 10
    first = ceilings.readout_ceiling(train, scenes, edits, 0, "token")
    last = ceilings.readout_ceiling(train, scenes, edits, 1, "token")
    assert first["scenes_psnr"]["n"] == 16 and 0 < first["edits_psnr_keep"]["n"] <= 10
    assert first["scenes_psnr"]["mean"] > 18 and first["edits_psnr_keep"]["mean"] > 18, first
    assert first["scenes_psnr"]["mean"] > last["scenes_psnr"]["mean"] + 0.3, (first, last)


def test_ceilings_cli_writes_its_report(tmp_path):
    out = tmp_path / "report.json"
    ceilings.main(
        ["--vlm", str(CHECKPOINTS / "vlm"), "--layers", "0", "--readouts", "token,rank8"]
        + ["--n_train", "24", "--n_test", "8", "--out", str(out)]
    )
    report = json.loads(out.read_text())
    assert set(report["readouts"]) == {"state0/token", "state0/rank8"}
    token, rank8 = (report["readouts"][f"state0/{r}"]["scenes_psnr"]["mean"] for r in ("token", "rank8"))
    assert rank8 <= token + 0.5 and report["cpu_seconds"] > 0
