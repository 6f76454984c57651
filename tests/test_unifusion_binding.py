"""UniFusion diagnostics (binding.py): is a probe's answer in the tiny VLM's hidden states at the answer position."""

from __future__ import annotations

import torch

from harness_baselines.unifusion import binding, tiny_vlm
from harness_baselines.unifusion.adapter import CHECKPOINTS
from harness_baselines.unifusion.vlm_data import SIZE, collate, model_inputs


def shipped():
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    path = CHECKPOINTS / "vlm"
    return LlavaForConditionalGeneration.from_pretrained(path).eval(), AutoProcessor.from_pretrained(path)


def test_answer_position_is_the_token_that_predicts_the_first_answer_word():
    model, processor = shipped()
    scenes, sets = binding.probe_questions(processor, 1001, 6)
    examples = sets["count"]
    states = binding.answer_position_states(model, processor, scenes, examples)
    assert states.shape == (len(examples), model.config.text_config.num_hidden_layers + 1, 128)
    batch = collate(processor, scenes.pixels, examples, (SIZE // processor.patch_size) ** 2)
    with torch.no_grad():
        logits = model(**model_inputs(batch)).logits
    first = (batch["labels"] != -100).float().argmax(1)
    expected = logits[torch.arange(len(first)), first - 1]
    # The last hidden state (after the final norm) through the LM head gives the same logits.
    assert torch.allclose(model.lm_head(states[:, -1]), expected, atol=1e-4)
    assert {e[2] for e in examples} <= set(tiny_vlm.NUMBERS.values())


def test_ridge_classifier_reads_a_separable_label_and_not_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(600, 8, generator=g)
    labels = ["a" if v > 0 else "b" for v in x[:, 3].tolist()]
    assert binding.ridge_classifier_accuracy(x[:400], labels[:400], x[400:], labels[400:]) > 0.95
    noise = torch.randn(600, 8, generator=g)
    assert binding.ridge_classifier_accuracy(noise[:400], labels[:400], noise[400:], labels[400:]) < 0.7
