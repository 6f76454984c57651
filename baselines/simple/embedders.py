"""random-embed / bow embedders: the chance level and a weak real text baseline for retrieval tasks."""

from __future__ import annotations

import hashlib
import re

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from harness.adapters import Embedder, register_adapter


class DimArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    dim: int = Field(256, ge=1)


@register_adapter("random-embed")
class RandomEmbedder(Embedder):
    """Seeded Gaussian vector per sample, ignoring its content (chance-level retrieval)."""

    Args = DimArgs

    def embed(self, items, modalities, seeds, role="document", instruction=None):
        """-> float32 [n, dim]."""
        return (
            np.stack([np.random.default_rng(s).standard_normal(self.args.dim, dtype=np.float32) for s in seeds])
            if seeds
            else np.zeros((0, self.args.dim), np.float32)
        )


class BowArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    dim: int = Field(4096, ge=1)


_TOKEN = re.compile(r"[^\W_]+")  # runs of letters/digits, any script


@register_adapter("bow")
class BowEmbedder(Embedder):
    """Hashed bag of words over the text (lowercased); ignores images and audio."""

    Args = BowArgs

    def _bucket(self, token: str) -> int:
        # sha1, not hash(): Python salts str hashes per process, and embeddings must be reproducible.
        return int.from_bytes(hashlib.sha1(token.encode()).digest()[:8], "little") % self.args.dim

    def embed(self, items, modalities, seeds, role="document", instruction=None):
        """-> float32 [n, dim] term counts (the task L2-normalises, so scores are cosine similarities).
        An item without text gets the zero vector: it scores 0 against everything."""
        out = np.zeros((len(items), self.args.dim), np.float32)
        for row, item in enumerate(items):
            for token in _TOKEN.findall((item.get("text") or "").lower()):
                out[row, self._bucket(token)] += 1.0
        return out
