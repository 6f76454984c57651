"""Metric catalog per task kind. Declarations only (no torch import), so ``harness list metrics`` stays fast.

Each metric declares its direction once, here; leaderboards, compare and the regression gate read it from the
catalog. A family with a cutoff (``recall@k``, ``ndcg@k``) is declared once and accepts any positive k.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    higher_is_better: bool
    cap: float | None = None  # a value the metric saturates at (PSNR of identical images): plots draw it as a break


@dataclass(frozen=True)
class MetricFamily:
    """``prefix@k`` for any integer k >= 1; ``description`` may use ``{k}``. ``listed``: the cutoffs shown by
    ``harness list metrics`` (and offered as close matches), not a limit."""

    prefix: str
    description: str
    higher_is_better: bool
    listed: tuple[int, ...] = ()

    def match(self, name: str) -> Metric | None:
        m = re.fullmatch(rf"{re.escape(self.prefix)}@([1-9]\d*)", name)
        return Metric(name, self.description.format(k=m.group(1)), self.higher_is_better) if m else None


class Catalog(Mapping):
    """The metrics of one task kind: fixed names plus families; ``catalog["ndcg@5"]`` works for any cutoff,
    iteration yields the fixed names and each family's listed cutoffs."""

    def __init__(self, *entries: Metric | MetricFamily):
        self.fixed = {e.name: e for e in entries if isinstance(e, Metric)}
        self.families = [e for e in entries if isinstance(e, MetricFamily)]

    def __getitem__(self, name: str) -> Metric:
        if name in self.fixed:
            return self.fixed[name]
        for family in self.families:
            metric = family.match(name)
            if metric is not None:
                return metric
        raise KeyError(name)

    def candidates(self, name: str) -> list[str]:
        """Names to suggest for a misspelt ``name``: the listed ones, and each family at ``name``'s own cutoff
        (``ndcgg@5`` -> ``ndcg@5``)."""
        _, at, k = name.rpartition("@")
        own = [f"{f.prefix}@{k}" for f in self.families] if at and k.isdigit() and int(k) >= 1 else []
        return [*own, *self]

    def __iter__(self) -> Iterator[str]:
        for family in self.families:
            yield from (f"{family.prefix}@{k}" for k in family.listed)
        yield from self.fixed

    def __len__(self) -> int:
        return len(self.fixed) + sum(len(f.listed) for f in self.families)


def _catalog(*metrics: Metric | MetricFamily) -> Catalog:
    return Catalog(*metrics)


def _image_triplet(region: str, suffix: str, what: str) -> list[Metric]:
    return [
        Metric(f"l1{suffix}", f"mean |output - target| on 0..1, {what}", False),
        Metric(f"psnr{suffix}", f"PSNR in dB (capped at 100), {what}", True, cap=100.0),  # editing.PSNR_CAP_DB
        Metric(
            f"ssim{suffix}", f"SSIM (11x11 Gaussian window) averaged over {region}, other region set to target", True
        ),
    ]


METRICS: dict[str, Catalog] = {
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
        *(
            m
            for name, what in (
                ("viescore_sc", "VIEScore semantic consistency, min of success and over-editing (0-10)"),
                ("viescore_pq", "VIEScore perceptual quality, min of naturalness and artifacts (0-10)"),
                ("viescore_o", "VIEScore overall, sqrt(SC * PQ) per sample (0-10)"),
                ("imgedit_score", "ImgEdit judge score, mean of the rubric's 1-5 criteria"),
            )
            for m in (
                Metric(name, f"{what}; micro mean over samples", True),
                Metric(f"{name}_macro", f"{what}; macro: unweighted mean of the per-type means", True),
            )
        ),
    ),
    "retrieval": _catalog(
        MetricFamily("recall", "fraction of relevant items in the top {k}", True, listed=(1, 5, 10, 100)),
        MetricFamily("ndcg", "normalized discounted cumulative gain at {k} (graded relevance)", True, listed=(10,)),
        Metric("map", "mean average precision", True),
        Metric("mrr", "reciprocal rank of the first relevant item", True),
    ),
    "reasoning": _catalog(
        Metric("accuracy", "100 x correct / total, HoneyBee grading of the first completion", True),
        Metric("extraction_failed", "100 x responses with no extractable answer / total", False),
        Metric("generated_tokens", "tokens generated per question (caption included), from adapters that count", False),
        Metric("maj@n", "100 x majority vote of the n completions correct / total (= accuracy when n = 1)", True),
        Metric("pass@n", "100 x any of the n completions correct / total (= accuracy when n = 1)", True),
        Metric("mean@n", "100 x share of the n completions correct, averaged (mean single-sample accuracy)", True),
    ),
}
