"""The embedded reasoning suite (determinism, independently recomputed answers, text-only twin), the reasoning task
kind in process, and the CLI on the reasoning baselines and on adapters that break the Reasoner contract."""

import json
import re
import sqlite3
import textwrap

import numpy as np
import pytest
from skimage.measure import label, regionprops

from harness.adapters import Reasoner
from harness.data.reasoning_embedded import CATEGORIES, generate
from harness.kinds.base import AdapterContractError
from harness.kinds.reasoning import ReasoningTask
from harness.spec import ReasoningTaskSpec


@pytest.fixture(scope="module")
def suite():
    return generate()


@pytest.fixture(scope="module")
def text_suite():
    return generate(with_images=False)


def _by_id(samples):
    return {s.id: s for s in samples}


def _choice(s):
    return s.choices[ord(s.answer) - ord("A")]


# --- the generator ---------------------------------------------------------------------------------------------


def test_suite_shape(suite):
    assert len(suite) == 20 * len(CATEGORIES) == 100
    assert [s.id for s in suite[:3]] == ["counting-000", "counting-001", "counting-002"]
    assert {s.category for s in suite} == set(CATEGORIES)
    assert {s.difficulty for s in suite} == {1, 2, 3}
    mc = [s for s in suite if s.choices]
    assert 30 <= len(mc) <= 50 and all(len(s.choices) == 4 and s.answer in "ABCD" for s in mc)
    assert all(len(set(s.choices)) == 4 for s in mc)
    assert all(re.fullmatch(r"\d+", s.answer) for s in suite if not s.choices)
    for s in suite:
        assert len(s.images) == 1 and s.images[0].shape == (96, 96, 3) and s.images[0].dtype == np.uint8


def test_generator_is_deterministic_and_seeded(suite):
    again = generate()
    for a, b in zip(suite, again):
        assert (a.id, a.question, a.answer, a.choices, a.meta) == (b.id, b.question, b.answer, b.choices, b.meta)
        assert np.array_equal(a.images[0], b.images[0])
    other = generate(seed=1)
    assert sum(a.answer != b.answer or a.choices != b.choices for a, b in zip(suite, other)) > 30
    small = _by_id(generate(n_per_type=4))  # growing n_per_type keeps the earlier samples
    for sid, s in small.items():
        big = _by_id(suite)[sid]
        assert (s.question, s.answer, s.choices) == (big.question, big.answer, big.choices)
        assert np.array_equal(s.images[0], big.images[0])


def test_text_only_twin_has_no_images_and_the_same_answers(suite, text_suite):
    assert [s.id for s in text_suite] == [s.id for s in suite]
    for t, s in zip(text_suite, suite):
        assert t.images == []
        assert (t.answer, t.choices, t.category, t.difficulty) == (s.answer, s.choices, s.category, s.difficulty)
        assert t.question != s.question
    digits = [t for t in text_suite if t.category == "digits"]
    assert all(str(t.meta["digits"][0]) in t.question for t in digits)  # the image content is stated


def test_digit_answers_recomputed_from_sklearn_targets(suite):
    from sklearn.datasets import load_digits

    d = load_digits()
    for s in (s for s in suite if s.category == "digits"):
        values = [int(d.target[i]) for i in s.meta["dataset_index"]]
        expected = values[0] * values[1] if "product" in s.question else sum(values)
        assert int(s.answer) == expected
        assert len(values) == (3 if "three" in s.question else 2)
        ink = 255 - s.images[0][..., 0].astype(int)  # dark strokes on white; one tile per digit
        cols = np.flatnonzero(ink.sum(axis=0) > 0)
        assert cols.size and cols.max() - cols.min() > 96 // 2


def test_counting_answers_recomputed_from_pixels(suite):
    colors = {"red": (220, 30, 30), "green": (30, 160, 50), "blue": (40, 70, 230), "yellow": (235, 200, 20)}
    for s in (s for s in suite if s.category == "counting"):
        color, shape = s.meta["target"].split()
        mask = np.all(s.images[0] == colors[color], axis=-1)
        found = 0
        for region in regionprops(label(mask)):
            # Fill ratio of the bounding box: square ~1, circle ~pi/4, triangle ~1/2.
            kind = "square" if region.extent > 0.9 else "circle" if region.extent > 0.65 else "triangle"
            found += kind == shape
        assert found == int(s.answer), s.id


def test_bar_chart_answers_recomputed_from_pixels(suite):
    for s in (s for s in suite if s.category == "bar_chart"):
        bars = np.all(s.images[0] == (60, 110, 200), axis=-1)
        heights = [
            int(region.bbox[2] - region.bbox[0]) for region in sorted(regionprops(label(bars)), key=lambda r: r.bbox[1])
        ]
        labels = sorted(s.meta["values"])
        assert len(heights) == len(labels)
        if s.choices:
            assert _choice(s) == labels[int(np.argmax(heights))]
            assert heights.count(max(heights)) == 1
        else:
            values = [s.meta["values"][lab] for lab in labels]
            unit = max(heights) / max(values)  # pixel heights are proportional to the values
            assert int(s.answer) == round(heights[labels.index(s.meta["bar"])] / unit)


def test_clock_and_triangle_answers_recomputed_from_the_described_question(text_suite):
    for s in (s for s in text_suite if s.category == "clock"):
        hour_angle, minute_angle = map(float, re.findall(r"(\d+(?:\.\d+)?) degrees", s.question))
        hour = int(hour_angle // 30) or 12
        assert _choice(s) == f"{hour}:{int(minute_angle / 6):02d}"
    for s in (s for s in text_suite if s.category == "geometry"):
        numbers = [int(x) for x in re.findall(r"\d+", s.question)]
        if s.choices:
            assert int(_choice(s)) == 180 - numbers[0] - numbers[1]
        else:
            assert int(s.answer) == numbers[0] * numbers[1]


def test_rectangle_area_recomputed_from_pixels(suite):
    for s in (s for s in suite if s.category == "geometry" and not s.choices):
        fill = np.all(s.images[0] == (120, 170, 240), axis=-1)
        cells = [region for region in regionprops(label(fill)) if region.area >= 9]  # one blob per grid cell
        assert len(cells) == int(s.answer), s.id


# --- the task kind, in process ---------------------------------------------------------------------------------


def _task(samples, **options):
    spec = ReasoningTaskSpec(
        name="reasoning/t",
        kind="reasoning",
        source={"loader": "reasoning_embedded"},
        metrics=["accuracy", "extraction_failed", "maj@n", "pass@n"],
        primary_metric="accuracy",
        options=options,
    )
    return ReasoningTask(spec, samples)


class Scripted(Reasoner):
    """Returns ``script(prompt, n)`` for each prompt."""

    def __init__(self, script):
        super().__init__()
        self.script, self.calls = script, []

    def generate(self, prompts, seeds, n=1, **gen_kwargs):
        self.calls.append((prompts, seeds, n, gen_kwargs))
        return self.script(prompts, n)


def test_prompt_lists_choices_then_suffix(suite):
    mc = next(s for s in suite if s.choices)
    task = _task([mc], n=2, max_new_tokens=64, prompt_suffix="Box it.")
    adapter = Scripted(lambda prompts, n: [["\\boxed{A}"] * n for _ in prompts])
    task.predict(adapter, [mc], [7])
    prompts, seeds, n, kwargs = adapter.calls[0]
    lines = prompts[0]["text"].splitlines()
    assert lines == [mc.question, *(f"({c}) {t}" for c, t in zip("ABCD", mc.choices)), "Box it."]
    assert prompts[0]["images"][0] is mc.images[0] and seeds == [7] and n == 2
    assert kwargs == {"max_new_tokens": 64}


@pytest.mark.parametrize(
    "script, needle",
    [
        (lambda prompts, n: [["x"] * n for _ in prompts[:-1]], "1 completion lists for a batch of 2"),
        (
            lambda prompts, n: [["x"] * (n + 1) for _ in prompts],
            "3 completions for sample 'counting-000', expected n=2",
        ),
        (lambda prompts, n: [["x", None] for _ in prompts], "NoneType completion for sample 'counting-000'"),
        (lambda prompts, n: "x", "str completion lists"),
    ],
)
def test_contract_violations_are_errors_naming_the_sample(suite, script, needle):
    task = _task(suite[:2], n=2)
    with pytest.raises(AdapterContractError, match=re.escape(needle)):
        task.predict(Scripted(script), suite[:2], [0, 1])


def test_scores_subsets_encoding_and_digest(suite):
    s = next(s for s in suite if s.choices and s.answer != "A")
    task = _task([s], n=3)
    outs = task.predict(Scripted(lambda p, n: [["", f"\\boxed{{{s.answer}}}", f"({s.answer})"]]), [s], [0])
    assert task.decode(task.encode(outs[0])) == outs[0]
    assert task.score([s], outs) == [
        {"accuracy": 0.0, "extraction_failed": 100.0, "maj@n": 100.0, "pass@n": 100.0, "mean@n": 100.0 * (1 / 3)}
    ]
    assert task.subsets(s) == [f"category={s.category}", f"difficulty={s.difficulty}"]
    changed = type(s)(s.id, s.question, [s.images[0] ^ 1], s.answer, s.choices, s.category, s.difficulty, s.meta)
    assert task.sample_digest(changed) != task.sample_digest(s)


# --- the CLI -----------------------------------------------------------------------------------------------------


def _results(out):
    loaded = [json.loads(f.read_text()) for f in out.glob("reasoning/*/*.json")]
    return {r["spec"]["task"]: r for r in loaded}


def test_constant_scores_the_share_of_mc_answers_that_are_a(cli, tmp_path, suite, text_suite):
    cli("eval", "--task", "reasoning-quick", "--model", "constant", "-o", tmp_path, "--no-progress", check_rc=0)
    res = _results(tmp_path)
    assert set(res) == {"reasoning/embedded-quick", "reasoning/text-quick"}
    for name, samples in (("reasoning/embedded-quick", suite), ("reasoning/text-quick", text_suite)):
        agg = res[name]["aggregates"]
        expected = 100 * sum(bool(s.choices) and s.answer == "A" for s in samples) / len(samples)
        assert agg["all"]["accuracy"]["value"] == pytest.approx(expected)
        assert agg["all"]["accuracy"]["n"] == len(samples) and agg["all"]["extraction_failed"]["value"] == 0
        assert agg["category=counting"]["accuracy"]["value"] == 0  # no options, "A" is never a count
        assert {"difficulty=1", "difficulty=2", "difficulty=3", "category=clock"} <= set(agg)


def test_random_choice_is_independent_of_batch_size(cli, tmp_path):
    stores = []
    for bs in (1, 5):
        out = tmp_path / f"bs{bs}"
        cli(
            "eval",
            "--task",
            "reasoning/embedded-quick",
            "--model",
            "random-choice",
            "--batch_size",
            bs,
            "-o",
            out,
            "--no-progress",
            check_rc=0,
        )
        stores.append(out)
    a, b = (_results(out)["reasoning/embedded-quick"] for out in stores)
    assert a["aggregates"] == b["aggregates"] and a["run_id"] == b["run_id"]
    assert 0 < a["aggregates"]["all"]["accuracy"]["value"] < 50
    rows = [
        dict(sqlite3.connect(out / "harness.sqlite").execute("SELECT sample_id, output FROM records").fetchall())
        for out in stores
    ]
    assert len(rows[0]) == 100 and rows[0] == rows[1]


PLUGIN = """
from harness.adapters import Reasoner

class ExtraCompletion(Reasoner):
    def generate(self, prompts, seeds, n=1, **gen_kwargs):
        return [["\\\\boxed{1}"] * (n + 1) for _ in prompts]

class Silent(Reasoner):
    def generate(self, prompts, seeds, n=1, **gen_kwargs):
        return [[""] * n for _ in prompts]
"""


@pytest.fixture
def reasoning_plugins(tmp_path):
    d = tmp_path / "reasoning_plugins"
    d.mkdir()
    (d / "reasoning_adapters.py").write_text(textwrap.dedent(PLUGIN))
    return d


def test_wrong_number_of_completions_is_a_one_line_error(cli, reasoning_plugins, tmp_path):
    proc = cli(
        "eval",
        "--task",
        "reasoning/embedded",
        "--model",
        "reasoning_adapters:ExtraCompletion",
        "-o",
        tmp_path / "r",
        "--limit",
        "3",
        "--no-progress",
        pythonpath=reasoning_plugins,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "broke the Reasoner contract" in lines[0]
    assert "2 completions for sample 'counting-000', expected n=1" in lines[0]
    assert not list((tmp_path / "r").glob("**/*.json"))


def test_empty_generations_are_extraction_failures_not_dropped(cli, reasoning_plugins, tmp_path):
    cli(
        "eval",
        "--task",
        "reasoning/text-quick",
        "--model",
        "reasoning_adapters:Silent",
        "-o",
        tmp_path,
        "--no-progress",
        pythonpath=reasoning_plugins,
        check_rc=0,
    )
    res = _results(tmp_path)["reasoning/text-quick"]
    agg = res["aggregates"]["all"]
    assert res["n_failed"] == 0 and res["n_samples"] == 100
    assert agg["extraction_failed"] == {"value": 100.0, "ci_low": 100.0, "ci_high": 100.0, "n": 100}
    assert agg["accuracy"]["value"] == 0.0 and agg["accuracy"]["n"] == 100


def test_sampling_options_reach_the_adapter_and_n_metrics(cli, tmp_path):
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "n3.yaml").write_text(
        "name: reasoning/n3\nkind: reasoning\nsource: {loader: reasoning_embedded, args: {n_per_type: 6}}\n"
        "metrics: [accuracy, maj@n, pass@n]\nprimary_metric: accuracy\noptions: {n: 3}\n"
    )
    cli(
        "eval",
        "--task",
        "reasoning/n3",
        "--model",
        "random-choice",
        "--include",
        tasks,
        "-o",
        tmp_path / "r",
        "--no-progress",
        check_rc=0,
    )
    agg = json.loads(next((tmp_path / "r").glob("reasoning/n3/*.json")).read_text())["aggregates"]["all"]
    assert agg["pass@n"]["value"] >= agg["accuracy"]["value"] and agg["pass@n"]["value"] >= agg["maj@n"]["value"]
    assert agg["pass@n"]["value"] > agg["accuracy"]["value"]  # three random guesses beat one
