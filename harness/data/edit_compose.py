"""Two-reference editing on the rendered-scene family: edit the first image using what the second one shows.

Every sample has a source scene (the image that is edited and scored) and one reference scene. The instruction
names something only the reference shows (a shape, its colour, its place, a background), so an editor that
ignores the reference cannot reach the target; both images and the target are rendered from scene descriptions
(``harness.data.edit_scenes``), so targets and masks are exact and ``mask == np.any(source != target, -1)``.

Edit types (one template each; the strings are fixed because models are trained on them):
  insert      the reference holds one shape; put it into the source at a named corner / the center
  copy        the reference holds 2-4 shapes, one of the named type; copy it to the same place in the source
  replace     the reference holds one shape; it replaces a named object of the source (at that object's centre)
  recolor     the reference holds one shape; a named object of the source takes its colour
  background  the source's objects over the reference's background

Seeds: edit type ``t`` draws from the rng stream ``[seed, STREAM + t]``, apart from edit_scenes' ``[seed, 0..4]``
and edit_t2i's ``[seed, 1000]``. The task ``edit/compose`` uses seed 0: training data must come from other seeds
(``generate(seed=s)`` with ``s != 0``).
"""

from __future__ import annotations

import numpy as np

from harness.data import register_loader
from harness.data.edit_scenes import (
    COLORS,
    MIN_SIZE,
    POSITIONS,
    SHAPES,
    _fits,
    _name,
    _random_object,
    anchor,
    random_scene,
    scene_sample,
)
from harness.data.samples import EditSample
from harness.errors import DataError

EDIT_TYPES = ("insert", "copy", "replace", "recolor", "background")
STREAM = 2000

TEMPLATES = {
    "insert": "Put the shape from the second image into the first image, {where}.",
    "copy": "Copy the {shape} from the second image into the first image, at the same place.",
    "replace": "Replace the {name} with the shape from the second image.",
    "recolor": "Make the {name} the color of the shape in the second image.",
    "background": "Give the first image the background of the second image.",
}


def _pairs(objects: list[dict]) -> set[tuple[str, str]]:
    return {(o["color"], o["shape"]) for o in objects}


def _one_shape_reference(rng, size: int, obj: dict) -> dict:
    """A reference scene holding only ``obj`` (kept at its own random place) over a random background."""
    back = random_scene(rng, size)
    return {"background": back["background"], "split": back["split"], "objects": [obj]}


def _compose(kind: str, scene: dict, rng, size: int):
    """(reference scene, target scene, instruction, edit info) for one edit of ``scene``, or None if infeasible."""
    objs = scene["objects"]
    if kind == "insert":
        new = _random_object(rng, size, _pairs(objs), [])
        if new is None:
            return None
        pos = POSITIONS[rng.integers(len(POSITIONS))]
        placed = {**new, **dict(zip(("x", "y"), anchor(pos, new["r"], size)))}
        if not _fits(placed, objs, size):
            return None
        where = "in the center" if pos == "center" else f"in the {pos} corner"
        reference = _one_shape_reference(rng, size, new)
        return (
            reference,
            {**scene, "objects": objs + [placed]},
            TEMPLATES["insert"].format(where=where),
            {"object": len(objs), "position": pos},
        )
    if kind == "copy":
        reference = random_scene(rng, size)
        if reference is None:
            return None
        shapes = [o["shape"] for o in reference["objects"]]
        # The named shape type must pick one object of the reference, and its colour+shape must be new to the
        # source so every object of the target stays uniquely named.
        options = [o for o in reference["objects"] if shapes.count(o["shape"]) == 1 and _fits(o, objs, size)]
        options = [o for o in options if (o["color"], o["shape"]) not in _pairs(objs)]
        if not options:
            return None
        new = dict(options[rng.integers(len(options))])
        return (
            reference,
            {**scene, "objects": objs + [new]},
            TEMPLATES["copy"].format(shape=new["shape"]),
            {"object": len(objs), "reference_object": reference["objects"].index(new)},
        )
    k = int(rng.integers(len(objs)))
    obj, rest = objs[k], objs[:k] + objs[k + 1 :]
    if kind == "replace":
        new = _random_object(rng, size, _pairs(objs), [])
        if new is None:
            return None
        placed = {**new, "x": obj["x"], "y": obj["y"]}
        if not _fits(placed, rest, size):
            return None
        reference = _one_shape_reference(rng, size, new)
        target = {**scene, "objects": objs[:k] + [placed] + objs[k + 1 :]}
        return reference, target, TEMPLATES["replace"].format(name=_name(obj)), {"object": k}
    if kind == "recolor":
        colors = [c for c in COLORS if (c, obj["shape"]) not in _pairs(objs)]
        color = colors[rng.integers(len(colors))]
        # The reference's shape is of any type: what is asked for is its colour, not its form.
        shown = _random_object(rng, size, {(c, s) for c in COLORS for s in SHAPES if c != color}, [])
        if shown is None:
            return None
        reference = _one_shape_reference(rng, size, shown)
        target = {**scene, "objects": objs[:k] + [{**obj, "color": color}] + objs[k + 1 :]}
        return reference, target, TEMPLATES["recolor"].format(name=_name(obj)), {"object": k, "color": color}
    # background
    reference = random_scene(rng, size)
    if reference is None or (reference["background"], reference["split"]) == (scene["background"], scene["split"]):
        return None
    target = {**scene, "background": reference["background"], "split": reference["split"]}
    return reference, target, TEMPLATES["background"], {"background": reference["background"]}


@register_loader("edit_compose", kind="edit")
def generate(seed: int = 0, n_per_type: int = 30, size: int = 64) -> list[EditSample]:
    """n_per_type two-image samples of each edit type; source, reference and target of shape (size, size, 3) uint8.

    ``meta`` holds the scene descriptions (``source_scene``, ``reference_scene``, ``target_scene``) and the edit;
    ``caption`` describes the target (what a prompt rewrite of (images, instruction) should say)."""
    if size < MIN_SIZE:
        raise DataError(f"edit_compose: size={size} is too small (minimum {MIN_SIZE})")
    samples = []
    for t, kind in enumerate(EDIT_TYPES):
        rng = np.random.default_rng([seed, STREAM + t])  # one stream per type, as in edit_scenes
        i = tries = 0
        while i < n_per_type:
            tries += 1
            if tries > 1000 * n_per_type:
                raise DataError(f"edit_compose: cannot lay out {kind} samples at size={size}")
            scene = random_scene(rng, size)
            if scene is None:
                continue
            composed = _compose(kind, scene, rng, size)
            if composed is None:
                continue
            reference_scene, target_scene, text, info = composed
            sample = scene_sample(
                f"compose-{kind}-{i:03d}",
                kind,
                text,
                scene,
                target_scene,
                info,
                size,
                references={"reference_scene": reference_scene},
            )
            if sample is None:
                continue
            samples.append(sample)
            i += 1
    return samples
