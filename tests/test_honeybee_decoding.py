"""Shared-caption vs independent n-sample decoding of the HoneyBee proxy (baselines/honeybee/decoding.py) on a real
ProxyVLM whose output head is nudged towards the end-of-caption marker, so that its first answers contain one."""

import pytest
import torch

from harness_baselines.honeybee import decoding
from harness_baselines.honeybee.model import ProxyConfig, ProxyVLM
from harness_baselines.honeybee.vocab import END_CAPTION, Vocab, build_vocab


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)  # as the adapter decodes (and fast on a shared machine)
    vocab = Vocab(build_vocab())
    torch.manual_seed(0)
    model = ProxyVLM(ProxyConfig(vocab_size=len(vocab), max_len=96)).eval()
    with torch.no_grad():
        model.head.bias[vocab.index[END_CAPTION]] += 5.0  # the marker is likely, not certain
        model.head.bias[vocab.eos] += 3.0  # answers end early enough to stay short
    images, has = torch.randn(3, 3, 48, 48), torch.tensor([True, True, False])
    prompts = [vocab.encode("how many red circles are there ?") + [vocab.sep]] * 2 + [[vocab.sep]]
    return vocab, model, images, has, prompts


def _sample(setup, shared, k=None, greedy_first=False, n=6):
    vocab, model, images, has, prompts = setup
    rows = slice(None) if k is None else slice(k, k + 1)
    seeds = [11, 12, 13][rows]
    return decoding.sample(
        model, vocab, images[rows], has[rows], prompts[rows], seeds, n, 40, 1.0, shared, greedy_first
    )


def test_shared_caption_reuses_the_first_answers_caption_and_pays_for_it_once(setup):
    vocab = setup[0]
    marker = vocab.index[END_CAPTION]
    independent, shared = _sample(setup, False), _sample(setup, True)
    assert any(c.caption for c in shared)
    for ind, sh in zip(independent, shared):
        assert sh.tokens[0] == ind.tokens[0]  # completion 0 is the same full answer in both modes
        assert sh.caption == decoding.caption_prefix(sh.tokens[0], marker)
        texts = sh.texts(vocab)
        if sh.caption:
            assert sh.caption[-1] == marker and marker not in sh.caption[:-1]
            caption_text = vocab.decode(sh.caption)
            assert all(t.startswith(caption_text) for t in texts[1:])
            info = sh.info()
            assert info["caption_shared"] == 1 and info["caption_tokens"] == len(sh.caption)
            # the caption is generated once: the other completions count only their solutions
            assert info["generated_tokens"] == len(sh.tokens[0]) + sum(len(t) for t in sh.tokens[1:])
        else:  # no marker in the first answer: the others are the independent ones
            assert sh.tokens == ind.tokens and sh.info()["caption_shared"] == 0
        assert ind.info()["generated_tokens"] == sum(len(t) for t in ind.tokens)


def test_completions_depend_only_on_their_own_sample_seed(setup):
    for shared in (False, True):
        batched = _sample(setup, shared)
        for k in range(3):
            assert _sample(setup, shared, k)[0].tokens == batched[k].tokens


def test_greedy_first_keeps_the_single_sample_answer(setup):
    vocab, model, images, has, prompts = setup
    from harness_baselines.honeybee.model import generate

    greedy = generate(model, images, has, prompts, vocab.eos, vocab.pad, 40)
    for shared in (False, True):
        out = _sample(setup, shared, greedy_first=True)
        assert [c.tokens[0] for c in out] == greedy
        assert all(len(c.tokens) == 6 for c in out)
    # sampled completions differ from one another (per-completion seeds)
    sampled = _sample(setup, False)[0].tokens
    assert len({tuple(t) for t in sampled}) > 1
