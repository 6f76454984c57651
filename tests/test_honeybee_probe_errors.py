"""The probe's error taxonomy (baselines/honeybee/probe/errors.py): hand-written CoTs in the teacher's layout, one
per class, the teacher's own CoTs as the no-false-alarm check, and the CLI on a real store."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.store import Record, RunStore
from harness_baselines.honeybee.sources import Question, _qtype
from harness_baselines.honeybee.teacher import write_cot

SCRIPT = Path(__file__).parents[1] / "baselines" / "honeybee" / "probe" / "errors.py"
spec = importlib.util.spec_from_file_location("probe_errors", SCRIPT)
errors = importlib.util.module_from_spec(spec)
spec.loader.exec_module(errors)


@pytest.fixture(scope="module")
def probe():
    return errors.probe_samples("probe/text")


def test_one_cot_per_class(probe):
    digits = probe["digits-000"]  # scene: digits 8, 7 (seed 7), "the sum of the two digits"
    assert digits.meta["digits"] == [8, 7] and digits.answer == "15"
    right = "the digits from left to right are 8, 7. 8 + 7 = 15. so the answer is 15. \\boxed{15}"
    assert errors.classify(digits, right, correct=True) == "correct"
    assert errors.classify(digits, right.replace("\\boxed{15}", "15."), correct=False) == "format"
    assert errors.classify(digits, right.replace("\\boxed{15}", "\\boxed{ }"), correct=False) == "format"
    misread = "the digits from left to right are 8, 1. 8 + 1 = 9. so the answer is 9. \\boxed{9}"
    assert errors.classify(digits, misread, correct=False) == "read"
    # The operands of the statement are what it read, even without a reading sentence.
    assert errors.classify(digits, "8 + 1 = 9. so the answer is 9. \\boxed{9}", correct=False) == "read"
    miscount = "the digits from left to right are 8, 7. 8 + 7 = 11. so the answer is 11. \\boxed{11}"
    assert errors.classify(digits, miscount, correct=False) == "compute"
    miscopy = "the digits from left to right are 8, 7. 8 + 7 = 15. hence the answer is 8. \\boxed{8}"
    assert errors.classify(digits, miscopy, correct=False) == "copy"
    # The proxy's decoded tokens are spaced: the same CoT in its spelling gives the same class.
    spaced = "the digits from left to right are 8 , 7 . 8 + 7 = 11 . so the answer is 11 . \\boxed{ 11 }"
    assert errors.classify(digits, spaced, correct=False) == "compute"


def test_multiple_choice_and_other(probe):
    clock = probe["clock-010"]  # 11:30, options 10:30 / 12:30 / 6:55 / 11:30 -> D
    assert clock.meta["time"] == "11:30" and clock.answer == "D"
    misread = "the clock shows 12 : 30 . 12:30 is option ( b ) . so the answer is b . \\boxed{ b }"
    assert errors.classify(clock, misread, correct=False) == "read"
    miscopy = "the clock shows 11:30. 11:30 is option (d). so the answer is b. \\boxed{b}"
    assert errors.classify(clock, miscopy, correct=False) == "copy"
    mapping = "the clock shows 11:30. 11:30 is option (a). so the answer is a. \\boxed{a}"
    assert errors.classify(clock, mapping, correct=False) == "other"
    bars = probe["bar_chart-024"]  # values P 2, Q 3, R 2, S 4: "which bar is the tallest?"
    assert errors.classify(bars, "the chart has bars p = 2, q = 5. \\boxed{b}", correct=False) == "read"
    compared = "the chart has bars p = 2, q = 3, r = 2, s = 4. the tallest bar is q. q is option (c). \\boxed{c}"
    assert errors.classify(bars, compared, correct=False) == "other"
    silent = "the tallest bar is q. q is option (c). \\boxed{c}"  # nothing read is stated: cannot tell a misread
    assert errors.classify(bars, silent, correct=False) == "unread"
    counting = probe["counting-000"]  # 3 blue triangles, 1 yellow circle, 1 blue circle
    assert errors.classify(counting, "there are 4 blue triangles in the image. \\boxed{4}", correct=False) == "read"
    total = "there are 6 shapes: 3 blue triangles. there are 3 blue triangles. \\boxed{3}"
    assert errors.classify(counting, total, correct=False) == "read"
    triangle = probe["geometry-009"]  # angles 70, 80 labelled, 30 asked
    wrong_sum = "the labelled angles are 70 and 80 degrees. 180 - 70 - 80 = 40. 40 is option (b). \\boxed{b}"
    assert errors.classify(triangle, wrong_sum, correct=False) == "compute"
    on_a_triangle = "the shaded rectangle is 3 squares wide and 2 squares tall. \\boxed{6}"
    assert errors.classify(triangle, on_a_triangle, correct=False) == "read"


def test_teacher_cots_raise_no_false_alarm(probe):
    """Every correct teacher CoT (both styles, all openers) passes read, compute and copy: filed as "other" (or
    "unread" for a short CoT that states nothing it read) when the grader is told it is wrong, so nothing the
    teacher writes is mistaken for a misread or a miscount; every long CoT states its reading."""
    rng = np.random.default_rng(0)
    for s in probe.values():
        q = Question("probe", 0, s.category, s.difficulty, _qtype(s.category, s.meta), s.question, s.answer,
                     s.choices, None, "", dict(s.meta))  # fmt: skip
        for long_share in (0.0, 1.0):
            cot = write_cot(q, rng, error_rate=0.0, long_share=long_share)
            expected = {"other"} if long_share else {"other", "unread"}
            assert errors.classify(s, cot, correct=False) in expected, (s.id, cot, errors.misreads(s, cot))


def test_cli_on_a_real_store(tmp_path, probe):
    store = RunStore(tmp_path / "harness.sqlite")
    key = "k" * 64
    ids = ["digits-000", "clock-010"]
    store.put_records(
        key,
        [
            Record(ids[0], json.dumps(["8 + 7 = 11. \\boxed{11}"]).encode(), {"accuracy": 0.0}, {}, None),
            Record(ids[1], json.dumps(["the answer is d. \\boxed{d}"]).encode(), {"accuracy": 100.0}, {}, None),
        ],
    )
    store.conn.execute(
        "INSERT INTO runs (run_id, cache_key, task, task_hash, kind, model, model_args, variant, fingerprint, seed,"
        " spec, provenance, status, started, sample_ids) VALUES ('r1', ?, 'probe/text', 'h', 'reasoning', 'm', '{}',"
        " 'v', 'f', 0, '{}', '{}', 'finished', 0, ?)",
        (key, json.dumps(ids)),
    )

    out = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, check=True)
    stages, checks = out.stdout.split("each check on its own")
    rows = {line.split(" | ")[1]: line for line in stages.splitlines() if line.startswith("| text")}
    separate = {
        line.split(" | ")[1]: line.split(" | ")[2:] for line in checks.splitlines() if line.startswith("| text")
    }
    # digits-000: "8 + 7" read right, "= 11" false, box = its own result 11; clock-010 states nothing checkable.
    assert separate["digits"] == ["1/1 = 100 % [21, 100]", "0/1 = 0 % [0, 79]", "1/1 = 100 % [21, 100] |"]
    assert separate["clock"] == ["-", "-", "- |"]
    assert rows["digits"].split(" | ")[2:6] == ["1", "0 (0 % [0, 79])", "0 (0 % [0, 79])", "0 (0 % [0, 79])"]
    assert rows["digits"].split(" | ")[6].startswith("1 (100 %")  # compute
    assert rows["all"].split(" | ")[3].startswith("1 (50 % [9, 91])")  # correct, Wilson interval
    bad = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: ")
    assert "nowhere" in bad.stderr
