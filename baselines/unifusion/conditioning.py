"""Conditioning modules: VLM hidden states -> what the generator consumes. One shared interface, four variants.

Every module takes ``states`` [B, K, T, D_vlm] (K selected VLM layers, T tokens, zero-padded) and ``mask`` [B, T]
(True = real token) and returns a ``Conditioning``. How the generator uses it is the module's ``mode``:

- ``joint``  (last_layer, lap): ``tokens`` [B, T, dim] are joined to the image tokens at the generator's input
  and the whole sequence goes through self-attention (single stream);
- ``cross``  (kv_fusion): generator block i cross-attends to ``per_block[i]`` [B, T, dim], projected from VLM
  layer j(i);
- ``inject`` (injection): a conditioning stream of T tokens runs beside the image tokens (joint attention); at
  the input of block i, ``per_block[i]`` (projected from VLM layer j(i)) is added into that stream.

``select_layers`` says which hidden states each variant reads, so the encoder returns only those.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

VARIANTS = ("last_layer", "kv_fusion", "injection", "lap", "lap_norefiner", "verifi")
# The LAP family pools every ``lap_stride``-th layer: ``lap_norefiner`` is LAP without its token refiner (the
# refiner confound of LAP vs last_layer, issue 15 item 6); ``verifi`` is LAP over the hidden states of the tokens
# the VLM *generates* while rewriting the prompt (VERIFI), instead of the prompt's own tokens.
LAP_FAMILY = ("lap", "lap_norefiner", "verifi")


@dataclass
class Conditioning:
    mask: torch.Tensor  # [B, T] bool, True = real token
    tokens: torch.Tensor | None = None  # [B, T, dim]: joined to the image tokens (joint mode)
    per_block: list[torch.Tensor] | None = None  # num_blocks x [B, T, dim] (cross / inject modes)


def evenly_mapped(num_hidden_states: int, num_blocks: int) -> list[int]:
    """j(i) for generator block i: spread the blocks over hidden states 0 (embeddings) .. L (last layer)."""
    last = num_hidden_states - 1
    if num_blocks == 1:
        return [last]
    return [round(i * last / (num_blocks - 1)) for i in range(num_blocks)]


def strided(num_hidden_states: int, stride: int) -> list[int]:
    """Every ``stride``-th hidden state counted back from the last, so the last layer is always included and the
    shallowest pick is at most ``stride - 1`` above the embeddings (stride 3 over 9 layers: 0, 3, 6, 9)."""
    return sorted(range(num_hidden_states - 1, -1, -stride))


def select_layers(variant: str, num_hidden_states: int, num_blocks: int, lap_stride: int = 3) -> list[int]:
    if variant == "last_layer":
        return [num_hidden_states - 1]
    if variant in ("kv_fusion", "injection"):
        return evenly_mapped(num_hidden_states, num_blocks)
    if variant in LAP_FAMILY:
        return strided(num_hidden_states, lap_stride)
    raise ValueError(f"unknown conditioning variant {variant!r} (known: {', '.join(VARIANTS)})")


class LastLayerConditioning(nn.Module):
    """Baseline: LayerNorm + Linear of the VLM's last hidden state. states [B, 1, T, D_vlm] -> tokens [B, T, dim]."""

    mode = "joint"

    def __init__(self, vlm_dim: int, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(vlm_dim)
        self.proj = nn.Linear(vlm_dim, dim)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> Conditioning:
        return Conditioning(mask=mask, tokens=self.proj(self.norm(states[:, -1])))


class PerBlockConditioning(nn.Module):
    """One LayerNorm + Linear per generator block, each reading its own VLM layer j(i).

    states [B, num_blocks, T, D_vlm] (layer j(i) at index i) -> per_block: num_blocks x [B, T, dim]. Shared by
    kv_fusion (mode "cross") and injection (mode "inject"): the variants differ in how the generator uses them.
    """

    def __init__(self, vlm_dim: int, dim: int, num_blocks: int, mode: str):
        super().__init__()
        self.mode = mode
        self.norms = nn.ModuleList(nn.LayerNorm(vlm_dim) for _ in range(num_blocks))
        self.projs = nn.ModuleList(nn.Linear(vlm_dim, dim) for _ in range(num_blocks))
        if mode == "inject":
            # Start every injection at zero: the stream then grows layer by layer instead of being swamped by
            # num_blocks random projections at initialisation.
            for p in self.projs:
                nn.init.zeros_(p.weight)
                nn.init.zeros_(p.bias)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> Conditioning:
        per_block = [proj(norm(states[:, i])) for i, (norm, proj) in enumerate(zip(self.norms, self.projs))]
        return Conditioning(mask=mask, per_block=per_block)


def build_conditioning(
    variant: str, vlm_dim: int, dim: int, num_blocks: int, num_layers_read: int, lap_dim: int = 64, lap_heads: int = 4
) -> nn.Module:
    """The conditioning module of ``variant``; ``num_layers_read`` = K, the number of selected VLM layers."""
    if variant == "last_layer":
        return LastLayerConditioning(vlm_dim, dim)
    if variant == "kv_fusion":
        return PerBlockConditioning(vlm_dim, dim, num_blocks, mode="cross")
    if variant == "injection":
        return PerBlockConditioning(vlm_dim, dim, num_blocks, mode="inject")
    if variant in LAP_FAMILY:
        from harness_baselines.unifusion.lap import LayerwiseAttentionPooling

        return LayerwiseAttentionPooling(
            vlm_dim, dim, num_layers_read, lap_dim=lap_dim, heads=lap_heads, refiner=variant != "lap_norefiner"
        )
    raise ValueError(f"unknown conditioning variant {variant!r} (known: {', '.join(VARIANTS)})")
