"""The SAIL omni-modal embedder (arXiv 2510.12709 §3, Fig. 4, at toy scale): per-modality encoders -> tokens ->
fusion transformer -> tanh + mean pooling -> projected unit vector.

    frames [n, F<=4, 3, 32, 32] --CNN--> 16 patch tokens per frame (+ patch and frame positions)
         --Visual Perceiver: LATENTS learnable latent queries concatenated with the patch tokens of every frame,
           one transformer block, the latents kept--> LATENTS visual tokens
    mel   [n, 40, 150] --CLAP-style audio tower (conv over time, mean over time, MLP)--> 1 audio token
    text / instruction [n, 384] (frozen MiniLM sentence vectors, features.py) --shared MLP--> 1 token each
    [BOS] instruction text visual... audio  + modality-type embeddings
         --fusion transformer, bidirectional (default) or causal; absent inputs masked out-->
         mean over the present tokens -> dense + tanh -> linear -> [n, dim], L2-normalised

The BOS token is always present, so an input without any modality still has a token to pool and, under causal
attention, every position has one visible key. ``parts`` also returns a per-modality embedding of each modality's
tokens alone (before fusion, through the same readout) and their late fusion by a learned gate: the training
objective's L_micl and L_lf terms use them (losses.py); retrieval uses the fused embedding only.
"""

from __future__ import annotations

import torch
from torch import nn

from harness_baselines.sail.features import MAX_FRAMES, N_MELS, TEXT_DIM

LATENTS = 8  # the paper uses 16 latent queries; one 32x32 frame has only 16 patches here
MODALITIES = ("instruction", "text", "image", "audio")
FUSIONS = ("bidirectional", "causal")


def _block(width: int, heads: int) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.0, batch_first=True, norm_first=True)


class SailModel(nn.Module):
    def __init__(self, width: int = 96, dim: int = 128, layers: int = 2, heads: int = 4, fusion: str = "bidirectional"):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion={fusion!r}: choose from {', '.join(FUSIONS)}")
        self.fusion_mode, self.dim = fusion, dim
        self.patches = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1), nn.GELU(), nn.Conv2d(16, 32, 3, 2, 1), nn.GELU(), nn.Conv2d(32, width, 3, 2, 1)
        )  # 32x32 -> 4x4 = 16 patch tokens
        self.patch_pos = nn.Parameter(torch.randn(16, width) * 0.02)
        self.frame_pos = nn.Parameter(torch.randn(MAX_FRAMES, width) * 0.02)
        self.latents = nn.Parameter(torch.randn(LATENTS, width) * 0.02)
        self.perceiver = _block(width, heads)
        self.audio = nn.Sequential(
            nn.Conv1d(N_MELS, 48, 5, 3, 2),
            nn.GELU(),
            nn.Conv1d(48, width, 5, 2, 2),
            nn.GELU(),
            nn.Conv1d(width, width, 3),
        )
        self.audio_head = nn.Sequential(nn.GELU(), nn.Linear(width, width))
        self.text = nn.Sequential(nn.Linear(TEXT_DIM, width), nn.GELU(), nn.Linear(width, width))
        self.bos = nn.Parameter(torch.zeros(1, 1, width))
        self.modality = nn.Parameter(torch.randn(1 + len(MODALITIES), width) * 0.02)  # bos, then MODALITIES
        self.fusion = nn.TransformerEncoder(_block(width, heads), layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.pool = nn.Linear(width, width)
        self.project = nn.Linear(width, dim)
        self.gate = nn.Linear(width, 1)  # late-fusion gate: one logit per modality from its pooled tokens

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """Pooled hidden [n, width] -> [n, dim] unit vectors (dense + tanh, as a BERT pooler, then projection)."""
        return nn.functional.normalize(self.project(torch.tanh(self.pool(self.norm(h)))), dim=-1)

    def visual_tokens(self, image: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """[n, F, 3, 32, 32], [n, F] -> [n, LATENTS, width]; only present frames go through the CNN."""
        n, f = frame_mask.shape
        width = self.latents.shape[1]
        patches = image.new_zeros(n, f, 16, width)
        if frame_mask.any():
            patches[frame_mask] = self.patches(image[frame_mask]).flatten(2).transpose(1, 2)
        patches = (patches + self.patch_pos + self.frame_pos[:f, None]).flatten(1, 2)  # [n, F*16, width]
        tokens = torch.cat([self.latents.expand(n, -1, -1), patches], 1)
        keep = torch.cat([torch.ones(n, LATENTS, dtype=torch.bool), frame_mask.repeat_interleave(16, 1)], 1)
        return self.perceiver(tokens, src_key_padding_mask=~keep)[:, :LATENTS]

    def tokens(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, dict[str, slice]]:
        """-> tokens [n, T, width], present [n, T] bool, and each modality's slice of the T positions."""
        n = x["mel"].shape[0]
        aud = self.audio_head(self.audio(x["mel"]).mean(-1))[:, None]  # one clip token, as CLAP's clip embedding
        parts = {
            "instruction": self.text(x["instruction"])[:, None],
            "text": self.text(x["text"])[:, None],
            "image": self.visual_tokens(x["image"], x["frame_mask"] & x["has_image"][:, None]),
            "audio": aud,
        }
        seq, present, where, at = (
            [self.bos.expand(n, -1, -1) + self.modality[0]],
            [torch.ones(n, 1, dtype=torch.bool)],
            {},
            1,
        )
        for k, m in enumerate(MODALITIES):
            t = parts[m]
            seq.append(t + self.modality[k + 1])
            present.append(x[f"has_{m}"][:, None].expand(n, t.shape[1]))
            where[m] = slice(at, at + t.shape[1])
            at += t.shape[1]
        return torch.cat(seq, 1), torch.cat(present, 1), where

    def fuse(self, tokens: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """-> [n, dim]: fusion transformer, mean over present tokens, readout."""
        mask = None
        if self.fusion_mode == "causal":  # each token sees BOS and the tokens before it (an LLM's attention)
            mask = torch.ones(tokens.shape[1], tokens.shape[1], dtype=torch.bool).triu(1)  # True = not attended
        out = self.fusion(tokens, mask=mask, src_key_padding_mask=~present, is_causal=mask is not None)
        w = present[..., None].to(out.dtype)
        return self.readout(torch.where(present[..., None], out, 0).sum(1) / w.sum(1))

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """x: features.batch_inputs(...) dict; returns [n, dim] unit vectors."""
        tokens, present, _ = self.tokens(x)
        return self.fuse(tokens, present)

    def parts(self, x: dict[str, torch.Tensor]) -> dict:
        """-> {"fused": [n, dim], "single": {modality: [n, dim]} (its tokens alone, mean-pooled, same readout),
        "present": {modality: [n] bool}, "late": [n, dim] (gated late fusion of the present single embeddings)}."""
        tokens, present, where = self.tokens(x)
        single, logits, has = {}, [], {}
        for m in ("text", "image", "audio"):
            pooled = tokens[:, where[m]].mean(1)
            single[m], has[m] = self.readout(pooled), x[f"has_{m}"]
            logits.append(self.gate(pooled).squeeze(-1).masked_fill(~has[m], -1e4))
        g = torch.softmax(torch.stack(logits, 1), 1)  # [n, 3] over the present modalities
        late = nn.functional.normalize((g[..., None] * torch.stack(list(single.values()), 1)).sum(1), dim=-1)
        return {"fused": self.fuse(tokens, present), "single": single, "present": has, "late": late}
