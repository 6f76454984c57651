"""``honeybee-proxy``: the proxy VLM trained on a recipe, as a Reasoner (``--model_args recipe=NAME``).

Torch is imported when the adapter is built, not when this module is imported, so ``harness list models`` stays
fast. The fingerprint is the checkpoint's sha256 plus the decoder's version: retraining a recipe, or a change of
what the decoder samples, invalidates its cached eval records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.adapters import TRAINING_SEED, Reasoner, register_adapter
from harness.errors import HarnessError
from harness.resources import user_cache_dir

# Built datasets and trained proxies: a user cache, never the install folder (site-packages when installed).
DEFAULT_CACHE = user_cache_dir("honeybee")
MAX_NEW_TOKENS = 120  # the teacher's longest CoTs (with a caption) fit; the task's 512 would only add padding


class ProxyArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    recipe: str
    cache_dir: str = str(DEFAULT_CACHE)
    temperature: float = Field(1.0, gt=0)  # for the sampled completions (all after the first, or all of them)
    # n > 1: "independent" samples every completion from the prompt; "shared_caption" (HoneyBee's test-time
    # scaling, decoding.py) reuses the caption of the first completion as the start of the other n - 1.
    decoding: Literal["independent", "shared_caption"] = "independent"
    greedy_first: bool = True  # completion 0 greedy (accuracy does not depend on sampling); false: sampled too
    # Which training run of the recipe (`harness recipe train NAME --seeds N`): runs differing only in it pool on
    # leaderboards into one row with a two-level CI (harness/seeds.py).
    train_seed: int = Field(0, ge=0, json_schema_extra=TRAINING_SEED)


@register_adapter("honeybee-proxy")
class HoneyBeeProxy(Reasoner):
    """Tiny VLM fine-tuned on a HoneyBee recipe's CoT data from a pretrained base (baselines/honeybee)."""

    Args = ProxyArgs

    def __init__(self, **model_args):
        super().__init__(**model_args)
        from harness_baselines.honeybee.train import checkpoint_path, file_hash

        path = checkpoint_path(Path(self.args.cache_dir), self.args.recipe, self.args.train_seed)
        if not path.is_file():
            seeds = f" --seeds {self.args.train_seed + 1}" if self.args.train_seed else ""
            raise HarnessError(
                f"--model_args recipe={self.args.recipe}: no checkpoint at {path} "
                f"(run `harness recipe train {self.args.recipe}{seeds}`)"
            )
        self.path, self._hash = path, file_hash(path)

    def load(self):
        """torch and the weights only when a batch must be generated (harness.adapters: lazy loading)."""
        from harness_baselines.honeybee.train import load_model

        self.model, self.vocab = load_model(self.path)

    def fingerprint(self) -> str:
        from harness_baselines.honeybee.decoding import DECODER_VERSION

        return f"{self._hash[:16]}-d{DECODER_VERSION}"

    def describe(self) -> dict:
        """The training set behind the checkpoint (its build manifest), for score-vs-data-size plots."""
        import json

        pointer = Path(self.args.cache_dir) / "datasets" / f"{self.args.recipe}.json"
        try:
            folder = json.loads(pointer.read_text())["path"]
            manifest = json.loads((pointer.parent / folder / "manifest.json").read_text())
        except (OSError, KeyError, ValueError):
            return {}
        # Builds from before decontamination existed have no such entry: not decontaminated (boards flag them).
        return {
            "train_rows": manifest.get("rows"),
            "train_images": manifest.get("images"),
            "dataset_hash": manifest.get("content_hash"),
            "decontaminated": bool(manifest.get("decontamination", {}).get("enabled", False)),
        }

    def generate(self, prompts, seeds, n=1, **gen_kwargs):
        """n completions per prompt (decoding.py); per-sample generated-token counts in ``last_info``."""
        import torch

        from harness_baselines.honeybee import decoding
        from harness_baselines.honeybee.model import image_tensor

        torch.set_num_threads(1)
        max_new = min(int(gen_kwargs.get("max_new_tokens", MAX_NEW_TOKENS)), MAX_NEW_TOKENS)
        pictures = [p["images"][0] if p.get("images") else None for p in prompts]
        images, has = image_tensor(pictures, self.model.cfg.image_px)  # the base's resolution (pretrain --image_px)
        ids = [self.vocab.encode(p["text"]) + [self.vocab.sep] for p in prompts]
        a = self.args
        done = decoding.sample(
            self.model,
            self.vocab,
            images,
            has,
            ids,
            list(seeds),
            n,
            max_new,
            a.temperature,
            shared_caption=a.decoding == "shared_caption",
            greedy_first=a.greedy_first,
        )
        self.last_info = [c.info() for c in done]
        return [c.texts(self.vocab) for c in done]
