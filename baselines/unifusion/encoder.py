"""The frozen VLM encoder: (image(s), text) -> hidden states of every selected decoder layer, and the VERIFI rewrite.

Wraps any transformers vision-language model that ``AutoModelForImageTextToText`` loads (a hub id, read from the
local HF cache offline, or a local folder; ``trust_remote_code`` off unless asked) and its ``AutoProcessor``. The
VLM is frozen (eval mode, no gradients). Outputs are cached in memory, keyed by a hash of (image bytes, text,
selected layers): a frozen encoder gives the same states for the same input, so training epochs and repeated evals
encode each input once.

Inputs. One sample is (references, text): ``references`` is one uint8 (H, W, 3) array or a list of them (several
references, e.g. "put the shape from the second image into the first"). The prompt holds one image placeholder
per reference, in order, and the text. A real VLM's chat template puts the images first, then the text (with its
own role tokens around them); the tiny LLaVA reads [text tokens, image tokens of reference 0, image tokens of
reference 1, ..., "answer :"], so its image tokens see the instruction. Use ``is_image`` / ``reference``, not
positions, to find the tokens of an image.

Outputs (shapes for K selected layers, T real tokens of the sample, D = the decoder's hidden size):
- ``encode``      -> per sample a float tensor [K, T, D] (what the conditionings consume);
- ``encode_full`` -> per sample an ``Encoding``: those states plus ``is_image`` [T] bool (image token or text
  token) and ``reference`` [T] long (which reference an image token belongs to; -1 for text tokens);
- ``rewrite``     -> per sample a ``Rewrite`` (VERIFI, arXiv 2510.12789): the VLM is prompted with
  (references, ``REWRITE_PROMPT`` filled with the instruction), generates a description of the wanted result
  greedily (deterministic), and returns its text plus the states [K, G, D] of the G generated tokens only. The
  states come from one forward pass over prompt + generated tokens, so every rewrite token attends (causally) to
  the image tokens and the instruction, as in the paper.
Hidden state 0 is the embedding output (for image tokens: the projected vision features), state L the last
decoder layer; ``layers=None`` selects all L + 1.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from harness.errors import HarnessError

# The VERIFI prompt: the tiny VLM is trained on exactly this text; a real instruction-tuned VLM reads it as a
# plain request (its chat template wraps it).
REWRITE_PROMPT = "describe the image after the edit : {instruction}"
TINY_ANSWER_MARK = "answer :"  # prompts of our tiny LLaVA (no chat template) end with this (tiny_vlm.py)

References = np.ndarray | Sequence[np.ndarray]  # one image, or several in order


@dataclass(frozen=True)
class Encoding:
    """states [K, T, D] float32; is_image [T] bool; reference [T] long (-1 for text tokens)."""

    states: torch.Tensor
    is_image: torch.Tensor
    reference: torch.Tensor


@dataclass(frozen=True)
class Rewrite:
    """text: the generated rewrite; token_ids: its G token ids; states [K, G, D] float32 of those tokens."""

    text: str
    token_ids: tuple[int, ...]
    states: torch.Tensor


def as_references(images: References) -> list[np.ndarray]:
    """One array or a sequence of arrays -> list of uint8 (H, W, 3) arrays."""
    refs = [images] if isinstance(images, np.ndarray) else list(images)
    if not refs:
        raise HarnessError("vlm input: a sample needs at least one reference image")
    return refs


def _looks_local(path: str) -> bool:
    return path.startswith((".", "/", "~")) or Path(path).expanduser().exists() or path.count("/") > 1


class VLMEncoder:
    """model: a transformers VLM; processor: its processor; layers: indices into the model's ``hidden_states``
    tuple (0 = embedding output, ``num_hidden_states - 1`` = last layer; negative indices count from the end;
    None = all)."""

    def __init__(self, model, processor, layers: list[int] | None = None, name: str = "vlm", cache_size: int = 8192):
        self.model = model.eval().requires_grad_(False)
        self.processor = processor
        self.name = name
        text_config = model.config.get_text_config()
        self.hidden_size: int = text_config.hidden_size
        self.num_hidden_states: int = text_config.num_hidden_layers + 1
        wanted = layers if layers is not None else list(range(self.num_hidden_states))
        self.layers = [self._check_layer(i) for i in wanted]
        self.cache_size = cache_size
        self._cache: OrderedDict[str, object] = OrderedDict()
        cfg = model.config
        self.image_token_id = getattr(cfg, "image_token_id", None)
        if self.image_token_id is None:
            self.image_token_id = getattr(cfg, "image_token_index", None)

    @classmethod
    def from_pretrained(
        cls,
        path: str,
        layers: list[int] | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
        **kwargs,
    ) -> VLMEncoder:
        """Load model + processor by folder, or by hub id at ``revision`` (a commit, branch or tag; read from the
        local Hugging Face cache when the hub is off, ``HF_HUB_OFFLINE=1``); every failure is a one-line
        HarnessError."""
        from transformers import AutoModelForImageTextToText, AutoProcessor
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if _looks_local(path) and not Path(path).expanduser().is_dir():
            raise HarnessError(f"vlm {path}: checkpoint folder does not exist")
        try:
            processor = AutoProcessor.from_pretrained(path, trust_remote_code=trust_remote_code, revision=revision)
            model = AutoModelForImageTextToText.from_pretrained(
                path, trust_remote_code=trust_remote_code, revision=revision, dtype=torch.float32
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

    def prompt(self, text: str, n_images: int = 1, generation: bool = False) -> str:
        """The processor's chat template when it has one (real VLMs: images, then text), else our tiny LLaVA's
        "text <image> ... answer :" -- text first, so that in a causal decoder the image tokens can attend to
        the instruction, and the answer mark it was trained to answer after (encoding and generation alike)."""
        if getattr(self.processor, "chat_template", None):
            content = [{"type": "image"}] * n_images + [{"type": "text", "text": text}]
            messages = [{"role": "user", "content": content}]
            return self.processor.apply_chat_template(messages, add_generation_prompt=generation)
        image = getattr(self.processor, "image_token", "<image>")
        return " ".join([text] + [image] * n_images + [TINY_ANSWER_MARK])

    def _key(self, kind: str, refs: list[np.ndarray], text: str, extra: str = "") -> str:
        h = hashlib.sha256(f"{kind}\0{len(refs)}\0{text}\0{self.layers}\0{extra}".encode())
        for image in refs:
            h.update(f"{image.shape}".encode())
            h.update(np.ascontiguousarray(image).tobytes())
        return h.hexdigest()

    def _inputs(self, refs_batch: list[list[np.ndarray]], prompts: list[str]):
        flat = [image for refs in refs_batch for image in refs]
        return self.processor(images=flat, text=prompts, return_tensors="pt", padding=True)

    def _states(self, inputs) -> tuple[torch.Tensor, ...]:
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
        return states

    def _token_types(self, ids: torch.Tensor, n_images: int) -> tuple[torch.Tensor, torch.Tensor]:
        """ids [T] -> (is_image [T], reference [T]): runs of the image token, one run per reference (a run
        holding several references, as LLaVA's back-to-back placeholders give, is split evenly)."""
        is_image = ids == self.image_token_id if self.image_token_id is not None else torch.zeros_like(ids, dtype=bool)
        reference = torch.full_like(ids, -1)
        pos = torch.nonzero(is_image).flatten()
        if len(pos) == 0:
            return is_image, reference
        breaks = torch.nonzero(pos[1:] != pos[:-1] + 1).flatten() + 1
        runs = list(torch.tensor_split(pos, breaks.tolist()))
        if len(runs) == 1 and n_images > 1 and len(pos) % n_images == 0:
            runs = list(pos.reshape(n_images, -1))
        if len(runs) != n_images:
            raise HarnessError(
                f"vlm {self.name}: found {len(runs)} runs of image tokens for {n_images} reference images"
            )
        for r, run in enumerate(runs):
            reference[run] = r
        return is_image, reference

    @torch.no_grad()
    def _forward(self, refs_batch: list[list[np.ndarray]], texts: list[str]) -> list[Encoding]:
        inputs = self._inputs(refs_batch, [self.prompt(t, len(r)) for r, t in zip(refs_batch, texts)])
        states = self._states(inputs)  # one forward for every selected layer
        stacked = torch.stack([states[i] for i in self.layers], dim=1)  # [B, K, S, D]
        mask = inputs["attention_mask"].bool()
        out = []
        for b, refs in enumerate(refs_batch):  # keep only real tokens: left- or right-padding alike
            is_image, reference = self._token_types(inputs["input_ids"][b][mask[b]], len(refs))
            out.append(Encoding(stacked[b][:, mask[b]].float(), is_image, reference))
        return out

    def encode_full(self, images: list[References], texts: list[str], micro_batch: int = 1) -> list[Encoding]:
        """images[i]: one uint8 (H, W, 3) array or a list of them; returns one ``Encoding`` per sample.

        ``micro_batch=1`` (the default) encodes each input alone, so its states never depend on which other
        inputs share its batch (padding and batched matmuls change low-order bits)."""
        refs = [as_references(x) for x in images]
        keys = [self._key("encode", r, t) for r, t in zip(refs, texts)]
        found = {k: self._cache[k] for k in keys if k in self._cache}
        first: dict[str, int] = {}  # one forward per distinct input
        for i, k in enumerate(keys):
            if k not in found:
                first.setdefault(k, i)
        todo = list(first.values())
        for s in range(0, len(todo), micro_batch):
            chunk = todo[s : s + micro_batch]
            for i, enc in zip(chunk, self._forward([refs[i] for i in chunk], [texts[i] for i in chunk])):
                found[keys[i]] = enc
        self._remember(keys, found)
        return [found[k] for k in keys]

    def encode(self, images: list[References], texts: list[str], micro_batch: int = 1) -> list[torch.Tensor]:
        """As ``encode_full``, states only: per sample a float tensor [K, T_i, D]."""
        return [e.states for e in self.encode_full(images, texts, micro_batch)]

    @torch.no_grad()
    def rewrite(self, images: list[References], instructions: list[str], max_new_tokens: int = 64) -> list[Rewrite]:
        """VERIFI: per sample, greedy rewrite of (references, instruction) and the states of its tokens only.

        Each sample is generated alone (batch 1), so the result never depends on the batch. The states are those
        of the generated tokens before the end-of-sequence token (the end token itself when nothing else came)."""
        out = []
        for x, instruction in zip(images, instructions):
            refs = as_references(x)
            key = self._key("rewrite", refs, instruction, f"{max_new_tokens}")
            if key not in self._cache:
                self._cache[key] = self._rewrite_one(refs, instruction, max_new_tokens)
            self._remember([key], {key: self._cache[key]})
            out.append(self._cache[key])
        return out

    @torch.no_grad()
    def rewrite_states(
        self, images: list[References], instructions: list[str], rewrites: list[str], micro_batch: int = 1
    ) -> list[torch.Tensor]:
        """Teacher-forced VERIFI states: per sample [K, G, D] for a GIVEN rewrite text (e.g. the target's known
        canonical caption when building training features): one batched forward over prompt + rewrite, no
        generation. G = the rewrite's token count (the last G tokens of the sequence)."""
        refs = [as_references(x) for x in images]
        prompts = [
            self.prompt(REWRITE_PROMPT.format(instruction=t), len(r), generation=True) + " " + w
            for r, t, w in zip(refs, instructions, rewrites)
        ]
        keys = [self._key("rewrite_states", r, p) for r, p in zip(refs, prompts)]
        found = {k: self._cache[k] for k in keys if k in self._cache}
        todo = list({k: i for i, k in enumerate(keys) if k not in found}.values())
        for s in range(0, len(todo), micro_batch):
            chunk = todo[s : s + micro_batch]
            inputs = self._inputs([refs[i] for i in chunk], [prompts[i] for i in chunk])
            states = self._states(inputs)
            stacked = torch.stack([states[i] for i in self.layers], dim=1)  # [B, K, S, D]
            mask = inputs["attention_mask"].bool()
            for b, i in enumerate(chunk):
                g = len(self.processor.tokenizer(rewrites[i], add_special_tokens=False)["input_ids"])
                if g == 0:
                    raise HarnessError(f"vlm {self.name}: rewrite {i} has no tokens")
                found[keys[i]] = stacked[b][:, mask[b]][:, -g:].float()
        self._remember(keys, found)
        return [found[k] for k in keys]

    def _rewrite_one(self, refs: list[np.ndarray], instruction: str, max_new_tokens: int) -> Rewrite:
        prompt = self.prompt(REWRITE_PROMPT.format(instruction=instruction), len(refs), generation=True)
        inputs = self._inputs([refs], [prompt])
        n = inputs["input_ids"].shape[1]
        # The image placeholder is never generated: the forward over prompt + rewrite would count it as an image.
        never = {"suppress_tokens": [self.image_token_id]} if self.image_token_id is not None else {}
        gen = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, **never)
        new = gen[0, n:]
        eos = self.model.generation_config.eos_token_id
        eos = {eos} if isinstance(eos, int) else set(eos or [])
        pad = self.model.generation_config.pad_token_id
        stop = next((i for i, t in enumerate(new.tolist()) if t in eos or t == pad), len(new))
        kept = new[: max(stop, 1)]  # the end token itself when the VLM generated nothing else
        full = dict(inputs)
        full["input_ids"] = torch.cat([inputs["input_ids"][0], kept])[None]
        for name, value in inputs.items():  # per-token processor outputs (masks, token types) grow with the ids
            if name != "input_ids" and torch.is_tensor(value) and value.shape[:2] == (1, n):
                fill = torch.ones if name == "attention_mask" else torch.zeros
                full[name] = torch.cat([value, fill((1, len(kept)), dtype=value.dtype)], dim=1)
        states = self._states(full)
        selected = torch.stack([states[i][0, n:] for i in self.layers]).float()  # [K, G, D]
        text = self.processor.tokenizer.decode(new[:stop], skip_special_tokens=True).strip()
        return Rewrite(text=text, token_ids=tuple(kept.tolist()), states=selected)

    def _remember(self, keys: list[str], found: dict) -> None:
        for k in keys:  # least-recently-used eviction
            self._cache[k] = found[k]
            self._cache.move_to_end(k)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)


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
