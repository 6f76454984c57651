"""Encoded galleries are reused across tasks: a q2i and an i2i task over one corpus and the same modalities embed
the corpus once per model (the second task's adapter never sees a gallery item), with the same scores as a fresh
run; another model or another seed embed again, and so do items whose inputs differ under other modalities."""

import json
import textwrap

import pytest

from conftest import FIXTURES

DATA = FIXTURES / "retrieval_local"

PLUGIN = '''
import json
import numpy as np
from pydantic import BaseModel, ConfigDict
from harness.adapters import Embedder

class LogArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    log: str
    dim: int = 8

class Counting(Embedder):
    """Hashed character trigrams of the text; logs every text it embeds."""
    Args = LogArgs
    def embed(self, items, modalities, seeds, role="document", instruction=None):
        out = np.zeros((len(items), self.args.dim), np.float32)
        with open(self.args.log, "a") as f:
            for row, it in enumerate(items):
                text = it.get("text") or ""
                f.write(json.dumps({"role": role, "text": text}) + "\\n")
                for i in range(len(text) - 2):
                    out[row, sum(map(ord, text[i:i + 3])) % self.args.dim] += 1
        return out
'''


@pytest.fixture
def plugins(tmp_path):
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "counting.py").write_text(textwrap.dedent(PLUGIN))
    return d


def _tasks(folder, modalities=("text", "image", "audio")):
    folder.mkdir(exist_ok=True)
    for mode in ("q2i", "i2i"):
        (folder / f"{mode}.yaml").write_text(
            f"name: shared/{mode}\nkind: retrieval\nsource: {{loader: retrieval_folder, args: {{path: '{DATA}', "
            f"size: 8}}}}\nmetrics: [recall@1, ndcg@10, map]\nprimary_metric: ndcg@10\n"
            f"options: {{mode: {mode}, modalities: {json.dumps(list(modalities))}}}\n"
        )
    return folder


def _eval(cli, task, tasks, out, log, plugins, *args):
    return cli(
        "eval",
        "--task",
        task,
        "--include",
        tasks,
        "--model",
        "counting:Counting",
        "--model_args",
        f"log={log}",
        "-o",
        out,
        "--no-progress",
        *args,
        pythonpath=plugins,
        check_rc=0,
    ).stdout


def _lines(log):
    return log.read_text().splitlines() if log.exists() else []


def _aggregates(out, task):
    (path,) = out.glob(f"{task}/*.json")
    return json.loads(path.read_text())["aggregates"]


def test_second_task_over_the_same_gallery_skips_re_encoding(cli, tmp_path, plugins):
    tasks, out, log = _tasks(tmp_path / "tasks"), tmp_path / "r", tmp_path / "log.jsonl"
    first = _eval(cli, "shared/q2i", tasks, out, log, plugins)
    assert "9 computed, 0 cached" in first  # 6 items + 3 queries
    embedded = len(_lines(log))
    second = _eval(cli, "shared/i2i", tasks, out, log, plugins)
    assert "0 computed, 6 cached (6 shared with other tasks)" in second, second
    assert len(_lines(log)) == embedded  # the adapter was not called again
    # same scores as an i2i run that embeds everything itself
    fresh = _eval(cli, "shared/i2i", tasks, tmp_path / "fresh", tmp_path / "log2.jsonl", plugins)
    assert "6 computed" in fresh
    assert _aggregates(out, "shared/i2i") == _aggregates(tmp_path / "fresh", "shared/i2i")


@pytest.mark.parametrize("change", ["modalities", "seed", "model_args"])
def test_a_different_input_model_or_seed_embeds_again(cli, tmp_path, plugins, change):
    out, log = tmp_path / "r", tmp_path / "log.jsonl"
    _eval(cli, "shared/q2i", _tasks(tmp_path / "a"), out, log, plugins)
    tasks, args = _tasks(tmp_path / "a"), []
    if change == "modalities":
        tasks = _tasks(tmp_path / "b", modalities=("text", "image"))
    elif change == "seed":
        args = ["--seed", "1"]
    if change == "model_args":
        stdout = cli(
            "eval",
            "--task",
            "shared/i2i",
            "--include",
            tasks,
            "--model",
            "counting:Counting",
            "--model_args",
            f"log={log},dim=16",
            "-o",
            out,
            "--no-progress",
            pythonpath=plugins,
            check_rc=0,
        ).stdout
    else:
        stdout = _eval(cli, "shared/i2i", tasks, out, log, plugins, *args)
    if change == "modalities":  # only d4 and d6 have audio: the other 4 items give the adapter the same inputs
        assert "2 computed, 4 cached (4 shared with other tasks)" in stdout, stdout
    else:
        assert "6 computed, 0 cached" in stdout, stdout
