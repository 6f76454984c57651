"""The SAIL omni-modal embedder (arXiv 2510.12709 §3, Fig. 4, at toy scale): per-modality encoders -> tokens ->
fusion transformer -> tanh + mean pooling -> unit vector.

    frames [n, F<=4, 3, 32, 32] --CNN--> 16 patch tokens per frame (+ patch and frame positions)
         --Visual Perceiver: LATENTS learnable latent queries concatenated with the patch tokens of every frame,
           one transformer block, the latents kept--> LATENTS visual tokens
    mel   [n, 40, 150] --CLAP-style audio tower (conv over time, mean over time, MLP)--> 1 audio token
    text / instruction [n, 384] (frozen MiniLM sentence vectors, features.py) --shared MLP--> 1 token each
    [BOS] instruction audio visual... text  + modality-type embeddings (the paper's order: system prompt, then
         {audios} {images} {texts}, Fig. 5; T = [T_a; T_v; T_t], §3.2.5)
         --fusion transformer, bidirectional (default) or causal; absent inputs masked out-->
         per token: linear -> tanh; mean over the present tokens -> [n, dim], L2-normalised
         (the paper's z = Meanpool(tanh(F(T))), §3.2.5; the linear maps our width to the embedding size, where the
         paper's embedding is the LLM's hidden size)

The BOS token is always present, so an input without any modality still has a token to pool and, under causal
attention, every position has one visible key. ``parts`` also returns the modality-specific embeddings of the
visual and textual tokens alone (before fusion, same readout), which L_micl contrasts within each modality, and
the gated late fusion of the visual embedding with the fused one, n̂ = g ⊙ v + (1 − g) ⊙ n, g = σ(W[v, n] + b)
(§3.3.2, eq. 5), which L_lf contrasts (losses.py); retrieval uses the fused embedding only.
"""

from __future__ import annotations

import torch
from torch import nn

from harness_baselines.sail.features import MAX_FRAMES, N_MELS, TEXT_DIM

LATENTS = 16  # the paper's N_q = 16 learnable latent queries (§3.2.3)
MODALITIES = ("instruction", "audio", "image", "text")  # token order after BOS (§3.2.5)
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
        self.project = nn.Linear(width, dim)
        self.gate = nn.Linear(2 * dim, dim)  # late fusion: g = σ(W[v, n] + b), one gate per dimension (eq. 5)

    def readout(self, h: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """Hidden states [n, T, width], present [n, T] -> [n, dim] unit vectors: tanh of each token's projection,
        mean over the present tokens (an all-absent row pools all its tokens, so it stays finite)."""
        t = torch.tanh(self.project(self.norm(h)))
        w = (present | ~present.any(1, keepdim=True))[..., None].to(t.dtype)
        return nn.functional.normalize((t * w).sum(1) / w.sum(1), dim=-1)

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
        """-> [n, dim]: fusion transformer, then the readout over the present tokens."""
        mask = None
        if self.fusion_mode == "causal":  # each token sees BOS and the tokens before it (an LLM's attention)
            mask = torch.ones(tokens.shape[1], tokens.shape[1], dtype=torch.bool).triu(1)  # True = not attended
        out = self.fusion(tokens, mask=mask, src_key_padding_mask=~present, is_causal=mask is not None)
        return self.readout(out, present)

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """x: features.batch_inputs(...) dict; returns [n, dim] unit vectors."""
        tokens, present, _ = self.tokens(x)
        return self.fuse(tokens, present)

    def parts(self, x: dict[str, torch.Tensor]) -> dict:
        """-> {"fused": [n, dim], "single": {"image"|"text": [n, dim]} (that modality's tokens alone, before fusion,
        same readout), "present": {modality: [n] bool}, "late": [n, dim] (the visual embedding gated into the fused
        one; the fused embedding itself where there is no image)}."""
        tokens, present, where = self.tokens(x)
        fused = self.fuse(tokens, present)
        single = {m: self.readout(tokens[:, where[m]], present[:, where[m]]) for m in ("image", "text")}
        has = {m: x[f"has_{m}"] for m in ("text", "image", "audio")}
        v = single["image"]
        g = torch.sigmoid(self.gate(torch.cat([v, fused], 1))) * has["image"][:, None]
        late = nn.functional.normalize(g * v + (1 - g) * fused, dim=-1)
        return {"fused": fused, "single": single, "present": has, "late": late}
