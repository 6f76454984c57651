"""The bad-input catalogue: one row per bad input a demanding user can give the real CLI, with the text that must
name the culprit. ``tests/test_bad_inputs.py`` runs every row in a fresh folder and asserts exit code 2 (130 for
signals), exactly one stderr line ``error: ...`` containing every needle, no traceback, and no half-written state
(no results JSON, no run left "running", no run newly "finished").

Placeholders in commands and needles: ``{d}`` the row's folder, ``{o}`` its results folder (``{d}/out``),
``{fx}`` tests/fixtures. Keep it growing: a new bad input found = a new row.
"""

from __future__ import annotations

import io
import json
import sqlite3
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Row:
    id: str  # area/what
    cmd: str  # harness arguments (after formatting, split on whitespace)
    needles: tuple[str, ...]  # every one must appear in the single stderr line
    files: dict = field(default_factory=dict)  # relative path -> str | bytes | callable(path) written before
    setup: Callable | None = None  # callable(folder) run before (after files)
    rc: int = 2
    signal: str | None = None  # send this signal once the run has stored a few samples
    keeps_finished: bool = False  # the row legitimately stores a finished run (e.g. --max-failures)


DEFAULT_MODEL = {"edit": "noise", "retrieval": "random-embed", "reasoning": "constant"}


def task_yaml(
    name="cat/t",
    kind="edit",
    loader="edit_scenes",
    args="{n_per_type: 1, size: 32}",
    metrics="[success, l1_keep]",
    primary="success",
    extra="",
) -> str:
    return (
        textwrap.dedent(f"""\
        name: {name}
        kind: {kind}
        default_model: {DEFAULT_MODEL.get(kind, "noise")}
        groups: [cat]
        source: {{loader: {loader}, args: {args}}}
        metrics: {metrics}
        primary_metric: {primary}
        """)
        + extra
    )


EDIT_FOLDER_TASK = task_yaml(loader="edit_folder", args="{path: ../data, size: 16}")
MAGICBRUSH_TASK = task_yaml(loader="edit_folder", args="{path: ../mb, size: 16}")
RETRIEVAL_TASK = task_yaml(
    kind="retrieval",
    loader="retrieval_folder",
    args="{path: ../ret, size: 8}",
    metrics="[ndcg@10, recall@1]",
    primary="ndcg@10",
)


def png(color=(200, 30, 30), size=(20, 20)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((size[1], size[0], 3), color, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def edit_record(**kw) -> str:
    rec = {"id": "a", "source": "src.png", "instruction": "make it blue", "target": "tgt.png", **kw}
    return json.dumps({k: v for k, v in rec.items() if v is not ...})


def edit_folder(records: str, **images) -> dict:
    files = {
        "tasks/t.yaml": EDIT_FOLDER_TASK,
        "data/metadata.jsonl": records,
        "data/src.png": png(),
        "data/tgt.png": png((30, 30, 200)),
    }
    files.update({f"data/{k.replace('_', '.')}": v for k, v in images.items()})
    return files


def retrieval_folder(corpus=None, queries=None, qrels=None) -> dict:
    base = FIXTURES / "retrieval_local"
    files = {
        "tasks/t.yaml": RETRIEVAL_TASK,
        "ret/corpus.jsonl": corpus if corpus is not None else (base / "corpus.jsonl").read_text(),
        "ret/queries.jsonl": queries if queries is not None else (base / "queries.jsonl").read_text(),
        "ret/qrels/test.tsv": qrels if qrels is not None else (base / "qrels/test.tsv").read_text(),
    }
    for sub in ("images", "audio"):
        for f in (base / sub).iterdir():
            files[f"ret/{sub}/{f.name}"] = f.read_bytes()
    return files


def board(text: str) -> dict:
    return {"board.yaml": textwrap.dedent(text)}


def baseline(doc) -> dict:
    return {"base.json": doc if isinstance(doc, (str, bytes)) else json.dumps(doc)}


GOOD_BASELINE = {
    "format": 1,
    "model": "noise",
    "model_args": "",
    "seed": 0,
    "limit": 4,
    "alpha": 0.01,
    "tasks": {
        "edit/scenes": {
            "task_hash": "x",
            "n_failed": 0,
            "metrics": {"success": {"value": 0.0, "tolerance": 0.0, "higher_is_better": True, "scores": {"s": 0.0}}},
        }
    },
}


def store_bytes(data: bytes) -> dict:
    return {"out/harness.sqlite": data}


def foreign_store(path: Path) -> None:
    (path / "out").mkdir(exist_ok=True)
    con = sqlite3.connect(path / "out" / "harness.sqlite")
    con.execute("CREATE TABLE users (name TEXT)")
    con.commit()
    con.close()


def runs_without_columns(path: Path) -> None:
    (path / "out").mkdir(exist_ok=True)
    con = sqlite3.connect(path / "out" / "harness.sqlite")
    con.execute("CREATE TABLE runs (run_id TEXT, task TEXT)")
    con.commit()
    con.close()


def _cached_store(name: str, commands: list[list[str]], files: dict | None = None) -> Path:
    """A results folder made once per test session by real ``harness`` commands (rows copy it)."""
    import subprocess
    import sys
    import tempfile

    if name not in _STORES:
        d = Path(tempfile.mkdtemp(prefix=f"catalogue-{name}-"))
        for rel, text in (files or {}).items():
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_text(text)
        for cmd in commands:
            subprocess.run(
                [sys.executable, "-m", "harness", *[c.format(d=d) for c in cmd], "-o", str(d / "out"), "--no-progress"],
                check=True,
                capture_output=True,
            )
        _STORES[name] = d
    return _STORES[name]


_STORES: dict[str, Path] = {}
TWO_TASKS = {"tasks/a.yaml": task_yaml(name="cat/a"), "tasks/b.yaml": task_yaml(name="cat/b")}


def _copy_store(src: Path, path: Path) -> None:
    import shutil

    shutil.copytree(src, path, dirs_exist_ok=True)


def real_store(path: Path) -> None:
    """A real store with one finished run (noise on 40 samples of edit/scenes)."""
    _copy_store(_cached_store("one", [["eval", "--task", "edit/scenes", "--model", "noise", "--limit", "40"]]), path)


def truncated_store(path: Path) -> None:
    real_store(path)
    store = path / "out" / "harness.sqlite"
    store.write_bytes(store.read_bytes()[:8192])


def two_runs(path: Path) -> None:
    """Full runs of noise on cat/a and identity on cat/b (tiny tasks in {d}/tasks)."""
    src = _cached_store(
        "two",
        [
            ["eval", "--task", "cat/a", "--model", "noise", "--include", "{d}/tasks"],
            ["eval", "--task", "cat/b", "--model", "identity", "--include", "{d}/tasks"],
        ],
        TWO_TASKS,
    )
    _copy_store(src, path)


RANDOM = bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8))
NOT_UTF8 = b"name: cat/t\nkind: edit\ndescription: caf\xe9 \xff\xfe\n"
EVAL = "eval --task cat --include {d}/tasks -o {o} --no-progress"
SCENES = "eval --task edit/scenes --limit 4 -o {o} --no-progress"

CATALOGUE: list[Row] = [
    # --- CLI usage ----------------------------------------------------------------------------------------------
    Row("cli/bare-harness", "", ("no command given",)),
    Row("cli/unknown-command", "evl", ("No such command", "evl")),
    Row("cli/eval-without-task", "eval --model noise -o {o}", ("harness eval", "Missing option '--task'")),
    Row("cli/limit-zero", "eval --task edit/scenes --limit 0 -o {o}", ("--limit", "greater than or equal to 1")),
    Row("cli/limit-negative", "eval --task edit/scenes --limit -3 -o {o}", ("--limit",)),
    Row("cli/limit-not-a-number", "eval --task edit/scenes --limit ten -o {o}", ("--limit", "valid integer")),
    Row("cli/batch-size-zero", "eval --task edit/scenes --batch_size 0 -o {o}", ("--batch_size",)),
    Row("cli/seed-not-a-number", "eval --task edit/scenes --seed x -o {o}", ("--seed",)),
    Row("cli/mistyped-flag", "eval --task edit/scenes --limt 3 -o {o}", ("No such option", "--limt")),
    Row("cli/list-unknown", "list foos", ("harness list", "foos")),
    Row("cli/unknown-task", "eval --task edit/scene -o {o}", ("unknown task 'edit/scene'", "edit/scenes")),
    Row("cli/empty-task", "eval --task , -o {o}", ("--task", "no task given")),
    Row("cli/unknown-model", "eval --task edit/scenes --model nosie -o {o}", ("unknown model 'nosie'", "noise")),
    Row(
        "cli/model-module-missing",
        "eval --task edit/scenes --model nomodule:X -o {o}",
        ("--model nomodule:X", "cannot import"),
    ),
    Row(
        "cli/model-not-an-adapter",
        "eval --task edit/scenes --model harness.cli:app -o {o}",
        ("harness.cli:app", "not an Editor"),
    ),
    Row("cli/kind-mismatch", "eval --task retrieval/q2i --model identity -o {o}", ("identity", "retrieval/q2i")),
    Row(
        "cli/model-args-no-equals",
        "eval --task edit/scenes --model noise --model_args low -o {o}",
        ("--model_args", "'low'"),
    ),
    Row(
        "cli/model-args-twice",
        "eval --task edit/scenes --model noise --model_args low=1,low=2 -o {o}",
        ("--model_args", "'low' given twice"),
    ),
    Row(
        "cli/model-args-bad-value",
        "eval --task edit/scenes --model noise --model_args low=abc -o {o}",
        ("--model_args for noise", "low"),
    ),
    Row(
        "cli/model-args-unknown-key",
        "eval --task edit/scenes --model noise --model_args lo=1 -o {o}",
        ("--model_args for noise", "lo"),
    ),
    Row("cli/max-failures-text", SCENES + " --model noise --max-failures lots", ("--max-failures 'lots'",)),
    Row(
        "cli/max-failures-fraction-above-one",
        SCENES + " --model noise --max-failures 1.5",
        ("--max-failures '1.5'", "[0, 1]"),
    ),
    Row("cli/batch-timeout-zero", SCENES + " --model noise --batch-timeout 0", ("--batch-timeout",)),
    Row("cli/regress-typo", "regress --baseline x.json --tolerence 1", ("No such option", "--tolerence")),
    Row("cli/regress-without-baseline", "regress --model noise", ("Missing option '--baseline'",)),
    Row("cli/compare-one-argument", "compare abc -o {o}", ("harness compare", "Missing argument")),
    Row("cli/show-without-id", "show -o {o}", ("harness show", "Missing argument")),
    Row("cli/leaderboard-bad-format", "leaderboard edit -o {o} --format xml", ("--format 'xml'",), setup=real_store),
    # --- task YAML ----------------------------------------------------------------------------------------------
    Row("task-yaml/malformed", EVAL, ("t.yaml", "malformed YAML"), files={"tasks/t.yaml": "name: [unclosed\n"}),
    Row(
        "task-yaml/duplicate-key",
        EVAL,
        ("t.yaml", "duplicate key 'kind'"),
        files={"tasks/t.yaml": task_yaml() + "kind: edit\n"},
    ),
    Row("task-yaml/not-utf8", EVAL, ("t.yaml", "not UTF-8"), files={"tasks/t.yaml": NOT_UTF8}),
    Row("task-yaml/a-list", EVAL, ("t.yaml", "must be a mapping"), files={"tasks/t.yaml": "- a\n- b\n"}),
    Row("task-yaml/empty-file", EVAL, ("t.yaml", "must be a mapping"), files={"tasks/t.yaml": ""}),
    Row("task-yaml/unknown-field", EVAL, ("t.yaml", "colour"), files={"tasks/t.yaml": task_yaml() + "colour: red\n"}),
    Row(
        "task-yaml/missing-name",
        EVAL,
        ("t.yaml", "name"),
        files={"tasks/t.yaml": task_yaml().replace("name: cat/t\n", "")},
    ),
    Row("task-yaml/bad-name", EVAL, ("t.yaml", "name"), files={"tasks/t.yaml": task_yaml(name="Cat T")}),
    Row("task-yaml/unknown-kind", EVAL, ("t.yaml", "kind"), files={"tasks/t.yaml": task_yaml(kind="painting")}),
    Row(
        "task-yaml/unknown-metric",
        EVAL,
        ("t.yaml", "sucess"),
        files={"tasks/t.yaml": task_yaml(metrics="[sucess]", primary="sucess")},
    ),
    Row(
        "task-yaml/primary-not-in-metrics",
        EVAL,
        ("t.yaml", "primary_metric", "l1_keep"),
        files={"tasks/t.yaml": task_yaml(metrics="[success]", primary="l1_keep")},
    ),
    Row(
        "task-yaml/unknown-loader",
        EVAL,
        ("t.yaml", "unknown loader 'edit_scene'"),
        files={"tasks/t.yaml": task_yaml(loader="edit_scene")},
    ),
    Row(
        "task-yaml/loader-arg-typo",
        EVAL,
        ("t.yaml", "n_per_typ"),
        files={"tasks/t.yaml": task_yaml(args="{n_per_typ: 1}")},
    ),
    Row(
        "task-yaml/loader-arg-type",
        EVAL,
        ("t.yaml", "n_per_type"),
        files={"tasks/t.yaml": task_yaml(args="{n_per_type: many}")},
    ),
    Row(
        "task-yaml/loader-of-another-kind",
        EVAL,
        ("t.yaml", "retrieval_embedded"),
        files={"tasks/t.yaml": task_yaml(loader="retrieval_embedded", args="{}")},
    ),
    Row(
        "task-yaml/option-out-of-range",
        EVAL,
        ("t.yaml", "success_edit_l1"),
        files={"tasks/t.yaml": task_yaml(extra="options: {success_edit_l1: 2}\n")},
    ),
    Row(
        "task-yaml/duplicate-task-name",
        EVAL,
        ("b.yaml", "already defined"),
        files={"tasks/a.yaml": task_yaml(), "tasks/b.yaml": task_yaml()},
    ),
    Row(
        "task-yaml/include-missing", "eval --task edit/scenes --include {d}/nope -o {o}", ("{d}/nope", "does not exist")
    ),
    Row("task-yaml/size-too-small", EVAL, ("size=4",), files={"tasks/t.yaml": task_yaml(args="{size: 4}")}),
    Row(
        "task-yaml/no-samples",
        EVAL + " --model identity",
        ("cat/t", "no samples"),
        files={"tasks/t.yaml": task_yaml(args="{n_per_type: 0, size: 32}")},
    ),
    # --- --output and --to ---------------------------------------------------------------------------------------
    Row(
        "output/is-a-file",
        "eval --task edit/scenes --model noise --limit 2 -o {d}/f --no-progress",
        ("--output {d}/f", "not a writable directory"),
        files={"f": "a file"},
    ),
    Row(
        "output/parent-is-a-file",
        "eval --task edit/scenes --model noise --limit 2 -o {d}/f/out --no-progress",
        ("--output {d}/f/out",),
        files={"f": "a file"},
    ),
    Row(
        "output/leaderboard-to-a-directory",
        "leaderboard edit -o {o} --to {d}/adir",
        ("{d}/adir", "cannot write"),
        files={"adir/x": "x"},
        setup=real_store,
    ),
    Row(
        "output/leaderboard-to-inside-a-file",
        "leaderboard edit -o {o} --to {d}/f/board.md",
        ("{d}/f/board.md", "cannot write"),
        files={"f": "a file"},
        setup=real_store,
    ),
    # --- edit folders --------------------------------------------------------------------------------------------
    Row("edit-folder/missing", EVAL, ("{d}/tasks/../data", "not found"), files={"tasks/t.yaml": EDIT_FOLDER_TASK}),
    Row(
        "edit-folder/no-metadata",
        EVAL,
        ("no metadata.jsonl",),
        files={"tasks/t.yaml": EDIT_FOLDER_TASK, "data/readme.txt": "x"},
    ),
    Row("edit-folder/empty-metadata", EVAL, ("metadata.jsonl", "no samples"), files=edit_folder("")),
    Row("edit-folder/malformed-json", EVAL, ("metadata.jsonl:1", "malformed JSON"), files=edit_folder("{oops\n")),
    Row("edit-folder/not-an-object", EVAL, ("metadata.jsonl:1", "expected a JSON object"), files=edit_folder("[1]\n")),
    Row("edit-folder/not-utf8", EVAL, ("metadata.jsonl", "not UTF-8"), files=edit_folder(b"\xff\xfe{}\n")),
    Row("edit-folder/missing-id", EVAL, ("metadata.jsonl:1", "'id'"), files=edit_folder(edit_record(id=...))),
    Row(
        "edit-folder/duplicate-id",
        EVAL,
        ("metadata.jsonl:2", "duplicate id 'a'"),
        files=edit_folder(edit_record() + "\n" + edit_record()),
    ),
    Row(
        "edit-folder/missing-target", EVAL, ("metadata.jsonl:1", "'target'"), files=edit_folder(edit_record(target=...))
    ),
    Row(
        "edit-folder/instruction-not-a-string",
        EVAL,
        ("metadata.jsonl:1", "'instruction'"),
        files=edit_folder(edit_record(instruction=3)),
    ),
    Row(
        "edit-folder/image-missing",
        EVAL,
        ("{d}/data/nope.png", "not found", "metadata.jsonl:1"),
        files=edit_folder(edit_record(source="nope.png")),
    ),
    Row(
        "edit-folder/image-outside-folder-missing",
        EVAL,
        ("{d}/elsewhere.png", "not found"),
        files=edit_folder(edit_record(source="../elsewhere.png")),
    ),
    Row(
        "edit-folder/corrupt-image",
        EVAL,
        ("{d}/data/bad.png", "cannot decode"),
        files=edit_folder(edit_record(source="bad.png"), bad_png=b"\x89PNG\r\n\x1a\nnot really"),
    ),
    Row(
        "edit-folder/target-equals-source",
        EVAL,
        ("metadata.jsonl:1", "identical"),
        files=edit_folder(edit_record(target="src.png")),
    ),
    Row(
        "edit-folder/size-mismatch-refused",
        EVAL,
        ("metadata.jsonl:1", "size_mismatch: error"),
        files={
            **edit_folder(edit_record(target="big.png"), big_png=png(size=(40, 30))),
            "tasks/t.yaml": task_yaml(loader="edit_folder", args="{path: ../data, size: 16, size_mismatch: error}"),
        },
    ),
    Row(
        "edit-folder/size-below-ssim-window",
        EVAL,
        ("size=5", "SSIM"),
        files={
            **edit_folder(edit_record()),
            "tasks/t.yaml": task_yaml(loader="edit_folder", args="{path: ../data, size: 5}"),
        },
    ),
    Row(
        "edit-folder/magicbrush-malformed",
        EVAL,
        ("edit_sessions.json", "malformed JSON"),
        files={"tasks/t.yaml": MAGICBRUSH_TASK, "mb/edit_sessions.json": "{"},
    ),
    Row(
        "edit-folder/magicbrush-turn-not-object",
        EVAL,
        ("session 'x' turn 0", "expected a JSON object"),
        files={"tasks/t.yaml": MAGICBRUSH_TASK, "mb/edit_sessions.json": '{"x": [1]}'},
    ),
    Row(
        "edit-folder/magicbrush-missing-field",
        EVAL,
        ("session 'x' turn 0", "'mask'"),
        files={
            "tasks/t.yaml": MAGICBRUSH_TASK,
            "mb/edit_sessions.json": '{"x": [{"input": "a.png", "output": "b.png", "instruction": "i"}]}',
        },
    ),
    # --- retrieval folders ---------------------------------------------------------------------------------------
    Row("retrieval-folder/empty-corpus", EVAL, ("corpus.jsonl", "no items"), files=retrieval_folder(corpus="")),
    Row(
        "retrieval-folder/item-without-content",
        EVAL,
        ("corpus.jsonl:1", "no text, image or audio"),
        files=retrieval_folder(corpus='{"_id": "d1"}\n'),
    ),
    Row(
        "retrieval-folder/qrels-bad-columns",
        EVAL,
        ("test.tsv:2", "3 tab-separated columns"),
        files=retrieval_folder(qrels="query-id\tcorpus-id\tscore\nq1 d1 2\n"),
    ),
    Row(
        "retrieval-folder/qrels-score-not-int",
        EVAL,
        ("test.tsv:2", "not an integer"),
        files=retrieval_folder(qrels="query-id\tcorpus-id\tscore\nq1\td1\thigh\n"),
    ),
    Row(
        "retrieval-folder/qrels-unknown-corpus-id",
        EVAL,
        ("test.tsv:2", "'d99'"),
        files=retrieval_folder(qrels="query-id\tcorpus-id\tscore\nq1\td99\t1\n"),
    ),
    Row(
        "retrieval-folder/qrels-unknown-query",
        EVAL,
        ("test.tsv:2", "'q99'"),
        files=retrieval_folder(qrels="query-id\tcorpus-id\tscore\nq99\td1\t1\n"),
    ),
    Row(
        "retrieval-folder/corrupt-wav",
        EVAL,
        ("waves.wav", "corrupt WAV"),
        files={**retrieval_folder(), "ret/audio/waves.wav": b"RIFF\x00\x00not a wav"},
    ),
    Row(
        "retrieval-folder/not-utf8-queries",
        EVAL,
        ("queries.jsonl", "not UTF-8"),
        files=retrieval_folder(queries=b'{"_id": "q1", "text": "\xff"}\n'),
    ),
    Row(
        "retrieval-folder/image-outside-folder-missing",
        EVAL,
        ("{d}/elsewhere.png", "not found", "corpus.jsonl:1"),
        files=retrieval_folder(corpus='{"_id": "d1", "image": "../elsewhere.png"}\n'),
    ),
    # --- reasoning folders -----------------------------------------------------------------------------------
    Row(
        "reasoning-folder/math500-malformed-line",
        EVAL + " --model constant",
        ("test.jsonl", "line 1"),
        files={
            "tasks/t.yaml": task_yaml(
                kind="reasoning",
                loader="reasoning_math500",
                args="{path: ../m}",
                metrics="[accuracy]",
                primary="accuracy",
            ),
            "m/test.jsonl": "{oops\n",
        },
    ),
    Row(
        "reasoning-folder/mathvista-not-json",
        EVAL + " --model constant",
        ("testmini.json",),
        files={
            "tasks/t.yaml": task_yaml(
                kind="reasoning",
                loader="reasoning_mathvista",
                args="{path: ../mv}",
                metrics="[accuracy]",
                primary="accuracy",
            ),
            "mv/testmini.json": "[{",
        },
    ),
    Row(
        "reasoning-folder/gpqa-not-utf8",
        EVAL + " --model constant",
        ("gpqa_diamond.csv", "not UTF-8"),
        files={
            "tasks/t.yaml": task_yaml(
                kind="reasoning", loader="reasoning_gpqa", args="{path: ../g}", metrics="[accuracy]", primary="accuracy"
            ),
            "g/gpqa_diamond.csv": b"Question,\xff\xfe\n",
        },
    ),
    Row(
        "reasoning-folder/corrupt-parquet",
        EVAL + " --model constant",
        ("test-00000-of-00001.parquet",),
        files={
            "tasks/t.yaml": task_yaml(
                kind="reasoning",
                loader="reasoning_mmmu_pro",
                args="{path: ../mp}",
                metrics="[accuracy]",
                primary="accuracy",
            ),
            "mp/vision/test-00000-of-00001.parquet": b"PAR1 this is not parquet PAR1",
        },
    ),
    Row(
        "reasoning-folder/mathvista-not-a-list",
        EVAL + " --model constant",
        ("testmini.json", "got int"),
        files={
            "tasks/t.yaml": task_yaml(
                kind="reasoning",
                loader="reasoning_mathvista",
                args="{path: ../mv}",
                metrics="[accuracy]",
                primary="accuracy",
            ),
            "mv/testmini.json": "42",
        },
    ),
    # --- leaderboard YAML ---------------------------------------------------------------------------------------
    Row("leaderboard/unknown-name", "leaderboard nosuch -o {o}", ("unknown leaderboard 'nosuch'",), setup=real_store),
    Row(
        "leaderboard/malformed",
        "leaderboard {d}/board.yaml -o {o}",
        ("board.yaml", "malformed YAML"),
        files=board("name: [x\n"),
        setup=real_store,
    ),
    Row(
        "leaderboard/duplicate-key",
        "leaderboard {d}/board.yaml -o {o}",
        ("board.yaml", "duplicate key 'tasks'"),
        files=board("name: b\ntasks: [edit]\ntasks: [retrieval]\n"),
        setup=real_store,
    ),
    Row(
        "leaderboard/unknown-field",
        "leaderboard {d}/board.yaml -o {o}",
        ("board.yaml", "colour"),
        files=board("name: b\ntasks: [edit]\ncolour: red\n"),
        setup=real_store,
    ),
    Row(
        "leaderboard/unknown-task",
        "leaderboard {d}/board.yaml -o {o}",
        ("unknown task 'edit/nope'",),
        files=board("name: b\ntasks: [edit/nope]\n"),
        setup=real_store,
    ),
    Row(
        "leaderboard/unknown-metric",
        "leaderboard {d}/board.yaml -o {o}",
        ("has no metric 'accuracy'",),
        files=board("name: b\ntasks: [edit/scenes]\nmetrics: [accuracy]\n"),
        setup=real_store,
    ),
    Row(
        "leaderboard/unknown-sort-column",
        "leaderboard {d}/board.yaml -o {o}",
        ("sort column 'best'",),
        files=board("name: b\ntasks: [edit/scenes]\nsort: best\n"),
        setup=real_store,
    ),
    Row(
        "leaderboard/alpha-out-of-range",
        "leaderboard {d}/board.yaml -o {o}",
        ("board.yaml", "alpha"),
        files=board("name: b\ntasks: [edit/scenes]\nalpha: 2\n"),
        setup=real_store,
    ),
    Row("leaderboard/no-store", "leaderboard edit -o {o}", ("{o}/harness.sqlite", "no results store")),
    # --- show / compare ---------------------------------------------------------------------------------------
    Row("show/unknown-run", "show deadbeef -o {o}", ("run 'deadbeef'", "not found"), setup=real_store),
    Row("show/ambiguous-prefix", "show % -o {o}", ("ambiguous (2 runs match)",), setup=two_runs),
    Row("show/no-store", "show abc -o {o}", ("{o}/harness.sqlite", "no results store")),
    Row("compare/unknown-runs", "compare aaaa bbbb -o {o}", ("run 'aaaa'",), setup=real_store),
    Row(
        "compare/different-tasks",
        "compare noise@cat/a identity@cat/b --include {d}/tasks -o {o}",
        ("different tasks", "cat/a", "cat/b"),
        setup=two_runs,
    ),
    # --- regress baselines ------------------------------------------------------------------------------------
    Row("regress/missing-file", "regress --baseline {d}/none.json -o {o}", ("--baseline {d}/none.json", "cannot read")),
    Row(
        "regress/not-json",
        "regress --baseline {d}/base.json -o {o}",
        ("base.json", "not JSON"),
        files=baseline("{oops"),
    ),
    Row(
        "regress/null",
        "regress --baseline {d}/base.json -o {o}",
        ("base.json", "expected a JSON object"),
        files=baseline("null"),
    ),
    Row(
        "regress/number",
        "regress --baseline {d}/base.json -o {o}",
        ("base.json", "expected a JSON object"),
        files=baseline("42"),
    ),
    Row(
        "regress/not-utf8",
        "regress --baseline {d}/base.json -o {o}",
        ("base.json", "not UTF-8"),
        files=baseline(b'{"format": 1, "model": "\xff"}'),
    ),
    Row("regress/a-directory", "regress --baseline {d} -o {o}", ("--baseline {d}", "directory")),
    Row(
        "regress/missing-tasks",
        "regress --baseline {d}/base.json -o {o}",
        ("base.json", "'tasks'"),
        files=baseline({"format": 1, "model": "noise"}),
    ),
    Row(
        "regress/wrong-format",
        "regress --baseline {d}/base.json -o {o}",
        ("base.json", "format 7"),
        files=baseline({**GOOD_BASELINE, "format": 7}),
    ),
    Row(
        "regress/partial-metric",
        "regress --baseline {d}/base.json -o {o}",
        ("base.json", "scores"),
        files=baseline(
            {
                **GOOD_BASELINE,
                "tasks": {
                    "edit/scenes": {
                        "task_hash": "x",
                        "metrics": {"success": {"value": 0.0, "tolerance": 0.0, "higher_is_better": True}},
                    }
                },
            }
        ),
    ),
    Row(
        "regress/empty-tasks",
        "regress --baseline {d}/base.json -o {o}",
        ("base.json", "tasks"),
        files=baseline({**GOOD_BASELINE, "tasks": {}}),
    ),
    Row(
        "regress/bad-tolerance",
        "regress --baseline {d}/base.json -o {o} --tolerance success=lots",
        ("--tolerance success=lots", "not a number"),
        files=baseline(GOOD_BASELINE),
    ),
    Row(
        "regress/changed-task",
        "regress --baseline {d}/base.json -o {o}",
        ("edit/scenes", "changed since the baseline"),
        files=baseline(GOOD_BASELINE),
        keeps_finished=True,
    ),
    # --- the results store --------------------------------------------------------------------------------------
    Row(
        "store/random-bytes-eval",
        SCENES + " --model noise",
        ("{o}/harness.sqlite", "not a SQLite database"),
        files=store_bytes(RANDOM),
    ),
    Row(
        "store/random-bytes-show",
        "show abc -o {o}",
        ("{o}/harness.sqlite", "not a SQLite database"),
        files=store_bytes(RANDOM),
    ),
    Row(
        "store/random-bytes-leaderboard",
        "leaderboard edit -o {o} --to {d}/b.md",
        ("{o}/harness.sqlite", "not a SQLite database"),
        files=store_bytes(RANDOM),
    ),
    Row("store/truncated-eval", SCENES + " --model noise", ("{o}/harness.sqlite", "damaged"), setup=truncated_store),
    Row("store/truncated-show", "show abc -o {o}", ("{o}/harness.sqlite", "damaged"), setup=truncated_store),
    Row(
        "store/a-directory-eval",
        SCENES + " --model noise",
        ("{o}/harness.sqlite", "is a directory"),
        files={"out/harness.sqlite/x": "x"},
    ),
    Row(
        "store/a-directory-show",
        "show abc -o {o}",
        ("{o}/harness.sqlite", "is a directory"),
        files={"out/harness.sqlite/x": "x"},
    ),
    Row(
        "store/foreign-schema-eval",
        SCENES + " --model noise",
        ("{o}/harness.sqlite", "another schema", "users"),
        setup=foreign_store,
    ),
    Row("store/foreign-schema-show", "show abc -o {o}", ("{o}/harness.sqlite", "another schema"), setup=foreign_store),
    Row(
        "store/runs-table-of-another-schema",
        SCENES + " --model noise",
        ("{o}/harness.sqlite", "lacks column"),
        setup=runs_without_columns,
    ),
    Row("store/empty-file-show", "show abc -o {o}", ("{o}/harness.sqlite", "empty file"), files=store_bytes(b"")),
    # --- adapters ---------------------------------------------------------------------------------------------
    Row(
        "adapter/all-samples-fail",
        SCENES + " --model noise --model_args high=300",
        ("edit/scenes", "no sample was scored", "4 of 4 failed"),
    ),
    Row("adapter/always-raises", SCENES + " --model bad_adapters:AlwaysRaises", ("no sample was scored", "exploded")),
    Row("adapter/too-few-outputs", SCENES + " --model bad_adapters:TooFew", ("broke the Editor contract",)),
    Row("adapter/wrong-size", SCENES + " --model bad_adapters:WrongSize", ("shape (8, 8, 3)",)),
    Row(
        "adapter/one-image-editor-on-two-image-task",
        "eval --task edit/compose --limit 4 -o {o} --no-progress --model bad_adapters:TooFew",
        ("edit/compose", "bad_adapters:TooFew", "2 images per sample", "max_images = 1"),
    ),
    Row("adapter/side-info-not-json", SCENES + " --model bad_adapters:NumpyInfo", ("last_info", "not JSON-able")),
    Row("adapter/side-info-wrong-count", SCENES + " --model bad_adapters:InfoForOne", ("last_info to 1 entries",)),
    Row("adapter/wrong-dtype", SCENES + " --model bad_adapters:FloatOut", ("dtype float32",)),
    Row("adapter/not-a-list", SCENES + " --model bad_adapters:NotAList", ("returned str",)),
    Row("adapter/exits-zero", SCENES + " --model bad_adapters:ExitsZero", ("sys.exit(0)",)),
    Row("adapter/hangs", SCENES + " --model bad_adapters:Hangs --batch-timeout 1", ("--batch-timeout 1s",)),
    Row(
        "adapter/nan-embeddings",
        "eval --task retrieval/q2i --limit 4 -o {o} --no-progress --model bad_adapters:NaNEmbed",
        ("non-finite embedding",),
    ),
    Row(
        "adapter/wrong-count-embeddings",
        "eval --task retrieval/q2i --limit 4 -o {o} --no-progress --model bad_adapters:WrongCountEmbed",
        ("Embedder contract", "shape"),
    ),
    Row(
        "adapter/max-failures-exceeded",
        "eval --task edit/scenes -o {o} --no-progress --model bad_adapters:FailsOnMove --max-failures 3",
        ("more than --max-failures 3",),
        keeps_finished=True,
    ),
    # --- signals ------------------------------------------------------------------------------------------------
    Row(
        "signal/sigterm",
        "eval --task edit/scenes --limit 60 --batch_size 2 -o {o} --no-progress --model "
        "bad_adapters:LoggingNoise --model_args delay=0.05",
        ("interrupted (SIGTERM)",),
        rc=130,
        signal="SIGTERM",
    ),
    Row(
        "signal/sighup",
        "eval --task edit/scenes --limit 60 --batch_size 2 -o {o} --no-progress --model "
        "bad_adapters:LoggingNoise --model_args delay=0.05",
        ("interrupted (SIGHUP)",),
        rc=130,
        signal="SIGHUP",
    ),
    Row(
        "signal/sigint",
        "eval --task edit/scenes --limit 60 --batch_size 2 -o {o} --no-progress --model "
        "bad_adapters:LoggingNoise --model_args delay=0.05",
        ("interrupted (SIGINT)",),
        rc=130,
        signal="SIGINT",
    ),
]
