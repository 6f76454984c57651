"""Speed of retrieval search and metrics (pytest-benchmark). Plain test runs execute each benchmark once at small
sizes as a smoke test; the ``*_large`` benchmarks skip unless timing is on (``make bench``, i.e.
``--benchmark-enable``), so the big sizes never slow down ``make test``.

Compare within one group (``--benchmark-group-by=group``):
  search-*   exact top-100: harness ``search`` (numpy blocks / faiss backend) vs bare FAISS IndexFlatIP
  metrics-*  4 metrics over a ranked run: ``evaluate_ranked`` (arrays) vs ``evaluate`` (dicts) vs pytrec_eval vs
             torchmetrics' retrieval metrics — all on the same run, values checked equal first.
"""

import numpy as np
import pytest

from harness.metrics.retrieval import evaluate, evaluate_ranked, search

METRICS = ["recall@10", "ndcg@10", "map", "mrr"]


def _embeddings(nq, ng, d, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((nq, d), np.float32)
    g = rng.standard_normal((ng, d), np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True), g / np.linalg.norm(g, axis=1, keepdims=True)


def _large(benchmark):
    if benchmark.disabled:
        pytest.skip("large benchmark: runs with --benchmark-enable (make bench)")


SEARCH_SMALL, SEARCH_LARGE = (200, 20_000, 64), (2_000, 200_000, 256)


def _bench_search(benchmark, sizes, backend):
    q, g = _embeddings(*sizes)
    benchmark.group = f"search-{sizes[0]}x{sizes[1]}x{sizes[2]}"
    scores, index = benchmark.pedantic(search, (q, g, 100), {"backend": backend, "block": 4096}, rounds=1,
                                       iterations=1) if not benchmark.disabled else search(q, g, 100, backend=backend)
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
            m.update(preds.flatten(), (target.flatten() > 0) if not isinstance(m, RetrievalNormalizedDCG)
                     else target.flatten(), idx.flatten())
            out.append(m.compute())
        return out

    out = benchmark.pedantic(run, rounds=1, iterations=1) if not benchmark.disabled else run()
    assert len(out) == 4 and rel["recall@100"].shape == (nq,)
