"""Exact inner-product top-k search: in-memory galleries, memory-mapped ``.npy`` shards, and (labelled, opt-in) an
approximate FAISS index whose recall against exact search is measured.

The exact reference. A score is the float64 sum of the float32 products, rounded to float32 (``reference_scores``);
results are ordered by score descending, then gallery index ascending. That score of a (query, item) pair does not
depend on where the item sits in a BLAS tile, so results are identical whatever the blocking, threading or
sharding, and exact ties (duplicate items) are always ordered by index.

Backends of ``search``:
  "faiss"  FAISS's exhaustive kNN (blocked BLAS + selection, the kernel of ``IndexFlatIP``) fetches k + 8
           candidates per query on independent query chunks, one per thread (each FAISS call single-threaded: no
           OpenMP barrier per gallery block, which is what made FAISS's own threading slow under CPU contention);
           candidates are rescored by the reference and re-ordered. A row is recomputed exactly over the whole
           gallery when the FAISS rounding error bound could let an unfetched item reach its top k (never seen on
           float embeddings; happens with many exact ties). No copy of the gallery (IndexFlatIP.add makes one).
  "numpy"  blocks with a running top-k (no FAISS needed); scores are bit-for-bit ``queries @ gallery.T`` (numpy's
           BLAS), not the reference, so near-ties may order differently from "faiss" in the last bit.
  "auto"   "faiss" when importable and the problem is large, else "numpy".
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_LOW = np.uint64(0xFFFFFFFF)
EXTRA = 8  # candidates fetched beyond k: rescoring can only reorder among what FAISS returned


def _keys(scores: np.ndarray, index: np.ndarray) -> np.ndarray:
    """float32 scores of gallery items ``index`` (uint64, same or broadcastable shape) -> uint64 keys ordered like
    (score, -index).

    The largest keys are the best results, lower gallery index first among equal scores; the keys of a row are
    all distinct (indices are), so "the k largest" is one well-defined set and partitioning is deterministic.
    Key 0 is below every real key (used as padding)."""
    bits = (scores + np.float32(0.0)).view(np.uint32)  # + 0.0 turns -0.0 into +0.0 so the two tie
    flip = np.where(bits >> 31 == 1, ~bits, bits | np.uint32(1 << 31))  # IEEE float -> order-preserving uint32
    return (flip.astype(np.uint64) << np.uint64(32)) | (_LOW - index.astype(np.uint64))


def _unkey(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of _keys: (scores float32, indices int64)."""
    flip = (keys >> np.uint64(32)).astype(np.uint32)
    bits = np.where(flip >> 31 == 1, flip & np.uint32(0x7FFFFFFF), ~flip)
    return bits.view(np.float32), (_LOW - (keys & _LOW)).astype(np.int64)


def _positions(group: np.ndarray, n_groups: int) -> np.ndarray:
    """Rank (0-based) of each entry inside its group; ``group`` must be sorted (entries of a group contiguous)."""
    counts = np.bincount(group, minlength=n_groups)
    return np.arange(len(group)) - (np.cumsum(counts) - counts)[group]


def reference_scores(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """[q, g] float32: float64 sums of float32 products, rounded once (the exact reference; small inputs only)."""
    q64, g64 = np.asarray(queries, np.float64), np.asarray(gallery, np.float64)
    return (q64[:, None, :] * g64[None, :, :]).sum(-1).astype(np.float32)


def _rescore(queries: np.ndarray, gallery: np.ndarray, index: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Reference scores of the pairs (query i, gallery item index[i, j]) -> float32 like ``index``."""
    out = np.empty(index.shape, np.float32)
    for s in range(0, len(index), chunk):
        rows = np.asarray(gallery[index[s : s + chunk].ravel()], np.float64).reshape(*index[s : s + chunk].shape, -1)
        out[s : s + chunk] = (rows * np.asarray(queries[s : s + chunk], np.float64)[:, None, :]).sum(-1)
    return out


def _merge(best: np.ndarray, scores: np.ndarray, g0: int, k: int) -> np.ndarray:
    """Running top-k keys ``best`` [q, k] merged with a block of scores [q, b] for gallery items g0..g0+b-1.

    Only entries at or above each row's current k-th score can enter its top k, so the block is scanned once by a
    comparison instead of being partitioned (which made the naive loop several times slower than FAISS), and only
    the rows with candidates are re-partitioned."""
    floor = _unkey(best.min(1))[0]
    rows, cols = np.nonzero(scores >= floor[:, None])  # row-major: rows ascending
    if len(rows) == 0:
        return best
    width = np.bincount(rows, minlength=len(best))
    touched = np.flatnonzero(width)
    cand = np.zeros((len(touched), k + int(width.max())), np.uint64)  # 0-padded: padding never wins
    cand[:, :k] = best[touched]
    cand[np.searchsorted(touched, rows), k + _positions(rows, len(best))] = _keys(scores[rows, cols], cols + g0)
    best[touched] = np.partition(cand, cand.shape[1] - k, axis=1)[:, -k:]
    return best


def _search_blocks(queries, gallery, k: int, block: int, score) -> tuple[np.ndarray, np.ndarray]:
    """Running top-k over gallery blocks with ``score(query block, gallery block) -> float32 [qb, gb]``."""
    top = np.empty((len(queries), k), np.uint64)
    for q0 in range(0, len(queries), block):
        qs = queries[q0 : q0 + block]
        best = np.empty((len(qs), 0), np.uint64)
        for g0 in range(0, gallery.shape[0], block):
            scores = score(qs, gallery[g0 : g0 + block])
            if best.shape[1] == k:
                best = _merge(best, scores, g0, k)
                continue
            # Filling the first k: keep everything; the k largest keys, unordered, O(width) per row.
            cand = np.concatenate([best, _keys(scores, np.arange(g0, g0 + scores.shape[1]))], 1)
            best = np.partition(cand, cand.shape[1] - k, axis=1)[:, -k:] if cand.shape[1] > k else cand
        top[q0 : q0 + block] = best
    return _unkey(np.sort(top, axis=1)[:, ::-1])


def _numpy_scores(qs, gs):
    return qs @ np.asarray(gs, np.float32).T


def _reference_block(qs, gs, chunk: int = 64):
    return np.concatenate([reference_scores(qs, gs[i : i + chunk]) for i in range(0, len(gs), chunk)], 1)


def _order(scores: np.ndarray, index: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by (score desc, index asc), cut at k."""
    keys = np.sort(_keys(scores, index), axis=1)[:, ::-1][:, :k]
    return _unkey(keys)


def _faiss_chunk(queries: np.ndarray, gallery: np.ndarray, k: int, bound: np.ndarray):
    """One thread's share: FAISS candidates, rescored, ordered; rows at risk recomputed exactly."""
    import faiss

    faiss.omp_set_num_threads(1)  # per thread (an OpenMP setting of the calling thread)
    fetch = min(k + EXTRA, gallery.shape[0])
    d, i = faiss.knn(queries, gallery, fetch, metric=faiss.METRIC_INNER_PRODUCT)
    exact = _rescore(queries, gallery, i)
    scores, index = _order(exact, i, k)
    if fetch < gallery.shape[0]:
        # An unfetched item scored at most d.min() by FAISS, so at most d.min() + bound exactly: it cannot enter
        # the top k when the k-th reference score is higher than that.
        risky = np.flatnonzero(scores[:, k - 1] <= d.min(1) + bound)
        if len(risky):
            scores[risky], index[risky] = _search_blocks(queries[risky], gallery, k, 1024, _reference_block)
    return scores, index


def _error_bound(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """[q] bound on |FAISS float32 score - reference score|: d * 2^-23 * |q| * max|g| (a float32 dot product of
    length d errs by at most about d units in the last place of sum |q_i g_i| <= |q| |g|), doubled for safety."""
    gmax = max(
        float(np.sqrt(np.einsum("ij,ij->i", c, c).max(initial=0.0)))
        for c in (np.asarray(gallery[s : s + 65536], np.float32) for s in range(0, len(gallery), 65536))
    )
    return 2 * queries.shape[1] * 2.0**-23 * np.linalg.norm(queries, axis=1) * gmax


def _threads(threads: int | None) -> int:
    if threads:
        return threads
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _search_faiss(queries: np.ndarray, gallery: np.ndarray, k: int, threads: int | None):
    from threadpoolctl import threadpool_limits

    n = _threads(threads)
    bound = _error_bound(queries, gallery)
    # chunks of >= 512 queries keep FAISS's GEMM efficient; at least one per thread
    size = max(512, math.ceil(len(queries) / n)) if len(queries) > 512 * n else math.ceil(len(queries) / n)
    starts = range(0, len(queries), max(size, 1))
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(n) as pool:  # one BLAS thread per worker
        parts = list(pool.map(lambda s: _faiss_chunk(queries[s : s + size], gallery, k, bound[s : s + size]), starts))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def search(
    queries: np.ndarray,
    gallery: np.ndarray,
    k: int,
    block: int = 1024,
    backend: str = "numpy",
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k (backends and the exact reference in the module doc).

    queries: [q, d], gallery: [g, d] (float32; a memory-mapped array is read in place). Returns (scores [q, k']
    float32, indices [q, k'] int64) with k' = min(k, g), best first; equal scores: lower gallery index first.
    ``block``: rows per block of the numpy backend, memory O(block * (block + k)); ``threads``: workers of the
    faiss backend (default: the CPUs this process may use)."""
    queries = np.ascontiguousarray(queries, np.float32)
    if not (isinstance(gallery, np.ndarray) and gallery.dtype == np.float32 and gallery.flags.c_contiguous):
        gallery = np.ascontiguousarray(gallery, np.float32)
    if gallery.shape[0] >= 2**32:
        raise ValueError("gallery too large for 32-bit indices")
    k = max(0, min(k, gallery.shape[0]))
    if k == 0 or len(queries) == 0:
        return np.empty((len(queries), k), np.float32), np.empty((len(queries), k), np.int64)
    if backend == "auto":
        backend = "faiss" if gallery.shape[0] * len(queries) >= 10**8 and _has_faiss() else "numpy"
    if backend == "faiss":
        return _search_faiss(queries, gallery, k, threads)
    if backend != "numpy":
        raise ValueError(f"unknown search backend {backend!r} (numpy, faiss, auto)")
    return _search_blocks(queries, gallery, k, block, _numpy_scores)


def search_shards(
    queries: np.ndarray, shards: list, k: int, backend: str = "auto", threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k over a gallery split in shards (arrays, or paths of ``.npy`` files memory-mapped one at a
    time), indices counted across shards in order. Each shard's top k is merged into a running top k, so
    memory holds one shard's resident pages plus O(q * k); with the faiss backend the result equals ``search``
    over the concatenated gallery exactly (reference scores do not depend on the split)."""
    queries = np.ascontiguousarray(queries, np.float32)
    best_s = np.empty((len(queries), 0), np.float32)
    best_i = np.empty((len(queries), 0), np.int64)
    offset = 0
    for shard in shards:
        g = np.load(shard, mmap_mode="r") if isinstance(shard, (str, os.PathLike)) else shard
        if g.ndim != 2 or g.shape[1] != queries.shape[1]:
            raise ValueError(
                f"shard {shard if isinstance(shard, (str, os.PathLike)) else offset}: shape {g.shape}, "
                f"expected [n, {queries.shape[1]}]"
            )
        s, i = search(queries, g, k, backend=backend, threads=threads)
        best_s, best_i = _order(np.concatenate([best_s, s], 1), np.concatenate([best_i, i + offset], 1), k)
        offset += g.shape[0]
        del g  # unmap before the next shard: its pages leave this process's resident set
    return best_s, best_i


def _has_faiss() -> bool:
    import importlib.util

    return importlib.util.find_spec("faiss") is not None


def search_approx(
    queries: np.ndarray,
    gallery: np.ndarray,
    k: int,
    index: str = "hnsw",
    nlist: int = 0,
    nprobe: int = 16,
    m: int = 32,
    ef_search: int = 128,
    seed: int = 0,
):
    """Approximate inner-product top-k with a FAISS index — an explicit, labelled alternative to ``search``,
    never chosen implicitly. ``index``: "hnsw" (IndexHNSWFlat, ``m`` links per node, ``ef_search``) or "ivf"
    (IndexIVFFlat, ``nlist`` k-means cells, default 4 * sqrt(g), ``nprobe`` visited). Returns (scores, indices)
    like ``search``; -1 marks a missing result. Measure what it costs with ``recall_at_k`` against ``search``."""
    import faiss

    queries = np.ascontiguousarray(queries, np.float32)
    gallery = np.ascontiguousarray(gallery, np.float32)
    d = gallery.shape[1]
    k = max(0, min(k, gallery.shape[0]))
    if index == "hnsw":
        ix = faiss.IndexHNSWFlat(d, m, faiss.METRIC_INNER_PRODUCT)
        ix.hnsw.efSearch = max(ef_search, k)
    elif index == "ivf":
        cells = nlist or max(1, min(gallery.shape[0] // 39, int(4 * math.sqrt(gallery.shape[0]))))
        ix = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, cells, faiss.METRIC_INNER_PRODUCT)
        ix.cp.seed = seed
        ix.train(gallery)
        ix.nprobe = min(nprobe, cells)
    else:
        raise ValueError(f"unknown approximate index {index!r} (hnsw, ivf)")
    ix.add(gallery)
    scores, idx = ix.search(queries, k)
    return scores.astype(np.float32), idx.astype(np.int64)


def recall_at_k(approx: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """[q] share of each query's exact top-k ids that the approximate top-k also holds."""
    k = exact.shape[1]
    if k == 0:
        return np.ones(len(exact))
    return np.array([len(set(a[a >= 0]) & set(e)) / k for a, e in zip(approx, exact)])
