"""The three adapter contracts (Editor, Embedder, Reasoner) and the adapter registry.

A model is one class with one method. Registration lives next to the adapter (``@register_adapter("name")``);
packages expose their adapter modules through the ``harness.adapters`` entry-point group, and
``--model package.module:Class`` loads an unregistered class directly.

Every method takes ``seeds``: one seed per sample, derived from the run seed and the sample id, so a stochastic
adapter gives the same output for a sample whatever batch it lands in.

Lazy loading: ``__init__`` only validates arguments and locates files; weights are read in ``load()``, which runs
once, right before the first call of the contract method (``edit`` / ``embed`` / ``generate``). ``fingerprint()``
must not need the loaded model: it hashes the weight files (``hash_path``) or names a hub id and the commit its
revision resolves to (``weights_id``). A fully cached re-run therefore never imports torch's model stacks nor
reads a weight.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import HarnessError
from harness.plugins import Registry

ENTRY_POINT_GROUP = "harness.adapters"


# Marks the field of an adapter's ``Args`` that is a *training* seed: the seed the weights were trained with, as
# opposed to the run seed (``--seed``) that drives sampling. ``train_seed: int = Field(0, json_schema_extra=
# TRAINING_SEED)``. Runs that differ only in it are one system trained several times: the run records it in its
# provenance ("training_seed"), leaderboards and ``harness compare`` pool such runs into one row with a two-level
# CI (seeds, then samples) and a two-level test (harness/seeds.py).
TRAINING_SEED = {"training_seed": True}


def training_seed_arg(args_model: type[BaseModel]) -> str | None:
    """The name of the field of ``args_model`` marked ``TRAINING_SEED``, or None. Two marked fields are an error:
    a run has one training seed."""
    marked = [
        name
        for name, f in args_model.model_fields.items()
        if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("training_seed")
    ]
    if len(marked) > 1:
        raise HarnessError(f"{args_model.__qualname__}: fields {marked} are all marked as the training seed; mark one")
    return marked[0] if marked else None


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Adapter:
    """Base of all adapters. ``Args`` is a pydantic model of the accepted ``--model_args``; values arrive as strings
    and pydantic converts them, so ``steps=abc`` fails naming the field."""

    kind: ClassVar[str]
    name: ClassVar[str] = ""
    Args: ClassVar[type[BaseModel]] = NoArgs
    # Optional per-sample side information of the last call (one small JSON-able dict per input, e.g. generated
    # token counts or a generated prompt rewrite): the task resets it to None before each call and reads it after;
    # it is stored with each sample's record (harness show --info, report galleries); keys a task kind names in
    # ``info_metrics`` are scored as metrics. Keys in harness.kinds.base.ENGINE_INFO_KEYS are the engine's own.
    last_info: list[dict] | None = None

    def __init__(self, **model_args: Any):
        self.args = validate_args(type(self), model_args)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for method in CONTRACT_METHODS:  # every override of a contract method loads the model first
            fn = cls.__dict__.get(method)
            if fn is not None and not getattr(fn, "_loads_first", False):
                setattr(cls, method, _loading_first(fn))

    def load(self) -> None:
        """Read the weights and build the model. Called once, just before the first batch this adapter must
        compute (never on a fully cached run); heavy imports belong here, not in ``__init__``."""

    def ensure_loaded(self) -> None:
        """Run ``load()`` once (the runner calls this before a batch; contract methods call it too)."""
        if not self.__dict__.get("_loaded", False):
            self.load()
            self._loaded = True

    @property
    def loaded(self) -> bool:
        return self.__dict__.get("_loaded", False)

    def describe(self) -> dict:
        """Facts about the model worth keeping with each run (recorded in its provenance under "model"), e.g. the
        training-set size of a recipe's proxy model, which leaderboards can plot scores against."""
        return {}

    def training_seed(self) -> dict | None:
        """{"arg": field name, "value": its value} when ``Args`` marks a training seed (see TRAINING_SEED)."""
        arg = training_seed_arg(self.Args)
        return None if arg is None else {"arg": arg, "value": getattr(self.args, arg)}

    def fingerprint(self) -> str:
        """Identifies weights and configuration in cache keys. Adapters with weights should hash them."""
        blob = json.dumps([type(self).__module__, type(self).__qualname__, self.args.model_dump()], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


CONTRACT_METHODS = ("edit", "embed", "generate")


def _loading_first(fn):
    @functools.wraps(fn)
    def method(self, *args, **kwargs):
        self.ensure_loaded()
        return fn(self, *args, **kwargs)

    method._loads_first = True
    return method


class Editor(Adapter):
    kind = "edit"
    # How many input images per sample ``edit`` reads: 1 (the default) is the source alone; n > 1, or None for
    # any number, is the source plus up to n - 1 reference images, which the task then always passes as the
    # ``references`` keyword (an empty tuple for a sample without any). A task whose samples carry more images
    # than an editor reads refuses that editor before any work (EditTask.check_adapter), so a single-source
    # editor is never handed a multi-reference sample, nor called with an argument it does not know. A class
    # attribute, or a property when it depends on ``--model_args`` (checked on the instance).
    max_images: ClassVar[int | None] = 1

    def edit(
        self,
        images: list[np.ndarray],
        instructions: list[str],
        seeds: list[int],
        references: list[tuple[np.ndarray, ...]] | None = None,
    ) -> list[np.ndarray]:
        """images: the image to edit per sample, uint8 (H, W, 3); returns one uint8 (H, W, 3) array per input,
        same size. references (only for editors with ``max_images`` != 1): per sample, the further input images
        in order (uint8 (h, w, 3), any size), e.g. "put the shape from the second image into the first" has
        ``images[i]`` as the first image and ``references[i][0]`` as the second.

        Side information: set ``self.last_info`` to one small JSON-able dict per input (e.g. a generated prompt
        rewrite); it is stored with each sample's record, printed by ``harness show --info`` and shown under the
        output in the report gallery."""
        raise NotImplementedError


def reads_images(editor: Editor) -> int | None:
    """How many images per sample ``editor`` reads (``Editor.max_images``; None: any number)."""
    n = getattr(editor, "max_images", 1)
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise HarnessError(f"{type(editor).__qualname__}.max_images must be a positive int or None, got {n!r}")
    return n


ROLES = ("query", "document")


class Embedder(Adapter):
    kind = "retrieval"

    def embed(
        self,
        items: list[dict],
        modalities: frozenset[str],
        seeds: list[int],
        role: str = "document",
        instruction: str | None = None,
    ):
        """items: dicts that may carry 'text' (str), 'image' (uint8 (H, W, 3)), 'frames' (list of uint8 (H, W, 3),
        a video's sampled frames in time order) and 'audio' ((samples,) float32 with 'sample_rate'); only keys in
        ``modalities`` are present. Returns a float array or tensor of shape [n, d].

        ``role`` is "query" or "document" (never mixed in one call); ``instruction`` is the task's instruction for
        that role (None: none). Models that prefix or instruct by role (E5 "query: ", BGE's query instruction)
        use them; others ignore them. An ``embed`` written before roles existed, taking only (items, modalities,
        seeds), keeps working: see ``takes_roles``."""
        raise NotImplementedError


def takes_roles(adapter: Embedder) -> bool:
    """Whether ``adapter.embed`` accepts ``role`` and ``instruction`` (adapters written before roles do not)."""
    import inspect

    params = inspect.signature(adapter.embed).parameters
    return ("role" in params and "instruction" in params) or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )


class Reasoner(Adapter):
    kind = "reasoning"

    def generate(self, prompts: list[dict], seeds: list[int], n: int = 1, **gen_kwargs) -> list[list[str]]:
        """prompts: dicts with 'text' (str) and 'images' (list of uint8 (H, W, 3)); returns n completions each."""
        raise NotImplementedError


CONTRACTS: dict[str, type[Adapter]] = {c.kind: c for c in (Editor, Embedder, Reasoner)}
# One registry mechanism for every extension point (harness.plugins): the decorator below, plus the modules named
# in the ``harness.adapters`` entry-point group, imported on the first lookup.
ADAPTERS: Registry[type[Adapter]] = Registry("model", ENTRY_POINT_GROUP)


def register_adapter(name: str):
    """Class decorator: make an adapter selectable as ``--model name``."""

    def wrap(cls: type[Adapter]) -> type[Adapter]:
        if not issubclass(cls, tuple(CONTRACTS.values())):
            raise TypeError(f"{cls.__qualname__} must subclass Editor, Embedder or Reasoner")
        ADAPTERS.add(name, cls)
        cls.name = name
        return cls

    return wrap


def load_plugins() -> None:
    """Import every module named in the ``harness.adapters`` entry-point group; their decorators register."""
    ADAPTERS.load_plugins()


def registered_adapters() -> dict[str, type[Adapter]]:
    return ADAPTERS.all()


def adapter_class(name: str) -> type[Adapter]:
    """Resolve ``--model``: a registered name, or ``module:Class``."""
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise HarnessError(f"--model {name}: cannot import ({e})") from None
        if not (isinstance(cls, type) and issubclass(cls, tuple(CONTRACTS.values()))):
            raise HarnessError(f"--model {name}: not an Editor, Embedder or Reasoner subclass")
        cls.name = cls.name or name
        return cls
    return ADAPTERS.get(name)


def hash_path(path) -> str:
    """sha256 (hex) of a weights file's bytes, or of a folder's files (relative names and bytes, in sorted order):
    what ``fingerprint()`` should be built from, so retrained weights never reuse cached results."""
    path = Path(path)
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if f != path:
            h.update(f.relative_to(path).as_posix().encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def weights_id(path_or_id: str, revision: str | None = None) -> str:
    """What names a checkpoint in a fingerprint, without loading it: a local file or folder -> the sha256 of its
    bytes (``hash_path``); a hub id -> ``id@commit``, the commit its revision resolves to in the local Hugging Face
    cache (``id@revision`` when that revision is not cached yet: it is then a commit hash or a branch name)."""
    path = Path(path_or_id).expanduser()
    if path.exists():
        return hash_path(path)
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(path_or_id, revision=revision, local_files_only=True)
        return f"{path_or_id}@{Path(folder).name}"  # snapshots/<commit>
    except Exception:  # noqa: BLE001 - not cached (or no huggingface_hub): the id and the asked revision are all we know
        return f"{path_or_id}@{revision or 'main'}"


def validate_args(cls: type[Adapter], model_args: dict) -> BaseModel:
    """``cls.Args`` validated from ``model_args``; a bad value is a HarnessError naming the field."""
    try:
        return cls.Args(**model_args)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(map(str, err["loc"]))
        raise HarnessError(f"--model_args for {cls.name or cls.__name__}: {field}: {err['msg']}") from None
    except TypeError as e:  # an Args that is not a pydantic model
        raise HarnessError(f"--model_args for {cls.name or cls.__name__}: {e}") from None


def _arg_text(value) -> str:
    """Canonical text of a validated arg value: strings as they are, a whole float like an int (``amp=14`` for
    14.0, as typed), everything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return json.dumps(value, sort_keys=True)


def normalise_model_args(cls: type[Adapter], model_args: dict[str, str]) -> tuple[tuple[tuple[str, str], ...], str]:
    """``canonical_model_args`` of ``model_args`` validated through the adapter's Args."""
    return canonical_model_args(cls, validate_args(cls, model_args))


def canonical_model_args(cls: type[Adapter], args: BaseModel) -> tuple[tuple[tuple[str, str], ...], str]:
    """(every arg, defaults included, as canonical text, sorted; the label: "key=value,..." of the args that differ
    from their defaults). ``low=00`` and ``low=0`` and omitting ``low`` (default 0) give one value, so one
    configuration is one run id, one cache and one leaderboard row."""
    from pydantic_core import to_jsonable_python

    values = args.model_dump(mode="json")
    fields = getattr(type(args), "model_fields", {})
    label = []
    for key in sorted(values):
        info = fields.get(key)
        required = info is None or info.is_required()
        if required or to_jsonable_python(info.get_default(call_default_factory=True)) != values[key]:
            label.append(f"{key}={_arg_text(values[key])}")
    return tuple((k, _arg_text(values[k])) for k in sorted(values)), ",".join(label)


def parse_model_args(text: str, option: str = "--model_args") -> dict[str, str]:
    """``"a=1,b=x"`` -> {"a": "1", "b": "x"}; lm-eval's ``--model_args`` syntax (``option`` names the flag in
    errors)."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise HarnessError(f"{option}: {part!r} is not key=value")
        if key.strip() in out:
            raise HarnessError(f"{option}: {key.strip()!r} given twice")
        out[key.strip()] = value.strip()
    return out
