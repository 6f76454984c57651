"""HoneyBee proxy: a 20-step training smoke run (deterministic, safetensors checkpoint) and the Reasoner adapter
that serves it."""

import numpy as np
import pytest

from harness.adapters import adapter_class
from harness.errors import HarnessError
from harness_baselines.honeybee.build import build, prompt_text
from harness_baselines.honeybee.decoding import DECODER_VERSION
from harness_baselines.honeybee.recipe import Recipe
from harness_baselines.honeybee.train import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cache = tmp_path_factory.mktemp("hb")
    recipe = Recipe.model_validate(
        {
            "name": "smoke",
            "seed": 3,
            "sources": [{"name": "mixed", "size": 16}],
            "interventions": [{"name": "text_mix", "fraction": 0.25}],
            "train": {"steps": 20, "batch_size": 8},
        }
    )
    build(recipe, cache)
    return recipe, cache, train(recipe, cache, log=None)


def test_twenty_steps_lower_the_loss_and_write_safetensors(trained):
    recipe, cache, summary = trained
    assert summary["steps"] == 20 and np.isfinite(summary["final_loss"])
    assert summary["final_loss"] < summary["first_loss"]
    assert (cache / "checkpoints" / "smoke.safetensors").is_file()


def test_training_is_deterministic_from_the_seed(trained, tmp_path):
    recipe, cache, summary = trained
    build(recipe, tmp_path)
    again = train(recipe, tmp_path, log=None)
    assert again["sha256"] == summary["sha256"]


def test_proxy_adapter_generates_and_fingerprints_the_checkpoint(trained):
    recipe, cache, summary = trained
    proxy = adapter_class("honeybee-proxy")(recipe="smoke", cache_dir=str(cache))
    assert proxy.fingerprint() == f"{summary['sha256'][:16]}-d{DECODER_VERSION}"
    image = np.full((96, 96, 3), 200, np.uint8)
    prompts = [
        {"text": prompt_text("How many red circles are there in the image?", None), "images": [image]},
        {"text": prompt_text("What time does the clock show?", ["1:00", "2:00", "3:00", "4:00"]), "images": []},
    ]
    out = proxy.generate(prompts, [1, 2], n=2, max_new_tokens=16)
    assert len(out) == 2 and all(len(c) == 2 and all(isinstance(x, str) for x in c) for c in out)
    assert proxy.generate(prompts[:1], [1], n=1, max_new_tokens=16)[0][0] == out[0][0]  # greedy, batch-independent
    assert [i["generated_tokens"] for i in proxy.last_info] == [sum(i["completion_tokens"]) for i in proxy.last_info]
    shared = adapter_class("honeybee-proxy")(
        recipe="smoke", cache_dir=str(cache), decoding="shared_caption", greedy_first="false"
    )
    assert proxy.fingerprint() == shared.fingerprint()  # same weights; the decoding args are part of the run spec
    out = shared.generate(prompts, [1, 2], n=3, max_new_tokens=16)
    assert [len(c) for c in out] == [3, 3] and all("caption_shared" in i for i in shared.last_info)


def test_proxy_without_checkpoint_is_a_one_line_error(tmp_path):
    with pytest.raises(HarnessError, match="no checkpoint .*harness recipe train nope"):
        adapter_class("honeybee-proxy")(recipe="nope", cache_dir=str(tmp_path))


def test_retraining_an_up_to_date_recipe_is_skipped(trained):
    recipe, cache, summary = trained
    again = train(recipe, cache, log=None)
    assert again.get("cached") and again["sha256"] == summary["sha256"]


def test_cached_decoding_matches_full_recomputation():
    import torch

    from harness_baselines.honeybee.model import ProxyConfig, ProxyVLM, generate

    torch.manual_seed(0)
    model = ProxyVLM(ProxyConfig(vocab_size=50, max_len=64)).eval()
    images, has = torch.randn(3, 3, 48, 48), torch.tensor([True, False, True])
    prompts = [[5, 6, 7], [8, 9, 10, 11, 12], [13]]
    fast = generate(model, images, has, prompts, eos=3, pad=0, max_new_tokens=8)
    for k, p in enumerate(prompts):  # reference: one sample at a time, the whole sequence recomputed per token
        seq = list(p)
        for _ in range(len(fast[k])):
            with torch.no_grad():
                seq.append(int(model(images[k : k + 1], has[k : k + 1], torch.tensor([seq]))[0, -1].argmax()))
        assert seq[len(p) :] == fast[k]


def test_a_second_training_seed_is_its_own_checkpoint_and_adapter_row(trained):
    recipe, cache, summary = trained
    other = train(recipe, cache, log=None, train_seed=1)
    assert other["checkpoint"].endswith("smoke-seed1.safetensors") and other["sha256"] != summary["sha256"]
    assert train(recipe, cache, log=None, train_seed=1).get("cached")  # up to date per seed
    proxy = adapter_class("honeybee-proxy")(recipe="smoke", cache_dir=str(cache), train_seed="1")
    assert proxy.fingerprint() == f"{other['sha256'][:16]}-d{DECODER_VERSION}"
    assert proxy.training_seed() == {"arg": "train_seed", "value": 1}
    assert adapter_class("honeybee-proxy")(recipe="smoke", cache_dir=str(cache)).training_seed()["value"] == 0
    with pytest.raises(HarnessError, match="harness recipe train smoke --seeds 3"):
        adapter_class("honeybee-proxy")(recipe="smoke", cache_dir=str(cache), train_seed="2")
