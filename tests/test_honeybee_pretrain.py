"""The proxy's pretrained base (baselines/honeybee/pretrain.py): its texts stay inside the closed vocabulary, a short
pretraining is deterministic, and recipes fine-tune from it, keeping the base's rows for every token by name."""

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import one_line_error, run_cli
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


def _boxed(cot: str) -> str:
    return cot.rsplit("\\boxed{", 1)[1].rstrip("}")


def test_generic_questions_are_answered_right_in_known_tokens():
    from harness_baselines.honeybee.build import LETTERS, PROMPT_SUFFIX
    from harness_baselines.honeybee.pretrain_qa import image_qa, text_qa

    vocab, rng = Vocab(build_vocab()), random.Random(3)
    for _ in range(300):
        prompt, cot = text_qa(rng)
        assert vocab.unk not in vocab.encode(f"{prompt} {cot}"), (prompt, cot)
        lines = prompt.split("\n")
        assert lines[-1] == PROMPT_SUFFIX
        options = [line.split(") ", 1)[1] for line in lines[1:-1]]
        answer = _boxed(cot)
        value = options[LETTERS.index(answer)] if options else answer
        question = lines[0]
        if question.startswith("what is "):
            assert int(value) == eval(question[len("what is ") : -1])  # the arithmetic is right
        else:
            assert int(value) == max(map(int, options))
    text = describe(make_question(PRETRAIN_SOURCE, 0, with_images=False))
    prompt, cot = image_qa(rng, "the digits from left to right are 3, 8, 1.", "An image shows the digits")
    assert cot.startswith("the digits from left to right are 3, 8, 1.") and _boxed(cot) == "8"
    assert prompt.startswith("An image shows the digits what is the largest number in the image?")
    assert vocab.unk not in vocab.encode(" ".join(image_qa(rng, text)))


def test_an_answers_base_of_another_size_is_deterministic_and_recipes_inherit_it(tmp_path):
    from harness_baselines.honeybee.train import _metadata, file_hash

    kw = dict(steps=3, n_images=8, log=None, layers=3, d=64, mix="answers")
    a = pretrain(tmp_path, tmp_path / "a.safetensors", **kw)
    pretrain(tmp_path, tmp_path / "b.safetensors", **kw)
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    assert a["config"]["layers"] == 3 and a["config"]["d"] == 64
    assert _metadata(tmp_path / "a.safetensors")["plan"] == {"base": True, "mix": "answers"}
    recipe = Recipe.model_validate(
        {"name": "tiny", "sources": [{"name": "mixed", "size": 8}], "train": {"steps": 2, "batch_size": 4}}
    )
    build(recipe, tmp_path)
    summary = train(recipe, tmp_path, log=None, base=tmp_path / "a.safetensors")
    model, _ = load_model(tmp_path / "checkpoints" / "tiny.safetensors")
    assert len(model.blocks.layers) == 3 and model.cfg.d == 64  # the base's architecture
    assert _metadata(Path(summary["checkpoint"]))["plan"]["base"] == file_hash(tmp_path / "a.safetensors")[:16]
    # rehearsal replays the base's own mix: answered questions (a \boxed{} target) among its rows
    rows = Rehearsal(tmp_path, n_images=8, mix="answers").rows(random.Random(0), 8)
    vocab = Vocab(build_vocab())
    assert sum(vocab.decode(ids[start:]).count("\\boxed{") for ids, start, _ in rows) == 4


def test_the_committed_mix_is_answers_and_bad_options_are_one_line_errors(tmp_path):
    from harness_baselines.honeybee.train import _metadata

    pretrain(tmp_path, tmp_path / "a.safetensors", steps=1, n_images=4, log=None)
    assert _metadata(tmp_path / "a.safetensors")["plan"] == {"base": True, "mix": "answers"}  # the committed base's
    assert _metadata(BASE_CHECKPOINT)["plan"] == {"base": True, "mix": "answers"}
    pretrain(tmp_path, tmp_path / "d.safetensors", steps=1, n_images=4, log=None, mix="describe")
    assert _metadata(tmp_path / "d.safetensors")["plan"] == {"base": True}  # the base before session 5, as it was
    one_line_error(run_cli("recipe", "pretrain", "--mix", "bogus", "-o", tmp_path / "x.safetensors"), "--mix 'bogus'")
    one_line_error(
        run_cli("recipe", "pretrain", "--d", "90", "-o", tmp_path / "x.safetensors"), "--d 90", "4 attention"
    )
    assert not (tmp_path / "x.safetensors").exists()
    one_line_error(
        run_cli("recipe", "train", "src_mixed", "--cache-dir", tmp_path, "--base", tmp_path / "none.safetensors"),
        "none.safetensors",
    )


def test_a_base_at_another_resolution_is_inherited_by_fine_tuning_and_the_adapter(tmp_path):
    from harness_baselines.honeybee.train import _metadata

    kw = dict(steps=2, n_images=8, log=None, mix="answers", image_px=64, cnn_width=16)
    a = pretrain(tmp_path, tmp_path / "a.safetensors", **kw)
    pretrain(tmp_path, tmp_path / "b.safetensors", **kw)
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    assert a["config"]["image_px"] == 64 and a["config"]["cnn_width"] == 16
    assert a["config"]["max_len"] == 224 - 36 + 64  # 8 x 8 image tokens; the text keeps the default room
    assert (tmp_path / "rehearsal" / "pretrain-8-64px.npz").is_file()  # rendered at 64 px, beside the 48 px cache
    recipe = Recipe.model_validate(
        {"name": "tiny", "sources": [{"name": "mixed", "size": 8}], "train": {"steps": 2, "batch_size": 4}}
    )
    build(recipe, tmp_path)
    train(recipe, tmp_path, log=None, base=tmp_path / "a.safetensors")
    model, _ = load_model(tmp_path / "checkpoints" / "tiny.safetensors")
    assert model.cfg.image_px == 64 and model.cfg.image_tokens == 64 and model.encoder[0].out_channels == 16
    assert _metadata(tmp_path / "checkpoints" / "tiny.safetensors")["config"]["image_px"] == 64
    # the adapter reads the resolution from the checkpoint: a 64 px picture reaches the encoder
    from harness_baselines.honeybee.adapter import HoneyBeeProxy

    seen = []
    proxy = HoneyBeeProxy(recipe="tiny", cache_dir=str(tmp_path))
    prompt = {"text": DESCRIBE_PROMPT, "images": [np.zeros((100, 100, 3), dtype=np.uint8)]}
    proxy.generate([prompt], seeds=[0], max_new_tokens=4)  # loads the checkpoint lazily
    proxy.model.encoder.register_forward_pre_hook(lambda _, args: seen.append(tuple(args[0].shape[-2:])))
    out = proxy.generate([prompt], seeds=[0], max_new_tokens=4)
    assert len(out) == 1 and seen == [(64, 64)]


def test_the_default_encoder_keeps_the_committed_metadata_and_bad_resolutions_are_one_line_errors(tmp_path):
    from harness_baselines.honeybee.model import ProxyConfig

    assert ProxyConfig(vocab_size=5).to_dict() == {"vocab_size": 5, "d": 96, "layers": 2, "heads": 4, "max_len": 224}
    for px in ("60", "8"):
        one_line_error(
            run_cli("recipe", "pretrain", "--image_px", px, "-o", tmp_path / "x.safetensors"),
            f"--image_px {px}",
            "multiple of 8",
        )
    one_line_error(run_cli("recipe", "pretrain", "--cnn_width", "0", "-o", tmp_path / "x.safetensors"), "--cnn_width 0")
    assert not (tmp_path / "x.safetensors").exists()


def test_restyled_pretraining_images_keep_their_scene_and_match_no_eval_image(tmp_path):
    """--restyle redraws a pretraining image that matches an eval image (most clocks and triangles) at another
    scale and position; the redrawn picture must be further than twice the builds' pHash distance from every eval
    image, and it keeps the scene: the same question (so the same description), the same background."""
    from harness_baselines.honeybee.decontaminate import EvalIndex
    from harness_baselines.honeybee.pretrain import pretrain_images
    from harness_baselines.honeybee.recipe import Decontamination
    from harness_baselines.honeybee.restyle import restyle

    plain, redrawn = [], []
    pretrain_images(24, tmp_path, log=None, on_scan=lambda q, o, im: plain.append((q.index, o)))
    pretrain_images(24, tmp_path, log=None, restyle=True, on_scan=lambda q, o, im: redrawn.append((q, o, im)))
    decon = Decontamination()
    index = EvalIndex.build(decon.suites, decon.ngram, tmp_path)
    restyled = [(q, im) for q, o, im in redrawn if o == "restyled"]
    assert len(restyled) >= 3 and {q.category for q, _ in restyled} & {"clock", "geometry"}
    was = dict(plain)
    for q, image in restyled:
        assert was.get(q.index, "dropped") == "dropped"  # only what plain decontamination drops is redrawn
        assert index.image_match(image, 2 * decon.phash_distance) is None
        assert image.shape == q.image.shape and (image[0, 0] == q.image[0, 0]).all()
        assert not np.array_equal(image, q.image)
    assert all(o == "kept" for q, o, _ in redrawn if was.get(q.index) == "kept")  # the rest is untouched
    clock = next(q for q, _ in restyled if q.category == "clock")
    a = restyle(clock.image, np.random.default_rng(5))
    assert np.array_equal(a, restyle(clock.image, np.random.default_rng(5)))  # deterministic given the rng
    ink = (np.abs(a.astype(int) - a[0, 0]).sum(-1) > 30).sum()
    assert ink > 0.5 * (np.abs(clock.image.astype(int) - clock.image[0, 0]).sum(-1) > 30).sum()  # the dial is all there
