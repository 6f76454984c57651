"""Synthetic shape scenes with exact editing ground truth.

A scene is a background plus 2-4 non-overlapping shapes. Source and target are both
rendered from a scene description with PIL's (non-antialiased) ImageDraw, so every
target pixel is known exactly and ``mask == np.any(source != target, -1)`` holds.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from harness.data import register_loader
from harness.data.samples import EditSample
from harness.errors import DataError

EDIT_TYPES = ("recolor", "move", "remove", "add", "resize")
SHAPES = ("circle", "square", "triangle")
# Shape colours are far apart in RGB and disjoint from the background colours, so a
# shape never vanishes into the background and the colour words are unambiguous.
COLORS = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (40, 70, 230),
    "yellow": (245, 220, 30),
    "purple": (140, 50, 180),
    "orange": (250, 140, 20),
    "cyan": (40, 220, 230),
    "white": (255, 255, 255),
}
BACKGROUNDS = {"gray": (128, 128, 128), "black": (0, 0, 0), "brown": (110, 70, 40)}
MIN_SIZE = 20
POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right", "center")


def margin(size: int) -> int:
    return max(1, size // 16)


def anchor(position: str, r: int, size: int) -> tuple[int, int]:
    """Centre (x, y) of a shape with half-extent r placed at a named position."""
    lo, hi, mid = margin(size) + r, size - 1 - margin(size) - r, (size - 1) // 2
    xs = {"left": lo, "right": hi}
    ys = {"top": lo, "bottom": hi}
    if position == "center":
        return mid, mid
    row, col = position.split("-")
    return xs[col], ys[row]


def region_name(x: int, y: int, size: int) -> str:
    """3x3-grid location of a point in words ("top left", "center", "right", ...)."""
    row = "top" if y < size / 3 else "bottom" if y >= 2 * size / 3 else ""
    col = "left" if x < size / 3 else "right" if x >= 2 * size / 3 else ""
    return " ".join(w for w in (row, col) if w) or "center"


def _radius_range(size: int) -> tuple[int, int]:
    return max(2, round(size * 0.07)), max(3, round(size * 0.15))


def _inside(o: dict, size: int) -> bool:
    m = margin(size)
    return (
        o["x"] - o["r"] >= m
        and o["y"] - o["r"] >= m
        and o["x"] + o["r"] <= size - 1 - m
        and o["y"] + o["r"] <= size - 1 - m
    )


def _apart(a: dict, b: dict, size: int) -> bool:
    # Bounding boxes separated by a gap: conservative for circles/triangles, but it keeps
    # shapes visually distinct and makes "no overlap" trivially checkable.
    gap = a["r"] + b["r"] + margin(size)
    return abs(a["x"] - b["x"]) > gap or abs(a["y"] - b["y"]) > gap


def _fits(o: dict, others: list[dict], size: int) -> bool:
    return _inside(o, size) and all(_apart(o, p, size) for p in others)


def render(scene: dict, size: int) -> np.ndarray:
    """Scene description -> uint8 array (size, size, 3). ImageDraw does not antialias."""
    bg = scene["background"]
    img = Image.new("RGB", (size, size), BACKGROUNDS[bg[0]])
    draw = ImageDraw.Draw(img)
    half = size // 2
    if scene["split"] == "vertical":  # left | right halves
        draw.rectangle([half, 0, size - 1, size - 1], fill=BACKGROUNDS[bg[1]])
    elif scene["split"] == "horizontal":  # top / bottom halves
        draw.rectangle([0, half, size - 1, size - 1], fill=BACKGROUNDS[bg[1]])
    for o in scene["objects"]:
        x, y, r, fill = o["x"], o["y"], o["r"], COLORS[o["color"]]
        box = [x - r, y - r, x + r, y + r]
        if o["shape"] == "circle":
            draw.ellipse(box, fill=fill)
        elif o["shape"] == "square":
            draw.rectangle(box, fill=fill)
        else:  # upward triangle inscribed in the box
            draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=fill)
    return np.asarray(img, dtype=np.uint8).copy()


def _name(o: dict) -> str:
    return f"{o['color']} {o['shape']}"


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def caption(scene: dict, size: int) -> str:
    parts = [f"{_article(_name(o))} {_name(o)} {_where(o, size)}" for o in scene["objects"]]
    bg = scene["background"]
    if scene["split"] == "none":
        back = f"a {bg[0]} background"
    else:
        sides = ("left", "right") if scene["split"] == "vertical" else ("top", "bottom")
        back = f"a background that is {bg[0]} on the {sides[0]} and {bg[1]} on the {sides[1]}"
    text = ", ".join(parts) + f" on {back}." if parts else f"An empty scene: {back}."
    return text[0].upper() + text[1:]


def _where(o: dict, size: int) -> str:
    name = region_name(o["x"], o["y"], size)
    return "on the " + name if name in ("left", "right") else "at the " + name


def _random_object(rng, size: int, taken: set, others: list[dict]) -> dict | None:
    """A new shape whose colour+shape is not in `taken`, placed without overlap."""
    free = [(c, s) for c in COLORS for s in SHAPES if (c, s) not in taken]
    color, shape = free[rng.integers(len(free))]
    lo, hi = _radius_range(size)
    for _ in range(50):
        r = int(rng.integers(lo, hi + 1))
        o = {"shape": shape, "color": color, "r": r, "x": int(rng.integers(0, size)), "y": int(rng.integers(0, size))}
        if _fits(o, others, size):
            return o
    return None


def random_scene(rng, size: int) -> dict | None:
    """Background + 2-4 shapes, each colour+shape pair unique so references are unambiguous.

    None if no layout was found within a bounded number of attempts.
    """
    for _ in range(100):
        split = ("none", "vertical", "horizontal")[rng.integers(3)]
        bg = [str(b) for b in rng.choice(list(BACKGROUNDS), size=2, replace=False)]
        objects: list[dict] = []
        for _ in range(int(rng.integers(2, 5))):
            o = _random_object(rng, size, {(p["color"], p["shape"]) for p in objects}, objects)
            if o is None:
                break
            objects.append(o)
        else:
            return {"background": bg if split != "none" else bg[:1], "split": split, "objects": objects}
    return None


def _edit(kind: str, scene: dict, rng, size: int):
    """Apply one edit; returns (target scene, instruction, edit info) or None if infeasible."""
    objs = scene["objects"]
    k = int(rng.integers(len(objs)))
    obj, rest = objs[k], objs[:k] + objs[k + 1 :]
    new = dict(obj)
    if kind == "recolor":
        used = {(o["color"], o["shape"]) for o in objs}
        colors = [c for c in COLORS if (c, obj["shape"]) not in used]
        new["color"] = colors[rng.integers(len(colors))]
        text = f"Make the {_name(obj)} {new['color']}."
    elif kind == "move":
        pos = POSITIONS[rng.integers(len(POSITIONS))]
        new["x"], new["y"] = anchor(pos, obj["r"], size)
        # Moving to where the object already is would be a non-edit.
        if region_name(obj["x"], obj["y"], size) == pos.replace("-", " "):
            return None
        text = f"Move the {_name(obj)} to the {pos}" + (" corner." if pos != "center" else ".")
    elif kind == "remove":
        return {**scene, "objects": rest}, f"Remove the {_name(obj)}.", {"object": k}
    elif kind == "add":
        pos = POSITIONS[rng.integers(len(POSITIONS))]
        new = _random_object(rng, size, {(o["color"], o["shape"]) for o in objs}, [])
        if new is None:
            return None
        new["x"], new["y"] = anchor(pos, new["r"], size)
        if not _fits(new, objs, size):
            return None
        where = "in the center" if pos == "center" else f"in the {pos} corner"
        return (
            {**scene, "objects": objs + [new]},
            f"Add {_article(_name(new))} {_name(new)} {where}.",
            {"object": len(objs), "position": pos},
        )
    else:  # resize: "twice/half as large" = linear size (radius) doubled/halved
        bigger = bool(rng.integers(2))
        if not bigger and obj["r"] < 4:
            return None  # halving would leave a few pixels that no longer read as the shape
        new["r"] = obj["r"] * 2 if bigger else round(obj["r"] / 2)
        text = f"Make the {_name(obj)} {'twice' if bigger else 'half'} as large."
    if not _fits(new, rest, size):
        return None
    target = {**scene, "objects": objs[:k] + [new] + objs[k + 1 :]}
    return target, text, {"object": k}


@register_loader("edit_scenes", kind="edit")
def generate(seed: int = 0, n_per_type: int = 30, size: int = 64) -> list[EditSample]:
    """n_per_type samples of each edit type, images of shape (size, size, 3) uint8."""
    if size < MIN_SIZE:  # below this the shapes are a few pixels and layouts rarely fit
        raise DataError(f"edit_scenes: size={size} is too small (minimum {MIN_SIZE})")
    samples = []
    for t, kind in enumerate(EDIT_TYPES):
        # One stream per edit type: a type's samples don't depend on n_per_type of others.
        rng = np.random.default_rng([seed, t])
        i = tries = 0
        while i < n_per_type:
            tries += 1
            if tries > 1000 * n_per_type:  # e.g. a size too small to fit the shapes
                raise DataError(f"edit_scenes: cannot lay out {kind} samples at size={size}")
            scene = random_scene(rng, size)
            if scene is None:
                continue
            edited = _edit(kind, scene, rng, size)
            if edited is None:
                continue
            target_scene, text, info = edited
            sample = scene_sample(f"scenes-{kind}-{i:03d}", kind, text, scene, target_scene, info, size)
            if sample is None:
                continue
            samples.append(sample)
            i += 1
    return samples


def scene_sample(
    sample_id: str,
    kind: str,
    text: str,
    scene: dict,
    target_scene: dict,
    info: dict,
    size: int,
    references: dict | None = None,
) -> EditSample | None:
    """The sample that edits ``scene`` into ``target_scene`` with exact target and mask, or None when the edit
    changes no pixel. ``references`` ({meta key: scene}) are rendered as the further input images, in order."""
    source, target = render(scene, size), render(target_scene, size)
    mask = np.any(source != target, axis=-1)
    if not mask.any():
        return None
    references = references or {}
    return EditSample(
        id=sample_id,
        source=source,
        instruction=text,
        target=target,
        mask=mask,
        edit_type=kind,
        caption=caption(target_scene, size),
        references=tuple(render(r, size) for r in references.values()),
        meta={"size": size, "source_scene": scene, **references, "target_scene": target_scene, "edit": info},
    )
