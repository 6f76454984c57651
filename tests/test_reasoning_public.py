"""Readers of the public reasoning benchmarks, on tiny fixture folders in each published schema
(tests/fixtures/reasoning_public/, written by its _make_fixtures.py)."""

import json
import shutil
import textwrap

import pytest

from conftest import FIXTURES
from harness.data import reasoning_public as rp
from harness.errors import DataError
from harness.kinds.reasoning import build_prompt

PUBLIC = FIXTURES / "reasoning_public"

# format -> [(id, answer, choices or None, n_images)]
EXPECTED = {
    "mathvista": [("1", "B", ["30", "45", "60", "90"], 1), ("2", "1000", None, 1)],
    "mathverse": [("5", "B", None, 1), ("6", "12", None, 1)],  # the Text Dominant row is filtered out
    "mathvision": [("1", "C", ["A", "B", "C", "D", "E"], 1), ("2", "7", None, 1)],
    "mmmu_pro": [("test_Art_1", "C", None, 1), ("test_Math_2", "A", None, 1)],
    "wemath": [("1", "B", ["6", "12", "24", "36", "No correct answer"], 1), ("2", "A", ["a", "b"], 1)],
    "dynamath": [("1", "2.5", None, 1), ("2", "B", None, 1)],
    "logicvista": [("1", "C", None, 1), ("2", "A, C", None, 1)],
    "hallusionbench": [("VD_illusion_0_0_0", "Yes", None, 1), ("VD_illusion_0_1_0", "No", None, 1)],
    "math500": [("test/prealgebra/1.json", "2", None, 0), ("test/algebra/2.json", "\\frac{1}{2}", None, 0)],
}


@pytest.mark.parametrize("fmt", sorted(EXPECTED))
def test_each_public_schema_reads_into_reasoning_samples(fmt):
    samples = getattr(rp, fmt)(str(PUBLIC / fmt))
    assert [(s.id, s.answer, s.choices, len(s.images)) for s in samples] == EXPECTED[fmt]
    for s in samples:
        assert s.question.strip()
        assert all(img.dtype.name == "uint8" and img.shape == (8, 8, 3) for img in s.images)


def test_prompt_lists_options_and_ends_with_the_honeybee_instruction():
    sample = rp.mathvista(str(PUBLIC / "mathvista"))[0]
    prompt = build_prompt(sample, "Your final answer MUST BE put in \\boxed{}.")
    assert prompt.splitlines() == [
        "What is the measure of angle x?",
        "(A) 30",
        "(B) 45",
        "(C) 60",
        "(D) 90",
        "Your final answer MUST BE put in \\boxed{}.",
    ]
    assert rp.mathvista(str(PUBLIC / "mathvista"))[1].question.endswith("(Unit: g)")


def test_gpqa_options_are_shuffled_deterministically_by_seed():
    a, b = rp.gpqa(str(PUBLIC / "gpqa")), rp.gpqa(str(PUBLIC / "gpqa"))
    assert [(s.id, s.choices, s.answer) for s in a] == [(s.id, s.choices, s.answer) for s in b]
    for s in a:
        assert s.choices[ord(s.answer) - ord("A")] in ("photon", "7") and len(set(s.choices)) == 4
    orders = {tuple(tuple(s.choices) for s in rp.gpqa(str(PUBLIC / "gpqa"), seed=k)) for k in range(6)}
    assert len(orders) > 1  # another seed, another order


def test_parquet_export_with_image_bytes_is_read():
    pytest.importorskip("pyarrow")
    (sample,) = rp.mmmu_pro(str(PUBLIC / "mmmu_pro_parquet"))
    assert sample.id == "test_Art_9" and sample.answer == "B" and sample.images[0].shape == (8, 8, 3)


def test_hallusionbench_text_only_questions_are_an_option():
    samples = rp.hallusionbench(str(PUBLIC / "hallusionbench"), include_text_only=True)
    assert [(s.id, s.answer, len(s.images)) for s in samples][-1] == ("VS_illusion_0_0_1", "Yes", 0)


def test_mathverse_version_selects_rows():
    assert [s.id for s in rp.mathverse(str(PUBLIC / "mathverse"), version="Text Dominant")] == ["1"]


def _copy(fmt, tmp_path):
    return shutil.copytree(PUBLIC / fmt, tmp_path / fmt)


def _edit_json(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_missing_field_names_file_record_and_field(tmp_path):
    d = _copy("mathvista", tmp_path)
    _edit_json(d / "testmini.json", lambda data: data["2"].pop("answer"))
    with pytest.raises(DataError, match=r"testmini\.json:key 2: field 'answer': missing"):
        rp.mathvista(str(d))


def test_jsonl_errors_name_the_line(tmp_path):
    d = _copy("math500", tmp_path)
    lines = (d / "test.jsonl").read_text().splitlines()
    (d / "test.jsonl").write_text(lines[0] + "\n{not json\n")
    with pytest.raises(DataError, match=r"test\.jsonl:line 2: malformed JSON"):
        rp.math500(str(d))
    row = json.loads(lines[1])
    row["problem"] = ["not", "text"]
    (d / "test.jsonl").write_text(lines[0] + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"test\.jsonl:line 2: field 'problem': expected str, got list"):
        rp.math500(str(d))


def test_missing_or_corrupt_image_is_named(tmp_path):
    d = _copy("dynamath", tmp_path)
    (d / "images/2.png").unlink()
    with pytest.raises(DataError, match=r"record 1: field 'image': image 'images/2.png' not found"):
        rp.dynamath(str(d))
    (d / "images/2.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"record 1: field 'image': cannot decode"):
        rp.dynamath(str(d))


def test_answer_that_is_not_an_option_is_rejected(tmp_path):
    d = _copy("mathvista", tmp_path)
    _edit_json(d / "testmini.json", lambda data: data["1"].update(answer="50"))
    with pytest.raises(DataError, match=r"key 1: field 'answer': '50' is neither an option letter"):
        rp.mathvista(str(d))


def test_other_schema_errors(tmp_path):
    d = _copy("wemath", tmp_path)
    _edit_json(d / "testmini.json", lambda data: data[1].update(option="six or twelve"))
    with pytest.raises(DataError, match=r"record 1: field 'option': cannot parse options"):
        rp.wemath(str(d))
    d = _copy("hallusionbench", tmp_path)
    _edit_json(d / "HallusionBench.json", lambda data: data[0].update(gt_answer="yes"))
    with pytest.raises(DataError, match=r"record 0: field 'gt_answer'"):
        rp.hallusionbench(str(d))
    with pytest.raises(DataError, match="does not exist"):
        rp.gpqa(str(tmp_path / "nowhere"))
    d = _copy("gpqa", tmp_path)
    (d / "gpqa_diamond.csv").write_text("Question,Correct Answer\nq,a\n")
    with pytest.raises(DataError, match=r"gpqa_diamond\.csv:line 2: field 'Incorrect Answer 1': missing"):
        rp.gpqa(str(d))


def test_task_yaml_over_a_public_folder_runs_through_the_cli(tmp_path, cli):
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "mathvista.yaml").write_text(
        textwrap.dedent(f"""
        name: public/mathvista
        kind: reasoning
        source: {{loader: reasoning_mathvista, args: {{path: {PUBLIC / "mathvista"}}}}}
        metrics: [accuracy, extraction_failed]
        primary_metric: accuracy
    """)
    )
    proc = cli(
        "eval",
        "--task",
        "public/mathvista",
        "--include",
        tasks,
        "--model",
        "constant",
        "--output",
        tmp_path / "out",
        "--no-progress",
        check_rc=0,
    )
    assert "accuracy" in proc.stdout and "failed samples: 0 of 2" in proc.stdout
    (tasks / "mathvista.yaml").write_text((tasks / "mathvista.yaml").read_text().replace("path:", "paht:"))
    bad = cli("eval", "--task", "public/mathvista", "--include", tasks, "--model", "constant", check_rc=2)
    assert "args.paht" in bad.stderr


def test_hf_parquet_export_falls_back_to_decoded_image_bytes(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import io

    import numpy as np
    import pyarrow.parquet as pq
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), 7, np.uint8)).save(buf, format="PNG")
    row = {
        "pid": "9",
        "question": "How long is the bar?",
        "image": "images/9.jpg",
        "decoded_image": {"bytes": buf.getvalue(), "path": None},
        "choices": None,
        "unit": None,
        "precision": 1.0,
        "answer": "2.5",
        "question_type": "free_form",
        "answer_type": "float",
        "metadata": {"task": "figure question answering"},
        "query": "...",
    }
    (tmp_path / "data").mkdir()
    pq.write_table(pa.Table.from_pylist([row]), tmp_path / "data/testmini-00000-of-00001.parquet")
    (sample,) = rp.mathvista(str(tmp_path))
    assert sample.id == "9" and sample.answer == "2.5" and int(sample.images[0][0, 0, 0]) == 7
