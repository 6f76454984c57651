"""A tiny LLaVA (CLIP vision tower + Llama decoder) built from configs, and the scene texts it is pretrained on.

Everything here is an ordinary transformers object (``LlavaForConditionalGeneration`` + ``LlavaProcessor`` over a
word-level tokenizer made with the ``tokenizers`` library), so the checkpoint it produces is loaded by exactly the
same ``from_pretrained`` path as a real hub VLM (Qwen2-VL, LLaVA, ...). No download is involved.

The text side covers the vocabulary of the rendered scenes (colours, shapes, positions, backgrounds) and the words
of the editing instructions: the tokenizer must not turn instruction verbs into <unk>, although pretraining never
shows them (the VLM learns captions and question answering only).
"""

from __future__ import annotations

import numpy as np

from harness.data import edit_scenes

IMAGE_TOKEN = "<image>"
SPECIALS = ["<pad>", "<unk>", "<s>", "</s>", IMAGE_TOKEN]
NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five"}
# Words of captions, questions and answers, plus the instruction templates of the edit suites (see module doc).
EXTRA_WORDS = """a an the on at in of and is that there are how many what which where color shape background
shapes describe image question answer yes no empty scene top bottom left right center corner make move remove add
to twice half as large darker brighter grayscale invert flip rotate image photo % - , . ? : 0 1 2 3 4 5 6 7 8 9
50 40 70 90 degrees horizontally vertically quarter colors""".split()


def vocabulary() -> list[str]:
    words = set(EXTRA_WORDS) | set(edit_scenes.COLORS) | set(edit_scenes.SHAPES) | set(edit_scenes.BACKGROUNDS)
    words |= set(NUMBERS.values())
    return SPECIALS + sorted(w.lower() for w in words if w not in SPECIALS)


def build_processor(image_size: int = 32, patch_size: int = 8):
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
    vocab_size: int, image_size: int = 32, patch_size: int = 8, hidden_size: int = 96, num_layers: int = 9
):
    """LLaVA config: CLIP tower (2 layers, 64 wide) + Llama decoder (``num_layers`` x ``hidden_size``)."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

    vision = CLIPVisionConfig(
        image_size=image_size,
        patch_size=patch_size,
        hidden_size=64,
        intermediate_size=128,
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
        max_position_embeddings=256,
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


def scene_texts(scene: dict, size: int, rng) -> tuple[str, str]:
    """One (question, answer) pair about a scene: a caption request or a question on colours, shapes, positions,
    counts or the background. Drawn from ``rng`` so training is deterministic."""
    objs = scene["objects"]
    o = objs[int(rng.integers(len(objs)))]
    where = edit_scenes.region_name(o["x"], o["y"], size)
    kind = int(rng.integers(9))
    if kind == 0:  # long answers whose structure words dominate the loss: as likely as one question type
        return "describe the image .", edit_scenes.caption(scene, size)
    # Questions 1-3 need no binding of attributes to places: they give image-dependent gradients from the first
    # steps, which the binding questions 4-7 (colour at a place, place of an object, ...) then build on.
    if kind == 1:
        return "what colors are the shapes ?", " , ".join(sorted({p["color"] for p in objs}))
    if kind == 2:
        return "what shapes are there ?", " , ".join(sorted({p["shape"] for p in objs}))
    if kind == 3:
        return "what color is the background ?", " and ".join(scene["background"])
    if kind == 4:
        return f"what color is the {o['shape']} at the {where} ?", o["color"]
    if kind == 5:
        return f"where is the {_name(o)} ?", where
    if kind == 6:
        return f"what shape is at the {where} ?", o["shape"]
    if kind == 7:
        return "how many shapes are there ?", NUMBERS[len(objs)]
    present = {(p["color"], p["shape"]) for p in objs}
    color = list(edit_scenes.COLORS)[int(rng.integers(len(edit_scenes.COLORS)))]
    shape = edit_scenes.SHAPES[int(rng.integers(len(edit_scenes.SHAPES)))]
    return f"is there a {color} {shape} ?", "yes" if (color, shape) in present else "no"


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
