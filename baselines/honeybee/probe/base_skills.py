"""What a base can do before fine-tuning: arithmetic statements, generic questions, image descriptions, greedy.

    python baselines/honeybee/probe/base_skills.py [BASE.safetensors]   # default: the committed base

Prints the share of 60 arithmetic statements (30 single-digit sums, 30 products, seed 5) the base completes right,
the share of 60 generic questions in the eval layout (pretrain_qa.text_qa, seed 5) it answers right in
``\\boxed{}``, how many of the 40 held-out probe images per category (seed 7) it describes exactly right (the
canonical description, pretrain.describe; for clocks also whether the stated time is right), and its description of
a few of them beside the scene's facts.
"""

import random
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import torch

from harness.data.reasoning_embedded import generate as embedded
from harness_baselines.honeybee.model import generate, image_tensor
from harness_baselines.honeybee.pretrain import BASE_CHECKPOINT, DESCRIBE_PROMPT, describe
from harness_baselines.honeybee.pretrain_qa import text_qa
from harness_baselines.honeybee.train import load_model

torch.set_num_threads(1)
model, vocab = load_model(Path(sys.argv[1]) if len(sys.argv) > 1 else BASE_CHECKPOINT)
model = model.float()
rng = random.Random(5)
sums = []
for _ in range(30):
    a, b = rng.randrange(10), rng.randrange(10)
    sums.append((f"{a} + {b} =", a + b))
    a, b = rng.randrange(2, 10), rng.randrange(2, 10)
    sums.append((f"{a} * {b} =", a * b))
images, has = image_tensor([None] * len(sums), model.cfg.image_px)
out = generate(model, images, has, [[vocab.sep] + vocab.encode(p) for p, _ in sums], vocab.eos, vocab.pad, 4)
right = sum(bool(o) and vocab.decode(o).split()[0] == str(r) for o, (_, r) in zip(out, sums))
print(f"arithmetic: {right}/{len(sums)} right")
rng = random.Random(5)
questions = [text_qa(rng) for _ in range(60)]
out = generate(model, images, has, [vocab.encode(p) + [vocab.sep] for p, _ in questions], vocab.eos, vocab.pad, 60)
boxed = [vocab.decode(o).rsplit("\\boxed{", 1)[-1].split()[0] if "\\boxed{" in vocab.decode(o) else None for o in out]
right = sum(b == cot.rsplit("\\boxed{", 1)[1].rstrip("}") for b, (_, cot) in zip(boxed, questions))
print(f"generic questions: {right}/{len(questions)} right in \\boxed{{}}, {sum(b is not None for b in boxed)} boxed")
samples = embedded(seed=7, n_per_type=40, unique_text=True, with_images=True)  # the probe's images
images, has = image_tensor([s.images[0] for s in samples], model.cfg.image_px)
prompts = [vocab.encode(DESCRIBE_PROMPT) + [vocab.sep] for _ in samples]
said = [vocab.decode(o) for o in generate(model, images, has, prompts, vocab.eos, vocab.pad, 60)]
right, hours, times = Counter(), 0, 0
for s, text in zip(samples, said):
    truth = vocab.decode(vocab.encode(describe(SimpleNamespace(category=s.category, facts=s.meta))))
    right[s.category] += text.strip() == truth.strip()
    if s.category == "clock":  # the hour hand alone, and the time stated
        hour = truth.split(". the long")[0]
        hours += text.startswith(hour)
        times += vocab.decode(vocab.encode(f"the clock shows {s.meta['time']}.")) in text
print("descriptions right: " + ", ".join(f"{c} {right[c]}/40" for c in dict.fromkeys(s.category for s in samples)))
print(f"clocks: hour hand right {hours}/40, time right {times}/40")
for s, text in list(zip(samples, said))[::40]:
    print(f"{s.category}: {text} | facts: {s.meta}")
