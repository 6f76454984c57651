"""Reference editing metrics as the published benchmarks compute them, per sample:

- ``l1_ref`` / ``l2_ref``: MagicBrush evaluation/image_eval.py ``eval_distance`` — the edit resized to the
  reference's size with PIL bicubic (``Image.resize``'s default), both on [0, 1] (ToTensor), mean |d| and mean d²
  (nn.L1Loss / nn.MSELoss).
- ``clip_i``: cosine of CLIP image embeddings of the edit and the reference (MagicBrush ``eval_clip_i``; Emu Edit's
  CLIP-I via instruct-pix2pix metrics/clip_similarity.py ``sim_image``).
- ``clip_t``: cosine of the edit's CLIP image embedding and the target caption's text embedding (MagicBrush
  ``eval_clip_t``, against the *local* caption of the turn's output image — MagicBrush issue #17).
- ``clip_out`` / ``clip_dir``: instruct-pix2pix ``sim_1`` (edit vs output caption) and ``sim_direction``
  (edit - input vs output caption - input caption, on unit-normalised features).
- ``dino``: cosine of DINO CLS features (MagicBrush ``eval_clip_i(metric='dino')``: Resize 256 bicubic,
  CenterCrop 224, ImageNet normalisation).

The reference image is the ground truth (``reference: target``) or the input (``reference: source``, Emu Edit).
Checkpoints are task options (EditOptions.clip_model / dino_model): upstream leaves Emu Edit's unspecified, and
ViT-B/32 vs L/14 changes CLIP scores a lot, so the encoder's identity is part of the task hash.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

CLIP_METRICS = ("clip_i", "clip_t", "clip_out", "clip_dir")
DINO_METRICS = ("dino",)
DISTANCE_METRICS = ("l1_ref", "l2_ref")
REFERENCE_METRICS = DISTANCE_METRICS + CLIP_METRICS + DINO_METRICS


def distances(output: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """uint8 (H, W, 3) each, any sizes -> {l1_ref, l2_ref} on 0..1 after resizing ``output`` to ``reference``."""
    if output.shape != reference.shape:
        output = np.asarray(Image.fromarray(output).resize((reference.shape[1], reference.shape[0]), Image.BICUBIC))
    d = output.astype(np.float32) / 255.0 - reference.astype(np.float32) / 255.0
    return {"l1_ref": float(np.abs(d).mean()), "l2_ref": float((d * d).mean())}


def _cos(a: np.ndarray, b: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Row-wise cosine of [n, d] arrays (float64), each norm clamped at eps as torch's F.cosine_similarity does:
    a zero direction (an edit identical to its input, for clip_dir) scores 0, as upstream, not NaN."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    na = np.maximum(np.linalg.norm(a, axis=1), eps)
    nb = np.maximum(np.linalg.norm(b, axis=1), eps)
    return (a * b).sum(1) / (na * nb)


def _unit(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def score_batch(wanted: set[str], outputs: list[np.ndarray], samples: list, options) -> list[dict[str, float]]:
    """Per-sample reference metrics in ``wanted`` for a batch of edits (uint8 arrays) of EditSamples.
    A metric whose input is missing for a sample (no target, no caption) is NaN for it, never a made-up value."""
    from harness.metrics import encoders

    n = len(samples)
    refs = [s.target if options.reference == "target" else s.source for s in samples]
    rows: list[dict[str, float]] = [{} for _ in range(n)]
    if wanted & set(DISTANCE_METRICS):
        for row, out, ref in zip(rows, outputs, refs):
            row.update(distances(out, ref) if ref is not None else {m: math.nan for m in DISTANCE_METRICS})
    has_ref = [i for i, r in enumerate(refs) if r is not None]
    if wanted & set(CLIP_METRICS):
        clip = encoders.clip_encoder(options.clip_model, options.clip_revision)
        edit_f = clip.image_features(outputs, options.clip_preprocess)
        if "clip_i" in wanted:
            for row in rows:
                row["clip_i"] = math.nan
            if has_ref:
                ref_f = clip.image_features([refs[i] for i in has_ref], options.clip_preprocess)
                for i, v in zip(has_ref, _cos(edit_f[has_ref], ref_f)):
                    rows[i]["clip_i"] = float(v)
        _text_metric(rows, "clip_t", wanted, clip, edit_f, [s.caption for s in samples])
        _text_metric(rows, "clip_out", wanted, clip, edit_f, [s.output_caption for s in samples])
        if "clip_dir" in wanted:
            ok = [i for i, s in enumerate(samples) if s.input_caption and s.output_caption]
            for row in rows:
                row["clip_dir"] = math.nan
            if ok:
                src_f = clip.image_features([samples[i].source for i in ok], options.clip_preprocess)
                t0 = clip.text_features([samples[i].input_caption for i in ok])
                t1 = clip.text_features([samples[i].output_caption for i in ok])
                d = _cos(_unit(edit_f[ok]) - _unit(src_f), _unit(t1) - _unit(t0))
                for i, v in zip(ok, d):
                    rows[i]["clip_dir"] = float(v)
    if "dino" in wanted:
        for row in rows:
            row["dino"] = math.nan
        if has_ref:
            dino = encoders.dino_encoder(options.dino_model, options.dino_revision)
            sims = _cos(
                dino.image_features([outputs[i] for i in has_ref]), dino.image_features([refs[i] for i in has_ref])
            )
            for i, v in zip(has_ref, sims):
                rows[i]["dino"] = float(v)
    return [{k: v for k, v in row.items() if k in wanted} for row in rows]


def _text_metric(rows, name, wanted, clip, edit_f, texts):
    if name not in wanted:
        return
    ok = [i for i, t in enumerate(texts) if t]
    for row in rows:
        row[name] = math.nan
    if ok:
        for i, v in zip(ok, _cos(edit_f[ok], clip.text_features([texts[i] for i in ok]))):
            rows[i][name] = float(v)
