"""Layerwise Attention Pooling (LAP): pool a token's hidden states from many VLM layers into one vector.

Shallow layers keep fine detail (colours, exact positions of image patches) that the last layer of a captioning
VLM has partly discarded; LAP lets every token choose, by attention across the layer axis, what to take from each
depth. Then a refiner (one transformer block over tokens, bidirectional) lets early tokens see later ones: a
causal VLM's early tokens (here: the image) never attended to the prompt, which is its position bias.
"""

from __future__ import annotations

import torch
from diffusers.models.attention import BasicTransformerBlock
from torch import nn

from harness_baselines.unifusion.conditioning import Conditioning


def _block(dim: int, heads: int) -> BasicTransformerBlock:
    return BasicTransformerBlock(dim, heads, dim // heads, activation_fn="gelu-approximate", norm_type="layer_norm")


class LayerwiseAttentionPooling(nn.Module):
    """states [B, K, T, D_vlm] + mask [B, T] -> Conditioning(tokens [B, T, dim]).

    1. per (token, layer): LayerNorm + Linear D_vlm -> lap_dim, plus a learned embedding of the layer index;
    2. two transformer blocks over the K layers of each token (a sequence of length K per token);
    3. a Linear over the flattened K x lap_dim pools to one vector of width ``dim`` per token;
    4. the refiner: one transformer block over the T tokens (padding masked); ``refiner=False`` leaves it out
       (the ``lap_norefiner`` variant), so LAP's pooling can be compared with last_layer without it.
    """

    mode = "joint"

    def __init__(
        self,
        vlm_dim: int,
        dim: int,
        num_layers: int,
        lap_dim: int = 64,
        heads: int = 4,
        depth: int = 2,
        refiner: bool = True,
    ):
        super().__init__()
        self.num_layers = num_layers
        self.norm_in = nn.LayerNorm(vlm_dim)
        self.proj_in = nn.Linear(vlm_dim, lap_dim)
        self.layer_embed = nn.Parameter(torch.zeros(num_layers, lap_dim))
        nn.init.normal_(self.layer_embed, std=0.02)
        self.layer_blocks = nn.ModuleList(_block(lap_dim, heads) for _ in range(depth))
        self.pool = nn.Linear(num_layers * lap_dim, dim)
        self.refiner = _block(dim, heads) if refiner else None

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> Conditioning:
        b, k, t, _ = states.shape
        if k != self.num_layers:
            raise ValueError(f"LAP was built for {self.num_layers} layers, got {k}")
        x = self.proj_in(self.norm_in(states)) + self.layer_embed[None, :, None]  # [B, K, T, lap_dim]
        x = x.permute(0, 2, 1, 3).reshape(b * t, k, -1)  # one length-K sequence per token
        for block in self.layer_blocks:
            x = block(x)
        pooled = self.pool(x.reshape(b, t, -1))  # [B, T, dim]
        if self.refiner is None:
            return Conditioning(mask=mask, tokens=pooled)
        # Additive key mask [B, 1, T] as diffusers' attention processors expect (padding never attended to).
        bias = (~mask).to(pooled.dtype)[:, None, :] * -10000.0
        return Conditioning(mask=mask, tokens=self.refiner(pooled, attention_mask=bias))
