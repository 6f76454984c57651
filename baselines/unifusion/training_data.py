"""The generators' training examples: three pools of (VLM input image, text, target image), and the seeds they use.

- ``t2i``:   (uniform gray, caption) -> scene, the input form of the ``edit/t2i-scenes`` task;
- ``recon``: (scene, caption) -> the same scene: the paper's VLM-encoded reconstructions (~3 % of its T2I batches);
- ``edit``:  (source, instruction) -> target, single-reference edit pairs from the ``edit/scenes`` generator --
  only the ``edit-ft`` regime (the paper's UniFusion-Edit fine-tuning) ever draws from this pool.

Seeds (never 0, the eval suites' seed; the suites use streams [0, 0..4] for ``edit/scenes`` and [0, 1000] for
``edit/t2i-scenes``): scenes come from ``tiny_vlm.random_scenes(DATA_SEED)`` (stream [1, 999]) and edit pairs from
``edit_scenes.generate(seed=DATA_SEED)`` (streams [1, 0..4]). The data are the same for every variant and every
training seed, so the frozen VLM's features are computed once for all of them (features.py); the training seed
changes the initialisation, the batch draws and the flow-matching noise.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from harness.data import edit_scenes

DATA_SEED = 1
GRAY = (128, 128, 128)  # the t2i task's blank source (harness/data/edit_t2i.py)
POOLS = ("t2i", "recon", "edit")


@dataclass(frozen=True)
class Pool:
    """One kind of training example. images[i] (uint8 H x W x 3) and texts[i] go to the frozen VLM; targets[i]
    (uint8 H x W x 3) is what the generator must produce."""

    name: str
    images: list[np.ndarray]
    texts: list[str]
    targets: list[np.ndarray]
    rewrites: list[str]  # the canonical caption of each target: the rewrite VERIFI's VLM is trained to generate

    def __len__(self) -> int:
        return len(self.texts)

    def digest(self) -> str:
        """A hash of every input and target: the key of the cached features of this pool."""
        h = hashlib.sha256(self.name.encode())
        for image, text, target in zip(self.images, self.texts, self.targets):
            h.update(np.ascontiguousarray(image).tobytes())
            h.update(text.encode() + b"\0")
            h.update(np.ascontiguousarray(target).tobytes())
        return h.hexdigest()[:16]


def build_pools(n_scenes: int = 2000, n_edits_per_type: int = 400, size: int = 64) -> dict[str, Pool]:
    """The three pools (t2i and recon share their ``n_scenes`` scenes; ``edit`` has 5 x ``n_edits_per_type``)."""
    from harness_baselines.unifusion import tiny_vlm

    scenes = tiny_vlm.random_scenes(DATA_SEED, n_scenes, size)
    images = [edit_scenes.render(s, size) for s in scenes]
    captions = [edit_scenes.caption(s, size) for s in scenes]
    canonical = [tiny_vlm.canonical_caption(s, size) for s in scenes]
    gray = np.full((size, size, 3), GRAY, dtype=np.uint8)
    edits = edit_scenes.generate(seed=DATA_SEED, n_per_type=n_edits_per_type, size=size)
    return {
        "t2i": Pool("t2i", [gray] * len(scenes), captions, images, canonical),
        "recon": Pool("recon", images, captions, images, canonical),
        "edit": Pool(
            "edit",
            [s.source for s in edits],
            [s.instruction for s in edits],
            [s.target for s in edits],
            [tiny_vlm.canonical_caption(s.meta["target_scene"], size) for s in edits],
        ),
    }


def mixture(regime: str, recon_share: float, edit_share: float) -> dict[str, float]:
    """Probability of each pool in a batch element.

    zero-shot: recon with ``recon_share``, else t2i -- never an edit pair. edit-ft: an edit pair with
    ``edit_share``, else the zero-shot mixture (replay, so fine-tuning does not erase text-to-image)."""
    zero_shot = {"t2i": 1.0 - recon_share, "recon": recon_share, "edit": 0.0}
    if regime == "zero-shot":
        return zero_shot
    if regime == "edit-ft":
        return {k: (1.0 - edit_share) * v for k, v in zero_shot.items()} | {"edit": edit_share}
    raise ValueError(f"unknown regime {regime!r} (known: zero-shot, edit-ft)")
