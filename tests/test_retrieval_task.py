"""The retrieval kind through the real CLI: the BEIR-style fixture folder scored by the ``bow`` baseline (values
derived by hand below), i2i self-exclusion, the modality switch, and one-line errors (exit code 2) for bad data and
for embedders breaking their contract."""

import json
import math
import shutil
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from conftest import FIXTURES, REPO, one_line_error

DATA = FIXTURES / "retrieval_local"
TASKS = FIXTURES / "retrieval_tasks"
LOG2_3 = math.log2(3)

# bow = cosine of term counts. Fixture texts: d1 "red apple fruit", d2 "green apple fruit", d3 "yellow banana fruit",
# d4 "blue ocean water", d5 "blue sky", d6 "dog barking sound". Ties are ranked by corpus id descending (trec_eval).
#   q1 "apple" (d1=2, d2=1, d3=0): d1 and d2 tie at 1/sqrt(3) -> d2, d1, then d6 d5 d4 d3 at 0.
#       recall@1 = 1/2, mrr = 1, map = (1/1 + 2/2)/2 = 1, ndcg@10 = (1 + 2/log2 3) / (2 + 1/log2 3).
#   q2 "blue water" (d4=1): d4 = 2/sqrt(6) > d5 = 1/2 > rest: perfect.
#   q3 "a sound of the sea" (d4=1): d6 shares "sound", then d5, d4, ... tie at 0 -> d4 at rank 3:
#       recall@1 = 0, recall@5 = 1, mrr = map = 1/3, ndcg@10 = (1/log2 4) / 1 = 1/2.
EXPECTED = {
    "query:q1": {
        "recall@1": 0.5,
        "recall@5": 1.0,
        "recall@10": 1.0,
        "recall@100": 1.0,
        "ndcg@10": (1 + 2 / LOG2_3) / (2 + 1 / LOG2_3),
        "map": 1.0,
        "mrr": 1.0,
    },
    "query:q2": {
        "recall@1": 1.0,
        "recall@5": 1.0,
        "recall@10": 1.0,
        "recall@100": 1.0,
        "ndcg@10": 1.0,
        "map": 1.0,
        "mrr": 1.0,
    },
    "query:q3": {
        "recall@1": 0.0,
        "recall@5": 1.0,
        "recall@10": 1.0,
        "recall@100": 1.0,
        "ndcg@10": 0.5,
        "map": 1 / 3,
        "mrr": 1 / 3,
    },
}
VOCAB = "red green yellow apple banana fruit blue ocean water sky dog barking sound a of the sea".split()


def _eval(cli, out, *args, task="retrieval/local-fixture", include=TASKS, model="bow", **kw):
    return cli("eval", "--task", task, "--include", include, "--model", model, "-o", out, "--no-progress", *args, **kw)


def _result(out, task="retrieval/local-fixture"):
    files = list(out.glob(f"{task}/*.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())


def _per_sample(out):
    rows = sqlite3.connect(out / "harness.sqlite").execute("SELECT sample_id, scores, error FROM records").fetchall()
    return {sid: (json.loads(s) if s else None, err) for sid, s, err in rows}


def _task_yaml(folder, data=DATA, name="retrieval/tmp", **options):
    folder.mkdir(exist_ok=True)
    opts = ", ".join(f"{k}: {json.dumps(v)}" for k, v in options.items())
    (folder / "t.yaml").write_text(
        f"name: {name}\nkind: retrieval\nsource: {{loader: retrieval_folder, args: {{path: '{data}', size: 8}}}}\n"
        f"metrics: [recall@1, recall@5, ndcg@10, map, mrr]\nprimary_metric: ndcg@10\noptions: {{{opts}}}\n"
    )
    return folder


def test_fixture_vocabulary_has_no_bow_hash_collisions():
    """The hand-derived values assume every fixture word has its own bucket."""
    from harness_baselines.simple.embedders import BowEmbedder

    bow = BowEmbedder()
    assert len({bow._bucket(w) for w in VOCAB}) == len(VOCAB)


def test_bow_on_the_fixture_gives_the_hand_computed_scores(cli, tmp_path):
    out = _eval(cli, tmp_path, check_rc=0).stdout
    assert "failed samples: 0 of 9" in out and "9 computed, 0 cached" in out  # 6 items + 3 queries
    records = _per_sample(tmp_path)
    assert {sid for sid, (scores, _) in records.items() if scores} == set(EXPECTED)
    for qid, expected in EXPECTED.items():
        assert records[qid][0] == pytest.approx(expected, abs=1e-6), qid
    agg = _result(tmp_path)["aggregates"]
    for metric in EXPECTED["query:q1"]:
        mean = sum(e[metric] for e in EXPECTED.values()) / 3
        assert agg["all"][metric]["value"] == pytest.approx(mean, abs=1e-6) and agg["all"][metric]["n"] == 3
    assert agg["subset=audio"]["mrr"]["value"] == pytest.approx(1 / 3) and agg["subset=text"]["mrr"]["n"] == 2
    assert "0 computed, 9 cached" in _eval(cli, tmp_path, check_rc=0).stdout


def test_limit_caps_queries_but_embeds_the_whole_gallery(cli, tmp_path):
    out = _eval(cli, tmp_path, "--limit", "1", check_rc=0).stdout
    assert "failed samples: 0 of 7" in out  # 6 gallery items + q1
    assert _result(tmp_path)["aggregates"]["all"]["recall@1"] == {"value": 0.5, "ci_low": 0.5, "ci_high": 0.5, "n": 1}


def test_random_embed_runs_and_is_seeded(cli, tmp_path):
    first = _eval(cli, tmp_path / "a", model="random-embed", check_rc=0)
    second = _eval(cli, tmp_path / "b", model="random-embed", check_rc=0)
    assert _result(tmp_path / "a")["aggregates"] == _result(tmp_path / "b")["aggregates"], (first, second)


def test_i2i_ranks_group_members_and_excludes_the_query_itself(cli, tmp_path):
    tasks = _task_yaml(tmp_path / "tasks", mode="i2i")
    out = _eval(cli, tmp_path / "r", task="retrieval/tmp", include=tasks, check_rc=0).stdout
    assert "failed samples: 0 of 6" in out  # d6 is embedded, but only as a gallery item
    records = _per_sample(tmp_path / "r")
    # d6 has no group: a gallery item only. Everyone else finds its group mates first (bow), and never itself: with
    # itself ranked (cosine 1) every mrr would be 1/2.
    assert {sid for sid, (s, _) in records.items() if s} == {f"item:d{i}" for i in range(1, 6)}
    assert records["item:d6"] == (None, None)
    for i in range(1, 6):
        scores = records[f"item:d{i}"][0]
        assert scores["mrr"] == 1.0 and scores["map"] == 1.0 and scores["ndcg@10"] == pytest.approx(1.0)
        assert scores["recall@1"] == (0.5 if i <= 3 else 1.0)  # fruit has 2 other members, blue 1
    # --limit 2: queries d1 and d2; d3..d6 are still embedded, as gallery items.
    out = _eval(cli, tmp_path / "r2", "--limit", "2", task="retrieval/tmp", include=tasks, check_rc=0).stdout
    assert "failed samples: 0 of 6" in out
    assert {sid for sid, (s, _) in _per_sample(tmp_path / "r2").items() if s} == {"item:d1", "item:d2"}
    assert _result(tmp_path / "r2", "retrieval/tmp")["aggregates"]["all"]["mrr"]["n"] == 2


RECORDER = '''
import json
import numpy as np
from pydantic import BaseModel, ConfigDict
from harness.adapters import Embedder

class LogArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    log: str

class Recorder(Embedder):
    """Logs what it receives per item; embeds nothing useful."""
    Args = LogArgs
    def embed(self, items, modalities, seeds):
        with open(self.args.log, "a") as f:
            for it in items:
                audio = it.get("audio")
                f.write(json.dumps({"modalities": sorted(modalities), "keys": sorted(it), "text": it.get("text"),
                                    "image": list(it["image"].shape) if "image" in it else None,
                                    "audio": None if audio is None else [list(audio.shape), str(audio.dtype)],
                                    "sample_rate": it.get("sample_rate")}) + "\\n")
        return np.ones((len(items), 4), np.float32)

class NaNOnBanana(Embedder):
    def embed(self, items, modalities, seeds):
        out = np.ones((len(items), 4), np.float32)
        out[["banana" in (it.get("text") or "") for it in items]] = np.nan
        return out

class TooFew(Embedder):
    def embed(self, items, modalities, seeds):
        return np.ones((len(items) - 1, 4), np.float32)

class DimPerBatch(Embedder):
    def embed(self, items, modalities, seeds):
        return np.ones((len(items), 3 + len(items)), np.float32)
'''


@pytest.fixture
def embedders(tmp_path):
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "test_embedders.py").write_text(textwrap.dedent(RECORDER))
    return d


@pytest.mark.parametrize("modalities", [["text", "image", "audio"], ["text", "image"]])
def test_modality_switch_controls_the_keys_the_embedder_receives(cli, tmp_path, embedders, modalities):
    tasks = _task_yaml(tmp_path / "tasks", modalities=modalities)
    log = tmp_path / "log.jsonl"
    _eval(
        cli,
        tmp_path / "r",
        "--model_args",
        f"log={log}",
        task="retrieval/tmp",
        include=tasks,
        model="test_embedders:Recorder",
        pythonpath=embedders,
        check_rc=0,
    )
    seen = {row["text"]: row for row in map(json.loads, log.read_text().splitlines())}
    assert len(seen) == 9 and all(row["modalities"] == sorted(modalities) for row in seen.values())
    audio = "audio" in modalities
    with_audio = ["audio", "image", "sample_rate", "text"] if audio else ["image", "text"]
    assert seen["blue ocean water"]["keys"] == with_audio and seen["dog barking sound"]["keys"] == with_audio
    assert seen["red apple fruit"]["keys"] == ["image", "text"] and seen["red apple fruit"]["image"] == [8, 8, 3]
    assert seen["apple"]["keys"] == ["text"]
    assert seen["a sound of the sea"]["keys"] == (["audio", "sample_rate", "text"] if audio else ["text"])
    if audio:  # the stereo 16-bit WAV arrives as float32 mono at its own rate
        ocean = seen["blue ocean water"]
        assert ocean["audio"] == [[400], "float32"] and ocean["sample_rate"] == 8000


def _append(path, text):
    path.write_text(path.read_text() + text)


def _truncate_wav(path):
    path.write_bytes(path.read_bytes()[:-100])


BREAKAGES = {
    "missing corpus": (lambda d: (d / "corpus.jsonl").unlink(), ["corpus.jsonl", "file not found"]),
    "malformed json": (
        lambda d: _append(d / "corpus.jsonl", '{"_id": "d7", "text": \n'),
        ["corpus.jsonl:7", "malformed JSON"],
    ),
    "duplicate id": (
        lambda d: _append(d / "corpus.jsonl", '{"_id": "d2", "text": "again"}\n'),
        ["corpus.jsonl:7", "field '_id': duplicate id 'd2'", "line 2"],
    ),
    # dangling judgments (an unknown query or corpus id) are skipped rows, refused with --strict-data
    "unknown query": (
        lambda d: _append(d / "qrels/test.tsv", "q9\td1\t1\n"),
        ["--strict-data", "test.tsv:7", "query 'q9' is not in the queries"],
    ),
    "unknown corpus id": (
        lambda d: _append(d / "qrels/test.tsv", "q1\td99\t1\n"),
        ["--strict-data", "test.tsv:7", "corpus id 'd99' is not in the corpus"],
    ),
    "missing qrels": (lambda d: shutil.rmtree(d / "qrels"), ["test.tsv", "file not found"]),
    "missing image": (lambda d: (d / "images/d3.png").unlink(), ["d3.png", "image file not found", "corpus.jsonl:3"]),
    "missing audio": (
        lambda d: (d / "audio/bark.wav").unlink(),
        ["bark.wav", "audio file not found", "corpus.jsonl:6"],
    ),
    "corrupt wav": (lambda d: (d / "audio/bark.wav").write_bytes(b"RIFF....not a wav"), ["bark.wav", "corrupt WAV"]),
    "truncated wav": (lambda d: _truncate_wav(d / "audio/waves.wav"), ["waves.wav", "corrupt WAV"]),
}


@pytest.mark.parametrize("case", BREAKAGES)
def test_bad_data_is_a_one_line_error_naming_the_file(cli, tmp_path, case):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    breaks, needles = BREAKAGES[case]
    breaks(data)
    tasks = _task_yaml(tmp_path / "tasks", data=data)
    one_line_error(_eval(cli, tmp_path / "r", "--strict-data", task="retrieval/tmp", include=tasks), *needles)
    assert not list((tmp_path / "r").glob("**/*.json"))


def test_unjudged_queries_are_dropped_like_beir(cli, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    _append(data / "queries.jsonl", '{"_id": "q4", "text": "never judged"}\n')
    tasks = _task_yaml(tmp_path / "tasks", data=data)
    out = _eval(cli, tmp_path / "r", task="retrieval/tmp", include=tasks, check_rc=0).stdout
    assert "failed samples: 0 of 9" in out  # q4 is not a unit


@pytest.mark.parametrize(
    "adapter, needles",
    [
        ("NaNOnBanana", ["broke the Embedder contract", "non-finite embedding", "'item:d3'"]),
        # batches never mix roles: the 6 documents, then the 3 queries
        ("TooFew", ["broke the Embedder contract", "for a batch of 6", "'item:d6'"]),
        ("DimPerBatch", ["broke the Embedder contract", "'query:q1'", "(6,)", "(9,)"]),
    ],
)
def test_embedder_breaking_the_contract_is_an_error(cli, tmp_path, embedders, adapter, needles):
    proc = _eval(cli, tmp_path, model=f"test_embedders:{adapter}", pythonpath=embedders)
    one_line_error(proc, *needles)
    assert not list(tmp_path.glob("**/*.json"))


def test_listing_retrieval_tasks_does_not_import_torch():
    code = (
        "import sys; from harness.cli import app\n"
        f"app(['list', 'tasks', '--include', {str(TASKS)!r}], standalone_mode=False)\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert "retrieval/local-fixture" in out.stdout
