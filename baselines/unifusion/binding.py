"""Why the tiny VLM misses its probes: is the answer in its hidden states at all, and from which layer on?

For each probe kind (``tiny_vlm.PROBES``) and each hidden state, a ridge classifier (one-hot targets, argmax) reads
the answer from the state of the last prompt token (the position that predicts the answer's first word), fitted on
training scenes (seed 1) and scored on held-out scenes (``vlm_data.HELDOUT_SEED``); beside it, the VLM's own
exact-answer accuracy on the same held-out questions. Reading it:

- the answer decodable at no layer, while the image tokens' state 0 holds every patch's colour, shape and region
  (the auxiliary heads read them at >= 92 %): the decoder does not move the information to the answer position --
  attention has not learned to bind the question to the right image tokens;
- decodable at some layer but the VLM's own accuracy lower: the binding is there, the language-model head (or
  the later layers) lags behind.

    python -m harness_baselines.unifusion.binding --vlm baselines/unifusion/checkpoints/vlm
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import torch

from harness.data import edit_scenes
from harness_baselines.unifusion import tiny_vlm
from harness_baselines.unifusion.training_data import DATA_SEED
from harness_baselines.unifusion.vlm_data import HELDOUT_SEED, SIZE, collate, model_inputs
from harness_baselines.unifusion.vlm_report import exact_match


class _Scenes:
    """The minimum of ``vlm_data.Pools`` that ``exact_match`` needs: processor pixels of rendered scenes."""

    def __init__(self, processor, scenes: list[dict]):
        images = [edit_scenes.render(s, SIZE) for s in scenes]
        self.pixels = processor.image_processor(images=images, return_tensors="pt")["pixel_values"]


def probe_questions(processor, seed: int, n_scenes: int):
    """-> (scenes, {kind: [([scene index], question, answer), ...]}): one question per kind per scene where the
    answer is unique (as ``vlm_report.heldout_examples``)."""
    scenes = tiny_vlm.random_scenes(seed, n_scenes, SIZE)
    sets: dict[str, list] = {k: [] for k in tiny_vlm.PROBES}
    for i, scene in enumerate(scenes):
        for k in tiny_vlm.PROBES:
            qa = tiny_vlm.probe(scene, SIZE, k, np.random.default_rng([seed, i]))
            if qa is not None:
                sets[k].append(([i], *qa))
    return _Scenes(processor, scenes), sets


@torch.no_grad()
def answer_position_states(model, processor, scenes: _Scenes, examples, batch_size: int = 64) -> torch.Tensor:
    """-> [N, L + 1, D]: every hidden state at the last prompt token of each example."""
    n_img = (SIZE // processor.patch_size) ** 2
    out = []
    for s in range(0, len(examples), batch_size):
        batch = collate(processor, scenes.pixels, examples[s : s + batch_size], n_img)
        states = torch.stack(model(**model_inputs(batch), output_hidden_states=True).hidden_states, 1)
        last = (batch["labels"] != -100).float().argmax(1) - 1  # the token before the first answer token
        out.append(states[torch.arange(len(last)), :, last])
    return torch.cat(out)


def ridge_classifier_accuracy(x: torch.Tensor, y: list[str], xt: torch.Tensor, yt: list[str], ridge=1e-2) -> float:
    classes = sorted(set(y))
    onehot = torch.zeros(len(y), len(classes), dtype=torch.double)
    onehot[torch.arange(len(y)), torch.tensor([classes.index(a) for a in y])] = 1
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    a = torch.cat([(x - mean) / std, torch.ones(len(x), 1)], 1).double()
    w = torch.linalg.solve(a.T @ a + ridge * len(a) * torch.eye(a.shape[1], dtype=torch.double), a.T @ onehot)
    at = torch.cat([(xt - mean) / std, torch.ones(len(xt), 1)], 1).double()
    guess = [classes[i] for i in (at @ w).argmax(1).tolist()]
    return float(np.mean([g == t for g, t in zip(guess, yt)]))


def binding_report(model, processor, n_train: int = 600, n_test: int = 256) -> dict:
    """{kind: {"n_test", "vlm_exact", "decodable": {state: accuracy}, "majority"}}."""
    train_scenes, train = probe_questions(processor, DATA_SEED, n_train)
    test_scenes, test = probe_questions(processor, HELDOUT_SEED, n_test)
    n_img = (SIZE // processor.patch_size) ** 2
    report = {}
    for kind in tiny_vlm.PROBES:
        x = answer_position_states(model, processor, train_scenes, train[kind]).float()
        xt = answer_position_states(model, processor, test_scenes, test[kind]).float()
        y, yt = [e[2] for e in train[kind]], [e[2] for e in test[kind]]
        majority = max(set(y), key=y.count)
        report[kind] = {
            "n_train": len(y),
            "n_test": len(yt),
            "vlm_exact": round(float(np.mean(exact_match(model, processor, test_scenes, test[kind], n_img))), 3),
            "majority": round(float(np.mean([t == majority for t in yt])), 3),
            "decodable": {
                str(j): round(ridge_classifier_accuracy(x[:, j], y, xt[:, j], yt), 3) for j in range(x.shape[1])
            },
        }
        print(f"{kind}: {json.dumps(report[kind])}", flush=True)
    return report


def main(argv: list[str] | None = None) -> None:
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    parser = argparse.ArgumentParser(prog="python -m harness_baselines.unifusion.binding", description=__doc__)
    parser.add_argument("--vlm", required=True, help="a tiny VLM folder (train_vlm.py)")
    parser.add_argument("--n_train", type=int, default=600, help="training scenes (seed 1)")
    parser.add_argument("--n_test", type=int, default=256, help="held-out scenes (seed 1001)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.time()
    model = LlavaForConditionalGeneration.from_pretrained(args.vlm).eval()
    processor = AutoProcessor.from_pretrained(args.vlm)
    report = {"vlm": args.vlm, "probes": binding_report(model, processor, args.n_train, args.n_test)}
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    report["cpu_seconds"] = round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1)
    report["wall_seconds"] = round(time.time() - wall0, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
