"""The UniFusion generator: a small pixel-space DiT (diffusers parts) with one conditioning variant plugged in.

Built from diffusers building blocks -- ``PatchEmbed`` (patches + 2-D sin-cos positions), ``AdaLayerNormSingle``
(timestep -> adaLN modulation, as in PixArt), ``BasicTransformerBlock`` -- and saved / loaded with diffusers'
``ModelMixin.save_pretrained`` / ``from_pretrained`` (config.json + safetensors). It predicts the flow-matching
velocity (noise - image) and is sampled with ``FlowMatchEulerDiscreteScheduler`` (see pipeline.py).

Pixel space at the task's 64 x 64 with patch 8 (64 image tokens, one per VLM image token of a 64 x 64 input with
patch 8): no VAE, so nothing stands between the output and exact pixels; small enough to train on 2 CPU cores in
minutes. The pipeline resizes task images of another size to ``sample_size`` and back.
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
    """forward(sample [B, C, H, W], timestep [B] in 0..1000, vlm_states [B, K, T, D_vlm], vlm_mask [B, T],
    vlm_grid [B, T] or None) -> velocity [B, C, H, W].

    ``vlm_states`` holds exactly the hidden states listed in ``self.layer_indices`` (in that order); the encoder
    is asked for those, so the checkpoint says which VLM layers it needs.

    ``vlm_grid`` (``grid_positions=True``): for each conditioning token, ``r * N + c`` when it is the VLM's image
    token of reference r at grid cell c (N cells, row-major), else -1 (text and generated tokens). Such a token
    gets the generator's own 2-D position embedding of cell c plus a learned embedding of reference r, added to
    whatever the variant makes of it, the same way for every variant. The VLM's tokens already carry their
    positions, but in the VLM's code; with the generator's code the patch at cell c finds "its" source token at
    once, which at this scale is the difference between a few hundred and many thousand training steps."""

    @register_to_config
    def __init__(
        self,
        variant: str = "lap",
        sample_size: int = 64,
        patch_size: int = 8,
        in_channels: int = 3,
        num_layers: int = 4,
        num_attention_heads: int = 2,
        attention_head_dim: int = 32,
        vlm_hidden_size: int = 96,
        vlm_num_hidden_states: int = 10,
        lap_stride: int = 3,
        lap_dim: int = 32,
        grid_positions: bool = True,
        max_references: int = 4,
        prediction: str = "sample",
        cell_conditioning: bool = True,
    ):
        super().__init__()
        if prediction not in ("sample", "velocity"):
            raise ValueError(f"prediction must be 'sample' or 'velocity', got {prediction!r}")
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
        self.reference_embed = nn.Parameter(torch.zeros(max_references, dim)) if grid_positions else None
        # cell_conditioning: the conditioning token of the edited image's cell c is also added (through a
        # Linear; not zero-initialised, or injection's zero-initialised projections would never get a gradient
        # through it) to the generator's patch token at cell c -- see cell_input().
        self.cell_proj = nn.Linear(dim, dim) if cell_conditioning else None
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

    def grid_embedding(self, vlm_grid: torch.Tensor | None) -> torch.Tensor | None:
        """vlm_grid [B, T] (see the class doc) -> [B, T, dim] (zero for tokens without a cell), or None."""
        if self.reference_embed is None or vlm_grid is None or not (vlm_grid >= 0).any():
            return None
        pos = self.patch_embed.pos_embed[0]  # [N, dim], the 2-D sin-cos code of the generator's patches
        n, refs = pos.shape[0], self.reference_embed.shape[0]
        cell, ref = vlm_grid.clamp(min=0) % n, (vlm_grid.clamp(min=0) // n).clamp(max=refs - 1)
        return (pos[cell] + self.reference_embed[ref]) * (vlm_grid >= 0)[..., None].to(pos.dtype)

    def cell_input(self, tokens: torch.Tensor, vlm_grid: torch.Tensor | None, n: int) -> torch.Tensor | None:
        """tokens [B, T, dim] (the variant's conditioning at the generator's input) -> [B, N, dim]: at each patch
        cell, the token of the first reference's image at that cell (zero where there is none), projected.

        Still only the VLM's tokens -- no pixel reaches the generator -- but laid on the patch grid, so copying
        the source where the instruction keeps it is a local map instead of an attention pattern to discover: at
        this scale (a few hundred CPU steps) the joint attention alone reconstructs at ~11 dB (README)."""
        if self.cell_proj is None or vlm_grid is None:
            return None
        keep = (vlm_grid >= 0) & (vlm_grid < n)  # reference 0 only: the image being edited
        if not keep.any():
            return None
        idx = vlm_grid.clamp(0, n - 1)[..., None].expand(-1, -1, tokens.shape[-1])
        laid = torch.zeros(tokens.shape[0], n, tokens.shape[-1], dtype=tokens.dtype, device=tokens.device)
        return self.cell_proj(laid.scatter_add(1, idx, tokens * keep[..., None].to(tokens.dtype)))

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor,
        vlm_states: torch.Tensor,
        vlm_mask: torch.Tensor,
        vlm_grid: torch.Tensor | None = None,
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
        grid = self.grid_embedding(vlm_grid)
        cells = self.cell_input(cond.tokens if mode == "joint" else cond.per_block[0], vlm_grid, n)
        if cells is not None:
            x = x + cells
        if mode == "cross":
            enc_bias = (~cond.mask).to(x.dtype)[:, None, :] * -10000.0  # [B, 1, T]
            for block, kv in zip(self.blocks, cond.per_block):
                kv = kv if grid is None else kv + grid
                x = block(x, encoder_hidden_states=kv, encoder_attention_mask=enc_bias, timestep=t_mod)
        else:
            # Joint sequence [conditioning tokens; image tokens]; padding keys are masked for every query.
            stream = cond.tokens if mode == "joint" else torch.zeros_like(cond.per_block[0])
            stream = stream if grid is None else stream + grid
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
        x = x.reshape(b, h // p, w // p, p, p, c).permute(0, 5, 1, 3, 2, 4).reshape(b, c, h, w)
        if self.config.prediction == "velocity":
            return x
        # x-prediction: the network outputs the clean image and the velocity follows from it, v = (x_t - x_0) / t
        # (x_t = (1 - t) x_0 + t noise). A 192-number pixel patch is far wider than what a 64-wide network can
        # pass through; clean images lie on a low-dimensional manifold, noise does not (Li & He 2025, "Back to
        # Basics: Let Denoising Generative Models Denoise"). t is floored at 0.05 so the division stays tame.
        t = (timestep.to(x.dtype) / 1000).clamp(min=0.05).reshape(-1, 1, 1, 1)
        return (sample - x) / t
