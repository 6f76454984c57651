"""The UniFusion generator: a small pixel-space DiT (diffusers parts) with one conditioning variant plugged in.

Built from diffusers building blocks -- ``PatchEmbed`` (patches + 2-D sin-cos positions), ``AdaLayerNormSingle``
(timestep -> adaLN modulation, as in PixArt), ``BasicTransformerBlock`` -- and saved / loaded with diffusers'
``ModelMixin.save_pretrained`` / ``from_pretrained`` (config.json + safetensors). It predicts the flow-matching
velocity (noise - image) and is sampled with ``FlowMatchEulerDiscreteScheduler`` (see pipeline.py).

Pixel space at 32 x 32 with patch 4 (64 image tokens): small enough to train on 2 CPU cores in minutes; the
pipeline resizes task images to ``sample_size`` and back.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention import BasicTransformerBlock
from diffusers.models.embeddings import PatchEmbed
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.normalization import AdaLayerNormSingle
from torch import nn

from harness_baselines.unifusion.conditioning import VARIANTS, build_conditioning, select_layers


class UniFusionTransformer(ModelMixin, ConfigMixin):
    """forward(sample [B, C, H, W], timestep [B] in 0..1000, vlm_states [B, K, T, D_vlm], vlm_mask [B, T])
    -> velocity [B, C, H, W].

    ``vlm_states`` holds exactly the hidden states listed in ``self.layer_indices`` (in that order); the encoder
    is asked for those, so the checkpoint says which VLM layers it needs."""

    @register_to_config
    def __init__(
        self,
        variant: str = "lap",
        sample_size: int = 32,
        patch_size: int = 4,
        in_channels: int = 3,
        num_layers: int = 4,
        num_attention_heads: int = 3,
        attention_head_dim: int = 32,
        vlm_hidden_size: int = 96,
        vlm_num_hidden_states: int = 10,
        lap_stride: int = 3,
        lap_dim: int = 48,
    ):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown conditioning variant {variant!r} (known: {', '.join(VARIANTS)})")
        dim = num_attention_heads * attention_head_dim
        self.layer_indices = select_layers(variant, vlm_num_hidden_states, num_layers, lap_stride)
        self.conditioning = build_conditioning(
            variant,
            vlm_hidden_size,
            dim,
            num_layers,
            len(self.layer_indices),
            lap_dim=lap_dim,
            lap_heads=num_attention_heads,
        )
        self.patch_embed = PatchEmbed(
            height=sample_size,
            width=sample_size,
            patch_size=patch_size,
            in_channels=in_channels,
            embed_dim=dim,
            interpolation_scale=1,
            pos_embed_max_size=sample_size // patch_size,
        )
        self.time_embed = AdaLayerNormSingle(dim)
        # Marks which positions of the joint sequence are conditioning (they carry no 2-D position embedding).
        self.cond_type = nn.Parameter(torch.zeros(dim))
        cross_dim = dim if self.conditioning.mode == "cross" else None
        self.blocks = nn.ModuleList(
            BasicTransformerBlock(
                dim,
                num_attention_heads,
                attention_head_dim,
                cross_attention_dim=cross_dim,
                activation_fn="gelu-approximate",
                norm_type="ada_norm_single",
                norm_elementwise_affine=False,
                norm_eps=1e-6,
            )
            for _ in range(num_layers)
        )
        self.norm_out = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.scale_shift_table = nn.Parameter(torch.randn(2, dim) / dim**0.5)
        self.proj_out = nn.Linear(dim, patch_size * patch_size * in_channels)
        nn.init.zeros_(self.proj_out.weight)  # start as "predict zero velocity": a stable first step
        nn.init.zeros_(self.proj_out.bias)

    def forward(
        self, sample: torch.Tensor, timestep: torch.Tensor, vlm_states: torch.Tensor, vlm_mask: torch.Tensor
    ) -> torch.Tensor:
        b, c, h, w = sample.shape
        p = self.config.patch_size
        x = self.patch_embed(sample)  # [B, N, dim], N = (H / p) * (W / p)
        n = x.shape[1]
        t_mod, t_emb = self.time_embed(
            timestep, {"resolution": None, "aspect_ratio": None}, batch_size=b, hidden_dtype=x.dtype
        )  # [B, 6 * dim], [B, dim]
        cond = self.conditioning(vlm_states, vlm_mask)
        mode = self.conditioning.mode
        if mode == "cross":
            enc_bias = (~cond.mask).to(x.dtype)[:, None, :] * -10000.0  # [B, 1, T]
            for block, kv in zip(self.blocks, cond.per_block):
                x = block(x, encoder_hidden_states=kv, encoder_attention_mask=enc_bias, timestep=t_mod)
        else:
            # Joint sequence [conditioning tokens; image tokens]; padding keys are masked for every query.
            stream = cond.tokens if mode == "joint" else torch.zeros_like(cond.per_block[0])
            x = torch.cat([stream + self.cond_type, x], dim=1)  # [B, T + N, dim]
            keep = torch.cat([cond.mask, torch.ones(b, n, dtype=torch.bool, device=x.device)], dim=1)
            bias = (~keep).to(x.dtype)[:, None, :] * -10000.0  # [B, 1, T + N]
            t = cond.mask.shape[1]
            for i, block in enumerate(self.blocks):
                if mode == "inject":  # add VLM layer j(i) into the conditioning part of the stream
                    x = torch.cat([x[:, :t] + cond.per_block[i], x[:, t:]], dim=1)
                x = block(x, attention_mask=bias, timestep=t_mod)
            x = x[:, -n:]
        shift, scale = (self.scale_shift_table[None] + t_emb[:, None]).chunk(2, dim=1)
        x = self.proj_out(self.norm_out(x) * (1 + scale) + shift)  # [B, N, p * p * C]
        x = x.reshape(b, h // p, w // p, p, p, c).permute(0, 5, 1, 3, 2, 4)
        return x.reshape(b, c, h, w)
