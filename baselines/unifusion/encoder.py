"""The frozen VLM encoder: (image, text) -> hidden states of selected decoder layers.

Wraps any transformers vision-language model that ``AutoModelForImageTextToText`` loads (a hub id or a local
folder; ``trust_remote_code`` off unless asked) and its ``AutoProcessor``. The VLM is frozen (eval mode, no
gradients). Outputs are cached in memory, keyed by a hash of (image bytes, text, selected layers): a frozen
encoder gives the same states for the same input, so training epochs and repeated evals encode each input once.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from harness.errors import HarnessError


def _looks_local(path: str) -> bool:
    return path.startswith((".", "/", "~")) or Path(path).expanduser().exists() or path.count("/") > 1


class VLMEncoder:
    """model: a transformers VLM; processor: its processor; layers: indices into the model's ``hidden_states``
    tuple (0 = embedding output, ``num_hidden_states - 1`` = last layer; negative indices count from the end)."""

    def __init__(self, model, processor, layers: list[int] | None = None, name: str = "vlm", cache_size: int = 8192):
        self.model = model.eval().requires_grad_(False)
        self.processor = processor
        self.name = name
        text_config = model.config.get_text_config()
        self.hidden_size: int = text_config.hidden_size
        self.num_hidden_states: int = text_config.num_hidden_layers + 1
        self.layers = [self._check_layer(i) for i in (layers if layers is not None else [-1])]
        self.cache_size = cache_size
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()

    @classmethod
    def from_pretrained(
        cls, path: str, layers: list[int] | None = None, trust_remote_code: bool = False, **kwargs
    ) -> VLMEncoder:
        """Load model + processor by hub id or folder; every failure is a one-line HarnessError."""
        from transformers import AutoModelForImageTextToText, AutoProcessor
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if _looks_local(path) and not Path(path).expanduser().is_dir():
            raise HarnessError(f"vlm {path}: checkpoint folder does not exist")
        try:
            processor = AutoProcessor.from_pretrained(path, trust_remote_code=trust_remote_code)
            model = AutoModelForImageTextToText.from_pretrained(
                path, trust_remote_code=trust_remote_code, dtype=torch.float32
            )
        except ValueError as e:  # an unrecognised config class: not an image-text-to-text model
            raise HarnessError(
                f"vlm {path}: not a vision-language model that AutoModelForImageTextToText can load "
                f"({str(e).splitlines()[0][:200]})"
            ) from None
        except OSError as e:  # missing files, or a hub id that is not cached on this offline machine
            raise HarnessError(f"vlm {path}: cannot load ({str(e).splitlines()[0][:200]})") from None
        return cls(model, processor, layers=layers, name=path, **kwargs)

    def _check_layer(self, i: int) -> int:
        j = i + self.num_hidden_states if i < 0 else i
        if not 0 <= j < self.num_hidden_states:
            raise HarnessError(
                f"vlm {self.name}: layer {i} out of range (the model has {self.num_hidden_states} "
                f"hidden states: embeddings + {self.num_hidden_states - 1} layers)"
            )
        return j

    def prompt(self, text: str) -> str:
        """The processor's chat template when it has one (real VLMs), else "<image> text" (our tiny LLaVA)."""
        if getattr(self.processor, "chat_template", None):
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]
            return self.processor.apply_chat_template(messages, add_generation_prompt=False)
        return f"{getattr(self.processor, 'image_token', '<image>')} {text}"

    def _key(self, image: np.ndarray, text: str) -> str:
        h = hashlib.sha256(np.ascontiguousarray(image).tobytes())
        h.update(f"{image.shape}\0{text}\0{self.layers}".encode())
        return h.hexdigest()

    @torch.no_grad()
    def _forward(self, images: list[np.ndarray], texts: list[str]) -> list[torch.Tensor]:
        inputs = self.processor(
            images=list(images), text=[self.prompt(t) for t in texts], return_tensors="pt", padding=True
        )
        out = self.model(**inputs, output_hidden_states=True, return_dict=True)
        states = getattr(out, "hidden_states", None)
        if not states:
            raise HarnessError(
                f"vlm {self.name}: {type(self.model).__name__} returned no hidden states "
                "(output_hidden_states is not supported)"
            )
        if len(states) != self.num_hidden_states or states[-1].shape[-1] != self.hidden_size:
            raise HarnessError(
                f"vlm {self.name}: got {len(states)} hidden states of width {states[-1].shape[-1]}, "
                f"config says {self.num_hidden_states} of width {self.hidden_size}"
            )
        stacked = torch.stack([states[i] for i in self.layers], dim=1)  # [B, K, S, D]
        mask = inputs["attention_mask"].bool()
        # Keep only real tokens: works for left- and right-padding processors alike.
        return [stacked[b][:, mask[b]].float() for b in range(len(texts))]

    def encode(self, images: list[np.ndarray], texts: list[str], micro_batch: int = 1) -> list[torch.Tensor]:
        """images: uint8 (H, W, 3); returns per input a float tensor [K, T_i, D] (K selected layers, T_i tokens).

        ``micro_batch=1`` (the default) encodes each input alone, so its states never depend on which other
        inputs share its batch (padding and batched matmuls change low-order bits)."""
        keys = [self._key(img, t) for img, t in zip(images, texts)]
        found = {k: self._cache[k] for k in keys if k in self._cache}
        todo = [i for i, k in enumerate(keys) if k not in found]
        for s in range(0, len(todo), micro_batch):
            chunk = todo[s : s + micro_batch]
            for i, st in zip(chunk, self._forward([images[i] for i in chunk], [texts[i] for i in chunk])):
                found[keys[i]] = st
        for k in keys:  # least-recently-used eviction
            self._cache[k] = found[k]
            self._cache.move_to_end(k)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return [found[k] for k in keys]


def pad_states(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample [K, T_i, D] -> (states [B, K, T, D] zero-padded on the right, mask [B, T] bool: True = real)."""
    k, d = states[0].shape[0], states[0].shape[-1]
    width = max(s.shape[1] for s in states)
    out = torch.zeros(len(states), k, width, d)
    mask = torch.zeros(len(states), width, dtype=torch.bool)
    for b, s in enumerate(states):
        out[b, :, : s.shape[1]] = s
        mask[b, : s.shape[1]] = True
    return out, mask
