"""The tiny VLM's training and held-out material (train_vlm.py, vlm_report.py, binding.py): rendered scene pools
and the questions, captions and rewrites drawn from them, the batch kinds of ``SCHEDULE``, per-patch scene labels
and ``focus`` targets of the auxiliary losses, and the collation into LLaVA inputs."""

from __future__ import annotations

import numpy as np
import torch

from harness.data import edit_compose, edit_scenes
from harness_baselines.unifusion import tiny_vlm
from harness_baselines.unifusion.encoder import TINY_ANSWER_MARK

HELDOUT_SEED = 1001
SIZE = 64


class Pools:
    """Rendered training (or held-out) material of one seed: images as processor pixels, texts as descriptions.

    ``singles``: (image index, question, answer) factories; ``pairs``: two-reference rewrites."""

    def __init__(self, processor, seed: int, n_scenes: int, n_edits_per_type: int, n_pairs_per_type: int):
        self.scenes = tiny_vlm.random_scenes(seed, n_scenes, SIZE)
        self.edits = edit_scenes.generate(seed=seed, n_per_type=n_edits_per_type, size=SIZE)
        self.pairs = edit_compose.generate(seed=seed, n_per_type=n_pairs_per_type, size=SIZE)
        gray = {"background": ["gray"], "split": "none", "objects": []}  # renders as the t2i task's blank source
        described = self.scenes + [e.meta["source_scene"] for e in self.edits] + [gray]
        for p in self.pairs:
            described += [p.meta["source_scene"], p.meta["reference_scene"]]
        images = [edit_scenes.render(s, SIZE) for s in described]
        self.pixels = processor.image_processor(images=images, return_tensors="pt")["pixel_values"]
        self.patch = processor.patch_size
        self.labels = torch.stack([patch_labels(s, SIZE, self.patch) for s in described])
        self.edit_base = len(self.scenes)
        self.gray = self.edit_base + len(self.edits)
        self.pair_base = self.gray + 1

    def rewrite(self, i: int) -> tuple[list[int], str, str]:
        e = self.edits[i]
        return [self.edit_base + i], tiny_vlm.rewrite_question(e.instruction), self.target(e)

    def t2i(self, i: int) -> tuple[list[int], str, str]:
        s = self.scenes[i]
        caption = edit_scenes.caption(s, SIZE)
        return [self.gray], tiny_vlm.rewrite_question(caption), tiny_vlm.canonical_caption(s, SIZE)

    def reconstruction(self, i: int) -> tuple[list[int], str, str]:
        s = self.scenes[i]
        caption = edit_scenes.caption(s, SIZE)
        return [i], tiny_vlm.rewrite_question(caption), tiny_vlm.canonical_caption(s, SIZE)

    def pair(self, i: int) -> tuple[list[int], str, str]:
        images = [self.pair_base + 2 * i, self.pair_base + 2 * i + 1]
        return images, tiny_vlm.rewrite_question(self.pairs[i].instruction), self.target(self.pairs[i])

    @staticmethod
    def target(e) -> str:
        return tiny_vlm.canonical_caption(e.meta["target_scene"], SIZE)


# Batches of one length class, so little compute goes into padding: per 8 steps 4 short (probes and other
# one-word questions), 3 long (captions 25 %, edit rewrites 45 %, t2i and reconstruction rewrites 15 % each), 1
# two-reference (edit/compose rewrites).
SCHEDULE = ("short", "long", "short", "long", "short", "long", "short", "pair")


def draw(pools: Pools, rng, batch_size: int, kind: str) -> list[tuple[list[int], str, str]]:
    """One batch of (image indices, question, answer) of one ``SCHEDULE`` kind."""
    if kind == "pair":
        return [pools.pair(int(i)) for i in rng.integers(0, len(pools.pairs), batch_size)]
    out = []
    for _ in range(batch_size):
        u = rng.random()
        if kind == "short":
            i = int(rng.integers(len(pools.scenes)))
            question, answer = tiny_vlm.scene_question(pools.scenes[i], SIZE, rng)
            flags = focus(pools.scenes[i], question, pools.labels[i, :, -1], SIZE, pools.patch)
            out.append(([i], question, answer, flags))
        elif u < 0.25:
            i = int(rng.integers(len(pools.scenes)))
            out.append(([i], *tiny_vlm.scene_question(pools.scenes[i], SIZE, rng, long=True)))
        elif u < 0.7:
            out.append(pools.rewrite(int(rng.integers(len(pools.edits)))))
        elif u < 0.85:
            out.append(pools.t2i(int(rng.integers(len(pools.scenes)))))
        else:
            out.append(pools.reconstruction(int(rng.integers(len(pools.scenes)))))
    return out


N_COLORS, N_SHAPES, N_BACKGROUNDS = len(edit_scenes.COLORS), len(edit_scenes.SHAPES), len(edit_scenes.BACKGROUNDS)
# colour|none, shape|none, holds a centre, background, 3x3 region (edit_scenes.region_name) of the patch centre
LABEL_CLASSES = (N_COLORS + 1, N_SHAPES + 1, 2, N_BACKGROUNDS, 9)


REGIONS = ("top left", "top", "top right", "left", "center", "right", "bottom left", "bottom", "bottom right")


FOCUS_LAYER = 3  # decoder hidden state on which image tokens must flag the shapes a question is about


def focus(scene: dict, question: str, object_at: torch.Tensor, size: int, patch: int) -> torch.Tensor | None:
    """[n_patches] float: 1 on the image tokens of the shapes a scene question is about (its patches and the patch
    of its centre), None for questions about no particular shapes (captions, rewrites, the background).

    An auxiliary target: with the text first, each image token can read the question and mark itself, so the
    answer only has to attend to marked tokens -- dense supervision of the binding step a from-scratch decoder
    otherwise finds slowly."""
    objs = scene["objects"]
    words = question.replace("?", "").split()

    def place(o):
        return edit_scenes.region_name(o["x"], o["y"], size)

    if question.startswith(("how many", "what colors")):
        chosen = list(range(len(objs)))
    elif question.startswith("where is the"):
        chosen = [k for k, o in enumerate(objs) if [o["color"], o["shape"]] == words[3:5]]
    elif question.startswith("is there"):
        chosen = [k for k, o in enumerate(objs) if [o["color"], o["shape"]] == words[3:5]]
    elif question.startswith("what color is the") and "at" in words:
        at = " ".join(words[words.index("at") + 2 :])
        chosen = [k for k, o in enumerate(objs) if o["shape"] == words[4] and place(o) == at]
    elif question.startswith("what shape is at the"):
        chosen = [k for k, o in enumerate(objs) if place(o) == " ".join(words[5:])]
    else:
        return None
    flags = torch.isin(object_at, torch.tensor(chosen, dtype=torch.long)).float()
    for k in chosen:
        flags[(objs[k]["y"] // patch) * (size // patch) + objs[k]["x"] // patch] = 1.0
    return flags


def patch_labels(scene: dict, size: int, patch: int) -> torch.Tensor:
    """[n_patches, 5] long: per patch (row-major) the colour and shape of the shape under its centre pixel
    (N_COLORS / N_SHAPES = none), whether it holds a shape's centre, the background colour under its centre and
    the 3x3 region of its centre (the words of "where" answers); a last column holds the index of the shape under
    the centre pixel (-1: none), for ``focus``.
    Same geometry as ``edit_scenes.render`` (one label image per shape index)."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    for k, o in enumerate(scene["objects"]):
        x, y, r = o["x"], o["y"], o["r"]
        box = [x - r, y - r, x + r, y + r]
        if o["shape"] == "circle":
            draw.ellipse(box, fill=k + 1)
        elif o["shape"] == "square":
            draw.rectangle(box, fill=k + 1)
        else:
            draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=k + 1)
    index = np.asarray(img)
    colors, shapes, backs = list(edit_scenes.COLORS), list(edit_scenes.SHAPES), list(edit_scenes.BACKGROUNDS)
    n = size // patch
    out = torch.zeros(n * n, len(LABEL_CLASSES) + 1, dtype=torch.long)
    centres = {(o["y"] // patch, o["x"] // patch) for o in scene["objects"]}
    for row in range(n):
        for col in range(n):
            cy, cx = row * patch + patch // 2, col * patch + patch // 2
            k = int(index[cy, cx]) - 1
            half = size // 2
            side = (
                (cx >= half) if scene["split"] == "vertical" else (cy >= half) if scene["split"] == "horizontal" else 0
            )
            out[row * n + col] = torch.tensor(
                [
                    colors.index(scene["objects"][k]["color"]) if k >= 0 else N_COLORS,
                    shapes.index(scene["objects"][k]["shape"]) if k >= 0 else N_SHAPES,
                    int((row, col) in centres),
                    backs.index(scene["background"][int(side)]),
                    REGIONS.index(edit_scenes.region_name(cx, cy, size)),
                    k,
                ]
            )
    return out


def collate(processor, pixels: torch.Tensor, examples, n_img: int) -> dict:
    """-> dict(input_ids, attention_mask, labels [B, S], pixel_values [n_images, 3, h, w]).

    Ids are laid out as the processor lays out "question <image> ... answer :" (``VLMEncoder.prompt``): the
    question, ``n_img`` image tokens per image, the answer mark, the answer and </s>; labels are -100 except on
    the answer and </s>."""
    tok = processor.tokenizer
    image_id = tok.convert_tokens_to_ids(tiny_vlm.IMAGE_TOKEN)
    rows, labels, images, flags = [], [], [], []
    for refs, question, answer, *focus_flags in examples:
        flags.append(focus_flags[0] if focus_flags else None)
        text = tok(question, add_special_tokens=False)["input_ids"]
        prompt = text + [image_id] * (n_img * len(refs)) + tok(TINY_ANSWER_MARK, add_special_tokens=False)["input_ids"]
        target = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        rows.append(prompt + target)
        labels.append([-100] * len(prompt) + target)
        images += refs
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), tok.pad_token_id)
    lab = torch.full((len(rows), width), -100)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (row, lr) in enumerate(zip(rows, labels)):
        ids[r, : len(row)], lab[r, : len(lr)], mask[r, : len(row)] = torch.tensor(row), torch.tensor(lr), 1
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "labels": lab,
        "pixel_values": pixels[torch.tensor(images)],
        "images": torch.tensor(images),
        "focus": flags,
    }


def patches(pixel_values: torch.Tensor, patch: int) -> torch.Tensor:
    """[N, 3, H, W] -> [N, (H/p)*(W/p), 3*p*p] in CLIP's patch order (row-major)."""
    n, c, h, w = pixel_values.shape
    x = pixel_values.reshape(n, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(n, (h // patch) * (w // patch), c * patch * patch)


def model_inputs(batch: dict) -> dict:
    return {k: v for k, v in batch.items() if k not in ("labels", "images", "focus")}
