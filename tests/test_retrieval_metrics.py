"""harness.metrics.retrieval against the reference implementations: ``evaluate`` equals pytrec_eval (trec_eval) on
random runs full of ties, with graded / negative / empty judgments; ``search`` equals a brute-force full sort.

Needs pytrec-eval-terrier (``pip install pytrec-eval-terrier``)."""

import numpy as np
import pytest
import pytrec_eval  # dev dependency (pytrec-eval-terrier): the reference these metrics must equal

from harness.metrics.retrieval import evaluate, search

METRICS = {
    "recall@1": "recall_1",
    "recall@5": "recall_5",
    "recall@10": "recall_10",
    "recall@100": "recall_100",
    "ndcg@10": "ndcg_cut_10",
    "ndcg@3": "ndcg_cut_3",
    "map": "map",
    "mrr": "recip_rank",
}
TREC_MEASURES = {"recall.1,5,10,100", "ndcg_cut.3,10", "map", "recip_rank"}


def _random_case(rng: np.random.Generator):
    """qrels and run over a small document pool, so documents are shared and scores tie often. Covers queries
    absent from the qrels, with an empty judgment dict, with only non-relevant or negative judgments, absent from
    the run, with an empty ranking; ids whose string order differs from numeric order, and non-ASCII ids."""
    pool = [f"d{i}" for i in rng.choice(200, size=int(rng.integers(1, 40)), replace=False)]
    pool += ["é1", "Z", "a b"][: int(rng.integers(0, 4))]
    integer_scores = rng.random() < 0.7  # few distinct values -> many ties
    qrels, run = {}, {}
    for i in range(int(rng.integers(1, 60))):
        q = f"q{i}"
        if rng.random() < 0.9:
            judged = rng.choice(pool, size=int(rng.integers(0, len(pool) + 1)), replace=False)
            qrels[q] = {d: int(rng.choice([-1, 0, 0, 1, 1, 2, 3])) for d in judged}
        if rng.random() < 0.95:
            ranked = rng.choice(pool, size=int(rng.integers(0, len(pool) + 1)), replace=False)
            values = rng.integers(0, 4, len(ranked)) if integer_scores else rng.standard_normal(len(ranked))
            run[q] = {d: float(v) for d, v in zip(ranked, values)}
    return qrels, run


@pytest.mark.parametrize("seed", range(40))
def test_evaluate_equals_pytrec_eval_on_random_runs_with_ties(seed):
    qrels, run = _random_case(np.random.default_rng(seed))
    expected = pytrec_eval.RelevanceEvaluator(qrels, TREC_MEASURES).evaluate(run)
    got = evaluate(qrels, run, list(METRICS))
    assert set(got) == set(expected)  # same queries scored (and left out)
    for q, values in expected.items():
        for ours, theirs in METRICS.items():
            assert got[q][ours] == pytest.approx(values[theirs], abs=1e-9), (q, ours)


def test_ties_are_broken_by_document_id_descending_like_trec_eval():
    qrels = {"q": {"a": 1, "d10": 1}}
    run = {"q": {"a": 1.0, "b": 1.0, "d10": 1.0, "d9": 1.0}}  # trec_eval order: d9, d10, b, a
    got = evaluate(qrels, run, ["mrr", "map"])["q"]
    assert got["mrr"] == 0.5 and got["map"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(run)["q"]["recip_rank"] == 0.5


def test_queries_without_judgments_are_left_out_and_unjudged_relevance_scores_zero():
    qrels = {"judged": {"a": 1}, "no_relevant": {"a": 0}, "empty": {}}
    run = {q: {"a": 1.0} for q in ("judged", "no_relevant", "empty", "absent")}
    got = evaluate(qrels, run, ["map", "ndcg@10", "recall@1", "mrr"])
    assert set(got) == {"judged", "no_relevant"}
    assert got["judged"] == {"map": 1.0, "ndcg@10": 1.0, "recall@1": 1.0, "mrr": 1.0}
    assert got["no_relevant"] == {"map": 0.0, "ndcg@10": 0.0, "recall@1": 0.0, "mrr": 0.0}


def test_evaluate_rejects_unknown_metric_names():
    with pytest.raises(ValueError, match="precision@5"):
        evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, ["precision@5"])


def _brute_force(queries, gallery, k):
    scores = queries @ gallery.T
    index = np.broadcast_to(np.arange(len(gallery)), scores.shape)
    order = np.lexsort((index, -scores), axis=-1)[:, :k]  # score descending, then lower index first
    return np.take_along_axis(scores, order, 1), order


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("block", [1, 3, 16, 1000])
def test_search_equals_a_full_sort_including_ties(seed, block):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 6))
    # Small integer vectors: every product is exact in float32, so many scores tie exactly.
    queries = rng.integers(-2, 3, size=(int(rng.integers(1, 30)), d)).astype(np.float32)
    gallery = rng.integers(-2, 3, size=(int(rng.integers(1, 200)), d)).astype(np.float32)
    gallery[::7] *= -1  # zeros become -0.0: they must tie with +0.0
    k = int(rng.integers(1, 60))
    scores, index = search(queries, gallery, k, block=block)
    want_scores, want_index = _brute_force(queries, gallery, k)
    assert index.shape == (len(queries), min(k, len(gallery)))
    np.testing.assert_array_equal(index, want_index)
    np.testing.assert_array_equal(scores, want_scores)
    assert scores.dtype == np.float32 and index.dtype == np.int64


def test_search_float_vectors_and_edge_sizes():
    rng = np.random.default_rng(0)
    queries, gallery = rng.standard_normal((5, 8)).astype(np.float32), rng.standard_normal((37, 8)).astype(np.float32)
    scores, index = search(queries, gallery, 10, block=4)
    np.testing.assert_array_equal(index, np.argsort(-(queries @ gallery.T), axis=1, kind="stable")[:, :10])
    assert (np.diff(scores, axis=1) <= 0).all()
    assert search(queries, gallery[:0], 5)[1].shape == (5, 0)
    assert search(queries[:0], gallery, 5)[1].shape == (0, 5)
