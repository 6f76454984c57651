"""The SAIL omni-modal embedder: per-modality encoders -> tokens -> fusion transformer -> projected unit vector.

    image [n, 3, 32, 32] --CNN--> 4 tokens    (2x2 grid)
    mel   [n, 40, 150]   --CNN--> 4 tokens    (4 time segments)
    text  [n, 384]       --linear--> 1 token  (frozen MiniLM sentence vector, see features.py)
    [CLS] + tokens + modality-type embeddings --2-layer transformer (missing modalities masked out)--> CLS
    CLS --linear--> [n, dim], L2-normalised

A missing modality (no title, no audio, a text-only query) is masked from attention, so one model embeds items and
queries with any subset of modalities. An input with no modality at all embeds CLS alone.
"""

from __future__ import annotations

import torch
from torch import nn

from harness_baselines.sail.features import N_MELS, TEXT_DIM


class SailModel(nn.Module):
    def __init__(self, width: int = 96, dim: int = 128, layers: int = 2, heads: int = 4):
        super().__init__()
        self.image = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1),
            nn.GELU(),
            nn.Conv2d(16, 32, 3, 2, 1),
            nn.GELU(),
            nn.Conv2d(32, width, 3, 2, 1),
            nn.GELU(),
            nn.AdaptiveAvgPool2d(2),
        )
        self.audio = nn.Sequential(
            nn.Conv1d(N_MELS, 48, 5, 3, 2), nn.GELU(), nn.Conv1d(48, width, 5, 2, 2), nn.GELU(), nn.AdaptiveAvgPool1d(4)
        )
        self.text = nn.Sequential(nn.Linear(TEXT_DIM, width), nn.GELU(), nn.Linear(width, width))
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        self.modality = nn.Parameter(torch.randn(4, width) * 0.02)  # cls, image, audio, text
        self.position = nn.Parameter(torch.randn(10, width) * 0.02)
        layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.0, batch_first=True, norm_first=True)
        self.fusion = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.project = nn.Linear(width, dim)
        # InfoNCE temperature, learned in log space (CLIP), clamped to [0.01, 1] in ``logit_scale``.
        self.log_scale = nn.Parameter(torch.tensor(2.66))

    def logit_scale(self) -> torch.Tensor:
        return self.log_scale.clamp(0.0, 4.6052).exp()

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """x: batch_inputs(...) dict; returns [n, dim] unit vectors."""
        n = x["image"].shape[0]
        img = self.image(x["image"]).flatten(2).transpose(1, 2)  # [n, 4, width]
        aud = self.audio(x["mel"]).transpose(1, 2)  # [n, 4, width]
        txt = self.text(x["text"])[:, None]  # [n, 1, width]
        tokens = (
            torch.cat(
                [self.cls.expand(n, -1, -1), img + self.modality[1], aud + self.modality[2], txt + self.modality[3]], 1
            )
            + self.position
        )
        present = torch.cat(
            [
                torch.ones(n, 1, dtype=torch.bool),
                x["has_image"][:, None].expand(n, 4),
                x["has_audio"][:, None].expand(n, 4),
                x["has_text"][:, None],
            ],
            1,
        )
        out = self.fusion(tokens, src_key_padding_mask=~present)
        return nn.functional.normalize(self.project(self.norm(out[:, 0])), dim=-1)
