"""Global and local edits of real photos whose targets are computed exactly.

Photos ship inside scikit-image and scikit-learn, so the suite works offline. Each sample
is a seeded random square crop resized to (size, size, 3) uint8; the target is a pure
function of the source (no resampling after the edit), so ground truth is exact.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from harness.data import register_loader
from harness.data.edit_scenes import COLORS, POSITIONS, anchor
from harness.data.samples import EditSample
from harness.errors import DataError

EDIT_TYPES = ("grayscale", "invert", "flip", "rotate90", "brightness", "region_recolor", "add_shape")
# name -> words used in the caption ("A photo of <words>, ...").
PHOTOS = {
    "astronaut": "an astronaut",
    "coffee": "coffee",
    "chelsea": "a cat",
    "rocket": "a rocket",
    "immunohistochemistry": "stained tissue under a microscope",
    "hubble_deep_field": "galaxies in deep space",
    "colorwheel": "a color wheel",
    "retina": "a retina",
    "camera": "a cameraman",
    "coins": "coins",
    "moon": "the surface of the moon",
    "china": "a Chinese temple",
    "flower": "a flower",
}
BRIGHTNESS = {
    50: "Make the image 50% darker.",
    60: "Make the image 40% darker.",
    150: "Make the image 50% brighter.",
    170: "Make the image 70% brighter.",
}
REGIONS = (
    "left half",
    "right half",
    "top half",
    "bottom half",
    "top-left quarter",
    "top-right quarter",
    "bottom-left quarter",
    "bottom-right quarter",
)
TINTS = ("red", "green", "blue", "yellow")
MIN_CHANGED_FRACTION = 0.02  # fewer changed pixels than this is not a meaningful edit
MIN_MEAN_CHANGE = 0.1  # mean |target - source| inside the mask, on a 0..1 scale


@functools.cache
def load_photo(name: str) -> Image.Image:
    """Full-resolution RGB photo, decoded once per process (retina is 1411x1411)."""
    if name in ("china", "flower"):
        # Same file and decoder (PIL) as sklearn.datasets.load_sample_image, located
        # without importing sklearn, whose import alone costs ~1 s.
        pkg = Path(importlib.util.find_spec("sklearn").origin).parent
        with Image.open(pkg / "datasets" / "images" / f"{name}.jpg") as im:
            arr = np.asarray(im.convert("RGB"))
    else:
        import skimage.data  # imported lazily: slow, and only needed here

        arr = getattr(skimage.data, name)()
    if arr.ndim == 2:  # camera, coins, moon are grayscale
        arr = np.stack([arr] * 3, axis=-1)
    return Image.fromarray(np.ascontiguousarray(arr[..., :3], dtype=np.uint8))


def random_crop(rng, size: int) -> tuple[str, list[int], np.ndarray]:
    """(photo name, [x0, y0, side], uint8 (size, size, 3)) from a crop of 30-100% scale."""
    name = list(PHOTOS)[rng.integers(len(PHOTOS))]
    img = load_photo(name)
    short = min(img.size)
    side = int(rng.integers(max(size, int(0.3 * short)), short + 1))
    x0 = int(rng.integers(0, img.width - side + 1))
    y0 = int(rng.integers(0, img.height - side + 1))
    crop = img.resize((size, size), Image.LANCZOS, box=(x0, y0, x0 + side, y0 + side))
    return name, [x0, y0, side], np.asarray(crop, dtype=np.uint8).copy()


def luma(img: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma, rounded half up, replicated to (H, W, 3) uint8.

    Integer arithmetic throughout this module: float rounding of exact .5 ties depends on
    summation order, which would make the "exact" target ambiguous by 1.
    """
    r, g, b = (img[..., c].astype(np.int32) for c in range(3))
    y = (299 * r + 587 * g + 114 * b + 500) // 1000
    return np.repeat(y.astype(np.uint8)[..., None], 3, axis=-1)


def region_slices(region: str, size: int) -> tuple[slice, slice]:
    """(rows, cols) of a named half or quarter; odd sizes give the extra row/col to bottom/right."""
    h = size // 2
    rows = {"top": slice(0, h), "bottom": slice(h, size)}
    cols = {"left": slice(0, h), "right": slice(h, size)}
    part, kind = region.split(" ")
    if kind == "half":
        return (rows[part], slice(None)) if part in rows else (slice(None), cols[part])
    row, col = part.split("-")
    return rows[row], cols[col]


def _edit(kind: str, src: np.ndarray, rng) -> tuple[np.ndarray, str, str, dict]:
    """(target, instruction, caption suffix, params) for one edit of `src`."""
    size = src.shape[0]
    if kind == "grayscale":
        return luma(src), "Convert the image to grayscale.", "converted to grayscale", {}
    if kind == "invert":
        return 255 - src, "Invert the colors of the image.", "with inverted colors", {}
    if kind == "flip":
        return src[:, ::-1].copy(), "Flip the image horizontally.", "flipped horizontally", {}
    if kind == "rotate90":
        cw = bool(rng.integers(2))
        d = "clockwise" if cw else "counter-clockwise"
        # np.rot90 with k=1 turns counter-clockwise in image (row-down) coordinates too.
        return (
            np.rot90(src, k=-1 if cw else 1).copy(),
            f"Rotate the image 90 degrees {d}.",
            f"rotated 90 degrees {d}",
            {"direction": d},
        )
    if kind == "brightness":
        pct = list(BRIGHTNESS)[rng.integers(len(BRIGHTNESS))]
        out = np.clip((src.astype(np.int32) * pct + 50) // 100, 0, 255).astype(np.uint8)
        word = f"{abs(pct - 100)}% {'brighter' if pct > 100 else 'darker'}"
        return out, BRIGHTNESS[pct], word, {"factor_percent": pct}
    if kind == "region_recolor":
        region = REGIONS[rng.integers(len(REGIONS))]
        op = ("grayscale", "invert", "tint")[rng.integers(3)]
        sl, out = region_slices(region, size), src.copy()
        if op == "grayscale":
            out[sl] = luma(src[sl])
            text, cap = f"Convert the {region} of the image to grayscale.", "in grayscale"
        elif op == "invert":
            out[sl] = 255 - src[sl]
            text, cap = f"Invert the colors of the {region}.", "inverted"
        else:  # tint = 50/50 blend with a named colour
            color = TINTS[rng.integers(len(TINTS))]
            mixed = (src[sl].astype(np.int32) + np.array(COLORS[color]) + 1) // 2
            out[sl] = mixed.astype(np.uint8)
            text, cap = f"Give the {region} of the image a {color} tint.", f"tinted {color}"
            op = f"tint-{color}"
        return out, text, f"with its {region} {cap}", {"region": region, "operation": op}
    # add_shape: a filled, non-antialiased shape drawn over the photo.
    shape = ("circle", "square")[rng.integers(2)]
    color = list(COLORS)[rng.integers(len(COLORS))]
    pos = POSITIONS[rng.integers(len(POSITIONS))]
    r = int(rng.integers(max(2, size // 10), max(3, size // 6) + 1))
    x, y = anchor(pos, r, size)
    img = Image.fromarray(src)
    draw = ImageDraw.Draw(img)
    (draw.ellipse if shape == "circle" else draw.rectangle)([x - r, y - r, x + r, y + r], fill=COLORS[color])
    where = "in the center" if pos == "center" else f"in the {pos} corner"
    a = "an" if color[0] in "aeiou" else "a"
    return (
        np.asarray(img, dtype=np.uint8).copy(),
        f"Add {a} {color} {shape} {where}.",
        f"with {a} {color} {shape} {where}",
        {"shape": shape, "color": color, "position": pos, "radius": r},
    )


@register_loader("edit_photos", kind="edit")
def generate(seed: int = 0, n_per_type: int = 30, size: int = 64) -> list[EditSample]:
    """n_per_type samples per edit type; source/target uint8 (size, size, 3), mask bool (size, size)."""
    samples = []
    for t, kind in enumerate(EDIT_TYPES):
        rng = np.random.default_rng([seed, 1000 + t])  # independent stream per edit type
        i = tries = 0
        while i < n_per_type:
            tries += 1
            if tries > 100 * n_per_type:
                raise DataError(f"edit_photos: too few usable crops for {kind} at size={size}")
            name, crop, src = random_crop(rng, size)
            target, text, cap, params = _edit(kind, src, rng)
            mask = np.any(src != target, axis=-1)
            # Reject near no-ops: a symmetric crop under flip, grayscale of a gray photo,
            # brightening an already saturated crop, a shape drawn on the same colour.
            if mask.mean() < MIN_CHANGED_FRACTION:
                continue
            change = np.abs(src.astype(np.int16) - target)[mask].mean() / 255
            if change < MIN_MEAN_CHANGE:
                continue
            samples.append(
                EditSample(
                    id=f"photos-{kind}-{i:03d}",
                    source=src,
                    instruction=text,
                    target=target,
                    mask=mask,
                    edit_type=kind,
                    caption=f"A photo of {PHOTOS[name]}, {cap}.",
                    meta={"photo": name, "crop": crop, "size": size, **params},
                )
            )
            i += 1
    return samples
