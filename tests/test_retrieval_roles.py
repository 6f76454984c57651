"""Query/document roles and per-role instructions in the Embedder contract, through the real CLI: a batch never
mixes roles, instructions reach the embedder and key the cache, embedders written before roles keep working, and
the shipped all-MiniLM-L6-v2 (hf-text) embeds queries with its role prefix."""

import json
import sqlite3
import textwrap

import numpy as np
import pytest

from conftest import FIXTURES, one_line_error

DATA = FIXTURES / "retrieval_local"

PLUGIN = '''
import json
import numpy as np
from pydantic import BaseModel, ConfigDict
from harness.adapters import Embedder

class LogArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    log: str

class RoleLogger(Embedder):
    """Logs (role, instruction, texts) per call; embeds the text length."""
    Args = LogArgs
    def embed(self, items, modalities, seeds, role="document", instruction=None):
        with open(self.args.log, "a") as f:
            f.write(json.dumps({"role": role, "instruction": instruction,
                                "texts": [it.get("text") for it in items]}) + "\\n")
        return np.array([[1.0, len(it.get("text") or "")] for it in items], np.float32)

class BeforeRoles(Embedder):
    """An embedder written against the three-argument contract."""
    def embed(self, items, modalities, seeds):
        return np.array([[1.0, len(it.get("text") or "")] for it in items], np.float32)
'''


@pytest.fixture
def plugins(tmp_path):
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "role_embedders.py").write_text(textwrap.dedent(PLUGIN))
    return d


def _tasks(folder, instructions=None, mode="q2i"):
    folder.mkdir(exist_ok=True)
    opts = f"mode: {mode}, modalities: [text]"
    if instructions:
        opts += f", instructions: {json.dumps(instructions)}"
    (folder / "t.yaml").write_text(
        f"name: retrieval/roles\nkind: retrieval\nsource: {{loader: retrieval_folder, args: {{path: '{DATA}', "
        f"size: 8}}}}\nmetrics: [recall@1, ndcg@10]\nprimary_metric: ndcg@10\noptions: {{{opts}}}\n"
    )
    return folder


def _eval(cli, tmp_path, tasks, model, *args, **kw):
    return cli(
        "eval",
        "--task",
        "retrieval/roles",
        "--include",
        tasks,
        "--model",
        model,
        "-o",
        tmp_path / "r",
        "--no-progress",
        *args,
        **kw,
    )


def _calls(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_batches_never_mix_roles_and_carry_the_roles_instruction(cli, tmp_path, plugins):
    tasks = _tasks(tmp_path / "tasks", {"query": "Find the item: ", "document": "Describe: "})
    log = tmp_path / "log.jsonl"
    # batch size 4 over 6 documents then 3 queries: a role-blind cut would put 2 queries with 2 documents
    _eval(
        cli,
        tmp_path,
        tasks,
        "role_embedders:RoleLogger",
        "--model_args",
        f"log={log}",
        "--batch_size",
        "4",
        pythonpath=plugins,
        check_rc=0,
    )
    calls = _calls(log)
    docs = [c for c in calls if c["role"] == "document"]
    queries = [c for c in calls if c["role"] == "query"]
    assert sorted(t for c in docs for t in c["texts"]) == sorted(
        [
            "red apple fruit",
            "green apple fruit",
            "yellow banana fruit",
            "blue ocean water",
            "blue sky",
            "dog barking sound",
        ]
    )
    assert sorted(t for c in queries for t in c["texts"]) == ["a sound of the sea", "apple", "blue water"]
    assert {c["instruction"] for c in docs} == {"Describe: "} and {c["instruction"] for c in queries} == {
        "Find the item: "
    }
    assert [len(c["texts"]) for c in calls] == [4, 2, 3]


def test_instructions_are_part_of_the_cache_key(cli, tmp_path, plugins):
    log = tmp_path / "log.jsonl"
    args = ("--model_args", f"log={log}")
    _eval(cli, tmp_path, _tasks(tmp_path / "a"), "role_embedders:RoleLogger", *args, pythonpath=plugins, check_rc=0)
    out = _eval(
        cli, tmp_path, _tasks(tmp_path / "a"), "role_embedders:RoleLogger", *args, pythonpath=plugins, check_rc=0
    ).stdout
    assert "0 computed" in out  # same task, same model: all cached
    out = _eval(
        cli,
        tmp_path,
        _tasks(tmp_path / "b", {"query": "Q: "}),
        "role_embedders:RoleLogger",
        *args,
        pythonpath=plugins,
        check_rc=0,
    ).stdout
    # a new query instruction: the 3 queries are embedded again; the 6 documents' inputs did not change
    assert "3 computed, 6 cached (6 shared with other tasks)" in out, out


def test_embedder_written_before_roles_still_runs(cli, tmp_path, plugins):
    out = _eval(
        cli, tmp_path, _tasks(tmp_path / "t"), "role_embedders:BeforeRoles", pythonpath=plugins, check_rc=0
    ).stdout
    assert "failed samples: 0 of 9" in out


def test_instructions_for_an_embedder_that_cannot_take_them_is_a_one_line_error(cli, tmp_path, plugins):
    proc = _eval(
        cli, tmp_path, _tasks(tmp_path / "t", {"query": "Q: "}), "role_embedders:BeforeRoles", pythonpath=plugins
    )
    one_line_error(proc, "retrieval/roles", "BeforeRoles", "role/instruction")
    assert not list((tmp_path / "r").glob("**/*.json"))


def test_hf_text_rejects_an_instruction_format_without_text(cli, tmp_path):
    proc = _eval(
        cli,
        tmp_path,
        _tasks(tmp_path / "t"),
        "hf-text",
        "--model_args",
        "path=sentence-transformers/all-MiniLM-L6-v2,instruction_format=Q: {instruction}",
    )
    one_line_error(proc, "instruction_format", "{text}")


def _stored(out, sample_id):
    (blob,) = (
        sqlite3.connect(out / "harness.sqlite")
        .execute("SELECT output FROM records WHERE sample_id = ?", (sample_id,))
        .fetchone()
    )
    import io

    return np.load(io.BytesIO(blob))


def test_minilm_embeds_queries_with_its_role_prefix_and_the_instruction(cli, tmp_path):
    """The shipped all-MiniLM-L6-v2 through the CLI: the stored query embedding is the model's embedding of
    prefix + instruction + text, the stored document embedding that of the document prefix + text."""
    from harness_baselines.sail.hf import HFText

    mini = "sentence-transformers/all-MiniLM-L6-v2"
    args = f"path={mini},query_prefix=query: ,document_prefix=passage: "
    tasks = _tasks(tmp_path / "t", {"query": "Find what sounds like this: "})
    out = _eval(cli, tmp_path, tasks, "hf-text", "--model_args", args, check_rc=0).stdout
    assert "failed samples: 0 of 9" in out
    model = HFText(path=mini)
    want_q = np.asarray(
        model.embed([{"text": "query: Find what sounds like this: a sound of the sea"}], frozenset({"text"}), [0])
    )[0]
    want_d = np.asarray(model.embed([{"text": "passage: blue sky"}], frozenset({"text"}), [0]))[0]
    plain = np.asarray(model.embed([{"text": "a sound of the sea"}], frozenset({"text"}), [0]))[0]
    got_q, got_d = _stored(tmp_path / "r", "query:q3"), _stored(tmp_path / "r", "item:d5")
    assert np.allclose(got_q, want_q, atol=1e-5) and np.allclose(got_d, want_d, atol=1e-5)
    assert not np.allclose(got_q, plain, atol=1e-3)  # the prefix and instruction did change the embedding
    # the same model through the role arguments directly
    prefixed = HFText(path=mini, query_prefix="query: ")
    direct = np.asarray(
        prefixed.embed(
            [{"text": "a sound of the sea"}],
            frozenset({"text"}),
            [0],
            role="query",
            instruction="Find what sounds like this: ",
        )
    )[0]
    assert np.allclose(direct, want_q, atol=1e-5)


def test_prefixes_change_the_model_fingerprint():
    from harness_baselines.sail.hf import HFText

    mini = "sentence-transformers/all-MiniLM-L6-v2"
    plain, prefixed = HFText(path=mini), HFText(path=mini, query_prefix="query: ")
    assert plain.fingerprint() != prefixed.fingerprint()
    assert HFText(path=mini, batch=3).fingerprint() == plain.fingerprint()
