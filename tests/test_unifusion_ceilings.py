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


def test_neighbourhood_concatenates_the_3x3_cells_in_row_major_order():
    tokens = torch.arange(64, dtype=torch.float32).reshape(1, 64, 1)
    ctx = ceilings.neighbourhood(tokens)[0]
    assert ctx.shape == (64, 9)
    assert ctx[9].tolist() == [0, 1, 2, 8, 9, 10, 16, 17, 18]  # cell (1, 1)
    assert ctx[0].tolist() == [0, 0, 0, 0, 0, 1, 0, 8, 9]  # corner: zeros past the border


def test_shipped_vlm_state0_carries_the_pixels_better_than_its_last_layer(tmp_path):
    """The pixel head trained hidden state 0 to keep each patch; by the last decoder layer much of it is gone."""
    encoder = VLMEncoder.from_pretrained(str(CHECKPOINTS / "vlm"), layers=[0, 9])
    train = ceilings.image_token_states(encoder, 1, 48)
    test = ceilings.image_token_states(encoder, 1001, 16)
    assert train[0].shape == (48, 2, 64, 128) and train[1].shape == (48, 64, 192)
    first = ceilings.readout_ceiling(train, test, 0, "token")
    last = ceilings.readout_ceiling(train, test, 1, "token")
    assert first["n"] == 16 and first["psnr"] > 18 and first["psnr"] > last["psnr"] + 1, (first, last)


def test_ceilings_cli_writes_its_report(tmp_path):
    out = tmp_path / "report.json"
    ceilings.main(
        ["--vlm", str(CHECKPOINTS / "vlm"), "--layers", "0", "--readouts", "token,rank8"]
        + ["--n_train", "24", "--n_test", "8", "--out", str(out)]
    )
    report = json.loads(out.read_text())
    assert set(report["readouts"]) == {"state0/token", "state0/rank8"}
    assert report["readouts"]["state0/rank8"]["psnr"] <= report["readouts"]["state0/token"]["psnr"] + 0.5
