"""A pretraining-only rendering of the base's images: the picture's content rescaled and moved on its background.

Why: the embedded generators have few distinct scenes in some categories (a clock shows one of 144 times, a
rectangle one of 64 sizes at a few positions), so most of them are pixel-identical to an image of the eval suites
and decontamination drops them from the base's pretraining (``probe/pretrain_coverage.py``: ~90 % of clocks). The
base then barely sees a clock and cannot learn to read one. ``restyle`` draws the same scene at another scale and
position, which keeps every fact the description states (counts, colours, digits, bar values, hand angles, the
grid squares, the angle labels: no rotation, flip or colour change) while giving a picture the suites never show.
A restyled image is kept only if its pHash is more than twice the recipe builds' matching distance from every eval
image (``pretrain.pretrain_images``), so it is not a near copy of an eval image by the check recipe builds use.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SCALE_RANGE = (0.75, 1.15)  # content scale; clipped so that the content's bounding box stays inside the frame
ATTEMPTS = 4  # restyles tried per image before it is dropped


def restyle(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``image`` (uint8 H x W x 3 on a flat background, the colour of its top-left pixel) with its content's
    bounding box scaled by a factor drawn from SCALE_RANGE and pasted at a random position inside the frame."""
    background = image[0, 0]
    content = np.abs(image.astype(np.int16) - background).sum(-1) > 30
    if not content.any():
        return image
    ys, xs = np.nonzero(content)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    height, width = image.shape[:2]
    lo, hi = SCALE_RANGE
    scale = rng.uniform(lo, max(lo, min(hi, height / (y1 - y0), width / (x1 - x0))))
    size = (min(width, max(1, round((x1 - x0) * scale))), min(height, max(1, round((y1 - y0) * scale))))
    crop = Image.fromarray(image[y0:y1, x0:x1]).resize(size, Image.BILINEAR)
    out = Image.new("RGB", (width, height), tuple(int(v) for v in background))
    out.paste(crop, (int(rng.integers(0, width - size[0] + 1)), int(rng.integers(0, height - size[1] + 1))))
    return np.asarray(out)
