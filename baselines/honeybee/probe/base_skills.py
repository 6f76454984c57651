"""What the committed base can do before any recipe: arithmetic statements and image descriptions, greedy.

    python baselines/honeybee/probe/base_skills.py

Prints the share of 60 arithmetic statements (30 single-digit sums, 30 products, seed 5) the base completes right,
and its description of a few held-out probe images (seed 7) beside the scene's facts.
"""

import random

import torch

from harness.data.reasoning_embedded import generate as embedded
from harness_baselines.honeybee.model import generate, image_tensor
from harness_baselines.honeybee.pretrain import BASE_CHECKPOINT, DESCRIBE_PROMPT
from harness_baselines.honeybee.train import load_model

torch.set_num_threads(1)
model, vocab = load_model(BASE_CHECKPOINT)
model = model.float()
rng = random.Random(5)
sums = []
for _ in range(30):
    a, b = rng.randrange(10), rng.randrange(10)
    sums.append((f"{a} + {b} =", a + b))
    a, b = rng.randrange(2, 10), rng.randrange(2, 10)
    sums.append((f"{a} * {b} =", a * b))
images, has = image_tensor([None] * len(sums))
out = generate(model, images, has, [[vocab.sep] + vocab.encode(p) for p, _ in sums], vocab.eos, vocab.pad, 4)
right = sum(bool(o) and vocab.decode(o).split()[0] == str(r) for o, (_, r) in zip(out, sums))
print(f"arithmetic: {right}/{len(sums)} right")
samples = embedded(seed=7, n_per_type=8, unique_text=True, with_images=True)
images, has = image_tensor([s.images[0] for s in samples])
prompts = [vocab.encode(DESCRIBE_PROMPT) + [vocab.sep] for _ in samples]
for s, o in list(zip(samples, generate(model, images, has, prompts, vocab.eos, vocab.pad, 60)))[::3]:
    print(f"{s.category}: {vocab.decode(o)} | facts: {s.meta}")
