"""Frozen, hashable descriptions of tasks (from YAML) and of runs (task x model x args x seed).

A TaskSpec is validated by pydantic when its YAML file is loaded, so a wrong key or type fails before any work,
naming the file and the field. A RunSpec is one value describing a whole run; its hash keys the cache and the store.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer

_STRICT = ConfigDict(extra="forbid", frozen=True)


def stable_hash(obj) -> str:
    """sha256 of the canonical JSON of ``obj`` (sorted keys), hex."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()


class Source(BaseModel):
    """Where samples come from: a registered loader (see harness/data/__init__.py) and its arguments."""

    model_config = _STRICT
    loader: str
    args: dict[str, int | float | str | bool | list[str]] = Field(default_factory=dict)


class DatasetPin(BaseModel):
    """The released data a task reads, pinned (see harness/data/release.py for where it is looked for).

    hf_id: the hub repo id ("AI4Math/MathVista"); revision: a commit sha (or tag) so the rows cannot change under
    a stored result; files: globs (``allow_patterns``) of the files the loader reads, relative to the repo root;
    folder: the folder under ``--data_dir`` holding a local copy (default: the hub id, "AI4Math/MathVista")."""

    model_config = _STRICT
    hf_id: str = Field(pattern=r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
    repo_type: Literal["dataset", "model"] = "dataset"
    revision: str = Field(min_length=1)
    files: list[str] = Field(default_factory=list)
    folder: str | None = None


class JudgeTemplates(BaseModel):
    """The official file a judge protocol reads its prompt templates from at run time (never copied into the
    repository): a path relative to the task's data folder, and the sha256 of its exact bytes."""

    model_config = _STRICT
    file: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    source: str = ""  # where the official file comes from (repo@commit path), named when it is missing


class EditOptions(BaseModel):
    """How edits are scored. ``success_*``: the edit region reached the target and the rest was preserved (mean
    |error| on 0..1). The rest configure the reference-free and protocol metrics (see harness/metrics/reference.py)
    and the judge protocol (harness/judges/)."""

    model_config = _STRICT
    success_edit_l1: float = Field(0.1, gt=0, le=1)
    success_keep_l1: float = Field(0.02, gt=0, le=1)
    # "source": the editor must return the source's size (the embedded suites); "any": it may return any size and
    # each protocol resizes as its official script does (GEdit: edit -> source size; MagicBrush: output -> GT size).
    output_size: Literal["source", "any"] = "source"
    # What l1_ref / l2_ref / clip_i / dino compare the edit with: the ground truth (MagicBrush) or the input (Emu Edit).
    reference: Literal["target", "source"] = "target"
    clip_model: str = "openai/clip-vit-base-patch32"  # hub id or local folder (transformers CLIPModel)
    clip_revision: str | None = None
    # "center_crop": CLIP's own preprocessing (resize short side, center crop; MagicBrush via clip.load);
    # "squash": bicubic interpolation of the whole image to the input size (instruct-pix2pix ClipSimilarity).
    clip_preprocess: Literal["center_crop", "squash"] = "center_crop"
    dino_model: str = "facebook/dino-vits16"  # hub id or local folder (transformers ViTModel, CLS token)
    dino_revision: str | None = None
    judge_protocol: str | None = None  # a registered protocol (harness/judges/protocols.py), e.g. viescore_tie
    judge_templates: JudgeTemplates | None = None
    macro_over: str | None = None  # subset prefix whose groups a macro mean averages equally (e.g. "edit_type")

    @model_serializer(mode="wrap")
    def _omit_unset_newer_fields(self, handler):
        """Options added after the embedded suites are left out of the dump (hence the task hash) while at their
        defaults, so those suites keep their task versions and committed baselines stay valid."""
        out = handler(self)
        for name in _NEWER_EDIT_OPTIONS:
            if name in out and getattr(self, name) == EditOptions.model_fields[name].default:
                del out[name]
        return out


_NEWER_EDIT_OPTIONS = (
    "output_size",
    "reference",
    "clip_model",
    "clip_revision",
    "clip_preprocess",
    "dino_model",
    "dino_revision",
    "judge_protocol",
    "judge_templates",
    "macro_over",
)


class RetrievalOptions(BaseModel):
    model_config = _STRICT
    # The modalities the embedder may see; "with / without audio" twins differ only here.
    modalities: list[Literal["text", "image", "audio"]] = Field(default_factory=lambda: ["text", "image", "audio"])
    mode: Literal["i2i", "q2i"] = "q2i"
    cutoffs: list[int] = Field(default_factory=lambda: [1, 5, 10, 100])
    # The task's instruction per role, handed to the embedder with every batch of that role (E5/BGE-style
    # instructed retrieval, MTEB's per-task prompts); part of the task hash, hence of every cache key.
    instructions: dict[Literal["query", "document"], str] = Field(default_factory=dict)
    # q2i: drop a retrieved document whose id equals the query id before scoring (BEIR's EvaluateRetrieval
    # ``ignore_identical_ids``, MTEB's AbsTaskRetrieval attribute of that name: ArguAna / Quora hold each query
    # in the corpus too).
    ignore_identical_ids: bool = False
    # Exact search (the default), or a labelled approximate FAISS index; with one, every query's recall of the exact
    # top-k is stored with its scores ("search_recall") and its mean reported on stderr.
    search: Literal["exact", "hnsw", "ivf"] = "exact"

    @model_serializer(mode="wrap")
    def _omit_unset_additions(self, handler):
        # Options added after tasks were first hashed are left out of the dump while unset, so existing tasks keep
        # their content hash (and regress baselines their validity).
        out = handler(self)
        if isinstance(out, dict):
            for key in ("instructions", "ignore_identical_ids"):
                if not out.get(key):
                    out.pop(key, None)
            if out.get("search") == "exact":
                out.pop("search")
        return out


class ReasoningOptions(BaseModel):
    """grader: how a response is scored (harness/metrics/reasoning.py: ``strict`` or ``honeybee``, HoneyBee's
    score.py); protocol: which prompt the model gets (``plain``: question, "(A) option" lines, ``prompt_suffix``;
    ``honeybee`` / ``native``: the prompts the public readers build, harness/protocols/)."""

    model_config = _STRICT
    grader: Literal["strict", "honeybee"] = "strict"
    protocol: Literal["plain", "honeybee", "native"] = "plain"
    prompt_suffix: str = "Your final answer MUST BE put in \\boxed{}."
    n: int = Field(1, ge=1)
    max_new_tokens: int = Field(512, ge=1)


class _TaskBase(BaseModel):
    model_config = _STRICT
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*(/[a-z0-9][a-z0-9_\-]*)*$")
    description: str = ""
    version: int = 1
    groups: list[str] = Field(default_factory=list)
    source: Source
    dataset: DatasetPin | None = None  # released data: the loader's ``path`` is where it is found on this machine
    metrics: list[str] = Field(min_length=1)
    primary_metric: str
    default_model: str | None = None  # what `harness eval --task NAME` runs when --model is omitted


class EditTaskSpec(_TaskBase):
    kind: Literal["edit"]
    options: EditOptions = Field(default_factory=EditOptions)


class RetrievalTaskSpec(_TaskBase):
    kind: Literal["retrieval"]
    options: RetrievalOptions = Field(default_factory=RetrievalOptions)


class ReasoningTaskSpec(_TaskBase):
    kind: Literal["reasoning"]
    options: ReasoningOptions = Field(default_factory=ReasoningOptions)


TaskSpec = Annotated[EditTaskSpec | RetrievalTaskSpec | ReasoningTaskSpec, Field(discriminator="kind")]


class RunSpec(BaseModel):
    """Everything that determines a run's per-sample results. Batch size and process count are absent on purpose:
    they must not change a score."""

    model_config = _STRICT
    task: str
    task_hash: str
    model: str
    model_args: tuple[tuple[str, str], ...] = ()
    model_fingerprint: str
    seed: int = 0
    limit: int | None = None
    # The judging stage (reference-free editing benchmarks); absent from the hashes when no judge is used, so
    # unjudged runs keep their ids and a judged run reuses the unjudged run's edits (``generation_key``).
    judge: str | None = None
    judge_args: tuple[tuple[str, str], ...] = ()
    judge_fingerprint: str = ""
    judge_failure_policy: Literal["exclude", "official"] = "exclude"
    # Display only (leaderboard rows, results file names): the model args that differ from the adapter's defaults.
    # ``model_args`` holds every arg, defaults included and normalised by the adapter's Args, so `noise`,
    # `noise --model_args low=0` and `low=00,high=255` are one run; this label is left out of every hash.
    model_args_label: str | None = None

    def _identity(self, exclude: set[str]) -> dict:
        judged = self.judge is not None
        drop = (
            exclude
            | {"model_args_label"}
            | (set() if judged else {"judge", "judge_args", "judge_fingerprint", "judge_failure_policy"})
        )
        return self.model_dump(exclude=drop)

    @property
    def variant(self) -> str:
        """The leaderboard row label beyond the model name: its variant/recipe/ablation argument, if any."""
        args = dict(self.model_args)
        return next((args[k] for k in ("variant", "recipe", "ablation") if k in args), "")

    @property
    def label_variant(self) -> str:
        """``variant`` when it is one of the label's (non-default) args, else "": a default variant (``unifusion-lap``
        is variant=lap) is already said by the model name."""
        shown = dict(a.split("=", 1) for a in self.label_args_str().split(",") if "=" in a)
        return next((shown[k] for k in ("variant", "recipe", "ablation") if k in shown), "")

    def cache_key(self) -> str:
        """Keys per-sample records: independent of ``limit``, so a larger run reuses a smaller one's samples."""
        return stable_hash(self._identity({"limit"}))

    def generation_key(self) -> str:
        """Keys the edits themselves: the judge is not part of it, so re-judging never regenerates."""
        return stable_hash(
            self._identity({"limit", "judge", "judge_args", "judge_fingerprint", "judge_failure_policy"})
        )

    def run_id(self) -> str:
        return stable_hash(self._identity(set()))[:16]

    def label_args_str(self) -> str:
        return self.model_args_str() if self.model_args_label is None else self.model_args_label

    def model_args_str(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.model_args)
