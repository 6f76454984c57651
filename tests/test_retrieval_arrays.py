"""The array paths of harness.metrics.retrieval: ``evaluate_ranked`` equals ``evaluate`` (hence pytrec_eval) on the
same rankings; ``search(backend="faiss")`` equals the exact numpy search bit for bit, ties included; the i2i kind
scores a query without its own item."""

import numpy as np
import pytest
import pytrec_eval  # noqa: F401  (dev dependency; evaluate is checked against it in test_retrieval_metrics.py)

from harness.metrics.retrieval import evaluate, evaluate_ranked, search

METRICS = ["recall@1", "recall@5", "recall@10", "recall@100", "ndcg@10", "map", "mrr"]


@pytest.mark.parametrize("seed", range(15))
def test_evaluate_ranked_equals_evaluate_on_search_results(seed):
    rng = np.random.default_rng(seed)
    nq, ng, d = int(rng.integers(1, 30)), int(rng.integers(1, 150)), 4
    # Integer embeddings: many exactly tied scores.
    q = rng.integers(-2, 3, (nq, d)).astype(np.float32)
    g = rng.integers(-2, 3, (ng, d)).astype(np.float32)
    ids = sorted((f"d{i}" for i in range(ng)), reverse=True)  # gallery sorted by id descending, as the kind does
    depth = int(rng.integers(1, 120))
    scores, index = search(q, g, depth)
    judged = [
        (qi, int(di), int(rng.choice([-1, 0, 1, 2, 3])))
        for qi in range(nq)
        for di in rng.choice(ng, size=int(rng.integers(1, ng + 1)), replace=False)
    ]
    jq, jd, jr = (np.array(c) for c in zip(*judged))
    got = evaluate_ranked(index, (jq, jd, jr), nq, METRICS)
    qrels = {f"q{i}": {} for i in range(nq)}
    for qi, di, r in judged:
        qrels[f"q{qi}"][ids[di]] = r
    run = {f"q{i}": {ids[j]: float(s) for s, j in zip(scores[i], index[i])} for i in range(nq)}
    want = evaluate(qrels, run, METRICS)
    for i in range(nq):
        for m in METRICS:
            assert got[m][i] == pytest.approx(want[f"q{i}"][m], abs=1e-12), (i, m)


def test_evaluate_ranked_counts_unretrieved_judgments_and_ignores_padding():
    index = np.array([[0, 1, -1]])
    got = evaluate_ranked(index, (np.array([0, 0]), np.array([1, 7]), np.array([1, 1])), 1, ["recall@5", "mrr"])
    assert got["recall@5"][0] == 0.5 and got["mrr"][0] == 0.5


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 10, 100])
def test_faiss_search_equals_numpy_search_including_ties(seed, k):
    pytest.importorskip("faiss")
    rng = np.random.default_rng(seed)
    q = rng.integers(-2, 3, (37, 8)).astype(np.float32)  # small integers: exact products, many ties
    g = rng.integers(-2, 3, (500, 8)).astype(np.float32)
    s1, i1 = search(q, g, k, block=64, backend="numpy")
    s2, i2 = search(q, g, k, block=64, backend="faiss")
    assert np.array_equal(i1, i2) and np.array_equal(s1, s2)


def test_faiss_search_on_float_embeddings_matches_the_exact_ranking():
    pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    q, g = rng.standard_normal((50, 32), np.float32), rng.standard_normal((3000, 32), np.float32)
    s1, i1 = search(q, g, 100, backend="numpy")
    s2, i2 = search(q, g, 100, backend="faiss")
    assert (i1 == i2).mean() > 0.999 and np.allclose(s1, s2, atol=1e-5)


def test_unknown_backend_is_an_error():
    with pytest.raises(ValueError, match="backend 'annoy'"):
        search(np.ones((1, 2)), np.ones((3, 2)), 1, backend="annoy")
