"""Fuzzing (hypothesis): every loader and parser, fed arbitrary bytes and structures, either succeeds or raises
one of our typed errors (HarnessError and its DataError / StoreError) — never a crash. Answer extraction and
grading never raise. A dedicated run, not part of the default test run (marker ``fuzz``)::

    python -m pytest --run-fuzz tests/test_fuzz.py        # 13 properties x 1000 examples = 13k examples

(``FUZZ_EXAMPLES=100`` makes a quick local pass while writing a property.)
"""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import HarnessError

pytestmark = pytest.mark.fuzz
EXAMPLES = int(__import__("os").environ.get("FUZZ_EXAMPLES", "1000"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=True) | text
json_values = st.recursive(
    scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(text, kids, max_size=4), max_leaves=12
)
raw = st.binary(max_size=400) | text.map(str.encode)


def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="fuzz-"))


def _typed_only(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except HarnessError:
        pass


TASK_KEYS = ["name", "kind", "source", "metrics", "primary_metric", "options", "groups", "version", "loader", "args"]


@FUZZ
@given(raw)
def test_task_yaml_of_arbitrary_bytes(data):
    from harness.registry import load_task_file

    d = _folder()
    try:
        (d / "t.yaml").write_bytes(data)
        _typed_only(load_task_file, d / "t.yaml")
    finally:
        shutil.rmtree(d)


@FUZZ
@given(
    st.dictionaries(st.sampled_from(TASK_KEYS) | text, json_values, max_size=8),
    st.sampled_from(["edit", "retrieval", "reasoning", "x"]),
)
def test_task_yaml_of_arbitrary_structure(doc, kind):
    import yaml

    from harness.registry import load_task_file

    d = _folder()
    try:
        doc = {
            "name": "f/t",
            "kind": kind,
            "metrics": ["success"],
            "primary_metric": "success",
            "source": {"loader": "edit_scenes", "args": {}},
            **doc,
        }
        (d / "t.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True))
        _typed_only(load_task_file, d / "t.yaml")
    finally:
        shutil.rmtree(d)


@FUZZ
@given(st.lists(raw | json_values.map(lambda v: json.dumps(v).encode()), max_size=6))
def test_jsonl_reader(lines):
    from harness.data.jsonl import read_jsonl

    d = _folder()
    try:
        (d / "m.jsonl").write_bytes(b"\n".join(lines))
        _typed_only(read_jsonl, d / "m.jsonl", "id")
    finally:
        shutil.rmtree(d)


def _png() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.zeros((12, 12, 3), np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@FUZZ
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["id", "source", "target", "instruction", "mask", "edit_type"]),
            json_values | st.sampled_from(["a.png", "b.png", "bad.png", "../x.png"]),
            max_size=6,
        ),
        max_size=4,
    ),
    raw,
)
def test_edit_folder_reader(records, image_bytes):
    from harness.data.edit_local import load_folder

    d = _folder()
    try:
        (d / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in records))
        (d / "a.png").write_bytes(_png())
        (d / "b.png").write_bytes(image_bytes)
        (d / "bad.png").write_bytes(image_bytes[:20])
        _typed_only(load_folder, d, size=16)
    finally:
        shutil.rmtree(d)


@FUZZ
@given(raw, raw, raw)
def test_retrieval_folder_reader(corpus, queries, qrels):
    from harness.data.retrieval_local import load_folder

    d = _folder()
    try:
        (d / "qrels").mkdir()
        (d / "corpus.jsonl").write_bytes(corpus)
        (d / "queries.jsonl").write_bytes(queries)
        (d / "qrels" / "test.tsv").write_bytes(qrels)
        _typed_only(load_folder, d)
    finally:
        shutil.rmtree(d)


@FUZZ
@given(st.lists(json_values, max_size=4), raw, st.sampled_from(["math500", "gpqa", "mathvista", "mmmu_pro"]))
def test_reasoning_readers(records, data, loader):
    from harness import data as loaders

    d = _folder()
    try:
        name = {
            "math500": "test.jsonl",
            "gpqa": "gpqa_diamond.csv",
            "mathvista": "testmini.json",
            "mmmu_pro": "test.json",
        }[loader]
        if name.endswith(".jsonl"):
            content = "\n".join(json.dumps(r) for r in records).encode() + data
        elif name.endswith(".json"):
            content = json.dumps(records).encode() if records else data
        else:
            content = data
        (d / name).write_bytes(content)
        _typed_only(loaders.load, f"reasoning_{loader}", {"path": str(d)}, d)  # what a task's YAML runs
    finally:
        shutil.rmtree(d)


@FUZZ
@given(raw | json_values.map(lambda v: json.dumps(v).encode()))
def test_regress_baseline_reader(data):
    from harness.regress import read_baseline

    d = _folder()
    try:
        (d / "b.json").write_bytes(data)
        _typed_only(read_baseline, d / "b.json")
    finally:
        shutil.rmtree(d)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["name", "tasks", "metrics", "rows", "sort", "alpha", "subsets"]) | text,
        json_values,
        max_size=6,
    )
)
def test_leaderboard_definition(doc):
    import yaml

    from harness.config import load_yaml_config
    from harness.leaderboard import Leaderboard

    d = _folder()
    try:
        (d / "b.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True))
        _typed_only(load_yaml_config, d / "b.yaml", Leaderboard, "a leaderboard file")
    finally:
        shutil.rmtree(d)


@FUZZ
@given(raw)
def test_results_store_of_arbitrary_bytes(data):
    from harness.store import RunStore

    d = _folder()
    try:
        (d / "harness.sqlite").write_bytes(data)
        for readonly in (True, False):
            try:
                RunStore(d / "harness.sqlite", readonly=readonly).runs()
            except HarnessError:
                pass
    finally:
        shutil.rmtree(d)


@FUZZ
@given(text)
def test_model_args_parsing_and_normalisation(text_args):
    from harness.adapters import adapter_class, normalise_model_args, parse_model_args

    try:
        normalise_model_args(adapter_class("noise"), parse_model_args(text_args))
    except HarnessError:
        pass


@FUZZ
@given(
    st.none()
    | text
    | st.sampled_from(["\\boxed{", "\\boxed{\\frac{1}{2}}", "answer: (B)", "}}{{"]).flatmap(
        lambda s: st.builds(lambda a, b: a + s + b, text, text)
    )
)
def test_answer_extraction_never_raises(response):
    from harness.metrics.reasoning import extract_answer

    out = extract_answer(response)
    assert out is None or isinstance(out, str)


@FUZZ
@given(st.lists(text, min_size=1, max_size=3), text, st.none() | st.lists(text, min_size=2, max_size=4))
def test_grading_never_raises(completions, answer, choices):
    from harness.metrics.reasoning import score_completions

    scores = score_completions(completions, answer, choices)
    assert all(isinstance(v, float) for v in scores.values())


@FUZZ
@given(text)
def test_cli_max_failures_and_tolerance_parsing(value):
    from harness.cli import _float, _max_failures

    _typed_only(_max_failures, value)
    _typed_only(_float, "m", value)
