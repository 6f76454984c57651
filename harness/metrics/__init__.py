"""Metric catalog per task kind. Declarations only (no torch import), so ``harness list metrics`` stays fast."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    higher_is_better: bool
    cap: float | None = None  # a value the metric saturates at (PSNR of identical images): plots draw it as a break


def _catalog(*metrics: Metric) -> dict[str, Metric]:
    return {m.name: m for m in metrics}


def _image_triplet(region: str, suffix: str, what: str) -> list[Metric]:
    return [
        Metric(f"l1{suffix}", f"mean |output - target| on 0..1, {what}", False),
        Metric(f"psnr{suffix}", f"PSNR in dB (capped at 100), {what}", True, cap=100.0),  # editing.PSNR_CAP_DB
        Metric(f"ssim{suffix}", f"SSIM (11x11 Gaussian window) averaged over {region}, other region set to target", True),
    ]


METRICS: dict[str, dict[str, Metric]] = {
    "edit": _catalog(
        *_image_triplet("the whole image", "", "whole image"),
        *_image_triplet("the edit mask", "_edit", "inside the edit mask (did the edit happen?)"),
        *_image_triplet("the keep region", "_keep", "outside the edit mask (was the rest preserved?)"),
        Metric("success", "1 if l1_edit <= success_edit_l1 and l1_keep <= success_keep_l1 (task options)", True),
        Metric("l1_ref", "mean |edit - reference| on 0..1, edit resized to the reference (MagicBrush L1)", False),
        Metric("l2_ref", "mean (edit - reference)^2 on 0..1, edit resized to the reference (MagicBrush L2)", False),
        Metric("clip_i", "cosine of CLIP image embeddings, edit vs reference (target or source)", True),
        Metric("clip_t", "cosine of the edit's CLIP embedding and the target (local) caption's", True),
        Metric("clip_out", "cosine of the edit's CLIP embedding and the output caption's (Emu Edit)", True),
        Metric("clip_dir", "cosine of CLIP directions: edit - source vs output - input caption (Emu Edit)", True),
        Metric("dino", "cosine of DINO ViT-S/16 CLS features, edit vs reference", True),
        *(m for name, what in (("viescore_sc", "VIEScore semantic consistency, min of success and over-editing (0-10)"),
                               ("viescore_pq", "VIEScore perceptual quality, min of naturalness and artifacts (0-10)"),
                               ("viescore_o", "VIEScore overall, sqrt(SC * PQ) per sample (0-10)"),
                               ("imgedit_score", "ImgEdit judge score, mean of the rubric's 1-5 criteria"))
          for m in (Metric(name, f"{what}; micro mean over samples", True),
                    Metric(f"{name}_macro", f"{what}; macro: unweighted mean of the per-type means", True))),
    ),
    "retrieval": _catalog(
        *(Metric(f"recall@{k}", f"fraction of relevant items in the top {k}", True) for k in (1, 5, 10, 100)),
        Metric("ndcg@10", "normalized discounted cumulative gain at 10 (graded relevance)", True),
        Metric("map", "mean average precision", True),
        Metric("mrr", "reciprocal rank of the first relevant item", True),
    ),
    "reasoning": _catalog(
        Metric("accuracy", "100 x correct / total, HoneyBee grading of the first completion", True),
        Metric("extraction_failed", "100 x responses with no extractable answer / total", False),
        Metric("generated_tokens", "tokens generated per question (caption included), from adapters that count", False),
        Metric("maj@n", "100 x majority vote of the n completions correct / total (= accuracy when n = 1)", True),
        Metric("pass@n", "100 x any of the n completions correct / total (= accuracy when n = 1)", True),
    ),
}
