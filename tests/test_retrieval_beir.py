"""BEIR folders as released, with their dangling judgments: an ArguAna-shaped folder (a qrels line naming a corpus
id missing from corpus.jsonl, beir#101/#172; every query also in the corpus) and an NFCorpus-shaped one (qrels
naming query PLAIN-2, absent from queries.jsonl, beir#202). Both load with the dangling rows skipped, counted and
shown by ``harness show``; ``--strict-data`` refuses them; per-query scores equal pytrec_eval on the same run
(BEIR's evaluation), with the dangling judgment dropped (default) or kept (``dangling: keep``)."""

import json
import sqlite3

import numpy as np
import pytest

from conftest import one_line_error

pytrec_eval = pytest.importorskip("pytrec_eval")

ARGUANA_CORPUS = [  # ArguAna: "_id", "title", "text", "metadata"; queries are corpus arguments too
    ("test-environment-aeghhgwpe-pro02a", "animals zoos", "zoos protect endangered animals from extinction"),
    ("test-environment-aeghhgwpe-con01a", "animals zoos", "zoos keep wild animals in small cages"),
    ("test-environment-aeghhgwpe-pro03b", "", "captive breeding returns animals to the wild"),
    ("test-economy-bepighwbe-pro01a", "economy tax", "a flat tax is simple and fair"),
    ("test-economy-bepighwbe-con02a", "economy tax", "a flat tax favours the rich over the poor"),
    ("test-economy-bepighwbe-pro04b", "", "simple tax rules cut the cost of compliance"),
]
ARGUANA_QUERIES = [
    ("test-environment-aeghhgwpe-pro02a", "zoos protect endangered animals from extinction"),
    ("test-economy-bepighwbe-pro01a", "a flat tax is simple and fair"),
]
ARGUANA_QRELS = [
    ("test-environment-aeghhgwpe-pro02a", "test-environment-aeghhgwpe-con01a", 1),
    ("test-economy-bepighwbe-pro01a", "test-economy-bepighwbe-con02a", 1),
    ("test-economy-bepighwbe-pro01a", "test-economy-bepighwbe-con05b", 1),  # not in the corpus
]
NFCORPUS_CORPUS = [
    ("MED-10", "Statin use and breast cancer", "statin use after diagnosis and breast cancer survival"),
    ("MED-14", "Vitamin D", "vitamin d supplements and bone health in older women"),
    ("MED-118", "Dietary fibre", "dietary fibre intake lowers colon cancer risk"),
    ("MED-301", "Soy", "soy food intake and breast cancer recurrence"),
    ("MED-306", "Dairy", "milk intake and bone fracture risk"),
]
NFCORPUS_QUERIES = [("PLAIN-3", "breast cancer cells feed on cholesterol"), ("PLAIN-12", "milk and bones")]
NFCORPUS_QRELS = [
    ("PLAIN-3", "MED-10", 2),
    ("PLAIN-3", "MED-301", 1),
    ("PLAIN-3", "MED-118", 1),
    ("PLAIN-2", "MED-10", 2),
    ("PLAIN-2", "MED-14", 1),  # PLAIN-2 is not in queries.jsonl
    ("PLAIN-12", "MED-306", 2),
    ("PLAIN-12", "MED-14", 1),
]
METRICS = ["recall@1", "recall@5", "ndcg@10", "map", "mrr"]
TREC = {"recall@1": "recall_1", "recall@5": "recall_5", "ndcg@10": "ndcg_cut_10", "map": "map", "mrr": "recip_rank"}


def _beir_folder(root, corpus, queries, qrels):
    root.mkdir()
    with open(root / "corpus.jsonl", "w") as f:
        for _id, title, text in corpus:
            f.write(json.dumps({"_id": _id, "title": title, "text": text, "metadata": {}}) + "\n")
    with open(root / "queries.jsonl", "w") as f:
        for _id, text in queries:
            f.write(json.dumps({"_id": _id, "text": text, "metadata": {}}) + "\n")
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{c}\t{s}\n" for q, c, s in qrels)
    )
    return root


def _task(folder, data, name, dangling="skip", **options):
    folder.mkdir(exist_ok=True)
    opts = ", ".join(f"{k}: {json.dumps(v)}" for k, v in {"mode": "q2i", "modalities": ["text"], **options}.items())
    (folder / f"{name}.yaml").write_text(
        f"name: beir/{name}\nkind: retrieval\nsource: {{loader: retrieval_folder, args: {{path: '{data}', "
        f"dangling: {dangling}}}}}\nmetrics: {json.dumps(METRICS)}\nprimary_metric: ndcg@10\noptions: {{{opts}}}\n"
    )
    return folder


@pytest.fixture
def arguana(tmp_path):
    return _beir_folder(tmp_path / "arguana", ARGUANA_CORPUS, ARGUANA_QUERIES, ARGUANA_QRELS)


@pytest.fixture
def nfcorpus(tmp_path):
    return _beir_folder(tmp_path / "nfcorpus", NFCORPUS_CORPUS, NFCORPUS_QUERIES, NFCORPUS_QRELS)


def _per_query(out):
    rows = (
        sqlite3.connect(out / "harness.sqlite")
        .execute("SELECT sample_id, scores FROM records WHERE sample_id LIKE 'query:%'")
        .fetchall()
    )
    return {sid.removeprefix("query:"): json.loads(s) for sid, s in rows}


def _beir_reference(corpus, queries, qrels, ignore_identical_ids=False, drop_dangling=True):
    """BEIR's pipeline on the same bow embeddings: GenericDataLoader's dicts (title + " " + text, as the bow
    adapter is given here), exhaustive cosine scores, EvaluateRetrieval's identical-id filter, pytrec_eval."""
    from harness_baselines.simple.embedders import BowEmbedder

    bow = BowEmbedder()
    docs = {d: " ".join(t for t in (title, text) if t) for d, title, text in corpus}
    qtext = dict(queries)
    judged = {}
    for q, c, s in qrels:
        if q in qtext and (c in docs or not drop_dangling):
            judged.setdefault(q, {})[c] = s
    dv = np.asarray(bow.embed([{"text": t} for t in docs.values()], frozenset({"text"}), [0] * len(docs)))
    dv /= np.maximum(np.linalg.norm(dv, axis=1, keepdims=True), 1e-12)
    run = {}
    for q, text in qtext.items():
        qv = np.asarray(bow.embed([{"text": text}], frozenset({"text"}), [0]))[0]
        qv /= max(np.linalg.norm(qv), 1e-12)
        run[q] = {
            d: float(s) for d, s in zip(docs, (dv @ qv).astype(np.float32)) if not (ignore_identical_ids and d == q)
        }
    evaluator = pytrec_eval.RelevanceEvaluator(judged, set(TREC.values()))
    return evaluator.evaluate(run)


def _check(got, want):
    assert set(got) == set(want)
    for q in want:
        for ours, theirs in TREC.items():
            assert got[q][ours] == pytest.approx(want[q][theirs], abs=1e-9), (q, ours)


@pytest.mark.parametrize("dangling", ["skip", "keep"])
def test_arguana_scores_like_beir_and_pytrec_eval(cli, tmp_path, arguana, dangling):
    tasks = _task(tmp_path / "tasks", arguana, "arguana", dangling=dangling, ignore_identical_ids=True)
    proc = cli(
        "eval",
        "--task",
        "beir/arguana",
        "--include",
        tasks,
        "--model",
        "bow",
        "-o",
        tmp_path / "r",
        "--no-progress",
        check_rc=0,
    )
    want = _beir_reference(
        ARGUANA_CORPUS, ARGUANA_QUERIES, ARGUANA_QRELS, ignore_identical_ids=True, drop_dangling=dangling == "skip"
    )
    _check(_per_query(tmp_path / "r"), want)
    if dangling == "skip":
        assert "skipped 1 row" in proc.stderr and "test-economy-bepighwbe-con05b" in proc.stderr
        # the dangling judgment is gone from the denominator: both relevant documents of q2 are found
        assert want["test-economy-bepighwbe-pro01a"]["recall_5"] == 1.0
    else:
        assert want["test-economy-bepighwbe-pro01a"]["recall_5"] == 0.5  # BEIR's number, missing doc counted
        assert "skipped" not in proc.stderr


def test_without_ignore_identical_ids_each_arguana_query_finds_itself_first(cli, tmp_path, arguana):
    tasks = _task(tmp_path / "tasks", arguana, "arguana")
    cli(
        "eval",
        "--task",
        "beir/arguana",
        "--include",
        tasks,
        "--model",
        "bow",
        "-o",
        tmp_path / "r",
        "--no-progress",
        check_rc=0,
    )
    got = _per_query(tmp_path / "r")
    assert all(s["recall@1"] == 0 for s in got.values())  # its own text ranks first, and is not judged relevant
    _check(got, _beir_reference(ARGUANA_CORPUS, ARGUANA_QUERIES, ARGUANA_QRELS))


def test_nfcorpus_judgments_of_an_absent_query_are_skipped_and_shown(cli, tmp_path, nfcorpus):
    tasks = _task(tmp_path / "tasks", nfcorpus, "nfcorpus")
    proc = cli(
        "eval",
        "--task",
        "beir/nfcorpus",
        "--include",
        tasks,
        "--model",
        "bow",
        "-o",
        tmp_path / "r",
        "--no-progress",
        check_rc=0,
    )
    assert "skipped 2 row(s)" in proc.stderr and "PLAIN-2" in proc.stderr
    _check(_per_query(tmp_path / "r"), _beir_reference(NFCORPUS_CORPUS, NFCORPUS_QUERIES, NFCORPUS_QRELS))
    (result,) = (tmp_path / "r").glob("beir/nfcorpus/*.json")
    data = json.loads(result.read_text())
    assert data["n_skipped"] == 2 and all("PLAIN-2" in r for r in data["skipped"].values())
    (run_id,) = [r[0] for r in sqlite3.connect(tmp_path / "r" / "harness.sqlite").execute("SELECT run_id FROM runs")]
    shown = cli("show", run_id, "-o", tmp_path / "r", check_rc=0)
    assert "skipped rows (unscorable in the data, not in N): 2" in shown.stdout and "PLAIN-2" in shown.stdout


def test_strict_data_refuses_dangling_judgments(cli, tmp_path, nfcorpus):
    tasks = _task(tmp_path / "tasks", nfcorpus, "nfcorpus")
    proc = cli(
        "eval",
        "--task",
        "beir/nfcorpus",
        "--include",
        tasks,
        "--model",
        "bow",
        "-o",
        tmp_path / "r",
        "--no-progress",
        "--strict-data",
    )
    one_line_error(proc, "beir/nfcorpus", "--strict-data", "PLAIN-2")
    assert not list((tmp_path / "r").glob("**/*.json"))
