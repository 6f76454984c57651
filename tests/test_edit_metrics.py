"""Editing metrics on hand-checked cases, and agreement with torchmetrics where it has the metric."""

import math

import numpy as np
import pytest
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from harness.metrics.editing import PSNR_CAP_DB, score_sample


def _img(seed, shape=(32, 32, 3)):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def _t(a):
    return torch.from_numpy(a).permute(2, 0, 1)[None].double() / 255


def test_whole_image_psnr_and_ssim_agree_with_torchmetrics():
    out, tgt = _img(0), _img(1)
    tgt[:16] = out[:16]  # half identical: a non-trivial SSIM
    row = score_sample(out, tgt, np.ones((32, 32), bool), 0.1, 0.02)
    assert row["psnr"] == pytest.approx(peak_signal_noise_ratio(_t(out), _t(tgt), data_range=1.0).item(), abs=1e-5)
    # Same Gaussian-window SSIM; only the border handling differs slightly.
    assert row["ssim"] == pytest.approx(
        structural_similarity_index_measure(_t(out), _t(tgt), data_range=1.0).item(), abs=5e-3
    )


def test_hand_computed_l1_and_psnr_inside_and_outside_the_mask():
    tgt = np.zeros((16, 16, 3), np.uint8)
    out = tgt.copy()
    mask = np.zeros((16, 16), bool)
    mask[:4] = True  # 64 edit pixels
    out[:4] = 51  # error 0.2 everywhere in the edit region, exact elsewhere
    row = score_sample(out, tgt, mask, success_edit_l1=0.1, success_keep_l1=0.02)
    assert row["l1_edit"] == pytest.approx(0.2) and row["l1_keep"] == 0.0
    assert row["l1"] == pytest.approx(0.2 * 64 / 256)
    assert row["psnr_edit"] == pytest.approx(10 * math.log10(1 / 0.04))
    assert row["psnr_keep"] == PSNR_CAP_DB and row["ssim_keep"] == 1.0
    assert row["success"] == 0.0
    assert score_sample(out, tgt, mask, success_edit_l1=0.25, success_keep_l1=0.02)["success"] == 1.0


def test_global_edit_has_no_keep_region_score():
    out, tgt = _img(2), _img(3)
    row = score_sample(tgt, tgt, np.ones(tgt.shape[:2], bool), 0.1, 0.02)
    assert all(math.isnan(row[f"{m}_keep"]) for m in ("l1", "psnr", "ssim"))
    assert row["success"] == 1.0
    assert score_sample(out, tgt, np.ones(tgt.shape[:2], bool), 0.1, 0.02)["success"] == 0.0
