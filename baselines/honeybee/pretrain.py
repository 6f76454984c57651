"""``harness recipe pretrain``: the proxy's *base* model, pretrained once and fine-tuned by every recipe.

Why a base: HoneyBee compares data recipes by fine-tuning a pretrained VLM (PLM) on each; its recipes teach
reasoning, not how to see. A proxy trained from scratch on a few hundred CoTs in a CPU-minute never learns to read
a digit or a bar (profiled: 18 % on a held-out probe, the CoTs fluent but every fact misread), so every recipe
scored near chance and nothing could be compared. The base plays PLM's part, pretrained on data that is *not* any
recipe's:

- perception: image -> a canonical description of what it shows (the objects per colour and shape, the digits
  left to right, the bar values, the hands and the time, the rectangle's sides, the labelled angles), rendered
  by the embedded generators under a seed no source or suite uses, every image decontaminated against the eval
  suites by pHash exactly as recipe builds are (decontaminate.py), so most clocks are dropped here too;
- reading: the generator's own words for the same picture (the text-only twin's description, no image) -> the
  same canonical description, so facts read from a text prompt and from an image land in one form;
- language: the arithmetic statements the CoTs rely on (``3 + 5 = 8.``, ``180 - 40 - 60 = 80.``, ...), as an
  LLM's pretraining would have taught them;
- answering (``mix="answers"``, the committed base since session 5): generic questions answered step by step in
  ``\\boxed{}`` (pretrain_qa.py), none a suite or source template, the instruction-following PLM brings along.
  ``mix="describe"`` leaves them out (the base before; no question, no answer format, no ``\\boxed{}``).

The checkpoint is committed (``checkpoints/proxy-base.safetensors``, ~1 MB in fp16) and rebuilt bit for bit by
``harness recipe pretrain`` (one thread, seeded): see the README for its cost.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import numpy as np

from harness.resources import package_dir
from harness_baselines.honeybee.sources import SourceDef, make_question
from harness_baselines.honeybee.vocab import Vocab, build_vocab

BASE_CHECKPOINT = package_dir("harness_baselines.honeybee", "checkpoints") / "proxy-base.safetensors"
PRETRAIN_SOURCE = SourceDef("pretrain", "all categories, for the base model only", 131)
DESCRIBE_PROMPT = "what does the image show?"  # words of the closed vocabulary
SHAPE_ORDER = ("circle", "square", "triangle")
COLOR_ORDER = ("red", "green", "blue", "yellow")


def describe(q) -> str:
    """Canonical words for what the image of ``q`` shows (fixed order, so the description is learnable)."""
    f, cat = q.facts, q.category
    if cat == "counting":
        parts = []
        for color in COLOR_ORDER:
            for shape in SHAPE_ORDER:
                k = f["objects"].count(f"{color} {shape}")
                if k:
                    parts.append(f"{k} {color} {shape}{'s' if k > 1 else ''}")
        return f"there are {len(f['objects'])} shapes: {', '.join(parts)}."
    if cat == "digits":
        return f"the digits from left to right are {', '.join(map(str, f['digits']))}."
    if cat == "bar_chart":
        return f"the chart has bars {', '.join(f'{k} = {v}' for k, v in f['values'].items())}."
    if cat == "clock":
        h, m = f["hour"], f["minute"]
        return (
            f"the short hour hand points near {(h - 1) % 12 + 1}. the long minute hand points at {m // 5 or 12} "
            f"on the dial, that is {m} minutes. the clock shows {f['time']}."
        )
    if f.get("shape") == "rectangle":
        return f"the shaded rectangle is {f['width']} squares wide and {f['height']} squares tall."
    a, b, _ = f["angles"]
    return f"the labelled angles are {a} and {b} degrees."


def arithmetic(rng: random.Random) -> str:
    """One arithmetic statement in the CoTs' notation (the operand ranges the embedded questions use)."""
    kind = rng.randrange(8)
    if kind == 0:
        a, b = rng.randrange(10), rng.randrange(10)
        return f"{a} + {b} = {a + b}."
    if kind == 1:
        a, b, c = (rng.randrange(10) for _ in range(3))
        return f"{a} + {b} + {c} = {a + b + c}."
    if kind == 2:
        a, b = rng.randrange(2, 10), rng.randrange(2, 10)
        return f"{a} * {b} = {a * b}."
    if kind == 3:
        a, b = rng.randrange(30, 81), rng.randrange(30, 81)
        return f"180 - {a} - {b} = {180 - a - b}." if a + b < 180 else f"{a} + {b} = {a + b}."
    if kind == 4:
        a, b = rng.randrange(30, 81), rng.randrange(30, 81)
        return f"{a} + {b} = {a + b}."
    if kind == 5:
        w, h = rng.randrange(2, 10), rng.randrange(2, 10)
        return f"2 * ({w} + {h}) = {2 * (w + h)}."
    if kind == 6:
        values = [rng.randrange(1, 11) for _ in range(rng.randrange(4, 7))]
        return f"{' + '.join(map(str, values))} = {sum(values)}."
    a, b = rng.randrange(1, 11), rng.randrange(0, 11)
    a, b = max(a, b), min(a, b)
    return f"{a} - {b} = {a - b}."


def pretrain_images(
    n: int, cache: Path, log=print, px: int = 48, restyle: bool = False, on_scan=None
) -> tuple[np.ndarray, list[str], list[str]]:
    """The first ``n`` decontaminated images of the pretraining source at the proxy's resolution (uint8
    [n, 3, px, px]), their canonical descriptions and the generator's words for them. Deterministic: rows are
    taken in index order.

    ``restyle``: an image that matches an eval image is not dropped at once: up to ``restyle.ATTEMPTS`` renderings
    of its scene at another scale and position (restyle.py) are tried, and the first whose pHash is more than
    twice the builds' matching distance from every eval image is kept in its place. ``on_scan(question, outcome,
    image)`` (if given) is called for every image scanned: outcome ``kept``, ``restyled`` or ``dropped``, the image
    kept at the source's resolution or None (probe/pretrain_coverage.py counts them)."""
    import torch

    from harness_baselines.honeybee.decontaminate import EvalIndex
    from harness_baselines.honeybee.model import image_tensor
    from harness_baselines.honeybee.recipe import Decontamination
    from harness_baselines.honeybee.restyle import ATTEMPTS
    from harness_baselines.honeybee.restyle import restyle as restyled

    decon = Decontamination()
    index = EvalIndex.build(decon.suites, decon.ngram, cache)
    images, texts, words, i = [], [], [], 0
    counts = {"kept": 0, "restyled": 0, "dropped": 0}
    while len(images) < n:
        q = make_question(PRETRAIN_SOURCE, i)
        image, outcome, i = q.image, "kept", i + 1
        if index.image_match(image, decon.phash_distance):
            image, outcome = None, "dropped"
            for attempt in range(ATTEMPTS if restyle else 0):
                candidate = restyled(q.image, np.random.default_rng([PRETRAIN_SOURCE.seed, 1, q.index, attempt]))
                if not index.image_match(candidate, 2 * decon.phash_distance):
                    image, outcome = candidate, "restyled"
                    break
        counts[outcome] += 1
        if on_scan:
            on_scan(q, outcome, image)
        if image is None:
            continue
        x, _ = image_tensor([image], px)
        images.append(((x[0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy())
        texts.append(describe(q))
        words.append(q.caption)
    if log:
        log(
            f"pretraining images: {n} kept ({counts['restyled']} restyled), {counts['dropped']} dropped as matching "
            "an eval image"
        )
    return np.stack(images), texts, words


def cached_pretrain_images(
    n: int, cache: Path, log=print, px: int = 48, restyle: bool = False
) -> tuple[np.ndarray, list[str], list[str]]:
    """``pretrain_images`` rendered once per cache folder (rendering and hashing ~17k images costs minutes; the
    result depends only on ``n``, the resolution and ``restyle``, so pretraining variants and rehearsal share it)."""
    name = f"pretrain-{n}" + ("" if px == 48 else f"-{px}px") + ("-restyle" if restyle else "")
    path = cache / "rehearsal" / f"{name}.npz"
    if path.is_file():
        with np.load(path) as z:
            return z["images"], [str(t) for t in z["texts"]], [str(w) for w in z["words"]]
    images, texts, words = pretrain_images(n, cache, log, px, restyle)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, images=images, texts=np.array(texts), words=np.array(words))
    os.replace(tmp, path)
    return images, texts, words


REHEARSAL_IMAGES = 2000  # the first pretraining images, replayed while fine-tuning


class Rehearsal:
    """The base's own pretraining task, replayed at a fixed share of every fine-tuning batch (train.py).

    Why: fine-tuning on a few hundred CoTs, where each image teaches one or two facts, wipes out the dense
    perception the base learned (profiled: the base reads digits and bars almost perfectly; 300 CoT steps later the
    proxy does not). Replaying descriptions keeps it, as rehearsal keeps a pretrained model's skills. It is part of
    the proxy's training procedure, identical for every recipe (the same rows in the same mix: half images ->
    description, a quarter words -> description, a quarter arithmetic; a base pretrained with ``mix="answers"``
    replays answered questions in one image and the arithmetic quarter instead, pretrain_qa.py), so recipe
    comparisons stay fair. The first
    REHEARSAL_IMAGES pretraining images are rendered once and cached under ``cache``."""

    def __init__(
        self, cache: Path, n_images: int = REHEARSAL_IMAGES, mix: str = "describe", px: int = 48, restyle: bool = False
    ):
        self.vocab, self.mix = Vocab(build_vocab()), mix
        images, texts, words = cached_pretrain_images(n_images, cache, log=None, px=px, restyle=restyle)
        self.images = images.transpose(0, 2, 3, 1)  # (n, px, px, 3), the layout image_tensor reads
        self.texts, self.words = [str(t) for t in texts], [str(w) for w in words]

    def rows(self, rng: random.Random, k: int) -> list[tuple[list[int], int, np.ndarray | None]]:
        """``k`` rows: (token ids, first labelled index, image or None), in the pretraining mix."""
        v, out = self.vocab, []
        prompt = v.encode(DESCRIBE_PROMPT) + [v.sep]
        for j in range(k):
            kind = j % 4  # 0, 2: image -> description; 1: words -> description; 3: arithmetic
            if self.mix == "answers" and kind in (2, 3):  # a base pretrained with answers replays them too
                out.append(self._answer_row(rng, kind == 2))
            elif kind in (0, 2):
                i = rng.randrange(len(self.texts))
                out.append((prompt + v.encode(self.texts[i]) + [v.eos], len(prompt), self.images[i]))
            elif kind == 1:
                i = rng.randrange(len(self.texts))
                ids = v.encode(f"{self.words[i]} {DESCRIBE_PROMPT}") + [v.sep]
                out.append((ids + v.encode(self.texts[i]) + [v.eos], len(ids), None))
            else:
                out.append(([v.sep] + v.encode(arithmetic(rng)) + [v.eos], 1, None))
        return out

    def _answer_row(self, rng: random.Random, with_image: bool) -> tuple[list[int], int, np.ndarray | None]:
        """``mix: answers``: an image -> "the largest number" answered, or a generic text question answered."""
        from harness_baselines.honeybee.model import N_IMAGE_TOKENS, ProxyConfig
        from harness_baselines.honeybee.pretrain_qa import image_qa, text_qa
        from harness_baselines.honeybee.train import encode_example

        room = ProxyConfig(vocab_size=len(self.vocab)).max_len - N_IMAGE_TOKENS
        if with_image:
            i = rng.randrange(len(self.texts))
            return (*encode_example(self.vocab, *image_qa(rng, self.texts[i]), room), self.images[i])
        return (*encode_example(self.vocab, *text_qa(rng), room), None)


MIXES = ("describe", "answers")
IMAGE_PX_RANGE = (16, 128)  # multiples of 8 (three stride-2 convolutions); 48 is the committed base's


def pretrain(
    cache: Path,
    out: Path = BASE_CHECKPOINT,
    steps: int = 2000,
    n_images: int = 12000,
    log=print,
    layers: int = 2,
    d: int = 96,
    mix: str = "answers",
    image_px: int = 48,
    cnn_width: int = 32,
    restyle: bool = False,
) -> dict:
    """Train the base proxy; writes ``out`` (fp16 safetensors). Returns a summary with the CPU seconds.

    ``layers``/``d``: the decoder's size (recipes fine-tuning this base inherit it). ``mix``: ``answers`` (the
    committed base) gives a quarter of each batch to generic question answering ending in ``\\boxed{}``
    (pretrain_qa.py: arithmetic questions, one and two steps, open and multiple choice; "the largest number in the
    image") — the instruction-following a VLM like PLM brings to its fine-tuning; ``describe`` keeps descriptions,
    reading and arithmetic statements only (the base before session 5). ``image_px``/``cnn_width``: the image
    encoder's input resolution and first convolution's channels (the probe's errors are mostly misreadings,
    probe/README.md); the image-token count grows with the resolution ((px / 8) ** 2) and ``max_len`` with it, so
    the text keeps its room. ``restyle``: redraw a pretraining image that matches an eval image instead of dropping
    it (pretrain_images, restyle.py)."""
    import torch
    from safetensors.torch import save_file

    from harness.errors import HarnessError
    from harness_baselines.honeybee.model import ProxyConfig, ProxyVLM, teacher_forcing, text_room_config, train_step

    if mix not in MIXES:
        raise HarnessError(f"--mix {mix!r}: expected one of {', '.join(MIXES)}")
    heads = ProxyConfig(vocab_size=1).heads
    if d % heads:
        raise HarnessError(f"--d {d}: the decoder width must be a multiple of its {heads} attention heads")
    lo, hi = IMAGE_PX_RANGE
    if image_px % 8 or not lo <= image_px <= hi:
        raise HarnessError(f"--image_px {image_px}: expected a multiple of 8 from {lo} to {hi}")
    if cnn_width < 1:
        raise HarnessError(f"--cnn_width {cnn_width}: expected a positive channel count")

    t0, c0 = time.time(), time.process_time()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = random.Random(0)
    vocab = Vocab(build_vocab())
    images, texts, words = cached_pretrain_images(n_images, cache, log, image_px, restyle)
    described = [vocab.encode(DESCRIBE_PROMPT) + [vocab.sep] + vocab.encode(t) + [vocab.eos] for t in texts]
    read = [
        vocab.encode(f"{w} {DESCRIBE_PROMPT}") + [vocab.sep] + vocab.encode(t) + [vocab.eos]
        for w, t in zip(words, texts)
    ]
    cfg = text_room_config(len(vocab), d=d, layers=layers, image_px=image_px, cnn_width=cnn_width)
    model = ProxyVLM(cfg)
    lr, batch_size = 2e-3, 32
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.05)
    losses = []
    for step in range(steps):
        if mix == "answers":
            picks, seqs, starts = _answers_batch(rng, vocab, described, read, texts, words, batch_size)
        else:
            picks, seqs, starts = _describe_batch(rng, vocab, described, read, batch_size)
        tokens, labels = teacher_forcing(list(zip(seqs, starts)), vocab.pad)
        imgs = torch.zeros(batch_size, *images.shape[1:])
        imgs[: len(picks)] = torch.from_numpy(images[picks]).float() / 127.5 - 1
        has = torch.arange(batch_size) < len(picks)
        losses.append(train_step(model, opt, sched, imgs, has, tokens, labels))
        if log and (step % 100 == 0 or step == steps - 1):
            log(f"pretrain step {step + 1}/{steps} loss {np.mean(losses[-100:]):.3f}")
    plan = {"base": True, **({"mix": mix} if mix != "describe" else {}), **({"images": "restyle"} if restyle else {})}
    meta = {"honeybee": json.dumps({"config": cfg.to_dict(), "vocab": vocab.tokens, "plan": plan})}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    save_file({k: v.detach().half().contiguous() for k, v in model.state_dict().items()}, str(tmp), metadata=meta)
    os.replace(tmp, out)
    return {
        "checkpoint": str(out),
        "steps": steps,
        "config": cfg.to_dict(),
        "mix": mix,
        "image_px": image_px,
        "restyle": restyle,
        "final_loss": float(np.mean(losses[-100:])),
        "seconds": round(time.time() - t0, 1),
        "cpu_seconds": round(time.process_time() - c0, 1),
    }


def _describe_batch(rng, vocab, described, read, batch_size):
    """``--mix describe`` (the committed base before session 5): half image -> description, a quarter words ->
    description, a quarter arithmetic statements (loss on every token). -> (image picks, sequences, first
    labelled index of each)."""
    picks = [rng.randrange(len(described)) for _ in range(batch_size // 2)]  # image rows
    seqs = [described[j] for j in picks]
    starts = [len(vocab.encode(DESCRIBE_PROMPT)) + 1] * len(seqs)
    for _ in range(batch_size // 4):  # text-only rows: the description read from words
        ids = read[rng.randrange(len(read))]
        seqs.append(ids)
        starts.append(ids.index(vocab.sep) + 1)
    while len(seqs) < batch_size:  # text-only rows: arithmetic, loss on every token
        seqs.append([vocab.sep] + vocab.encode(arithmetic(rng)) + [vocab.eos])
        starts.append(1)
    return picks, seqs, starts


def _answers_batch(rng, vocab, described, read, texts, words, batch_size):
    """``--mix answers``: per 32 rows, 12 image -> description, 4 image -> "the largest number" answered, 4 words
    -> description, 2 words -> the same question answered, 4 arithmetic statements, 6 generic text questions
    answered (pretrain_qa.py). Image rows come first (the caller fills their pictures from ``picks``)."""
    from harness_baselines.honeybee.model import N_IMAGE_TOKENS, ProxyConfig
    from harness_baselines.honeybee.pretrain_qa import image_qa, text_qa
    from harness_baselines.honeybee.train import encode_example

    room = ProxyConfig(vocab_size=len(vocab)).max_len - N_IMAGE_TOKENS
    unit = batch_size // 16  # 2 for the default 32
    n_describe, n_qa = 6 * unit, 2 * unit
    picks = [rng.randrange(len(described)) for _ in range(n_describe + n_qa)]
    seqs = [described[j] for j in picks[:n_describe]]
    starts = [len(vocab.encode(DESCRIBE_PROMPT)) + 1] * n_describe
    answered = [encode_example(vocab, *image_qa(rng, texts[j]), room) for j in picks[n_describe:]]
    for _ in range(2 * unit):
        ids = read[rng.randrange(len(read))]
        seqs.append(ids)
        starts.append(ids.index(vocab.sep) + 1)
    for _ in range(unit):
        j = rng.randrange(len(texts))
        answered.append(encode_example(vocab, *image_qa(rng, texts[j], words[j]), room))
    for _ in range(2 * unit):
        seqs.append([vocab.sep] + vocab.encode(arithmetic(rng)) + [vocab.eos])
        starts.append(1)
    while len(seqs) + len(answered) < batch_size:
        answered.append(encode_example(vocab, *text_qa(rng), room))
    # image rows first: the described pictures, then the answered ones, then every text-only row
    image_rows = seqs[:n_describe] + [ids for ids, _ in answered[:n_qa]]
    image_starts = starts[:n_describe] + [k for _, k in answered[:n_qa]]
    rest = seqs[n_describe:] + [ids for ids, _ in answered[n_qa:]]
    rest_starts = starts[n_describe:] + [k for _, k in answered[n_qa:]]
    return picks, image_rows + rest, image_starts + rest_starts
