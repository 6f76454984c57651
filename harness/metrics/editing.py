"""Editing metrics against exact ground truth: L1, PSNR and SSIM over the whole image, the edit mask and the keep
region. Per-sample values; a region that is empty for a sample (the keep region of a global edit) gives no value
(NaN) rather than a fake perfect or zero score.

Computed in float64 with numpy and scikit-image's SSIM (Gaussian window, sigma 1.5, the Wang et al. 2004
settings, as torchmetrics uses): identical images score exactly 1, and each sample is scored on its own, so no
score depends on how samples were batched.
"""

from __future__ import annotations

import math

import numpy as np

PSNR_CAP_DB = 100.0  # identical regions would give +inf, which no mean or CI survives
MIN_SIDE = 11  # the Gaussian SSIM window (sigma 1.5, truncated at 3.5 sigma) is 11x11


def psnr(mse: float) -> float:
    """PSNR in dB for images on a 0..1 scale, capped at PSNR_CAP_DB."""
    return PSNR_CAP_DB if mse <= 0 else min(PSNR_CAP_DB, 10 * math.log10(1.0 / mse))


def ssim_map(output: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of two float (H, W, 3) images on 0..1 -> (H, W, 3)."""
    from skimage.metrics import structural_similarity

    _, full = structural_similarity(
        output,
        target,
        channel_axis=-1,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1.0,
        full=True,
    )
    return full


def score_sample(
    output: np.ndarray, target: np.ndarray, mask: np.ndarray, success_edit_l1: float, success_keep_l1: float
) -> dict[str, float]:
    """output, target: uint8 (H, W, 3); mask: bool (H, W), True where the edit must happen.
    Returns every editing metric (see harness.metrics.METRICS["edit"]).

    Region SSIM isolates the region's own errors: for ``ssim_keep`` the output's edit region is first replaced by
    the target's (and vice versa for ``ssim_edit``), so a perfect keep region scores 1 even though SSIM windows
    straddle the mask border."""
    out, tgt = output.astype(np.float64) / 255.0, target.astype(np.float64) / 255.0
    edit = np.broadcast_to(mask[..., None], out.shape)
    row: dict[str, float] = {}
    for suffix, region in (("", np.ones_like(edit)), ("_edit", edit), ("_keep", ~edit)):
        if not region.any():  # e.g. the keep region of a global edit: nothing to measure, not a perfect score
            row.update({f"l1{suffix}": math.nan, f"psnr{suffix}": math.nan, f"ssim{suffix}": math.nan})
            continue
        err = (out - tgt)[region]
        row[f"l1{suffix}"] = float(np.abs(err).mean())
        row[f"psnr{suffix}"] = psnr(float((err**2).mean()))
        row[f"ssim{suffix}"] = float(ssim_map(np.where(region, out, tgt), tgt)[region].mean())
    # An empty keep region (global edit) has nothing to preserve: only the edit region decides.
    keep_ok = math.isnan(row["l1_keep"]) or row["l1_keep"] <= success_keep_l1
    row["success"] = float(row["l1_edit"] <= success_edit_l1 and keep_ok)
    return row
