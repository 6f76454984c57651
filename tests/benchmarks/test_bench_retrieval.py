"""Speed of retrieval search and metrics (pytest-benchmark). Plain test runs execute each benchmark once at small
sizes as a smoke test; the ``*_large`` benchmarks skip unless timing is on (``make bench``, i.e.
``--benchmark-enable``), so the big sizes never slow down ``make test``.

Compare within one group (``--benchmark-group-by=group``):
  search-*   exact top-100: harness ``search`` (numpy blocks / faiss backend) vs bare FAISS IndexFlatIP; the
             10k x 1M x 256 group also records each contender's peak extra memory (``extra_info``), and asserts
             harness ``search`` stays within gallery + 1 GiB (the gallery is resident before the search starts)
             and (auto) equals the exact reference on the first rows
  search-shards-*  a 10M x 256 gallery in ten memory-mapped .npy shards on disk, peak memory one shard + 1 GiB
  metrics-*  4 metrics over a ranked run: ``evaluate_ranked`` (arrays) vs ``evaluate`` (dicts) vs pytrec_eval vs
             torchmetrics' retrieval metrics — all on the same run, values checked equal first.
"""

from pathlib import Path

import numpy as np
import pytest

from harness.metrics.retrieval import evaluate, evaluate_ranked, search
from harness.search import _reference_block, _search_blocks, search_shards

METRICS = ["recall@10", "ndcg@10", "map", "mrr"]


def _embeddings(nq, ng, d, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((nq, d), np.float32)
    g = rng.standard_normal((ng, d), np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True), g / np.linalg.norm(g, axis=1, keepdims=True)


def _large(benchmark):
    if benchmark.disabled:
        pytest.skip("large benchmark: runs with --benchmark-enable (make bench)")


SEARCH_SMALL, SEARCH_LARGE, SEARCH_HUGE = (200, 20_000, 64), (2_000, 200_000, 256), (10_000, 1_000_000, 256)


def _status_mib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def peak_extra_mib(fn, *args, **kwargs):
    """(fn's result, peak resident memory during the call above the resident memory before it, in MiB).
    Linux: writing 5 to /proc/self/clear_refs resets the high-water mark VmHWM to the current RSS."""
    before = _status_mib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    out = fn(*args, **kwargs)
    return out, _status_mib("VmHWM") - before


def _bench_search(benchmark, sizes, backend):
    q, g = _embeddings(*sizes)
    benchmark.group = f"search-{sizes[0]}x{sizes[1]}x{sizes[2]}"
    scores, index = (
        benchmark.pedantic(search, (q, g, 100), {"backend": backend, "block": 4096}, rounds=1, iterations=1)
        if not benchmark.disabled
        else search(q, g, 100, backend=backend)
    )
    assert index.shape == (sizes[0], 100)


def _bench_flat_ip(benchmark, sizes):
    faiss = pytest.importorskip("faiss")
    q, g = _embeddings(*sizes)
    benchmark.group = f"search-{sizes[0]}x{sizes[1]}x{sizes[2]}"

    def run():
        index = faiss.IndexFlatIP(g.shape[1])
        index.add(g)
        return index.search(q, 100)

    benchmark.pedantic(run, rounds=1, iterations=1) if not benchmark.disabled else run()


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
def test_bench_search(benchmark, backend):
    _bench_search(benchmark, SEARCH_SMALL, backend)


def test_bench_search_faiss_indexflatip(benchmark):
    _bench_flat_ip(benchmark, SEARCH_SMALL)


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
def test_bench_search_large(benchmark, backend):
    _large(benchmark)
    _bench_search(benchmark, SEARCH_LARGE, backend)


def test_bench_search_faiss_indexflatip_large(benchmark):
    _large(benchmark)
    _bench_flat_ip(benchmark, SEARCH_LARGE)


@pytest.fixture(scope="module")
def huge(request):
    """10k unit queries and a 1M x 256 unit gallery (1 GiB float32), built in chunks: no second gallery copy."""
    if not request.config.getoption("benchmark_enable"):
        pytest.skip("10k x 1M search: with --benchmark-enable (make bench)")
    nq, ng, d = SEARCH_HUGE
    rng = np.random.default_rng(0)
    g = np.empty((ng, d), np.float32)
    for i in range(0, ng, 100_000):
        chunk = rng.standard_normal((min(100_000, ng - i), d), np.float32)
        g[i : i + len(chunk)] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    q = rng.standard_normal((nq, d), np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True), g


@pytest.mark.parametrize("backend", ["auto", "numpy"])
def test_bench_search_huge(benchmark, huge, backend):
    """harness ``search`` at the issue's target size: auto (FAISS's exhaustive kNN without copying the gallery) and
    the numpy blocks (no FAISS needed)."""
    q, g = huge
    benchmark.group = "search-{}x{}x{}".format(*SEARCH_HUGE)
    (scores, index), extra = benchmark.pedantic(
        peak_extra_mib, (search, q, g, 100), {"backend": backend, "block": 4096}, rounds=1, iterations=1
    )
    benchmark.extra_info.update(peak_extra_mib=extra, gallery_mib=g.nbytes >> 20)
    assert extra <= 1024, f"search used {extra} MiB beyond the resident gallery (budget 1024)"
    if backend == "auto":  # the first rows against the exact reference (float64 sums), recomputed block by block
        exact = _search_blocks(q[:4], g, 100, 1024, _reference_block)
        assert np.array_equal(index[:4], exact[1]) and np.array_equal(scores[:4], exact[0])
    else:
        exact = search(q[:16], g, 100, backend="numpy")
        assert (index[:16] == exact[1]).mean() > 0.99 and np.allclose(scores[:16], exact[0], atol=1e-5)


def test_bench_search_faiss_indexflatip_huge(benchmark, huge):
    faiss = pytest.importorskip("faiss")
    q, g = huge
    benchmark.group = "search-{}x{}x{}".format(*SEARCH_HUGE)

    def run():
        index = faiss.IndexFlatIP(g.shape[1])
        index.add(g)  # IndexFlat keeps its own copy of the gallery
        return index.search(q, 100)

    (_, index), extra = benchmark.pedantic(peak_extra_mib, (run,), rounds=1, iterations=1)
    benchmark.extra_info.update(peak_extra_mib=extra, gallery_mib=g.nbytes >> 20)
    assert index.shape == (len(q), 100)


SHARDED = (1_000, 10, 1_000_000, 256)  # queries, shards, rows per shard, dim: a 10M x 256 gallery (9.5 GiB)


def test_bench_search_shards_10m_from_disk(benchmark, tmp_path_factory):
    """10M x 256 gallery as ten memory-mapped 1M-row .npy shards, searched shard by shard with a running top-k:
    peak resident memory stays near one shard (1 GiB) although the gallery is 9.5 GiB."""
    _large(benchmark)
    nq, n_shards, rows, d = SHARDED
    folder = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(1)
    paths = []
    for n in range(n_shards):
        out = np.lib.format.open_memmap(folder / f"shard{n:02d}.npy", "w+", np.float32, (rows, d))
        for i in range(0, rows, 100_000):
            chunk = rng.standard_normal((100_000, d), np.float32)
            out[i : i + 100_000] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
        out.flush()
        del out
        paths.append(folder / f"shard{n:02d}.npy")
    q = rng.standard_normal((nq, d), np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    benchmark.group = f"search-shards-{nq}x{n_shards * rows}x{d}"
    (scores, index), extra = benchmark.pedantic(peak_extra_mib, (search_shards, q, paths, 100), rounds=1, iterations=1)
    shard_mib = rows * d * 4 >> 20
    benchmark.extra_info.update(peak_extra_mib=extra, shard_mib=shard_mib, gallery_mib=n_shards * shard_mib)
    assert extra <= shard_mib + 1024, f"sharded search used {extra} MiB (budget one shard + 1 GiB)"
    assert index.shape == (nq, 100) and index.max() >= rows  # results come from every part of the gallery


def _ranked_run(nq, depth=100, n_docs=1000, seed=0):
    """nq queries x depth ranked candidates (distinct scores) with ~10 graded judgments each."""
    rng = np.random.default_rng(seed)
    index = np.argsort(rng.random((nq, n_docs)), axis=1)[:, :depth]  # distinct docs per row
    scores = -np.sort(-rng.random((nq, depth)), axis=1)  # descending
    jq = np.repeat(np.arange(nq), 10)
    jd = np.concatenate([rng.choice(n_docs, 10, replace=False) for _ in range(nq)])
    jr = rng.integers(1, 3, len(jq))
    return index, scores, (jq, jd, jr)


def _dicts(index, scores, judged):
    run = {f"q{i}": {f"d{d}": float(s) for d, s in zip(row, srow)} for i, (row, srow) in enumerate(zip(index, scores))}
    qrels: dict = {}
    for q, d, r in zip(*judged):
        qrels.setdefault(f"q{q}", {})[f"d{d}"] = int(r)
    return qrels, run


@pytest.fixture(scope="module", params=[1_000, 10_000], ids=["1k", "10k"])
def ranked(request):
    if request.param > 1_000 and not request.config.getoption("benchmark_enable"):
        pytest.skip("10k-query run: with --benchmark-enable (make bench)")
    return request.param, *_ranked_run(request.param)


def test_bench_metrics_arrays(benchmark, ranked):
    nq, index, scores, judged = ranked
    benchmark.group = f"metrics-{nq}x100"
    got = benchmark(evaluate_ranked, index, judged, nq, METRICS)
    qrels, run = _dicts(index, scores, judged)
    want = evaluate(qrels, run, METRICS)
    assert all(got[m][i] == pytest.approx(want[f"q{i}"][m], abs=1e-12) for i in range(0, nq, 97) for m in METRICS)


def test_bench_metrics_dicts(benchmark, ranked):
    nq, index, scores, judged = ranked
    benchmark.group = f"metrics-{nq}x100"
    qrels, run = _dicts(index, scores, judged)
    benchmark(evaluate, qrels, run, METRICS)


def test_bench_metrics_pytrec_eval(benchmark, ranked):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    nq, index, scores, judged = ranked
    benchmark.group = f"metrics-{nq}x100"
    qrels, run = _dicts(index, scores, judged)
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"recall.10", "ndcg_cut.10", "map", "recip_rank"})
    out = benchmark(evaluator.evaluate, run)
    ours = evaluate_ranked(index, judged, nq, METRICS)
    assert ours["map"][0] == pytest.approx(out["q0"]["map"], abs=1e-9)
    assert ours["ndcg@10"][5] == pytest.approx(out["q5"]["ndcg_cut_10"], abs=1e-9)


def test_bench_metrics_torchmetrics(benchmark, ranked):
    import torch
    from torchmetrics.retrieval import RetrievalMAP, RetrievalMRR, RetrievalNormalizedDCG, RetrievalRecall

    nq, index, scores, judged = ranked
    benchmark.group = f"metrics-{nq}x100"
    # torchmetrics ranks only the given candidates, so recall's denominator would be the retrieved relevant
    # ones: the comparison is of speed on the same [q, 100] input (values differ by design for recall and map).
    rel = evaluate_ranked(index, judged, nq, ["recall@100"])  # warm
    lookup = {(int(q), int(d)): int(r) for q, d, r in zip(*judged)}
    target = torch.tensor([[lookup.get((i, int(d)), 0) for d in row] for i, row in enumerate(index)])
    preds, idx = torch.tensor(scores, dtype=torch.float32), torch.arange(nq)[:, None].expand(nq, 100)
    metrics = [RetrievalRecall(top_k=10), RetrievalNormalizedDCG(top_k=10), RetrievalMAP(), RetrievalMRR()]

    def run():
        out = []
        for m in metrics:
            m.reset()
            m.update(
                preds.flatten(),
                (target.flatten() > 0) if not isinstance(m, RetrievalNormalizedDCG) else target.flatten(),
                idx.flatten(),
            )
            out.append(m.compute())
        return out

    out = benchmark.pedantic(run, rounds=1, iterations=1) if not benchmark.disabled else run()
    assert len(out) == 4 and rel["recall@100"].shape == (nq,)
