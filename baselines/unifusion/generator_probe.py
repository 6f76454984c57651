"""Diagnostic: what a trained generator does with its conditioning (README "What limits the targets" (d)).

On the first ``n`` scenes of the ``edit/t2i-scenes`` suite (seed 0, never trained on), for each number of Euler
steps:
- ``recon_psnr``: (scene, its caption) -> the scene, PSNR -- how much of the source the generator copies when its
  tokens carry the whole image (compare with ``ceilings.py``'s readout of the same tokens);
- ``t2i_ssim`` / ``t2i_ssim_shuffled``: (gray, caption) -> scene, SSIM with the scene's own caption and with
  another scene's (a fixed permutation): equal values mean the caption is ignored;
and once: the SSIM of uniform gray (the task's source) and of the per-pixel mean of the ``n`` targets, the best
an output that ignores the caption could hope for. Means with normal 95 % intervals.

    python -m harness_baselines.unifusion.generator_probe --regime zero-shot --variant lap --n 60 --steps 1,10
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def interval(values: list[float]) -> dict:
    """Mean, normal 95 % interval (ceilings.mean_ci, at 4 decimals) and n."""
    from harness_baselines.unifusion.ceilings import mean_ci

    return mean_ci(np.asarray(values, dtype=float), 4) | {"n": len(values)}


def probe(editor, n: int = 60, steps: tuple[int, ...] = (1, 10)) -> dict:
    from harness.data.edit_t2i import generate
    from harness.metrics.editing import psnr, ssim_map

    samples = generate(seed=0, n=max(n, 2))[:n]
    targets = [s.target for s in samples]
    captions = [s.instruction for s in samples]
    shuffled = [captions[i] for i in np.random.default_rng(0).permutation(len(captions))]
    seeds = list(range(len(samples)))

    def ssim(out, tgt):
        return float(ssim_map(out / 255.0, tgt / 255.0).mean())

    mean_image = np.mean(targets, axis=0).round().astype(np.uint8)
    report = {
        "gray_ssim": interval([ssim(s.source, s.target) for s in samples]),
        "mean_image_ssim": interval([ssim(mean_image, t) for t in targets]),
        "steps": {},
    }
    for k in steps:
        recon = editor.pipeline(targets, captions, seeds, steps=k)
        t2i = editor.pipeline([s.source for s in samples], captions, seeds, steps=k)
        t2i_other = editor.pipeline([s.source for s in samples], shuffled, seeds, steps=k)
        report["steps"][str(k)] = {
            "recon_psnr": interval(
                [psnr(float(((o / 255.0 - t / 255.0) ** 2).mean())) for o, t in zip(recon, targets)]
            ),
            "t2i_ssim": interval([ssim(o, t) for o, t in zip(t2i, targets)]),
            "t2i_ssim_shuffled": interval([ssim(o, t) for o, t in zip(t2i_other, targets)]),
        }
    return report


def main(argv: list[str] | None = None) -> None:
    import torch

    from harness_baselines.unifusion.adapter import UniFusionEditor

    parser = argparse.ArgumentParser(prog="python -m harness_baselines.unifusion.generator_probe", description=__doc__)
    parser.add_argument("--variant", default="lap")
    parser.add_argument("--regime", default="zero-shot")
    parser.add_argument("--generator", default="", help="checkpoint folder (default: the shipped one)")
    parser.add_argument("--vlm", default="", help="VLM folder or hub id (default: the shipped one)")
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--steps", default="1,10", help="comma-separated Euler step counts")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    editor = UniFusionEditor(variant=args.variant, regime=args.regime, generator=args.generator, vlm=args.vlm)
    editor.load()
    steps = tuple(int(s) for s in args.steps.split(","))
    print(json.dumps({"variant": args.variant, "regime": args.regime, **probe(editor, args.n, steps)}, indent=2))


if __name__ == "__main__":
    main()
