"""Frozen image/text encoders for the reference editing metrics: CLIP (image + text towers) and DINO (ViT CLS token),
loaded with transformers from a hub id (through the local Hugging Face cache when offline) or a local folder.

An encoder's identity is the sha256 of the weight and config files it was loaded from (``harness.adapters.hash_path``),
so the id + revision a user names and the bytes actually used both end up in the task hash and every cache key.
Features are cached in memory by (encoder identity, preprocessing, image bytes hash): a ground-truth image scored
against several turns or models is encoded once per process.

Preprocessing is re-implemented here with PIL + numpy to match each official script bit for bit (torchvision is not
usable next to our torch build); every resize below is the one the cited script performs.
"""

from __future__ import annotations

import hashlib
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from harness.errors import HarnessError

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # DINO's Normalize in MagicBrush evaluation/image_eval.py
IMAGENET_STD = (0.229, 0.224, 0.225)
MODEL_FILES = ["*.json", "*.safetensors", "*.txt", "*.model"]  # what from_pretrained reads (no .bin duplicates)


def resolve(model: str, revision: str | None) -> Path:
    """A local folder holding ``model``: the folder itself, or the hub snapshot (from the HF cache when offline)."""
    if Path(model).is_dir():
        return Path(model)
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=model, revision=revision, allow_patterns=MODEL_FILES))
    except Exception as e:  # noqa: BLE001 — offline without a cached copy, unknown id, bad revision: one line
        raise HarnessError(
            f"encoder {model!r} (revision {revision or 'main'}): not a local folder and not in the "
            f"Hugging Face cache ({type(e).__name__}); run `huggingface-cli download {model}` on a "
            f"machine with internet or point the task option at a local copy"
        ) from None


@cache
def _identity(folder: str) -> str:
    from harness.adapters import hash_path

    return hash_path(folder)[:16]


def _resize_short(im: Image.Image, size: int) -> Image.Image:
    """torchvision Resize(int) on a PIL image: short side -> size, long side -> int(size * long / short), bicubic."""
    w, h = im.size
    if w <= h:
        new = (size, int(size * h / w))
    else:
        new = (int(size * w / h), size)
    return im.resize(new, Image.BICUBIC)


def _center_crop(im: Image.Image, size: int) -> Image.Image:
    """torchvision CenterCrop: offsets int(round((side - size) / 2))."""
    w, h = im.size
    left, top = int(round((w - size) / 2.0)), int(round((h - size) / 2.0))
    return im.crop((left, top, left + size, top + size))


def _normalize(arr: np.ndarray, mean, std) -> np.ndarray:
    """(H, W, 3) float32 on 0..1 -> (3, H, W) normalised."""
    return ((arr - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).transpose(2, 0, 1)


def crop_preprocess(image: np.ndarray, resize: int, crop: int, mean, std) -> np.ndarray:
    """Resize(short side) -> CenterCrop -> ToTensor -> Normalize, all bicubic on PIL: CLIP's own transform
    (openai/CLIP clip.py ``_transform``, used by MagicBrush's CLIP-I / CLIP-T) and MagicBrush's DINO transform."""
    im = _center_crop(_resize_short(Image.fromarray(image), resize), crop)
    return _normalize(np.asarray(im.convert("RGB"), np.float32) / 255.0, mean, std)


def squash_preprocess(images: list[np.ndarray], size: int, mean, std):
    """instruct-pix2pix metrics/clip_similarity.py ``encode_image``: the whole image, bicubic-interpolated to
    size x size with torch (align_corners=False, no antialiasing), then normalised. Returns a [n, 3, size, size]
    tensor."""
    import torch
    import torch.nn.functional as F

    out = []
    for image in images:
        t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255.0
        t = F.interpolate(t, size=size, mode="bicubic", align_corners=False)
        m = torch.tensor(mean).view(1, 3, 1, 1)
        s = torch.tensor(std).view(1, 3, 1, 1)
        out.append((t - m) / s)
    return torch.cat(out)


def _image_key(image: np.ndarray) -> bytes:
    h = hashlib.sha256(str(image.shape).encode())
    h.update(np.ascontiguousarray(image).tobytes())
    return h.digest()


class _Encoder:
    def __init__(self, model: str, revision: str | None):
        self.model_name, self.revision = model, revision
        self.folder = resolve(model, revision)
        self.identity = f"{model}@{revision or 'main'}#{_identity(str(self.folder))}"
        self._model = None
        self._cache: dict[tuple, np.ndarray] = {}

    def describe(self) -> dict:
        return {"model": self.model_name, "revision": self.revision, "weights_sha256": self.identity.split("#")[1]}

    def _cached(self, kind: str, keys: list, compute) -> np.ndarray:
        """Rows for ``keys`` from the feature cache, computing the missing ones with ``compute(indices)``."""
        missing = [i for i, k in enumerate(keys) if (kind, k) not in self._cache]
        if missing:
            for i, row in zip(missing, compute(missing)):
                self._cache[(kind, keys[i])] = row
        return np.stack([self._cache[(kind, k)] for k in keys])


class ClipEncoder(_Encoder):
    """CLIP image and text features (projected embeddings, float32, not normalised)."""

    def load(self):
        if self._model is None:
            from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

            self._model = CLIPModel.from_pretrained(self.folder).eval()
            self._tok = AutoTokenizer.from_pretrained(self.folder)
            proc = CLIPImageProcessor.from_pretrained(self.folder)
            self.mean, self.std = tuple(proc.image_mean), tuple(proc.image_std)
            self.size = self._model.config.vision_config.image_size
        return self._model

    def image_features(self, images: list[np.ndarray], preprocess: str) -> np.ndarray:
        """images: uint8 (H, W, 3) each -> [n, d]; preprocess "center_crop" or "squash" (see EditOptions)."""
        import torch

        model = self.load()

        def compute(idx):
            if preprocess == "squash":
                pixels = squash_preprocess([images[i] for i in idx], self.size, self.mean, self.std)
            else:
                pixels = torch.from_numpy(
                    np.stack([crop_preprocess(images[i], self.size, self.size, self.mean, self.std) for i in idx])
                )
            with torch.no_grad():
                return list(_as_tensor(model.get_image_features(pixel_values=pixels)).float().numpy())

        return self._cached(f"image:{preprocess}", [_image_key(im) for im in images], compute)

    def text_features(self, texts: list[str]) -> np.ndarray:
        """[n, d]; texts longer than CLIP's 77-token context are truncated (clip.tokenize(truncate=True))."""
        import torch

        model = self.load()

        def compute(idx):
            enc = self._tok(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=model.config.text_config.max_position_embeddings,
                return_tensors="pt",
            )
            with torch.no_grad():
                return list(_as_tensor(model.get_text_features(**enc)).float().numpy())

        return self._cached("text", list(texts), compute)


class DinoEncoder(_Encoder):
    """DINO v1 ViT features: the final-layer-norm CLS token (what torch.hub dino_vits16's forward returns)."""

    def load(self):
        if self._model is None:
            from transformers import ViTModel

            self._model = ViTModel.from_pretrained(self.folder, add_pooling_layer=False).eval()
        return self._model

    def image_features(self, images: list[np.ndarray]) -> np.ndarray:
        import torch

        model = self.load()
        crop = model.config.image_size  # 224 for dino-vits16; MagicBrush resizes to 256 first (256/224 ratio kept)
        resize = int(round(crop * 256 / 224))

        def compute(idx):
            pixels = torch.from_numpy(
                np.stack([crop_preprocess(images[i], resize, crop, IMAGENET_MEAN, IMAGENET_STD) for i in idx])
            )
            with torch.no_grad():
                return list(model(pixel_values=pixels).last_hidden_state[:, 0].float().numpy())

        return self._cached("image", [_image_key(im) for im in images], compute)


def _as_tensor(out):
    """get_*_features returns a tensor in transformers 4.x and an output object with pooler_output in 5.x."""
    return out if hasattr(out, "numpy") else out.pooler_output


@lru_cache(maxsize=8)
def clip_encoder(model: str, revision: str | None) -> ClipEncoder:
    return ClipEncoder(model, revision)


@lru_cache(maxsize=8)
def dino_encoder(model: str, revision: str | None) -> DinoEncoder:
    return DinoEncoder(model, revision)
