"""Stage (a): train the tiny LLaVA on rendered scenes, then freeze it for good.

One command, deterministic from ``seed`` and resumable (``python -m harness_baselines.unifusion.train vlm``):

- language-model loss on the answer tokens only (each example's mean, so one-word probe answers weigh as much as
  captions) over a mix of: scene questions and captions (``tiny_vlm.scene_question``), VERIFI rewrites
  ((source, instruction) -> canonical caption of the target, from ``edit_scenes.generate(seed)``), text-to-image
  rewrites ((uniform gray, caption) -> canonical caption, the ``edit/t2i-scenes`` input form) and two-reference
  rewrites (the `edit/compose` family, ``harness.data.edit_compose.generate(seed)``); see ``SCHEDULE``;
- an auxiliary pixel loss (``pixel_weight``): a linear head (thrown away after training) must read each image
  token's 8x8x3 patch back from hidden state 0, so the states the generator reads hold the source's pixels
  (a 2-layer CLIP tower trained on question answering alone is free to drop them).

Batch draws come from ``default_rng([seed, step])``: a resumed run draws exactly what an uninterrupted run draws.
Training state (model, optimiser, heads, losses) is saved every ``save_every`` steps under ``out/resume/`` and
removed at the end. Training data use seed ``seed`` (default 1); the held-out report uses seed 1001 (scenes,
edits and two-reference pairs), a range the generators' training must not use (see README).
"""

from __future__ import annotations

import json
import math
import resource
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from harness.data import edit_compose, edit_scenes
from harness_baselines.unifusion import tiny_vlm
from harness_baselines.unifusion.encoder import TINY_ANSWER_MARK

HELDOUT_SEED = 1001
GRAY = (128, 128, 128)  # the t2i task's blank source (harness/data/edit_t2i.py)
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


def losses(model, heads, batch: dict, patch: int, label_table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(language-model loss: mean over examples of the mean over answer tokens, auxiliary loss of hidden state 0:
    pixels (MSE) + per-patch scene labels (cross-entropy, ``LABEL_CLASSES``))."""
    labels = batch["labels"]
    out = model(**model_inputs(batch), output_hidden_states=True)
    logits, targets = out.logits[:, :-1], labels[:, 1:]
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, ignore_index=-100, reduction="none")
    keep = (targets != -100).float()
    lm = ((ce * keep).sum(1) / keep.sum(1)).mean()
    image = batch["input_ids"] == model.config.image_token_id
    tokens = out.hidden_states[0][image]  # [n_images * n_img, D] in order of appearance
    pixel = torch.nn.functional.mse_loss(heads["pixel"](tokens), patches(batch["pixel_values"], patch).flatten(0, 1))
    logits = heads["labels"](tokens).split(LABEL_CLASSES, dim=-1)
    want = label_table[batch["images"]].flatten(0, 1)  # [n_images * n_img, len(LABEL_CLASSES) + 1]
    semantic = sum(torch.nn.functional.cross_entropy(lg, want[:, j]) for j, lg in enumerate(logits)) / len(logits)
    rows = [b for b, f in enumerate(batch["focus"]) if f is not None]
    if rows:  # single-image questions only: row b's image tokens are its n_img tokens
        marked = out.hidden_states[FOCUS_LAYER][rows][image[rows]]
        wanted = torch.cat([batch["focus"][b] for b in rows])
        semantic = semantic + torch.nn.functional.binary_cross_entropy_with_logits(heads["focus"](marked)[:, 0], wanted)
    return lm, pixel + semantic


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def train_vlm(
    out: Path,
    seed: int = 1,
    steps: int = 1000,
    batch_size: int = 24,
    lr: float = 2e-3,
    n_scenes: int = 4000,
    n_edits_per_type: int = 400,
    n_pairs_per_type: int = 200,
    pixel_weight: float = 1.0,
    threads: int = 2,
    log_every: int = 50,
    save_every: int = 100,
    eval_every: int = 0,
    stop_after: int | None = None,
    heldout_scenes: int = 512,
    init: Path | None = None,
    schedule: tuple[str, ...] = SCHEDULE,
) -> dict | None:
    """Train and save the tiny VLM to ``out`` (safetensors + configs + processor + training.json).

    ``stop_after``: save the resume state after that many steps of this call and return None (time-slicing on
    a contended machine; the next call continues). ``heldout_scenes``: size of the held-out report.
    ``init``: start from the weights of a saved tiny VLM (a continuation stage: new optimiser, warm-up and cosine
    schedule, fresh auxiliary heads; the batch stream is ``default_rng([seed, step])`` of this stage's steps, so
    use another ``seed`` than the stage before). ``schedule``: the batch kinds cycled over steps (``SCHEDULE``;
    ``("short",)`` trains on the probes and other one-word questions only)."""
    from transformers import LlavaForConditionalGeneration

    if seed in (0, HELDOUT_SEED):
        raise ValueError(f"seed {seed} is reserved (0: the eval tasks, {HELDOUT_SEED}: the held-out report)")
    if not schedule or set(schedule) - set(SCHEDULE):
        raise ValueError(f"schedule {schedule!r}: batch kinds are {sorted(set(SCHEDULE))}")
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    start, cpu0 = time.time(), cpu_seconds()
    processor = tiny_vlm.build_processor(image_size=SIZE)
    if init is None:
        model = LlavaForConditionalGeneration(tiny_vlm.build_config(len(processor.tokenizer), image_size=SIZE))
    else:
        model = LlavaForConditionalGeneration.from_pretrained(init)
    patch = processor.patch_size
    width = model.config.text_config.hidden_size
    heads = torch.nn.ModuleDict(
        {
            "pixel": torch.nn.Linear(width, 3 * patch * patch),
            "labels": torch.nn.Linear(width, sum(LABEL_CLASSES)),
            "focus": torch.nn.Linear(width, 1),
        }
    )
    if init is None:
        init_positions(model, SIZE // patch)
    pools = Pools(processor, seed, n_scenes, n_edits_per_type, n_pairs_per_type)
    n_img = (SIZE // patch) ** 2
    params = list(model.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))
    )
    resume = out / "resume"
    history: dict = {"lm": [], "pixel": [], "cpu_seconds": 0.0, "wall_seconds": 0.0}
    first = 0
    if (resume / "state.json").is_file():  # continue an interrupted run exactly where its last save left it
        history = json.loads((resume / "state.json").read_text())
        first = len(history["lm"])
        weights = torch.load(resume / "weights.pt", weights_only=True)
        model.load_state_dict(weights["model"])
        heads.load_state_dict(weights["heads"])
        opt.load_state_dict(weights["opt"])
        sched.load_state_dict(weights["sched"])
        print(f"vlm: resumed at step {first}", flush=True)
    prior_cpu, prior_wall = history["cpu_seconds"], history["wall_seconds"]
    model.train()
    last = steps if stop_after is None else min(steps, first + stop_after)
    for step in range(first, last):
        rng = np.random.default_rng([seed, step])
        batch = collate(processor, pools.pixels, draw(pools, rng, batch_size, schedule[step % len(schedule)]), n_img)
        lm, pixel = losses(model, heads, batch, patch, pools.labels)
        opt.zero_grad(set_to_none=True)
        (lm + pixel_weight * pixel).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        history["lm"].append(lm.item())
        history["pixel"].append(pixel.item())
        if (step + 1) % log_every == 0:
            print(
                f"vlm step {step + 1}/{steps} lm {np.mean(history['lm'][-log_every:]):.4f} "
                f"pixel {np.mean(history['pixel'][-log_every:]):.4f} ({time.time() - start:.0f}s wall, "
                f"{cpu_seconds() - cpu0:.0f}s cpu)",
                flush=True,
            )
        if eval_every and (step + 1) % eval_every == 0:  # a small held-out look (seed 1001) while training
            model.eval()
            small = heldout_report(model, processor, n_scenes=96, n_edits_per_type=8)
            model.train()
            print("vlm heldout " + " ".join(f"{k} {v['accuracy']:.2f}" for k, v in small.items()), flush=True)
        if (step + 1) % save_every == 0 and step + 1 < steps:
            history["cpu_seconds"] = prior_cpu + cpu_seconds() - cpu0
            history["wall_seconds"] = prior_wall + time.time() - start
            _save_resume(resume, model, processor, heads, opt, sched, history)
    if last < steps:
        history["cpu_seconds"] = prior_cpu + cpu_seconds() - cpu0
        history["wall_seconds"] = prior_wall + time.time() - start
        _save_resume(resume, model, processor, heads, opt, sched, history)
        return None
    model.eval()
    train_cpu = prior_cpu + cpu_seconds() - cpu0
    train_wall = prior_wall + time.time() - start
    n_edits = max(1, heldout_scenes * 40 // 512)  # 512 scenes -> 40 edits of each single- and two-reference type
    report = heldout_report(model, processor, n_scenes=heldout_scenes, n_edits_per_type=n_edits)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    summary = {
        "seed": seed,
        "heldout_seed": HELDOUT_SEED,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "n_scenes": n_scenes,
        "n_edits": len(pools.edits),
        "n_pairs": len(pools.pairs),
        "pixel_weight": pixel_weight,
        "init": str(init) if init else None,
        "schedule": list(schedule),
        "final_lm_loss": float(np.mean(history["lm"][-log_every:])),
        "final_pixel_loss": float(np.mean(history["pixel"][-log_every:])),
        "heldout": report,
        "train_cpu_seconds": round(train_cpu, 1),
        "train_wall_seconds": round(train_wall, 1),
        "threads": threads,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    (out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    shutil.rmtree(resume, ignore_errors=True)
    return summary


def init_positions(model, grid: int, scale: float = 0.3) -> None:
    """2-D sine-cosine values into the CLIP tower's (trainable) patch position embeddings (row 0 is CLS): the
    tower starts out knowing where each patch is, which "where" questions need and a from-scratch tower learns
    slowly."""
    table = model.model.vision_tower.embeddings.position_embedding.weight
    d = table.shape[1] // 4
    freq = 1.0 / (10000 ** (torch.arange(d) / d))
    ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    ang_y, ang_x = ys.flatten()[:, None] * freq, xs.flatten()[:, None] * freq
    with torch.no_grad():
        table[1:] = scale * torch.cat([ang_y.sin(), ang_y.cos(), ang_x.sin(), ang_x.cos()], dim=1)


def _save_resume(resume: Path, model, processor, heads, opt, sched, history: dict) -> None:
    """Atomic: weights first, then the state file that marks the save as complete. ``resume/preview`` is the
    model so far as a loadable checkpoint (for developing against an unfinished run)."""
    resume.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(resume / "preview")
    processor.save_pretrained(resume / "preview")
    weights = {
        "model": model.state_dict(),
        "heads": heads.state_dict(),
        "opt": opt.state_dict(),
        "sched": sched.state_dict(),
    }
    torch.save(weights, resume / "weights.pt.tmp")
    (resume / "weights.pt.tmp").replace(resume / "weights.pt")
    (resume / "state.json.tmp").write_text(json.dumps(history))
    (resume / "state.json.tmp").replace(resume / "state.json")


def heldout_examples(processor, seed: int = HELDOUT_SEED, n_scenes: int = 512, n_edits_per_type: int = 40):
    """-> (pools, {report name: list of examples}) on held-out seed ``seed``: the four probes (one question of each
    kind per scene where the answer is unique), captions, rewrites per edit type, t2i rewrites, two-reference
    rewrites."""
    pools = Pools(processor, seed, n_scenes, n_edits_per_type, n_edits_per_type)
    sets: dict[str, list] = {f"probe_{k}": [] for k in tiny_vlm.PROBES}
    for i, scene in enumerate(pools.scenes):
        for k in tiny_vlm.PROBES:
            qa = tiny_vlm.probe(scene, SIZE, k, np.random.default_rng([seed, i]))
            if qa is not None:
                sets[f"probe_{k}"].append(([i], *qa))
    sets["caption"] = [
        ([i], "describe the image .", tiny_vlm.canonical_caption(s, SIZE)) for i, s in enumerate(pools.scenes)
    ]
    for t in edit_scenes.EDIT_TYPES:
        sets[f"rewrite_{t}"] = [pools.rewrite(i) for i, e in enumerate(pools.edits) if e.edit_type == t]
    sets["rewrite_t2i"] = [pools.t2i(i) for i in range(min(200, n_scenes))]
    sets["rewrite_reconstruction"] = [pools.reconstruction(i) for i in range(min(200, n_scenes))]
    for t in edit_compose.EDIT_TYPES:
        sets[f"rewrite_compose_{t}"] = [pools.pair(i) for i, p in enumerate(pools.pairs) if p.edit_type == t]
    return pools, sets


@torch.no_grad()
def exact_match(model, processor, pools: Pools, examples, n_img: int, batch_size: int = 64) -> list[bool]:
    """Teacher-forced: every answer token and </s> is the argmax -- the same as greedy decoding giving exactly
    the answer, computed in one batched forward."""
    hits = []
    for s in range(0, len(examples), batch_size):
        batch = collate(processor, pools.pixels, examples[s : s + batch_size], n_img)
        logits = model(**model_inputs(batch)).logits[:, :-1]
        labels = batch["labels"][:, 1:]
        keep = labels != -100
        hits += ((logits.argmax(-1) == labels) | ~keep).all(1).tolist()
    return hits


def heldout_report(model, processor, seed: int = HELDOUT_SEED, **sizes) -> dict:
    """{name: {"n", "accuracy", "ci95"}} on the held-out seed (Wilson 95 % interval)."""
    n_img = (SIZE // processor.patch_size) ** 2
    pools, sets = heldout_examples(processor, seed, **sizes)
    report = {}
    for name, examples in sets.items():
        hits = exact_match(model, processor, pools, examples, n_img)
        report[name] = {
            "n": len(hits),
            "accuracy": round(float(np.mean(hits)), 4),
            "ci95": wilson(sum(hits), len(hits)),
        }
    return report


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    if n == 0:
        return [0.0, 1.0]
    p = k / n
    centre, half = (
        (p + z * z / (2 * n)) / (1 + z * z / n),
        z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n),
    )
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]
