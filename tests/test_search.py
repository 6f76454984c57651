"""Exact search (harness.search): the faiss backend equals a brute-force full sort of the reference scores, ties
included, whatever the thread count; memory-mapped .npy shards give the unsharded result exactly; the approximate
index is labelled and its recall measured against exact search."""

import numpy as np
import pytest

from harness.search import reference_scores, search, search_shards

pytest.importorskip("faiss")


def brute_force(q, g, k):
    """Full sort of the reference scores: score descending, then gallery index ascending."""
    s = reference_scores(q, g)
    order = np.lexsort((np.broadcast_to(np.arange(g.shape[0]), s.shape), -s), axis=1)[:, :k]
    return np.take_along_axis(s, order, 1), order


def _float_data(seed, nq=40, ng=3000, d=24, dup=True):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((nq, d), np.float32)
    g = rng.standard_normal((ng, d), np.float32)
    if dup:  # exact duplicates: equal reference scores, which must be ordered by index
        g[rng.choice(ng, 300, replace=False)] = g[rng.choice(ng, 300, replace=False)]
    return q, g


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_faiss_backend_equals_a_full_sort_of_the_reference_scores(seed, threads):
    q, g = _float_data(seed)
    want = brute_force(q, g, 50)
    got = search(q, g, 50, backend="faiss", threads=threads)
    assert np.array_equal(got[1], want[1]) and np.array_equal(got[0], want[0])


@pytest.mark.parametrize("k", [1, 7, 100])
def test_ties_crossing_the_cut_are_recomputed_exactly(k):
    """Small integers: every score is exact and most rows tie across the k-th place, so FAISS's choice among the
    tied items is arbitrary; the rows at risk are recomputed and the result is the full sort's."""
    rng = np.random.default_rng(k)
    q = rng.integers(-2, 3, (30, 6)).astype(np.float32)
    g = rng.integers(-2, 3, (700, 6)).astype(np.float32)
    got = search(q, g, k, backend="faiss", threads=2)
    want = brute_force(q, g, k)
    assert np.array_equal(got[1], want[1]) and np.array_equal(got[0], want[0])


def test_memory_mapped_shards_give_the_unsharded_result(tmp_path):
    q, g = _float_data(7, ng=5000)
    paths = []
    for n, (a, b) in enumerate([(0, 1200), (1200, 1201), (1201, 4000), (4000, 5000)]):
        np.save(tmp_path / f"s{n}.npy", g[a:b])
        paths.append(tmp_path / f"s{n}.npy")
    whole = search(q, g, 100, backend="faiss")
    shards = search_shards(q, paths, 100, backend="faiss")
    assert np.array_equal(whole[1], shards[1]) and np.array_equal(whole[0], shards[0])
    assert np.array_equal(shards[1], brute_force(q, g, 100)[1])


def test_a_shard_of_the_wrong_width_is_named(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="bad.npy"):
        search_shards(np.zeros((2, 4), np.float32), [tmp_path / "bad.npy"], 2)


def test_numpy_and_faiss_backends_agree_on_float_embeddings():
    q, g = _float_data(3, dup=False)
    a, b = search(q, g, 100, backend="numpy"), search(q, g, 100, backend="faiss")
    assert (a[1] == b[1]).mean() > 0.999 and np.allclose(a[0], b[0], atol=1e-5)


@pytest.mark.parametrize("index", ["hnsw", "ivf"])
def test_approximate_index_is_measured_against_exact_search(index):
    from harness.search import recall_at_k, search_approx

    q, g = _float_data(5, nq=60, ng=4000, d=16, dup=False)
    exact = search(q, g, 20, backend="faiss")[1]
    approx = search_approx(q, g, 20, index=index, nprobe=64)[1]
    recall = recall_at_k(approx, exact)
    assert recall.shape == (60,) and 0.5 < recall.mean() <= 1.0
    assert recall_at_k(exact, exact).min() == 1.0 and recall_at_k(np.full_like(exact, -1), exact).max() == 0.0


def test_a_task_with_an_approximate_index_reports_its_recall(cli, tmp_path):
    import json
    import sqlite3

    from conftest import FIXTURES

    (tmp_path / "t.yaml").write_text(
        f"name: retrieval/approx\nkind: retrieval\nsource: {{loader: retrieval_folder, args: {{path: "
        f"'{FIXTURES / 'retrieval_local'}', size: 8}}}}\nmetrics: [recall@1, ndcg@10]\nprimary_metric: ndcg@10\n"
        f"options: {{mode: q2i, modalities: [text], search: hnsw}}\n"
    )
    proc = cli(
        "eval",
        "--task",
        "retrieval/approx",
        "--include",
        tmp_path,
        "--model",
        "bow",
        "-o",
        tmp_path / "r",
        "--no-progress",
        check_rc=0,
    )
    assert "approximate search (hnsw)" in proc.stderr and "of the exact top" in proc.stderr
    rows = (
        sqlite3.connect(tmp_path / "r" / "harness.sqlite")
        .execute("SELECT scores FROM records WHERE sample_id LIKE 'query:%'")
        .fetchall()
    )
    assert len(rows) == 3 and all(0 <= json.loads(s)["search_recall"] <= 1 for (s,) in rows)
