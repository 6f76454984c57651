"""A tiny LLaVA (CLIP vision tower + Llama decoder) built from configs, and the scene texts it is trained on.

Everything here is an ordinary transformers object (``LlavaForConditionalGeneration`` + ``LlavaProcessor`` over a
word-level tokenizer made with the ``tokenizers`` library), so the checkpoint it produces is loaded by exactly the
same ``from_pretrained`` path as a real hub VLM (Qwen2-VL, LLaVA, ...). No download is involved.

Sizes: 64x64 input, CLIP patch 8 -> 64 image tokens per image (the CLS token is dropped), tower width 128, a
9-layer Llama decoder of width 128. The text side covers the vocabulary of the rendered scenes, of the editing
instructions (single- and two-reference) and of the prompts below.

Texts (all answers are exact strings, so accuracy is exact match):
- probes (``PROBES``): colour of the shape at a place, shape at a place, count, position of a named shape --
  asked only when the answer is unique (two shapes can share a 3x3 region);
- captions: ``canonical_caption`` -- the suite's caption sentence with the shapes in reading order, because the
  suites list shapes in their (random) generation order, which no image shows;
- the VERIFI rewrite: (source image(s), instruction) -> canonical caption of the target scene, prompted with
  ``encoder.REWRITE_PROMPT``; two-reference rewrites come from the ``edit/compose`` family
  (``harness.data.edit_compose``).
"""

from __future__ import annotations

import numpy as np

from harness.data import edit_scenes
from harness_baselines.unifusion.encoder import REWRITE_PROMPT

IMAGE_TOKEN = "<image>"
SPECIALS = ["<pad>", "<unk>", "<s>", "</s>", IMAGE_TOKEN]
NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
ANSWER_MARK = "answer :"  # ends every prompt of the tiny VLM (no chat template): "<image> question answer :"
# Words of captions, questions, answers and prompts, plus the instruction templates of the edit suites (see
# module doc). Unknown words would become <unk>, so the list errs on the generous side.
EXTRA_WORDS = """a an the on at in of and is that there are how many what which where color shape background
shapes describe image images question answer yes no empty scene top bottom left right center corner make move
remove add to twice half as large darker brighter grayscale invert flip rotate photo % - , . ? : ; ' 0 1 2 3 4 5 6
7 8 9 50 40 70 90 degrees horizontally vertically quarter colors after edit edited result first second put from
into take copy place replace with its same position it was keep other both this reference references give""".split()


def vocabulary() -> list[str]:
    words = set(EXTRA_WORDS) | set(edit_scenes.COLORS) | set(edit_scenes.SHAPES) | set(edit_scenes.BACKGROUNDS)
    words |= set(NUMBERS.values())
    return SPECIALS + sorted(w.lower() for w in words if w not in SPECIALS)


def build_processor(image_size: int = 64, patch_size: int = 8):
    """LlavaProcessor = word-level tokenizer (lowercase, split on whitespace/punctuation) + CLIP image processor."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import CLIPImageProcessor, LlavaProcessor, PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(vocabulary())}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        extra_special_tokens={"image_token": IMAGE_TOKEN},
    )
    image_proc = CLIPImageProcessor(
        size={"height": image_size, "width": image_size},
        do_center_crop=False,
        crop_size={"height": image_size, "width": image_size},
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
        do_convert_rgb=True,
        resample=3,  # bicubic, but images arrive at 64x64 already (no resize happens on the task images)
    )
    # num_additional_image_tokens=1: CLIP's CLS token, dropped by the "default" feature strategy.
    return LlavaProcessor(
        image_processor=image_proc,
        tokenizer=fast,
        patch_size=patch_size,
        vision_feature_select_strategy="default",
        image_token=IMAGE_TOKEN,
        num_additional_image_tokens=1,
    )


def build_config(
    vocab_size: int,
    image_size: int = 64,
    patch_size: int = 8,
    vision_hidden_size: int = 128,
    hidden_size: int = 128,
    num_layers: int = 9,
):
    """LLaVA config: CLIP tower (2 layers, ``vision_hidden_size`` wide: an 8x8x3 patch is 192 numbers of a
    small palette) + Llama decoder (``num_layers`` x ``hidden_size``)."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

    vision = CLIPVisionConfig(
        image_size=image_size,
        patch_size=patch_size,
        hidden_size=vision_hidden_size,
        intermediate_size=2 * vision_hidden_size,
        num_hidden_layers=2,
        num_attention_heads=4,
    )
    text = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
    )
    return LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=SPECIALS.index(IMAGE_TOKEN),
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )


def _name(o: dict) -> str:
    return f"{o['color']} {o['shape']}"


def reading_order(scene: dict, size: int) -> dict:
    """The scene with its shapes sorted top-to-bottom, then left-to-right, by 3x3 region, then by centre."""

    def key(o):
        return (int(3 * o["y"] / size), int(3 * o["x"] / size), o["y"], o["x"])

    return {**scene, "objects": sorted(scene["objects"], key=key)}


def canonical_caption(scene: dict, size: int) -> str:
    """``edit_scenes.caption`` with the shapes in reading order (the caption the tiny VLM learns and rewrites to)."""
    return edit_scenes.caption(reading_order(scene, size), size)


PROBES = ("color", "shape_at_place", "count", "position")


def probe(scene: dict, size: int, kind: str, rng) -> tuple[str, str] | None:
    """(question, answer) of one probe kind about a scene, or None when no shape gives a unique answer."""
    objs = scene["objects"]
    where = [edit_scenes.region_name(o["x"], o["y"], size) for o in objs]
    order = rng.permutation(len(objs))
    if kind == "count":
        return "how many shapes are there ?", NUMBERS[len(objs)]
    for i in order:
        o = objs[i]
        if kind == "position":  # colour+shape pairs are unique within a scene
            return f"where is the {_name(o)} ?", where[i]
        if kind == "color" and sum(p["shape"] == o["shape"] and w == where[i] for p, w in zip(objs, where)) == 1:
            return f"what color is the {o['shape']} at the {where[i]} ?", o["color"]
        if kind == "shape_at_place" and where.count(where[i]) == 1:
            return f"what shape is at the {where[i]} ?", o["shape"]
    return None


def scene_question(scene: dict, size: int, rng, long: bool = False) -> tuple[str, str]:
    """One training (question, answer) pair about one scene: the caption when ``long``, else a probe (2/3 of
    the time) or another short question (background, colours, yes/no)."""
    if long:
        return "describe the image .", canonical_caption(scene, size)
    kind = int(rng.integers(12))
    if kind < 8:
        qa = probe(scene, size, PROBES[kind % 4], rng)
        if qa is not None:
            return qa
        kind = 8
    objs = scene["objects"]
    if kind == 8:
        return "what color is the background ?", " and ".join(scene["background"])
    if kind == 9:
        return "what colors are the shapes ?", " , ".join(sorted({p["color"] for p in objs}))
    present = {(p["color"], p["shape"]) for p in objs}
    if kind == 10:  # half of the yes/no questions ask for a shape that is there
        o = objs[int(rng.integers(len(objs)))]
        color, shape = o["color"], o["shape"]
    else:
        color = list(edit_scenes.COLORS)[int(rng.integers(len(edit_scenes.COLORS)))]
        shape = edit_scenes.SHAPES[int(rng.integers(len(edit_scenes.SHAPES)))]
    return f"is there {edit_scenes._article(color)} {color} {shape} ?", "yes" if (color, shape) in present else "no"


def rewrite_question(instruction: str) -> str:
    """The VERIFI prompt for an edit instruction (the same text ``VLMEncoder.rewrite`` sends)."""
    return REWRITE_PROMPT.format(instruction=instruction)


def random_scenes(seed: int, n: int, size: int = 64) -> list[dict]:
    """``n`` random scene descriptions from stream [seed, 999] (the eval suites use streams [0, 0..4] and
    [0, 1000]: with seed != 0 no training scene is an eval scene)."""
    rng = np.random.default_rng([seed, 999])
    out = []
    while len(out) < n:
        scene = edit_scenes.random_scene(rng, size)
        if scene is not None:
            out.append(scene)
    return out
