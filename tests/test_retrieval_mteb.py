"""MTEB's Hugging Face layout (configs corpus / queries / default as parquet, declared in the repo card) read from
a local snapshot found through a task's dataset pin and --data_dir: the same per-query scores as the same data in
BEIR's folder layout, dangling judgments skipped and shown, the conventional folder layout without a card, and
one-line errors for a missing config or column."""

import json
import sqlite3

import pytest

from conftest import one_line_error

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

CORPUS = [
    ("MED-10", "Statins", "statin use and breast cancer survival"),
    ("MED-14", "Vitamin D", "bone health"),
    ("MED-118", "Fibre", "dietary fibre and colon cancer"),
    ("MED-306", "Dairy", "milk intake and bone risk"),
]
QUERIES = [("PLAIN-3", "breast cancer statin"), ("PLAIN-12", "milk and bone")]
QRELS = [
    ("PLAIN-3", "MED-10", 2),
    ("PLAIN-3", "MED-118", 1),
    ("PLAIN-2", "MED-14", 1),
    ("PLAIN-12", "MED-306", 2),
    ("PLAIN-12", "MED-14", 1),
    ("PLAIN-12", "MED-999", 1),
]
CARD = """---
configs:
- config_name: corpus
  data_files:
  - split: corpus
    path: corpus/corpus-*.parquet
- config_name: queries
  data_files:
  - split: queries
    path: queries/queries-*.parquet
- config_name: default
  data_files:
  - split: test
    path: qrels/test.parquet
---
# NFCorpus (fixture)
"""


def _parquet(path, rows, names):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}), path)


def _snapshot(root, card=True):
    """An MTEB repo snapshot; ``card=False``: no README configs, the conventional folders."""
    root.mkdir(parents=True)
    _parquet(root / "corpus" / "corpus-00000-of-00001.parquet", CORPUS, ["_id", "title", "text"])
    _parquet(root / "queries" / "queries-00000-of-00001.parquet", QUERIES, ["_id", "text"])
    qrels = [(q, c, float(s)) for q, c, s in QRELS]  # MTEB's qrels hold float scores
    if card:
        (root / "README.md").write_text(CARD)
        _parquet(root / "qrels" / "test.parquet", qrels, ["query-id", "corpus-id", "score"])
    else:
        _parquet(root / "data" / "test-00000-of-00001.parquet", qrels, ["query-id", "corpus-id", "score"])
    return root


def _beir(root):
    root.mkdir()
    (root / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in CORPUS)
    )
    (root / "queries.jsonl").write_text("".join(json.dumps({"_id": i, "text": x}) + "\n" for i, x in QUERIES))
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{c}\t{s}\n" for q, c, s in QRELS)
    )
    return root


def _tasks(folder, name, source, pin=""):
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(
        f"name: mteb/{name}\nkind: retrieval\n{pin}source: {source}\nmetrics: [recall@1, ndcg@10, map, mrr]\n"
        f"primary_metric: ndcg@10\noptions: {{mode: q2i, modalities: [text]}}\n"
    )
    return folder


def _scores(out):
    rows = (
        sqlite3.connect(out / "harness.sqlite")
        .execute("SELECT sample_id, scores FROM records WHERE sample_id LIKE 'query:%'")
        .fetchall()
    )
    return {sid: json.loads(s) for sid, s in rows}


def test_mteb_snapshot_found_by_its_pin_scores_like_the_beir_folder(cli, tmp_path):
    data_dir = tmp_path / "data"
    _snapshot(data_dir / "mteb" / "nfcorpus")
    pin = "dataset: {hf_id: mteb/nfcorpus, revision: ec0fa4fe99da2ff19ca1214b7966684033a58814}\n"
    tasks = _tasks(tmp_path / "tasks", "nfcorpus", "{loader: retrieval_mteb, args: {split: test}}", pin)
    proc = cli(
        "eval",
        "--task",
        "mteb/nfcorpus",
        "--include",
        tasks,
        "--data_dir",
        data_dir,
        "--model",
        "bow",
        "-o",
        tmp_path / "r",
        "--no-progress",
        check_rc=0,
    )
    assert "skipped 2 row(s)" in proc.stderr and "PLAIN-2" in proc.stderr and "MED-999" in proc.stderr
    beir = _beir(tmp_path / "beir")
    _tasks(tmp_path / "tasks2", "beir", f"{{loader: retrieval_folder, args: {{path: '{beir}'}}}}")
    cli(
        "eval",
        "--task",
        "mteb/beir",
        "--include",
        tmp_path / "tasks2",
        "--model",
        "bow",
        "-o",
        tmp_path / "b",
        "--no-progress",
        check_rc=0,
    )
    got, want = _scores(tmp_path / "r"), _scores(tmp_path / "b")
    assert set(got) == {"query:PLAIN-3", "query:PLAIN-12"} and got == want


def test_conventional_folders_without_a_card(cli, tmp_path):
    snap = _snapshot(tmp_path / "snap", card=False)
    tasks = _tasks(tmp_path / "tasks", "plain", f"{{loader: retrieval_mteb, args: {{path: '{snap}'}}}}")
    out = cli(
        "eval",
        "--task",
        "mteb/plain",
        "--include",
        tasks,
        "--model",
        "bow",
        "-o",
        tmp_path / "r",
        "--no-progress",
        check_rc=0,
    ).stdout
    assert "failed samples: 0 of 6" in out  # 4 documents + 2 judged queries


@pytest.mark.parametrize(
    "breakage, needles",
    [
        ("no qrels split", ["config 'default' has no split 'test'"]),
        ("missing column", ["corpus-00000-of-00001.parquet", "missing column '_id'"]),
    ],
)
def test_broken_snapshot_is_a_one_line_error(cli, tmp_path, breakage, needles):
    snap = _snapshot(tmp_path / "snap")
    if breakage == "no qrels split":
        (snap / "README.md").write_text(CARD.replace("split: test", "split: dev"))
    else:
        _parquet(snap / "corpus" / "corpus-00000-of-00001.parquet", CORPUS, ["id", "title", "text"])
    tasks = _tasks(tmp_path / "tasks", "bad", f"{{loader: retrieval_mteb, args: {{path: '{snap}'}}}}")
    proc = cli(
        "eval", "--task", "mteb/bad", "--include", tasks, "--model", "bow", "-o", tmp_path / "r", "--no-progress"
    )
    one_line_error(proc, *needles)
