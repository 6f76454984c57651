"""What limits the targets: how much of the source's pixels the frozen VLM's image tokens still carry.

The generator sees the source only through the VLM's hidden states (the paper's design), so the keep-region PSNR
it can reach is bounded by how well those states determine the pixels. This measures that bound cheaply, without
training a generator: a ridge-regression readout from the image tokens' states of one hidden state back to their
8x8x3 patch pixels, fitted on training scenes (seed 1) and scored on held-out scenes (``train_vlm.HELDOUT_SEED``),
as whole-image PSNR (a reconstruction: every pixel is "keep region").

Readouts (``--readouts``): ``token`` -- each patch from its own token (what a per-cell linear head reads);
``3x3`` -- each patch from its token and its 8 neighbours (a local map, what a few generator blocks can reach);
``rank<r>`` -- the ``token`` readout forced through r dimensions (reduced-rank regression: the generator's width
is 64, so its final linear patch head reads at most a 64-dimensional summary of each cell).

    python -m harness_baselines.unifusion.ceilings --vlm baselines/unifusion/checkpoints/vlm --layers 0,3,6,9

If even the ``3x3`` readout of hidden state 0 is below the 24 dB target, no generator can meet it from these
tokens: the tower (its width, patch size or training) has to change, not the generator.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import time
from pathlib import Path

import numpy as np
import torch

from harness.data import edit_scenes
from harness_baselines.unifusion import tiny_vlm
from harness_baselines.unifusion.train_vlm import HELDOUT_SEED, SIZE
from harness_baselines.unifusion.training_data import DATA_SEED


def image_token_states(encoder, seed: int, n: int, grid: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (states [n, K, grid*grid, D] of the image tokens, pixels [n, grid*grid, 3*p*p] in [0, 1]) of ``n``
    random scenes of stream [seed, 999] with their captions as text (the reconstruction form)."""
    scenes = tiny_vlm.random_scenes(seed, n, SIZE)
    images = [edit_scenes.render(s, SIZE) for s in scenes]
    encodings = encoder.encode_full(images, [edit_scenes.caption(s, SIZE) for s in scenes], micro_batch=64)
    states = torch.stack([e.states[:, e.is_image & (e.reference == 0)] for e in encodings])
    p = SIZE // grid
    pixels = torch.tensor(np.stack(images)).float() / 255
    pixels = pixels.reshape(n, grid, p, grid, p, 3).permute(0, 1, 3, 2, 4, 5).reshape(n, grid * grid, 3 * p * p)
    return states.float(), pixels


def neighbourhood(tokens: torch.Tensor, grid: int = 8) -> torch.Tensor:
    """[n, grid*grid, D] -> [n, grid*grid, 9*D]: each token with its 3x3 neighbours (zeros past the border)."""
    n, _, d = tokens.shape
    padded = torch.nn.functional.pad(tokens.reshape(n, grid, grid, d).permute(0, 3, 1, 2), (1, 1, 1, 1))
    padded = padded.permute(0, 2, 3, 1)
    parts = [padded[:, i : i + grid, j : j + grid] for i in range(3) for j in range(3)]
    return torch.cat(parts, -1).reshape(n, grid * grid, 9 * d)


def fit_readout(x: torch.Tensor, y: torch.Tensor, ridge: float = 1e-3, rank: int | None = None) -> torch.Tensor:
    """Ridge regression [x, 1] -> y (float64); with ``rank``, reduced-rank: the fitted values projected on their
    top ``rank`` principal directions. -> weights [D + 1, out]."""
    a = torch.cat([x, torch.ones(len(x), 1)], 1).double()
    gram = a.T @ a + ridge * len(a) * torch.eye(a.shape[1], dtype=torch.double)
    w = torch.linalg.solve(gram, a.T @ y.double())
    if rank is not None and rank < w.shape[1]:
        fitted = a @ w
        _, _, vh = torch.linalg.svd(fitted - fitted.mean(0), full_matrices=False)
        basis = vh[:rank].T  # [out, rank]
        mean = fitted.mean(0)
        w = w @ basis @ basis.T
        w[-1] += mean - mean @ basis @ basis.T  # keep the mean output exact
    return w


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) of [n, ...] predictions in [0, 1] (clamped, as an image would be)."""
    mse = ((pred.clamp(0, 1) - target) ** 2).flatten(1).mean(1)
    return 10 * torch.log10(1 / mse.clamp_min(1e-10))


def readout_ceiling(train, test, layer: int, readout: str) -> dict:
    """Held-out PSNR of one readout of one selected layer (index into the encoder's ``layers``)."""
    (xs, ys), (xt, yt) = train, test

    def features(states):
        tokens = states[:, layer]
        return neighbourhood(tokens) if readout == "3x3" else tokens

    ftr, fte = features(xs), features(xt)
    rank = int(readout[4:]) if readout.startswith("rank") else None
    w = fit_readout(ftr.flatten(0, 1), ys.flatten(0, 1), rank=rank)
    a = torch.cat([fte.flatten(0, 1), torch.ones(fte.shape[0] * fte.shape[1], 1)], 1).double()
    scores = psnr((a @ w).float().reshape(yt.shape), yt).numpy()
    half = 1.96 * scores.std(ddof=1) / math.sqrt(len(scores))
    return {
        "psnr": round(float(scores.mean()), 2),
        "ci95": [round(float(scores.mean() - half), 2), round(float(scores.mean() + half), 2)],
        "share_at_least_24db": round(float((scores >= 24).mean()), 3),
        "n": len(scores),
    }


def main(argv: list[str] | None = None) -> None:
    from harness_baselines.unifusion.encoder import VLMEncoder

    parser = argparse.ArgumentParser(prog="python -m harness_baselines.unifusion.ceilings", description=__doc__)
    parser.add_argument("--vlm", required=True, help="the frozen VLM (folder or cached hub id)")
    parser.add_argument("--layers", default="0,3,6,9", help="hidden states to read (0 = embedding output)")
    parser.add_argument("--readouts", default="token,3x3,rank64")
    parser.add_argument("--n_train", type=int, default=1500, help="training scenes (seed 1)")
    parser.add_argument("--n_test", type=int, default=300, help="held-out scenes (seed 1001)")
    parser.add_argument("--out", type=Path, default=None, help="also write the report here (JSON)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.time()
    layers = [int(i) for i in args.layers.split(",")]
    encoder = VLMEncoder.from_pretrained(args.vlm, layers=layers)
    train = image_token_states(encoder, DATA_SEED, args.n_train)
    test = image_token_states(encoder, HELDOUT_SEED, args.n_test)
    report: dict = {"vlm": args.vlm, "n_train": args.n_train, "n_test": args.n_test, "readouts": {}}
    for k, layer in enumerate(layers):
        for readout in args.readouts.split(","):
            result = readout_ceiling(train, test, k, readout)
            report["readouts"][f"state{layer}/{readout}"] = result
            print(f"hidden state {layer} {readout}: {json.dumps(result)}", flush=True)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    report["cpu_seconds"] = round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1)
    report["wall_seconds"] = round(time.time() - wall0, 1)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
