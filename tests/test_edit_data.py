"""Embedded editing suites (scenes, photos) and the local-folder reader."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.data import edit_local, edit_photos, edit_scenes
from harness.errors import DataError, HarnessError

FIXTURES = Path(__file__).parent / "fixtures"
SCENE_TYPES = {"recolor", "move", "remove", "add", "resize"}
PHOTO_TYPES = {"grayscale", "invert", "flip", "rotate90", "brightness", "region_recolor", "add_shape"}


@pytest.fixture(scope="module")
def scenes():
    return edit_scenes.generate(seed=0, n_per_type=12, size=64)


@pytest.fixture(scope="module")
def photos():
    return edit_photos.generate(seed=0, n_per_type=8, size=64)


def by_type(samples, kind):
    out = [s for s in samples if s.edit_type == kind]
    assert out, kind
    return out


def assert_well_formed(samples, prefix, types, n, size):
    assert len(samples) == n * len(types)
    assert {s.edit_type for s in samples} == types
    ids = [s.id for s in samples]
    assert len(set(ids)) == len(ids)
    for s in samples:
        assert re.fullmatch(rf"{prefix}-{s.edit_type}-\d{{3}}", s.id)
        assert s.source.shape == s.target.shape == (size, size, 3)
        assert s.source.dtype == s.target.dtype == np.uint8
        assert s.mask.shape == (size, size) and s.mask.dtype == bool
        np.testing.assert_array_equal(s.mask, np.any(s.source != s.target, axis=-1))
        assert s.mask.any()
        assert s.instruction.endswith(".") and s.caption.endswith(".")


def assert_same(a, b):
    assert [s.id for s in a] == [s.id for s in b]
    for x, y in zip(a, b):
        assert x.instruction == y.instruction and x.caption == y.caption and x.meta == y.meta
        np.testing.assert_array_equal(x.source, y.source)
        np.testing.assert_array_equal(x.target, y.target)


def only_str_int(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and only_str_int(v) for k, v in value.items())
    if isinstance(value, list):
        return all(only_str_int(v) for v in value)
    return type(value) in (str, int)


# ---------------------------------------------------------------- scenes


def test_scenes_well_formed(scenes):
    assert_well_formed(scenes, "scenes", SCENE_TYPES, 12, 64)
    for s in scenes:
        assert only_str_int(s.meta)
        json.dumps(s.meta)


def test_scenes_deterministic():
    a, b = edit_scenes.generate(seed=3, n_per_type=4), edit_scenes.generate(seed=3, n_per_type=4)
    assert_same(a, b)
    c = edit_scenes.generate(seed=4, n_per_type=4)
    assert any(not np.array_equal(x.source, y.source) for x, y in zip(a, c))


def test_scenes_are_rendered_from_meta_without_antialiasing(scenes):
    allowed = {tuple(c) for c in edit_scenes.COLORS.values()}
    allowed |= {tuple(c) for c in edit_scenes.BACKGROUNDS.values()}
    for s in scenes:
        np.testing.assert_array_equal(edit_scenes.render(s.meta["source_scene"], 64), s.source)
        np.testing.assert_array_equal(edit_scenes.render(s.meta["target_scene"], 64), s.target)
        # Only palette colours: no blended edge pixels, so ground truth is exact.
        for img in (s.source, s.target):
            assert {tuple(p) for p in img.reshape(-1, 3)} <= allowed


def boxes_ok(objects, size):
    """Independent check: inside the image and pairwise-disjoint bounding boxes."""
    for o in objects:
        assert 0 <= o["x"] - o["r"] and o["x"] + o["r"] < size
        assert 0 <= o["y"] - o["r"] and o["y"] + o["r"] < size
    for i, a in enumerate(objects):
        for b in objects[i + 1 :]:
            d = a["r"] + b["r"]
            assert abs(a["x"] - b["x"]) > d or abs(a["y"] - b["y"]) > d
    names = [(o["color"], o["shape"]) for o in objects]
    assert len(set(names)) == len(names)  # each object nameable by colour + shape
    assert 1 <= len(objects) <= 5


def test_scene_layouts_valid(scenes):
    for s in scenes:
        boxes_ok(s.meta["source_scene"]["objects"], 64)
        boxes_ok(s.meta["target_scene"]["objects"], 64)


def bbox_mask(o, size):
    m = np.zeros((size, size), bool)
    m[o["y"] - o["r"] : o["y"] + o["r"] + 1, o["x"] - o["r"] : o["x"] + o["r"] + 1] = True
    return m


def test_local_edits_touch_only_the_named_object(scenes):
    bg = [np.array(c) for c in edit_scenes.BACKGROUNDS.values()]
    for kind in ("recolor", "remove", "add"):
        for s in by_type(scenes, kind):
            k = s.meta["edit"]["object"]
            scene = s.meta["target_scene" if kind == "add" else "source_scene"]
            obj = scene["objects"][k]
            assert f"{obj['color']} {obj['shape']}" in s.instruction
            region = bbox_mask(obj, 64)
            assert not (s.mask & ~region).any()  # keep region untouched
            np.testing.assert_array_equal(s.target[~region], s.source[~region])
            changed = s.target[s.mask]
            if kind == "remove":
                assert all(any((p == c).all() for c in bg) for p in changed)
                assert obj not in s.meta["target_scene"]["objects"]
            else:
                new = s.meta["target_scene"]["objects"][k]
                assert (changed == edit_scenes.COLORS[new["color"]]).all()
            if kind == "recolor":
                assert (s.source[s.mask] == edit_scenes.COLORS[obj["color"]]).all()
                assert s.meta["target_scene"]["objects"][k]["color"] in s.instruction


def test_move_and_resize_geometry(scenes):
    for s in by_type(scenes, "move"):
        k = s.meta["edit"]["object"]
        a, b = s.meta["source_scene"]["objects"][k], s.meta["target_scene"]["objects"][k]
        pos = re.search(r"to the ([a-z-]+)", s.instruction).group(1)
        assert edit_scenes.region_name(b["x"], b["y"], 64) == pos.replace("-", " ")
        assert (a["x"], a["y"]) != (b["x"], b["y"]) and a["r"] == b["r"]
    for s in by_type(scenes, "resize"):
        k = s.meta["edit"]["object"]
        a, b = s.meta["source_scene"]["objects"][k], s.meta["target_scene"]["objects"][k]
        expected = a["r"] * 2 if "twice" in s.instruction else round(a["r"] / 2)
        assert b["r"] == expected and (a["x"], a["y"]) == (b["x"], b["y"])


@pytest.mark.parametrize("size", [32, 128])
def test_scenes_other_sizes(size):
    samples = edit_scenes.generate(seed=1, n_per_type=4, size=size)
    assert_well_formed(samples, "scenes", SCENE_TYPES, 4, size)
    for s in samples:
        boxes_ok(s.meta["target_scene"]["objects"], size)


# ---------------------------------------------------------------- photos


def test_photos_well_formed(photos):
    assert_well_formed(photos, "photos", PHOTO_TYPES, 8, 64)
    for s in photos:
        assert s.mask.mean() >= 0.02
        change = np.abs(s.source.astype(int) - s.target)[s.mask].mean() / 255
        assert change >= 0.1
        assert s.caption.startswith("A photo of ")
        json.dumps(s.meta)


def test_photos_deterministic():
    a, b = edit_photos.generate(seed=5, n_per_type=2), edit_photos.generate(seed=5, n_per_type=2)
    assert_same(a, b)
    c = edit_photos.generate(seed=6, n_per_type=2)
    assert any(not np.array_equal(x.source, y.source) for x, y in zip(a, c))


def test_photo_global_oracles(photos):
    for s in by_type(photos, "flip"):
        np.testing.assert_array_equal(s.target, s.source[:, ::-1])
    for s in by_type(photos, "invert"):
        np.testing.assert_array_equal(s.target, 255 - s.source)
    for s in by_type(photos, "rotate90"):
        t = s.source.transpose(1, 0, 2)
        cw = "counter-clockwise" not in s.instruction
        # clockwise: the top row becomes the right column.
        np.testing.assert_array_equal(s.target, t[:, ::-1] if cw else t[::-1])
    for s in by_type(photos, "grayscale"):
        r, g, b = (s.source[..., c].astype(int) for c in range(3))
        exact = 0.299 * r + 0.587 * g + 0.114 * b
        assert (s.target == s.target[..., :1]).all()
        assert (np.abs(s.target[..., 0] - exact) <= 0.5 + 1e-9).all()
        # ties are rounded up: the exact integer formula
        np.testing.assert_array_equal(s.target[..., 0], (299 * r + 587 * g + 114 * b + 500) // 1000)
    for s in by_type(photos, "brightness"):
        pct = s.meta["factor_percent"]
        f = pct / 100
        assert f"{abs(pct - 100)}% {'brighter' if f > 1 else 'darker'}" in s.instruction
        assert (np.abs(s.target - np.clip(s.source * f, 0, 255)) <= 0.5 + 1e-9).all()
        np.testing.assert_array_equal(s.target, np.clip((s.source.astype(int) * pct + 50) // 100, 0, 255))


def region_box(region, n):
    """bool (n, n) of a named half/quarter, e.g. "top-left quarter", "right half"."""
    rows = {"top": slice(0, n // 2), "bottom": slice(n // 2, n)}
    cols = {"left": slice(0, n // 2), "right": slice(n // 2, n)}
    words = region.replace("-", " ").split()[:-1]
    m = np.zeros((n, n), bool)
    m[
        next((rows[w] for w in words if w in rows), slice(None)),
        next((cols[w] for w in words if w in cols), slice(None)),
    ] = True
    return m


def test_photo_local_edits_stay_in_region(photos):
    for s in by_type(photos, "region_recolor"):
        region = s.meta["region"]
        assert region in s.instruction
        inside = region_box(region, 64)
        assert not (s.mask & ~inside).any()
        np.testing.assert_array_equal(s.target[~inside], s.source[~inside])
        src, tgt, op = s.source[inside].astype(int), s.target[inside].astype(int), s.meta["operation"]
        if op == "invert":
            np.testing.assert_array_equal(tgt, 255 - src)
        elif op == "grayscale":
            assert (tgt == tgt[:, :1]).all()
        else:
            color = np.array(edit_scenes.COLORS[op.removeprefix("tint-")])
            assert op.removeprefix("tint-") in s.instruction and "tint" in s.instruction
            np.testing.assert_array_equal(tgt, (src + color + 1) // 2)
    for s in by_type(photos, "add_shape"):
        assert f"{s.meta['color']} {s.meta['shape']}" in s.instruction
        assert (s.target[s.mask] == edit_scenes.COLORS[s.meta["color"]]).all()
        assert s.mask.sum() <= (2 * s.meta["radius"] + 1) ** 2


@pytest.mark.parametrize("size", [32, 128])
def test_photos_other_sizes(size):
    assert_well_formed(edit_photos.generate(seed=2, n_per_type=2, size=size), "photos", PHOTO_TYPES, 2, size)


def test_bundled_sklearn_photo_matches_sklearn_loader():
    from sklearn.datasets import load_sample_image

    ours = np.asarray(edit_photos.load_photo("china"))
    np.testing.assert_array_equal(ours, load_sample_image("china.jpg"))


# ---------------------------------------------------------------- local folders


def test_read_documented_format():
    samples = edit_local.load_folder(FIXTURES / "edit_local", size=12)
    assert [s.id for s in samples] == ["s1", "s2", "s3"]
    s1, s2, s3 = samples
    assert (s1.edit_type, s2.edit_type, s3.edit_type) == ("recolor", "unknown", "remove")
    assert s1.caption == "A blue square on a gray background." and s2.caption == ""
    square = np.zeros((12, 12), bool)
    square[3:7, 3:7] = True
    np.testing.assert_array_equal(s1.mask, square)  # from the L-mode mask file
    np.testing.assert_array_equal(s3.mask, square)  # faint RGB mask: any nonzero channel
    np.testing.assert_array_equal(s2.mask, np.any(s2.source != s2.target, -1))  # no mask file
    np.testing.assert_array_equal(s2.target, s2.source[:, ::-1])
    assert (s1.source[3, 3] == (220, 30, 30)).all() and (s1.target[3, 3] == (40, 70, 230)).all()
    big = edit_local.load_folder(str(FIXTURES / "edit_local"), size=64)
    assert big[0].source.shape == (64, 64, 3) and big[0].mask.shape == (64, 64)
    # NEAREST keeps the mask binary: the 4x4 square becomes roughly 21x21.
    assert 18**2 <= big[0].mask.sum() <= 24**2 and big[0].mask[27, 27] and not big[0].mask[0, 0]


def test_read_magicbrush_layout():
    samples = edit_local.load_folder(FIXTURES / "magicbrush", size=12)
    assert [s.id for s in samples] == ["101-0", "101-1", "202-0"]
    assert {s.edit_type for s in samples} == {"magicbrush"}
    assert samples[1].instruction == "Make the background black."
    square = np.zeros((12, 12), bool)
    square[3:7, 3:7] = True
    np.testing.assert_array_equal(samples[0].mask, square)  # transparent pixels = edit region
    np.testing.assert_array_equal(samples[1].mask, ~square)
    np.testing.assert_array_equal(samples[2].mask[:, :6], True)
    np.testing.assert_array_equal(samples[2].mask[:, 6:], False)
    # turn 2 starts from turn 1's output
    np.testing.assert_array_equal(samples[1].source, samples[0].target)


@pytest.fixture
def folder(tmp_path):
    dst = tmp_path / "bench"
    shutil.copytree(FIXTURES / "edit_local", dst)
    return dst


def raises_naming(fn, *parts):
    with pytest.raises(DataError) as info:
        fn()
    msg = str(info.value)
    assert "\n" not in msg
    for part in parts:
        assert str(part) in msg, (part, msg)
    assert isinstance(info.value, HarnessError)
    return msg


def test_error_no_metadata(tmp_path):
    raises_naming(lambda: edit_local.load_folder(tmp_path), tmp_path, "metadata.jsonl")
    raises_naming(lambda: edit_local.load_folder(tmp_path / "nope"), tmp_path / "nope")


def test_error_missing_image(folder):
    (folder / "images" / "s2_tgt.png").unlink()
    raises_naming(
        lambda: edit_local.load_folder(folder),
        folder / "images" / "s2_tgt.png",
        f"{folder / 'metadata.jsonl'}:2",
        "'target'",
    )


def test_error_corrupt_image(folder):
    (folder / "masks" / "s3_mask.png").write_bytes(b"\x89PNG not really a png" * 3)
    raises_naming(lambda: edit_local.load_folder(folder), folder / "masks" / "s3_mask.png", "cannot decode", "'mask'")


def write_lines(folder, lines):
    (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n")


def test_error_duplicate_id(folder):
    lines = (folder / "metadata.jsonl").read_text().splitlines()
    write_lines(folder, lines[:2] + [lines[0]])
    raises_naming(
        lambda: edit_local.load_folder(folder), f"{folder / 'metadata.jsonl'}:3", "duplicate", "'s1'", "line 1"
    )


def test_error_malformed_json_line(folder):
    lines = (folder / "metadata.jsonl").read_text().splitlines()
    write_lines(folder, [lines[0], '{"id": "x", "source": ', lines[2]])
    raises_naming(lambda: edit_local.load_folder(folder), f"{folder / 'metadata.jsonl'}:2", "malformed JSON")


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda r: r.pop("instruction"), "instruction"),
        (lambda r: r.update(target=3), "target"),
        (lambda r: r.update(edit_type=["a"]), "edit_type"),
    ],
)
def test_error_bad_fields(folder, change, field):
    rec = json.loads((folder / "metadata.jsonl").read_text().splitlines()[0])
    change(rec)
    write_lines(folder, [json.dumps(rec)])
    raises_naming(lambda: edit_local.load_folder(folder), f"{folder / 'metadata.jsonl'}:1", f"'{field}'")


def test_error_magicbrush_missing_image(tmp_path):
    dst = tmp_path / "mb"
    shutil.copytree(FIXTURES / "magicbrush", dst)
    (dst / "images" / "202" / "202-mask1.png").unlink()
    raises_naming(
        lambda: edit_local.load_folder(dst), dst / "images" / "202" / "202-mask1.png", "edit_sessions.json", "'202'"
    )


def test_scenes_too_small_is_a_data_error():
    raises_naming(lambda: edit_scenes.generate(n_per_type=2, size=8), "size=8")
