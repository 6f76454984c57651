"""The proxy VLM: a tiny image encoder + a small causal transformer over [image tokens; prompt; <sep>; CoT].

Why this shape: HoneyBee compares *data* recipes by the score of a VLM fine-tuned on each; on 2 shared CPU cores
the cheapest model that still has to use the image to answer is a small decoder that sees image features
as a prefix. A 3-layer strided CNN turns a 48x48 image into 6x6 = 36 feature tokens; a text-only prompt gets a
learned "no image" prefix instead. Trained with teacher forcing on the CoT + ``\\boxed{answer}`` tokens only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

IMAGE_PX = 48  # the committed base's resolution (pretrain --image_px changes it per base)
N_IMAGE_TOKENS = 36  # (IMAGE_PX / 8) ** 2: three stride-2 convolutions
CNN_WIDTH = 32  # the first convolution's channels (the second has twice as many); pretrain --cnn_width


@dataclass(frozen=True)
class ProxyConfig:
    vocab_size: int
    d: int = 96
    layers: int = 2
    heads: int = 4
    max_len: int = 224  # image tokens + prompt + CoT
    image_px: int = IMAGE_PX
    cnn_width: int = CNN_WIDTH

    @property
    def image_tokens(self) -> int:
        return (self.image_px // 8) ** 2

    def to_dict(self) -> dict:
        """The fields, leaving out the encoder's at their defaults, so the committed base's metadata (and so its
        bytes) stays as it was before the encoder became an option."""
        out = asdict(self)
        for key, default in (("image_px", IMAGE_PX), ("cnn_width", CNN_WIDTH)):
            if out[key] == default:
                del out[key]
        return out


def text_room_config(vocab_size: int, **kw) -> ProxyConfig:
    """A config whose ``max_len`` leaves prompt + CoT the committed base's room (188 tokens) at any resolution."""
    cfg = ProxyConfig(vocab_size=vocab_size, **kw)
    return ProxyConfig(**{**asdict(cfg), "max_len": cfg.max_len - N_IMAGE_TOKENS + cfg.image_tokens})


class ProxyVLM(nn.Module):
    def __init__(self, cfg: ProxyConfig):
        super().__init__()
        self.cfg = cfg
        d, w = cfg.d, cfg.cnn_width
        self.encoder = nn.Sequential(
            nn.Conv2d(3, w, 3, 2, 1),
            nn.GELU(),
            nn.Conv2d(w, 2 * w, 3, 2, 1),
            nn.GELU(),
            nn.Conv2d(2 * w, d, 3, 2, 1),
        )
        self.no_image = nn.Parameter(torch.zeros(1, cfg.image_tokens, d))
        self.tok = nn.Embedding(cfg.vocab_size, d)
        self.pos = nn.Embedding(cfg.max_len, d)
        layer = nn.TransformerEncoderLayer(d, cfg.heads, 4 * d, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.vocab_size)

    def forward(self, images: torch.Tensor, has_image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """images [B, 3, px, px] in -1..1; has_image [B] bool; tokens [B, T] -> logits [B, T, vocab] (causal)."""
        b, t = tokens.shape
        feats = self.encoder(images).flatten(2).transpose(1, 2)  # [B, image_tokens, d]
        feats = torch.where(has_image[:, None, None], feats, self.no_image.expand(b, -1, -1))
        x = torch.cat([feats, self.tok(tokens)], dim=1)
        x = x + self.pos(torch.arange(x.shape[1], device=x.device))[None]
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1], device=x.device)
        x = self.blocks(x, mask=mask, is_causal=True)
        return self.head(self.norm(x[:, self.cfg.image_tokens :]))


def image_tensor(images: list[np.ndarray | None], px: int = IMAGE_PX) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (H, W, 3) arrays (or None) -> ([B, 3, px, px] in -1..1, has_image [B] bool)."""
    out = torch.zeros(len(images), 3, px, px)
    has = torch.zeros(len(images), dtype=torch.bool)
    for k, img in enumerate(images):
        if img is None:
            continue
        x = torch.from_numpy(np.array(img[..., :3])).permute(2, 0, 1).float()[None] / 127.5 - 1
        out[k] = F.interpolate(x, size=(px, px), mode="area")[0]
        has[k] = True
    return out, has


def _attend(layer, h: torch.Tensor, cache: list, at: torch.Tensor | None, valid: torch.Tensor) -> torch.Tensor:
    """Self-attention of ``layer`` (an nn.TransformerEncoderLayer) for h [B, T, d], with a K/V cache.

    Prefill (``at`` None): K/V of all T positions fill the cache. Step (``at`` [B]): the one new position of each
    sample is written at its own index. ``valid`` [B or 1, T, S] says which cached keys each query may see."""
    attn = layer.self_attn
    b, t, d = h.shape
    heads = attn.num_heads
    qkv = F.linear(h, attn.in_proj_weight, attn.in_proj_bias).view(b, t, 3, heads, d // heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    if at is None:
        cache[:] = [k, v]
    else:
        rows = torch.arange(b)
        cache[0][rows, :, at] = k[:, :, 0]
        cache[1][rows, :, at] = v[:, :, 0]
    out = F.scaled_dot_product_attention(q, cache[0], cache[1], attn_mask=valid[:, None])
    return attn.out_proj(out.transpose(1, 2).reshape(b, t, d))


def _blocks(model: ProxyVLM, x: torch.Tensor, caches: list, at, valid) -> torch.Tensor:
    """model.blocks (pre-norm layers) computed by hand so that K/V can be cached; same weights, same math."""
    for layer, cache in zip(model.blocks.layers, caches):
        x = x + _attend(layer, layer.norm1(x), cache, at, valid)
        x = x + layer.linear2(layer.activation(layer.linear1(layer.norm2(x))))
    return model.head(model.norm(x))


@torch.no_grad()
def generate(
    model: ProxyVLM,
    images: torch.Tensor,
    has_image: torch.Tensor,
    prompts: list[list[int]],
    eos: int,
    pad: int,
    max_new_tokens: int,
    temperature: float = 0.0,
    generator: torch.Generator | list[torch.Generator] | None = None,
) -> list[list[int]]:
    """Batched decoding with a K/V cache. Prompts are right-padded; each sample's next token is read at, and
    written to, its own length, and attends only to positions before it (the padding after a prompt is
    overwritten by that sample's own tokens before anything can see it). Greedy when temperature == 0.
    ``generator``: one for the batch, or one per row (each row's draws then depend only on its own seed)."""
    b, n_img = len(prompts), model.cfg.image_tokens
    room = model.cfg.max_len - n_img
    prompts = [p[-(room - 1) :] for p in prompts]  # keep the end (options + suffix + <sep>) if too long
    lengths = torch.tensor([len(p) for p in prompts]) + n_img  # in full-sequence positions
    width = int(lengths.max())
    steps = max(0, min(max_new_tokens, model.cfg.max_len - width))
    tokens = torch.full((b, width - n_img), pad, dtype=torch.long)
    for k, p in enumerate(prompts):
        tokens[k, : len(p)] = torch.tensor(p)
    feats = model.encoder(images).flatten(2).transpose(1, 2)
    feats = torch.where(has_image[:, None, None], feats, model.no_image.expand(b, -1, -1))
    x = torch.cat([feats, model.tok(tokens)], 1) + model.pos(torch.arange(width))[None]
    total = width + steps
    causal = torch.ones(width, total, dtype=torch.bool).tril()[None]
    caches = [[] for _ in model.blocks.layers]
    logits = _blocks(model, x, caches, None, causal[:, :, :width])[torch.arange(b), lengths - 1]
    for cache in caches:  # room for the new tokens
        cache[:] = [torch.cat([c, c.new_zeros(b, c.shape[1], steps, c.shape[3])], 2) for c in cache]
    done = torch.zeros(b, dtype=torch.bool)
    generated = torch.full((b, steps), pad, dtype=torch.long)  # one tensor write per step, no per-sample loop
    count = torch.zeros(b, dtype=torch.long)  # tokens generated per sample, its <eos> included
    for step in range(steps):
        if temperature > 0 and isinstance(generator, list):
            probs = F.softmax(logits / temperature, -1)
            nxt = torch.cat([torch.multinomial(probs[k], 1, generator=g) for k, g in enumerate(generator)])
        elif temperature > 0:
            nxt = torch.multinomial(F.softmax(logits / temperature, -1), 1, generator=generator)[:, 0]
        else:
            nxt = logits.argmax(-1)
        generated[:, step] = nxt
        count += (~done).long()
        done = done | (nxt == eos)
        if bool(done.all()) or int(lengths.max()) >= total:
            break
        x = model.tok(nxt)[:, None] + model.pos(lengths)[:, None]
        valid = (torch.arange(total)[None] <= lengths[:, None])[:, None]  # [B, 1, S]
        logits = _blocks(model, x, caches, lengths, valid)[:, 0]
        lengths = lengths + (~done).long()
    return [row[:k] for row, k in zip(generated.tolist(), count.tolist())]


def teacher_forcing(examples: list[tuple[list[int], int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(token ids, first labelled index) per row -> padded tokens [B, T] and labels [B, T] (-100 = no loss), where
    position t predicts token t + 1, so only tokens from each row's start index on are learned."""
    width = max(len(ids) for ids, _ in examples)
    tokens = torch.full((len(examples), width), pad, dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    for k, (ids, start) in enumerate(examples):
        tokens[k, : len(ids)] = torch.tensor(ids)
        labels[k, start - 1 : len(ids) - 1] = torch.tensor(ids[start:])
    return tokens, labels


def train_step(model, opt, sched, images, has_image, tokens, labels) -> float:
    """One optimiser step on the cross-entropy of the labelled tokens, gradients clipped to norm 1; the loss."""
    logits = model(images, has_image, tokens)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    return float(loss.detach())
