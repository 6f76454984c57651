"""The proxy's pretrained base (baselines/honeybee/pretrain.py): its texts stay inside the closed vocabulary, a short
pretraining is deterministic, and recipes fine-tune from it, keeping the base's rows for every token by name."""

import random

import numpy as np
import pytest
import torch

from harness.errors import HarnessError
from harness_baselines.honeybee.build import build
from harness_baselines.honeybee.pretrain import (
    BASE_CHECKPOINT,
    DESCRIBE_PROMPT,
    PRETRAIN_SOURCE,
    Rehearsal,
    arithmetic,
    describe,
    pretrain,
)
from harness_baselines.honeybee.recipe import Recipe
from harness_baselines.honeybee.sources import make_question
from harness_baselines.honeybee.train import init_from_base, load_model, train
from harness_baselines.honeybee.vocab import Vocab, build_vocab


def test_descriptions_and_arithmetic_use_only_known_tokens():
    vocab = Vocab(build_vocab())
    rng = random.Random(0)
    texts = [DESCRIBE_PROMPT] + [arithmetic(rng) for _ in range(200)]
    texts += [describe(make_question(PRETRAIN_SOURCE, i, with_images=False)) for i in range(100)]
    unknown = [t for t in texts if vocab.unk in vocab.encode(t)]
    assert not unknown, unknown[:3]


def test_describe_states_the_facts_in_a_fixed_order():
    q = next(q for i in range(50) if (q := make_question(PRETRAIN_SOURCE, i, with_images=False)).category == "counting")
    text = describe(q)
    assert text.startswith(f"there are {len(q.facts['objects'])} shapes: ")
    target = q.facts["target"]
    k = q.facts["objects"].count(target)
    assert f"{k} {target}" in text


def test_pretraining_is_deterministic_and_recipes_start_from_it(tmp_path):
    a = pretrain(tmp_path, tmp_path / "a.safetensors", steps=3, n_images=8, log=None)
    b = pretrain(tmp_path, tmp_path / "b.safetensors", steps=3, n_images=8, log=None)
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    assert np.isfinite(a["final_loss"]) and b["cpu_seconds"] >= 0
    base, vocab = load_model(tmp_path / "a.safetensors")
    # a vocabulary that grew (a new marker token) keeps every old token's row
    grown = Vocab([*vocab.tokens[:10], "<new-marker>", *vocab.tokens[10:]])
    from harness_baselines.honeybee.model import ProxyConfig, ProxyVLM

    model = ProxyVLM(ProxyConfig(vocab_size=len(grown)))
    init_from_base(model, grown, tmp_path / "a.safetensors")
    word = vocab.tokens[20]
    assert torch.equal(model.tok.weight[grown.index[word]], base.tok.weight[vocab.index[word]])
    assert torch.equal(model.blocks.layers[0].linear1.weight, base.blocks.layers[0].linear1.weight)


def test_a_missing_base_is_a_one_line_error(tmp_path):
    from harness_baselines.honeybee.model import ProxyConfig, ProxyVLM

    vocab = Vocab(build_vocab())
    with pytest.raises(HarnessError, match="no base checkpoint .*harness recipe pretrain"):
        init_from_base(ProxyVLM(ProxyConfig(vocab_size=len(vocab))), vocab, tmp_path / "none.safetensors")


@pytest.mark.skipif(not BASE_CHECKPOINT.is_file(), reason="the committed base checkpoint is missing")
def test_recipes_fine_tune_the_committed_base_and_record_it(tmp_path):
    from harness_baselines.honeybee.train import _metadata, file_hash

    def run(init):
        recipe = Recipe.model_validate(
            {
                "name": f"tiny_{init}",
                "sources": [{"name": "mixed", "size": 8}],
                "train": {"steps": 2, "batch_size": 4, "init": init},
            }
        )
        build(recipe, tmp_path)
        return train(recipe, tmp_path, log=None)

    base, scratch = run("base"), run("scratch")
    assert (
        _metadata(tmp_path / "checkpoints" / "tiny_base.safetensors")["plan"]["base"] == file_hash(BASE_CHECKPOINT)[:16]
    )
    assert "base" not in _metadata(tmp_path / "checkpoints" / "tiny_scratch.safetensors")["plan"]
    assert base["first_loss"] != scratch["first_loss"]  # same data and seed: only the starting weights differ


def test_rehearsal_replays_the_pretraining_mix_deterministically(tmp_path):
    rehearsal = Rehearsal(tmp_path, n_images=8)
    rows = rehearsal.rows(random.Random(0), 8)
    # half images -> description, a quarter words -> description, a quarter arithmetic (loss from token 1)
    assert [image is not None for _, _, image in rows] == [True, False, True, False] * 2
    vocab = rehearsal.vocab
    for ids, start, image in rows:
        target = vocab.decode(ids[start:-1])
        assert ids[-1] == vocab.eos and ids[start - 1] == vocab.sep
        if image is not None:
            assert image.shape[-1] == 3 and target in {vocab.decode(vocab.encode(t)) for t in rehearsal.texts}
    assert rows[3][1] == 1 and "=" in vocab.decode(rows[3][0])
    cached = Rehearsal(tmp_path, n_images=8)  # read back from the cache file
    again = cached.rows(random.Random(0), 8)
    assert [(i, s) for i, s, _ in again] == [(i, s) for i, s, _ in rows]
    assert all(np.array_equal(a, b) for (_, _, a), (_, _, b) in zip(rows, again) if a is not None)
