"""MagicBrush and Emu Edit through the reference metrics (L1/L2 after the official resize, CLIP-I/T/dir/out, DINO)
with tiny random CLIP and DINO checkpoints built from configs and loaded from folders like real ones."""

from __future__ import annotations

import json

import numpy as np
import pytest
from editbench_fixtures import image, png_bytes, task_yaml, tiny_clip, tiny_dino, write_parquet
from PIL import Image

from harness.api import evaluate
from harness.metrics import reference

MB_METRICS = ["l1_ref", "l2_ref", "clip_i", "clip_t", "dino"]


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    root = tmp_path_factory.mktemp("encoders")
    return tiny_clip(root / "clip"), tiny_dino(root / "dino")


def magicbrush_release(root):
    """The MagicBrush test zip: edit_sessions.json, images/<img_id>/<img_id>-input.png, -output<k>.png,
    -mask<k>.png, and the local captions of each output."""
    sessions = {"101": [("make it blue", 1)], "202": [("add a hat", 1), ("remove the dog", 2)]}
    doc, captions = {}, {}
    for n, (img_id, turns) in enumerate(sessions.items()):
        d = root / "images" / img_id
        d.mkdir(parents=True)
        Image.fromarray(image(100 + n, 40, 40)).save(d / f"{img_id}-input.png")
        doc[img_id], captions[img_id] = [], {}
        prev = f"{img_id}-input.png"
        for instr, k in turns:
            Image.fromarray(image(200 + 10 * n + k, 40, 40)).save(d / f"{img_id}-output{k}.png")
            mask = np.zeros((40, 40, 4), np.uint8)
            mask[..., 3] = 255
            mask[10:20, 10:20, 3] = 0
            Image.fromarray(mask).save(d / f"{img_id}-mask{k}.png")
            doc[img_id].append(
                {
                    "input": prev,
                    "mask": f"{img_id}-mask{k}.png",
                    "output": f"{img_id}-output{k}.png",
                    "instruction": instr,
                }
            )
            captions[img_id][f"{img_id}-output{k}.png"] = f"a photo after {instr}"
            prev = f"{img_id}-output{k}.png"
    (root / "edit_sessions.json").write_text(json.dumps(doc))
    (root / "local_descriptions.json").write_text(json.dumps(captions))
    return root


def test_distances_resize_the_edit_to_the_reference_with_pil_bicubic():
    ref = image(1, 20, 30)
    out = image(2, 10, 15)
    resized = np.asarray(Image.fromarray(out).resize((30, 20), Image.BICUBIC)).astype(np.float64) / 255
    d = resized - ref.astype(np.float64) / 255
    got = reference.distances(out, ref)
    assert got["l1_ref"] == pytest.approx(np.abs(d).mean(), rel=1e-5)
    assert got["l2_ref"] == pytest.approx((d**2).mean(), rel=1e-5)


def test_magicbrush_all_turn_and_final_turn_with_identity(tmp_path, encoders):
    clip, dino = encoders
    data = magicbrush_release(tmp_path / "magicbrush" / "test")
    opts = {"clip_model": str(clip), "dino_model": str(dino), "output_size": "any"}
    for setting in ("all-turn", "final-turn"):
        task_yaml(
            tmp_path / "tasks",
            f"edit/mb-{setting}",
            "magicbrush",
            {"path": str(data), "setting": setting},
            MB_METRICS,
            "l1_ref",
            opts,
        )
    results = evaluate(
        "edit/mb-all-turn,edit/mb-final-turn",
        "identity",
        include=(tmp_path / "tasks",),
        output=tmp_path / "out",
        progress=False,
    )
    all_turn, final_turn = (r.aggregates[""] for r in results)
    assert all_turn["l1_ref"].n == 3 and final_turn["l1_ref"].n == 2

    def l1(a, b):
        return np.abs(a.astype(np.float64) / 255 - b.astype(np.float64) / 255).mean()

    # identity: every turn's output is its input; all-turn inputs are the ground-truth inputs of each turn
    want_all = np.mean(
        [
            l1(image(100, 40, 40), image(201, 40, 40)),
            l1(image(101, 40, 40), image(211, 40, 40)),
            l1(image(211, 40, 40), image(212, 40, 40)),
        ]
    )
    # final-turn: iterative, so the identity's last output is the session's first input, against the last GT
    want_final = np.mean([l1(image(100, 40, 40), image(201, 40, 40)), l1(image(101, 40, 40), image(212, 40, 40))])
    assert all_turn["l1_ref"].mean == pytest.approx(want_all, rel=1e-5)
    assert final_turn["l1_ref"].mean == pytest.approx(want_final, rel=1e-5)
    for m in ("clip_i", "clip_t", "dino"):
        assert all_turn[m].n == 3 and -1 <= all_turn[m].mean <= 1


def test_clip_i_matches_a_direct_transformers_computation(tmp_path, encoders):
    import torch
    from transformers import CLIPModel

    clip, _ = encoders
    a, b = image(5, 50, 40), image(6, 30, 60)
    from harness.metrics import encoders as enc_mod

    enc = enc_mod.clip_encoder(str(clip), None)
    fa, fb = enc.image_features([a, b], "center_crop")
    model = CLIPModel.from_pretrained(clip).eval()

    def direct(img):  # CLIP's _transform re-stated: short side to 32 bicubic, center crop 32, normalise
        im = Image.fromarray(img)
        w, h = im.size
        im = im.resize((32, int(32 * h / w)) if w <= h else (int(32 * w / h), 32), Image.BICUBIC)
        left, top = int(round((im.size[0] - 32) / 2)), int(round((im.size[1] - 32) / 2))
        arr = np.asarray(im.crop((left, top, left + 32, top + 32)), np.float32) / 255
        arr = (arr - np.array(enc.mean, np.float32)) / np.array(enc.std, np.float32)
        with torch.no_grad():
            out = model.get_image_features(pixel_values=torch.from_numpy(arr.transpose(2, 0, 1)[None]))
        return (out if isinstance(out, torch.Tensor) else out.pooler_output)[0].numpy()

    np.testing.assert_allclose(fa, direct(a), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fb, direct(b), rtol=1e-4, atol=1e-5)


def emu_release(root, n=4):
    rows = [
        {
            "instruction": f"make it style {i}",
            "image": {"bytes": png_bytes(image(300 + i, 36, 48)), "path": None},
            "task": ["background", "style"][i % 2],
            "split": "test",
            "idx": i,
            "hash": f"h{i}",
            "input_caption": f"a picture number {i}",
            "output_caption": f"a stylised picture number {i}",
        }
        for i in range(n)
    ]
    write_parquet(root / "data" / "test-00000-of-00001.parquet", rows)
    return root


def test_emu_edit_against_the_input_with_identity(tmp_path, encoders):
    clip, dino = encoders
    data = emu_release(tmp_path / "emu_edit_test_set")
    task_yaml(
        tmp_path / "tasks",
        "edit/emu-test",
        "emu_edit",
        {"path": str(data)},
        ["clip_dir", "clip_i", "clip_out", "l1_ref", "dino"],
        "clip_dir",
        {
            "clip_model": str(clip),
            "dino_model": str(dino),
            "reference": "source",
            "clip_preprocess": "squash",
            "output_size": "any",
        },
    )
    [res] = evaluate(
        "edit/emu-test", "identity", include=(tmp_path / "tasks",), output=tmp_path / "out", progress=False
    )
    agg = res.aggregates[""]
    assert agg["l1_ref"].mean == 0 and agg["clip_i"].mean == pytest.approx(1, abs=1e-5)
    assert agg["dino"].mean == pytest.approx(1, abs=1e-5)
    assert agg["clip_dir"].mean == 0  # an unchanged image has no direction: 0 as torch's cosine gives, not NaN
    assert agg["clip_out"].n == 4
    assert set(res.aggregates) >= {"edit_type=background", "edit_type=style"}


def test_encoder_weights_are_part_of_the_task_hash(tmp_path, encoders):
    from harness import registry

    clip, dino = encoders
    data = emu_release(tmp_path / "emu")
    other = tiny_clip(tmp_path / "clip2", seed=1)
    hashes = []
    for name, path in (("edit/a", clip), ("edit/b", other)):
        f = task_yaml(
            tmp_path / "t",
            name,
            "emu_edit",
            {"path": str(data)},
            ["clip_i"],
            "clip_i",
            {"clip_model": str(path), "reference": "source"},
        )
        entry = registry.load_task_file(f)
        hashes.append(registry.build_task(entry).content_hash())
    assert hashes[0] != hashes[1]  # same options apart from the folder: the weights decide
