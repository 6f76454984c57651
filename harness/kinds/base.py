"""The interface every task kind implements; the runner knows nothing else about a task."""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from harness.adapters import Adapter
from harness.data.skips import skipped_of
from harness.spec import stable_hash
from harness.store import BOOKKEEPING_INFO_KEYS


class AdapterContractError(Exception):
    """The adapter broke its contract (wrong count, size or type of outputs): a bug to fix, not a sample failure."""


# Keys of a record's info the engine itself writes (reused outputs, judged runs; harness/judges/stage.py): an
# adapter's side information may not use them.
ENGINE_INFO_KEYS = BOOKKEEPING_INFO_KEYS | {"judge_failure", "judge_replies", "turns"}
# Side information is for a few fields a person reads next to the output (a rewrite, token counts), not outputs.
MAX_INFO_BYTES = 64 * 1024


def take_info(adapter: Adapter, ids: list[str]) -> list[dict]:
    """The side information ``adapter`` gave with its last call over samples ``ids`` (``Adapter.last_info``),
    checked (one JSON-able dict per input, small, no engine key) and reset to None for the next call.
    No info (None or an empty list): one empty dict per sample."""
    info, adapter.last_info = getattr(adapter, "last_info", None), None
    if info is None or (isinstance(info, (list, tuple)) and not info):
        return [{} for _ in ids]
    if not isinstance(info, (list, tuple)) or len(info) != len(ids):
        got = len(info) if isinstance(info, (list, tuple)) else type(info).__name__
        raise AdapterContractError(f"set last_info to {got} entries for a call over {len(ids)} samples")
    out = []
    for sid, entry in zip(ids, info):
        entry = {} if entry is None else entry
        if not isinstance(entry, dict):
            raise AdapterContractError(f"last_info for sample {sid!r} is a {type(entry).__name__}, expected a dict")
        try:
            size = len(json.dumps(entry))
        except (TypeError, ValueError) as e:
            raise AdapterContractError(f"last_info for sample {sid!r} is not JSON-able ({e})") from None
        if size > MAX_INFO_BYTES:
            raise AdapterContractError(
                f"last_info for sample {sid!r} is {size} bytes of JSON (at most {MAX_INFO_BYTES}: side info, not data)"
            )
        if reserved := sorted(ENGINE_INFO_KEYS & set(entry)):
            raise AdapterContractError(f"last_info for sample {sid!r} uses the engine's key {reserved[0]!r}")
        out.append(dict(json.loads(json.dumps(entry))))  # stored as JSON: hand on what a cached re-run reads back
    return out


class Task:
    """A validated TaskSpec plus its loaded samples.

    The runner calls ``predict`` on batches of ``units()`` (the things an adapter processes), stores each unit's
    encoded output, and gets per-sample scores either per batch (``score``; editing, reasoning) or once all outputs
    exist (``score_all``; retrieval, where a query's score needs the whole gallery)."""

    kind: ClassVar[str]
    contract: ClassVar[type[Adapter]]
    scores_per_batch: ClassVar[bool] = True
    # Part of the task hash, hence of every cache key: bump it when a kind's scoring code changes, so stored
    # per-sample scores from the old code are not reused.
    scoring_version: ClassVar[int] = 1
    # Keys of the adapter's per-sample ``last_info`` that become per-sample metrics (reasoning: generated_tokens).
    info_metrics: ClassVar[tuple[str, ...]] = ()
    # where a task's pinned release was read from (harness/data/release.py), kept in the run's provenance
    data_source: dict | None = None

    def __init__(self, spec, samples: list):
        self.spec = spec
        self.samples = samples
        # rows the loader read but could not score ({row id: reason}; harness/data/skips.py)
        self.skipped = skipped_of(samples)
        ids = [s.id for s in samples]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise ValueError(f"duplicate sample id {dup!r}")

    @property
    def name(self) -> str:
        return self.spec.name

    def units(self, limit: int | None = None) -> list:
        return self.samples if limit is None else self.samples[:limit]

    def _digests(self) -> list[bytes]:
        if getattr(self, "_digest_cache", None) is None:
            self._digest_cache = [self.sample_digest(sample) for sample in self.samples]
        return self._digest_cache

    def content_hash(self) -> str:
        """Hash of the spec and every sample's content: the task version recorded with every result."""
        # Which model runs by default changes no sample and no score: hashed as unset, so naming one (or changing
        # it) does not turn existing results into an "older task version".
        spec = {**self.spec.model_dump(mode="json"), "default_model": None}
        if spec.get("dataset", 0) is None:  # tasks without released data hash as before the field existed
            del spec["dataset"]
        # skipped rows are part of what was read: a release that loses or gains an unscorable row is a new version
        parts = [spec, self.scoring_version] + ([sorted(self.skipped.items())] if self.skipped else [])
        identity = self.scoring_identity()  # e.g. the encoder weights behind CLIP/DINO metrics
        parts += [identity] if identity else []
        h = hashlib.sha256(stable_hash(parts).encode())
        for digest in self._digests():
            h.update(digest)
        return h.hexdigest()[:16]

    def samples_hash(self) -> str:
        """Hash of the samples alone (ids and content), not of how they are scored or which modalities the task
        switches on: twin tasks over the same data (retrieval/i2i and i2i-noaudio) share it, so their runs can
        be compared sample by sample (``harness compare --across-tasks``)."""
        h = hashlib.sha256()
        for sample, digest in zip(self.samples, self._digests()):
            h.update(sample.id.encode() + b"\0" + digest)
        return h.hexdigest()[:16]

    def scoring_identity(self) -> dict:
        """What else decides the scores beyond the spec and the samples (e.g. metric encoders' weight hashes)."""
        return {}

    # --- to implement per kind ---
    def sample_digest(self, sample) -> bytes:
        raise NotImplementedError

    def predict(self, adapter: Adapter, batch: list, seeds: list[int]) -> list[Any]:
        raise NotImplementedError

    def predict_with_info(self, adapter: Adapter, batch: list, seeds: list[int]) -> tuple[list[Any], list[dict]]:
        """(outputs, per-sample side information) of ``predict``. Kinds that call the adapter once per batch use
        this default; a kind that calls it several times (multi-turn editing) collects the info of each call."""
        adapter.last_info = None  # never read a previous call's info as this one's
        outputs = self.predict(adapter, batch, seeds)
        return outputs, take_info(adapter, [u.id for u in batch])

    def score(self, batch: list, outputs: list) -> list[dict[str, float]]:
        raise NotImplementedError

    def score_all(self, units: list, outputs: dict[str, Any]) -> dict[str, dict[str, float]]:
        raise NotImplementedError

    def encode(self, output) -> bytes:
        raise NotImplementedError

    def decode(self, blob: bytes):
        raise NotImplementedError

    def share_key(self, unit) -> str | None:
        """A key of everything the adapter sees for ``unit`` (its inputs, role, instruction), when its output is
        valid for any task giving the same inputs: the runner then reuses such outputs across tasks (keyed with
        the model, its fingerprint and the seed). None (the default): never shared."""
        return None

    def check_adapter(self, adapter: Adapter) -> None:
        """Raise HarnessError (before any work) if this task cannot run ``adapter`` faithfully."""

    def batch_key(self, unit) -> str:
        """Units with different keys never share a batch (retrieval: a query and a document, which an embedder
        treats differently). One key for every unit by default."""
        return ""

    def is_scored(self, unit) -> bool:
        """False for units that are only inputs to other samples' scores (a retrieval gallery item)."""
        return True

    def subsets(self, sample) -> list[str]:
        """Breakdown keys a sample belongs to (e.g. 'edit_type=move'); aggregates are also reported per subset."""
        return []
