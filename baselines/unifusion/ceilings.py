"""What limits the targets: how much of the source's pixels the frozen VLM's image tokens still carry.

The generator sees the source only through the VLM's hidden states (the paper's design), so the keep-region PSNR
it can reach is bounded by how well those states determine the pixels. This measures that bound cheaply, without
training a generator: a ridge-regression readout from the image tokens' states of one hidden state back to their
8x8x3 patch pixels, fitted on training scenes (seed 1) and scored on held-out scenes (``vlm_data.HELDOUT_SEED``),
as whole-image PSNR (a reconstruction: every pixel is "keep region").

Readouts (``--readouts``): ``token`` -- each patch from its own token (what a per-cell linear head reads);
``3x3`` -- each patch from its token and its 8 neighbours (a local map, what a few generator blocks can reach);
``rank<r>`` -- the ``token`` readout forced through r dimensions (reduced-rank regression: the generator's width
is 64, so its final linear patch head reads at most a 64-dimensional summary of each cell); ``mlp`` -- each patch
from its own token through a small MLP (2 hidden layers of 256, Adam, 1000 steps of 512 tokens, seed 0): how much
a non-linear per-cell readout adds.

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
from harness_baselines.unifusion.training_data import DATA_SEED
from harness_baselines.unifusion.vlm_data import HELDOUT_SEED, SIZE


def image_token_states(encoder, images: list[np.ndarray], texts: list[str], grid: int = 8):
    """-> (states [n, K, grid*grid, D] of the first reference's image tokens, pixels [n, grid*grid, 3*p*p] of
    the images in [0, 1], in the tokens' row-major patch order)."""
    encodings = encoder.encode_full(images, texts, micro_batch=64)
    states = torch.stack([e.states[:, e.is_image & (e.reference == 0)] for e in encodings])
    return states.float(), to_patches(torch.tensor(np.stack(images)).float() / 255, grid)


def to_patches(images: torch.Tensor, grid: int = 8) -> torch.Tensor:
    """[n, H, W, 3] -> [n, grid*grid, 3*p*p] (row-major cells, each p x p x 3)."""
    n, h = images.shape[:2]
    p = h // grid
    return images.reshape(n, grid, p, grid, p, 3).permute(0, 1, 3, 2, 4, 5).reshape(n, grid * grid, 3 * p * p)


def from_patches(patches: torch.Tensor, grid: int = 8) -> torch.Tensor:
    """Inverse of ``to_patches``: [n, grid*grid, 3*p*p] -> [n, H, W, 3]."""
    n = patches.shape[0]
    p = int(math.isqrt(patches.shape[2] // 3))
    x = patches.reshape(n, grid, grid, p, p, 3).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(n, grid * p, grid * p, 3)


def scene_set(encoder, seed: int, n: int):
    """``n`` random scenes of stream [seed, 999] with their captions (the reconstruction form)."""
    scenes = tiny_vlm.random_scenes(seed, n, SIZE)
    return image_token_states(
        encoder, [edit_scenes.render(s, SIZE) for s in scenes], [edit_scenes.caption(s, SIZE) for s in scenes]
    )


def edit_set(encoder, seed: int, n_per_type: int):
    """-> (states, pixels, samples) of ``edit_scenes.generate(seed)``: each source with its instruction."""
    samples = edit_scenes.generate(seed=seed, n_per_type=n_per_type, size=SIZE)
    states, pixels = image_token_states(encoder, [s.source for s in samples], [s.instruction for s in samples])
    return states, pixels, samples


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


def fit_mlp(x: torch.Tensor, y: torch.Tensor, hidden: int = 256, steps: int = 1000, batch: int = 512):
    """A small MLP x -> y (MSE, Adam 1e-3, seed 0); returns the trained module."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], hidden),
        torch.nn.GELU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.GELU(),
        torch.nn.Linear(hidden, y.shape[1]),
    )
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        i = torch.randint(len(x), (batch,), generator=g)
        loss = torch.nn.functional.mse_loss(net(x[i]), y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) of [n, ...] predictions in [0, 1] (clamped, as an image would be)."""
    mse = ((pred.clamp(0, 1) - target) ** 2).flatten(1).mean(1)
    return 10 * torch.log10(1 / mse.clamp_min(1e-10))


def mean_ci(values: np.ndarray, digits: int = 3) -> dict:
    """Mean with a normal 95 % interval, rounded to ``digits`` (generator_probe.py reports with it too)."""
    half = 1.96 * values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    mean = float(values.mean())
    return {"mean": round(mean, digits), "ci95": [round(float(mean - h), digits) for h in (half, -half)]}


def readout_ceiling(train, scenes, edits, layer: int, readout: str) -> dict:
    """Held-out scores of one readout of one selected layer (index into the encoder's ``layers``), fitted on
    ``train`` (states, pixels): whole-image PSNR of the ``scenes`` (a reconstruction) and, on the ``edits``, the
    task's own keep-region metrics of the source read back (``harness.metrics.editing``: ``psnr_keep`` and the
    share with ``l1_keep`` <= 0.02, the keep half of ``success``)."""
    from harness.metrics.editing import score_sample

    def features(states):
        tokens = states[:, layer]
        return neighbourhood(tokens) if readout == "3x3" else tokens

    x = features(train[0]).flatten(0, 1)
    if readout == "mlp":
        net = fit_mlp(x, train[1].flatten(0, 1))

        def predict(states):
            with torch.no_grad():
                return net(features(states).flatten(0, 1)).reshape(len(states), -1, train[1].shape[2])
    else:
        w = fit_readout(x, train[1].flatten(0, 1), rank=int(readout[4:]) if readout.startswith("rank") else None)

        def predict(states):
            f = features(states).flatten(0, 1)
            pred = (torch.cat([f, torch.ones(len(f), 1)], 1).double() @ w).float()
            return pred.reshape(len(states), -1, train[1].shape[2])

    whole = psnr(predict(scenes[0]), scenes[1]).numpy()
    images = (from_patches(predict(edits[0]).clamp(0, 1)) * 255).round().to(torch.uint8).numpy()
    rows = [score_sample(img, s.target, s.mask, 0.1, 0.02) for img, s in zip(images, edits[2])]
    rows = [r for r in rows if not math.isnan(r["psnr_keep"])]
    keep = np.array([r["psnr_keep"] for r in rows])
    keep_ok = np.array([r["l1_keep"] <= 0.02 for r in rows], dtype=float)
    return {
        "scenes_psnr": mean_ci(whole) | {"n": len(whole)},
        "edits_psnr_keep": mean_ci(keep) | {"n": len(keep)},
        "edits_keep_l1_ok": mean_ci(keep_ok) | {"n": len(keep_ok)},
    }


def main(argv: list[str] | None = None) -> None:
    from harness_baselines.unifusion.encoder import VLMEncoder

    parser = argparse.ArgumentParser(prog="python -m harness_baselines.unifusion.ceilings", description=__doc__)
    parser.add_argument("--vlm", required=True, help="the frozen VLM (folder or cached hub id)")
    parser.add_argument("--layers", default="0,3,6,9", help="hidden states to read (0 = embedding output)")
    parser.add_argument("--readouts", default="token,3x3,rank64")
    parser.add_argument("--n_train", type=int, default=600, help="training scenes (seed 1)")
    parser.add_argument("--n_test", type=int, default=200, help="held-out scenes (seed 1001)")
    parser.add_argument("--n_edits_per_type", type=int, default=30, help="held-out edits per type (seed 1001)")
    parser.add_argument("--out", type=Path, default=None, help="also write the report here (JSON)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.time()
    layers = [int(i) for i in args.layers.split(",")]
    encoder = VLMEncoder.from_pretrained(args.vlm, layers=layers)
    train = scene_set(encoder, DATA_SEED, args.n_train)
    scenes = scene_set(encoder, HELDOUT_SEED, args.n_test)
    edits = edit_set(encoder, HELDOUT_SEED, args.n_edits_per_type)
    report: dict = {"vlm": args.vlm, "n_train": args.n_train, "n_test": args.n_test, "readouts": {}}
    for k, layer in enumerate(layers):
        for readout in args.readouts.split(","):
            result = readout_ceiling(train, scenes, edits, k, readout)
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
