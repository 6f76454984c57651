"""Zero-shot retrieval: embed a gallery and queries with an Embedder, rank the gallery by cosine similarity and score
every query against its relevance judgments (trec_eval semantics, see harness/metrics/retrieval.py).

Units (what the runner embeds, stores and counts) are gallery items ``item:<id>`` and queries ``query:<id>``; the
prefixes keep a corpus id and a query id that happen to be equal apart. ``--limit N`` keeps the first N queries;
the whole gallery is always embedded, so a query's scores never depend on the limit.

Modes (``options.mode``):
  q2i  queries come from the data (queries.jsonl + qrels); the gallery is every corpus item.
  i2i  every corpus item whose ``group`` has other members is a query, relevant = the other members (relevance 1),
       and is excluded from its own ranking. Every item is ONE unit, ``item:<id>``, whose embedding also serves
       as its query (each item is embedded once, and runs with different ``--limit`` share embeddings); the
       units that are queries in this run carry judgments and are the scored ones (``is_scored``). Data queries
       and qrels are ignored in this mode.

Roles: gallery items are embedded as ``role="document"``, q2i queries as ``role="query"``, each with the task's
instruction for that role (``options.instructions``); a batch never mixes the two (``batch_key``). In i2i every
item is one embedding serving both sides, embedded as a document. Embedders whose ``embed`` predates roles are
called without them (and cannot run a task that gives instructions).

Embeddings are L2-normalised by the task before the exact inner-product search, so scores are cosine similarities
(a zero vector stays zero and scores 0 against everything); the adapter may return any scale. Search is
``retrieval.search(backend="auto")`` (exact; FAISS for large galleries) and scoring the array path
``retrieval.evaluate_ranked`` (same values as the dict-based, pytrec_eval-equal ``evaluate``). Rankings are cut at
depth max(100, options.cutoffs, metric cutoffs), so ``map`` and ``mrr`` are computed on that depth (as BEIR/MTEB do
at their depth).

Queries with no judged documents are not queries (the loader drops them, as BEIR does), so every query unit whose
embedding succeeded gets scores.
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
from dataclasses import dataclass, field

import numpy as np

from harness.adapters import Embedder, takes_roles
from harness.data.skips import skipped_of
from harness.errors import HarnessError
from harness.kinds.base import AdapterContractError, Task
from harness.metrics import retrieval
from harness.search import recall_at_k, search_approx


@dataclass(frozen=True, eq=False)
class RetrievalItem:
    """A gallery item. image: uint8 (H, W, 3); audio: float32 (samples,) mono in [-1, 1] at ``sample_rate``;
    frames: a video's sampled frames, uint8 (H, W, 3) each, in time order (harness/data/media.py)."""

    id: str
    text: str | None = None
    image: np.ndarray | None = None
    audio: np.ndarray | None = None
    sample_rate: int | None = None
    group: str | None = None
    meta: dict = field(default_factory=dict)
    frames: list[np.ndarray] | None = None


@dataclass(frozen=True, eq=False)
class RetrievalQuery:
    """A query; ``relevant`` maps corpus ids to graded relevance (> 0 relevant, 0 judged non-relevant)."""

    id: str
    text: str | None = None
    image: np.ndarray | None = None
    audio: np.ndarray | None = None
    sample_rate: int | None = None
    relevant: dict[str, int] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    frames: list[np.ndarray] | None = None


@dataclass(frozen=True)
class RetrievalData:
    """What a retrieval loader returns. ``skipped``: rows read but not scorable ({row id: reason}, see
    harness/data/skips.py); ``absent_judged``: corpus ids judged by some query but absent from the items, kept on
    purpose (BEIR + pytrec_eval count them in recall / MAP / ideal-DCG denominators)."""

    items: list[RetrievalItem]
    queries: list[RetrievalQuery]
    skipped: dict[str, str] = field(default_factory=dict)
    absent_judged: frozenset[str] = frozenset()


@dataclass(frozen=True, eq=False)
class Unit:
    """One thing to embed. ``gallery_id``: the corpus id this embedding stands for in the gallery (None for a
    q2i query); ``relevant``: judgments when the unit is a query, else None; ``role``: what the embedder is told
    it embeds ("query" or "document")."""

    id: str
    sample: RetrievalItem | RetrievalQuery
    gallery_id: str | None
    relevant: dict[str, int] | None
    role: str = "document"


def _to_array(out) -> np.ndarray:
    """An adapter's numpy array or torch tensor (any float dtype, any device) -> float32 numpy, without importing
    torch here (list commands must stay torch-free)."""
    if hasattr(out, "detach"):
        out = out.detach().float().cpu().numpy()
    return np.asarray(out, dtype=np.float32)


class RetrievalTask(Task):
    kind = "retrieval"
    contract = Embedder
    scores_per_batch = False  # a query's score needs the whole gallery

    def __init__(self, spec, samples: RetrievalData):
        self.spec, self.data = spec, samples  # units() needs both before the base class sees the units
        opts = spec.options
        if opts.mode == "q2i" and not samples.queries:
            raise ValueError("mode q2i needs queries (queries.jsonl and qrels/test.tsv), the data has none")
        known = {it.id for it in samples.items}
        if len(known) != len(samples.items):
            dup = next(i for i in (it.id for it in samples.items) if sum(it.id == i for it in samples.items) > 1)
            raise ValueError(f"duplicate item id {dup!r}")
        if opts.mode == "q2i":
            for q in samples.queries:
                unknown = next((d for d in q.relevant if d not in known and d not in samples.absent_judged), None)
                if unknown is not None:
                    raise ValueError(f"query {q.id!r} judges unknown item id {unknown!r}")
        if opts.mode == "i2i":
            members: dict[str, list[str]] = {}
            for it in samples.items:
                if it.group is not None:
                    members.setdefault(it.group, []).append(it.id)
            self._relevant = {
                it.id: {o: 1 for o in members[it.group] if o != it.id}
                for it in samples.items
                if it.group is not None and len(members[it.group]) > 1
            }
            if not self._relevant:
                raise ValueError("mode i2i needs items sharing a 'group'; no group has two items")
        super().__init__(spec, self.units())
        self.skipped = skipped_of(samples)  # the base class saw the units, not the loader's data

    def units(self, limit: int | None = None) -> list[Unit]:
        """Queries (the first ``limit`` of them) and the whole gallery."""
        if self.spec.options.mode == "q2i":
            queries = self.data.queries if limit is None else self.data.queries[:limit]
            return [Unit(f"item:{it.id}", it, it.id, None) for it in self.data.items] + [
                Unit(f"query:{q.id}", q, None, dict(q.relevant), "query") for q in queries
            ]
        # An item's unit id does not depend on whether it is a query in this run, so runs with different
        # --limit share embeddings; is_scored() picks the queries of this run.
        chosen = set(list(self._relevant)[:limit])  # the first queries in corpus order
        return [
            Unit(f"item:{it.id}", it, it.id, self._relevant[it.id] if it.id in chosen else None)
            for it in self.data.items
        ]

    def is_scored(self, unit: Unit) -> bool:
        return unit.relevant is not None

    def check_adapter(self, adapter: Embedder) -> None:
        if self.spec.options.instructions and not takes_roles(adapter):
            raise HarnessError(
                f"task {self.name!r} gives {'/'.join(self.spec.options.instructions)} instructions, "
                f"but {type(adapter).__name__}.embed() takes no role/instruction arguments"
            )

    def share_key(self, unit: Unit) -> str:
        """Gallery items (and queries) embedded by one model are the same whichever task over the same corpus and
        modalities asks: q2i and i2i over one corpus embed it once."""
        h = hashlib.sha256(repr((unit.role, self.spec.options.instructions.get(unit.role))).encode())
        for key, value in sorted(self._inputs(unit.sample).items()):
            h.update(key.encode() + b"=")
            if isinstance(value, np.ndarray):
                h.update(f"{value.dtype}{value.shape}".encode() + np.ascontiguousarray(value).tobytes())
            elif isinstance(value, list):  # frames
                for arr in value:
                    h.update(f"{arr.dtype}{arr.shape}".encode() + np.ascontiguousarray(arr).tobytes())
            else:
                h.update(repr(value).encode())
        return h.hexdigest()

    def batch_key(self, unit: Unit) -> str:
        return unit.role  # an embedder is told one role per call

    def sample_digest(self, unit: Unit) -> bytes:
        s = unit.sample
        h = hashlib.sha256(
            repr(
                (
                    unit.id,
                    unit.gallery_id,
                    sorted((unit.relevant or {}).items()),
                    s.text,
                    s.sample_rate,
                    getattr(s, "group", None),
                )
            ).encode()
        )
        for arr in (s.image, s.audio):
            h.update(b"-" if arr is None else f"{arr.dtype}{arr.shape}".encode() + np.ascontiguousarray(arr).tobytes())
        for arr in s.frames or ():  # nothing hashed without frames: digests of still items are unchanged
            h.update(b"frame" + f"{arr.dtype}{arr.shape}".encode() + np.ascontiguousarray(arr).tobytes())
        return h.digest()

    def _inputs(self, sample) -> dict:
        """The item dict an adapter sees: only enabled modalities that the sample has."""
        mods, d = self.spec.options.modalities, {}
        if "text" in mods and sample.text is not None:
            d["text"] = sample.text
        if "image" in mods and sample.image is not None:
            d["image"] = sample.image
        if "image" in mods and sample.frames:  # the "image" modality is the visual track: a still or frames
            d["frames"] = list(sample.frames)
        if "audio" in mods and sample.audio is not None:
            d["audio"], d["sample_rate"] = sample.audio, sample.sample_rate
        return d

    def predict(self, adapter: Embedder, batch: list[Unit], seeds: list[int]) -> list[np.ndarray]:
        """Returns one float32 (d,) embedding per unit (not yet normalised: normalisation happens at scoring)."""
        role = batch[0].role
        if any(u.role != role for u in batch):
            raise ValueError("a batch mixes queries and documents")  # the runner groups by batch_key
        instruction = self.spec.options.instructions.get(role)
        items, modalities = [self._inputs(u.sample) for u in batch], frozenset(self.spec.options.modalities)
        if takes_roles(adapter):
            out = adapter.embed(items, modalities, seeds, role=role, instruction=instruction)
        elif self.spec.options.instructions:  # checked before any work in check_adapter; kept as a guard
            raise AdapterContractError("its embed() takes no role/instruction, but the task gives instructions")
        else:
            out = adapter.embed(items, modalities, seeds)
        try:
            emb = _to_array(out)
        except (TypeError, ValueError) as e:
            raise AdapterContractError(f"returned {type(out).__name__}, not a float array or tensor ({e})") from None
        if emb.ndim != 2 or emb.shape[0] != len(batch) or emb.shape[1] == 0:
            first = batch[min(emb.shape[0] if emb.ndim else 0, len(batch) - 1)].id
            raise AdapterContractError(
                f"returned an array of shape {emb.shape} for a batch of {len(batch)} "
                f"(expected [{len(batch)}, d]; first unmatched sample {first!r})"
            )
        bad = ~np.isfinite(emb).all(1)
        if bad.any():
            raise AdapterContractError(f"returned a non-finite embedding for sample {batch[int(bad.argmax())].id!r}")
        return list(emb)

    def score_all(self, units: list[Unit], outputs: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
        """Rank the gallery for every embedded query; {query unit id: {metric: value}}."""
        done = [u for u in units if u.id in outputs]
        if not done:
            return {}
        dim = outputs[done[0].id].shape
        for u in done:
            if outputs[u.id].shape != dim:
                raise AdapterContractError(
                    f"returned an embedding of shape {outputs[u.id].shape} for sample "
                    f"{u.id!r}, but {dim} for {done[0].id!r}"
                )
        cutoffs = [int(m.split("@")[1]) for m in self.spec.metrics if "@" in m]
        depth = max(100, *self.spec.options.cutoffs, *cutoffs)
        queries, gallery, index, recall = self.rank(done, outputs, depth)
        if not queries:
            return {}
        pos = {u.gallery_id: n for n, u in enumerate(gallery)}
        # A judged item without an embedding (its unit failed) still counts in recall / MAP denominators and the
        # ideal DCG, as in trec_eval: it gets an index no ranking contains.
        judged = [(n, pos.get(d, len(gallery)), r) for n, q in enumerate(queries) for d, r in q.relevant.items()]
        jq, jd, jr = (np.array(c, np.int64) for c in zip(*judged)) if judged else (np.zeros(0, np.int64),) * 3
        values = retrieval.evaluate_ranked(index, (jq, jd, jr), len(queries), list(self.spec.metrics))
        columns = [values[m].tolist() for m in self.spec.metrics]
        out = {q.id: dict(zip(self.spec.metrics, row)) for q, row in zip(queries, zip(*columns))}
        if recall is not None:
            for q, r in zip(queries, recall.tolist()):
                out[q.id]["search_recall"] = r
        return out

    def rank(self, units: list[Unit], outputs: dict[str, np.ndarray], depth: int):
        """The rankings ``score_all`` scores (a report shows the same): -> (query units, gallery units in search
        order, index [n_queries, depth] into the gallery, best first, -1 where a query's own entry was dropped,
        per-query recall of the exact top-k under approximate search or None). ``units``: embedded units;
        ``outputs``: their embeddings, all of one shape."""
        # Gallery sorted by id DESCENDING: search() puts the lower index first among equal scores, trec_eval the
        # higher doc id, so with this order the depth cut keeps exactly the documents trec_eval would rank first.
        gallery = sorted((u for u in units if u.gallery_id is not None), key=lambda u: u.gallery_id, reverse=True)
        queries = [u for u in units if u.relevant is not None]
        if not queries:
            return [], gallery, np.zeros((0, depth), np.int64), None
        dim = outputs[units[0].id].shape

        def unit_norm(rows: list[Unit]) -> np.ndarray:  # cosine similarity = inner product of unit vectors
            x = np.stack([outputs[u.id] for u in rows]) if rows else np.zeros((0, dim[0]), np.float32)
            return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # a zero vector stays zero

        pos = {u.gallery_id: n for n, u in enumerate(gallery)}
        # Each query's own entry is dropped from its ranking (wherever ties put it): always in i2i, and in q2i
        # with ignore_identical_ids (a document whose id is the query's id).
        if self.spec.options.mode == "i2i":
            own = [pos[q.gallery_id] for q in queries]
        elif self.spec.options.ignore_identical_ids:
            own = [pos.get(q.sample.id, -2) for q in queries]
        else:
            own = None
        q_emb, g_emb, fetch = unit_norm(queries), unit_norm(gallery), depth + (own is not None)
        _, index = retrieval.search(q_emb, g_emb, fetch, backend="auto")
        recall = None
        if self.spec.options.search != "exact":  # labelled approximate search, measured against the exact one
            exact = index
            _, index = search_approx(q_emb, g_emb, fetch, index=self.spec.options.search)
            recall = recall_at_k(index, exact)
            print(
                f"note: task {self.name}: approximate search ({self.spec.options.search}) found "
                f"{recall.mean():.4f} of the exact top {fetch} (mean over {len(recall)} queries; per query as "
                f"'search_recall' in its scores)",
                file=sys.stderr,
            )
        if own is not None:
            self_at = np.array(own)[:, None]
            keep = np.argsort(index == self_at, axis=1, kind="stable")[:, :depth]
            index = np.take_along_axis(np.where(index == self_at, -1, index), keep, 1)
        return queries, gallery, index, recall

    def encode(self, output: np.ndarray) -> bytes:
        buf = io.BytesIO()
        np.save(buf, np.asarray(output, np.float32), allow_pickle=False)  # exact float32, dtype/shape in header
        return buf.getvalue()

    def decode(self, blob: bytes) -> np.ndarray:
        return np.load(io.BytesIO(blob), allow_pickle=False)

    def subsets(self, unit: Unit) -> list[str]:
        subset = unit.sample.meta.get("subset") if unit.relevant is not None else None
        return [] if subset in (None, "") else ["subset=" + re.sub(r"\s+", "_", str(subset))]


TASK_CLASS = RetrievalTask
