"""Text-to-image check on the rendered-scene family: draw a scene from its caption alone.

Each sample's source is a uniform gray image (no information), the instruction is the scene's caption, the target
is the rendered scene and the mask covers every pixel (there is no keep region, so ``_keep`` metrics are absent).
An editor conditioned on (image, text) is thereby asked for plain prompt following, the "generation" half of a
unified model; ``edit/scenes`` measures the editing half on scenes of the same generator.
"""

from __future__ import annotations

import numpy as np

from harness.data import edit_scenes, register_loader
from harness.data.samples import EditSample
from harness.errors import DataError

GRAY = (128, 128, 128)
STREAM = 1000  # rng stream [seed, 1000]: distinct from edit_scenes' per-type streams [seed, 0..4]


@register_loader("edit_t2i", kind="edit")
def generate(seed: int = 0, n: int = 150, size: int = 64) -> list[EditSample]:
    """n caption -> scene samples, images of shape (size, size, 3) uint8; subsets by object count."""
    if size < edit_scenes.MIN_SIZE:
        raise DataError(f"edit_t2i: size={size} is too small (minimum {edit_scenes.MIN_SIZE})")
    rng = np.random.default_rng([seed, STREAM])
    blank = np.full((size, size, 3), GRAY, dtype=np.uint8)
    samples: list[EditSample] = []
    tries = 0
    while len(samples) < n:
        tries += 1
        if tries > 100 * n:
            raise DataError(f"edit_t2i: cannot lay out scenes at size={size}")
        scene = edit_scenes.random_scene(rng, size)
        if scene is None:
            continue
        text = edit_scenes.caption(scene, size)
        samples.append(
            EditSample(
                id=f"t2i-{len(samples):03d}",
                source=blank.copy(),
                instruction=text,
                target=edit_scenes.render(scene, size),
                mask=np.ones((size, size), dtype=bool),
                edit_type=f"{len(scene['objects'])}_objects",
                caption=text,
                meta={"size": size, "target_scene": scene},
            )
        )
    return samples
