"""The ten reasoning benchmarks in each release form (tests/reasoning_releases.py): rows HoneyBee keeps, unique
ids, HoneyBee's gold letters and multiple-choice flags, and prompts equal, character for character, to what
HoneyBee's eval/data.py + eval_plm_multi_hf.py build (re-stated here by hand from that code)."""

import pytest
import reasoning_releases as rel

from harness.data import reasoning_public as rp
from harness.errors import DataError

HINT_LETTER = "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, E, at the end."
BOX = "\n\nYour final answer MUST BE put in \\boxed{}."

# dataset -> [(id, gold, mcq, honeybee prompt)] in release order
EXPECTED = {
    "mathvista": [
        ("1", "B", True, rel.MATHVISTA[0]["query"] + BOX),
        ("2", "1000", True, rel.MATHVISTA[1]["query"] + BOX),  # choices None -> "" -> still "not None": MCQ
    ],
    "mathverse": [  # Vision Only rows, gold numeric_or_choice_answer, prompt query_cot
        ("5", "B", False, rel.MATHVERSE[1]["query_cot"] + BOX),
        ("10", "12", False, rel.MATHVERSE[2]["query_cot"] + BOX),
    ],
    "mathvision": [
        (
            "1",
            "C",
            True,
            f"{HINT_LETTER}\nQuestion: Which shape comes next?\nChoices:\n(A) A\n(B) B\n(C) C\n(D) D\n(E) E{BOX}",
        ),
        (
            "2",
            "7",
            False,
            f"Hint: Please answer the question requiring an answer.\nQuestion: How many dots are there?{BOX}",
        ),
        ("3", "C", True, f"{HINT_LETTER}\nQuestion: What is 1 + 2?\nChoices:\n(A) 1\n(B) 2\n(C) 3\n(D) 4\n(E) 5{BOX}"),
    ],
    "mmmu_pro": [
        (
            "test_Art_1",
            "C",
            True,
            "Hint: Please answer the question shown in the image. Provide the correct option "
            "letter, e.g., A, B, C, D, E, at the end.\nChoices:\n(A) oil\n(B) fresco\n"
            f"(C) tempera\n(D) ink{BOX}",
        ),
        (
            "validation_Accounting_29",
            "C",
            True,
            "Hint: Please answer the question shown in the image. Provide the "
            "correct option letter, e.g., A, B, C, D, E, at the end.\nChoices:\n"
            f"(A) ['A', 'B', 'Not enough information']{BOX}",
        ),
    ],
    "wemath": [  # split('; ') then the first three characters dropped, as HoneyBee does (quirks kept)
        (
            "1",
            "B",
            True,
            f"{HINT_LETTER}\nQuestion: What is the area?\nChoices:\n(A) 6\n(B) 12\n(C) 24\n(D) 36\n"
            f"(E) No correct answer{BOX}",
        ),
        ("2", "A", True, f"{HINT_LETTER}\nQuestion: How many squares?\nChoices:\n(A) ；B．4{BOX}"),
        ("3", "C", True, f"{HINT_LETTER}\nQuestion: Which angle?\nChoices:\n(A) 5 B. 7 C. 9{BOX}"),
        ("4", "F", True, f"{HINT_LETTER}\nQuestion: How long?\nChoices:\n(A) 1\n(B) 2\n(C) 3\n(D) 4{BOX}"),
        (
            "5",
            "C",
            True,
            f"{HINT_LETTER}\nQuestion: What is marked?\nChoices:\n(A) 30°\n(B) a circle;O. is its center\n(C) 60°{BOX}",
        ),
        (
            "6",
            "B",
            True,
            f"{HINT_LETTER}\nQuestion: Which route?\nChoices:\n(A) go north to ;C.  ;B. go west to ;C.  "
            f";C. stay\n(B) No correct answer{BOX}",
        ),
    ],
    "dynamath": [
        (
            "1",
            "2.5",
            False,
            "Hint: Please answer the question and provide the numerical or float answer, e.g., 9, "
            f"2.5, 1.24 at the end.\nQuestion: How long is the bar?{BOX}",
        ),
        ("2", "B", True, f"{HINT_LETTER}\nQuestion: Which graph is increasing?\nA. f\nB. g{BOX}"),
        ("3", "12", False, f"Hint: Please answer the question requiring an answer.\nQuestion: How many edges?{BOX}"),
    ],
    "logicvista": [  # the record with an empty question is skipped
        ("1", "C", False, rel.LOGICVISTA["1"]["question"] + BOX),
        ("2", "A, C", False, rel.LOGICVISTA["2"]["question"] + BOX),
    ],
    "hallusionbench": [  # the image split: the text-only question is left out
        (
            "VD_illusion_0_0_0",
            "Yes",
            False,
            "Hint: Please answer the question requiring an answer of Yes or No.\n"
            f"Question: Is the left circle larger?{BOX}",
        ),
        (
            "VD_illusion_0_1_0",
            "No",
            False,
            "Hint: Please answer the question requiring an answer of Yes or No.\n"
            f"Question: Is the left circle larger?{BOX}",
        ),
    ],
    "math500": [
        ("test/prealgebra/1.json", "2", False, f"What is $1+1$?{BOX}"),
        ("test/algebra/2.json", "\\frac{1}{2}", False, f"Simplify $\\frac{{2}}{{4}}$.{BOX}"),
    ],
}
FORMS = {"mmmu_pro": ["hf"], "math500": ["github"]}
# LogicVista's HF copy has no ids: rows are numbered in file order
HF_IDS = {"logicvista": ["test-00000", "test-00002"]}


def _load(dataset, form, tmp_path, **kwargs):
    return getattr(rp, dataset)(str(rel.write(dataset, form, tmp_path / f"{dataset}-{form}")), **kwargs)


@pytest.mark.parametrize("dataset,form", [(d, f) for d in EXPECTED for f in FORMS.get(d, ["hf", "github"])])
def test_release_loads_with_honeybee_rows_gold_and_prompts(dataset, form, tmp_path):
    samples = _load(dataset, form, tmp_path)
    ids = HF_IDS.get(dataset) if form == "hf" and dataset in HF_IDS else [e[0] for e in EXPECTED[dataset]]
    assert [s.id for s in samples] == ids and len(set(ids)) == len(ids)
    expected = EXPECTED[dataset]
    if dataset == "mathverse" and form == "github":  # AI4Math/MathVerse: the raw answer is the gold
        expected = [expected[0], ("10", "12 cm", False, expected[1][3])]
    assert [(s.answer, s.mcq) for s in samples] == [(g, m) for _, g, m, _ in expected]
    for s, (_, _, _, prompt) in zip(samples, expected):
        assert s.prompts["honeybee"] == prompt
        assert all(img.shape == (8, 8, 3) for img in s.images)


def test_gpqa_prompt_is_honeybees_template_over_a_seeded_order(tmp_path):
    samples = _load("gpqa", "github", tmp_path)
    for s, row in zip(samples, rel.GPQA):
        raw = [row["Correct Answer"]] + [row[f"Incorrect Answer {k}"] for k in (1, 2, 3)]
        order = [next(a for a in raw if a.strip() == c) for c in s.choices]
        options = ", ".join(f"{'ABCD'[i]}: {a}" for i, a in enumerate(order))
        assert s.prompts["honeybee"] == f"{HINT_LETTER}\nProblem: {row['Question']}\nOptions: {options}{BOX}"
        assert s.choices["ABCD".index(s.answer)] == row["Correct Answer"].strip() and s.mcq is True


def test_skipped_logicvista_record_is_reported(tmp_path):
    samples = _load("logicvista", "github", tmp_path)
    assert samples.skipped == {"v1_382": "empty question"}
    assert _load("logicvista", "hf", tmp_path).skipped == {"test-00001": "empty question"}


def test_hallusionbench_can_include_the_text_only_questions(tmp_path):
    for form in ("hf", "github"):
        samples = _load("hallusionbench", form, tmp_path / form, include_text_only=True)
        assert [(s.id, len(s.images)) for s in samples][-1] == ("VS_chart_0_0_1", 0)


def test_mathvision_testmini_split(tmp_path):
    assert [s.id for s in _load("mathvision", "hf", tmp_path, split="testmini")] == ["1"]


def test_wemath_options_are_parsed_tolerantly_for_the_strict_grader(tmp_path):
    by_id = {s.id: s for s in _load("wemath", "hf", tmp_path)}
    assert by_id["1"].choices == ["6", "12", "24", "36", "No correct answer"]
    assert by_id["2"].choices == ["3", "4"]
    assert by_id["3"].choices == ["5", "7", "9"]
    assert by_id["4"].choices == ["1", "2", "3", "", "", "4"] and by_id["4"].meta["option_labels"] == "ABCF"
    assert by_id["5"].choices == ["30°", "a circle; O. is its center", "60°"]
    assert by_id["6"].choices == ["go north to; C.", "go west to; C.", "stay", "No correct answer"]
    assert by_id["4"].prompts["native"].splitlines()[1:5] == ["(A) 1", "(B) 2", "(C) 3", "(F) 4"]


def test_native_prompts_cite_each_benchmarks_own(tmp_path):
    from harness.protocols import native

    (vista,) = _load("mathvista", "hf", tmp_path)[:1]
    assert vista.prompts["native"] == rel.MATHVISTA[0]["query"] + BOX
    assert all(s.prompts["native"] == native.COT_VISION for s in _load("mmmu_pro", "hf", tmp_path))


@pytest.mark.parametrize("dataset", ["mathvista", "wemath", "dynamath"])
def test_non_utf8_json_is_a_one_line_error(dataset, tmp_path):
    root = rel.write(dataset, "github", tmp_path / dataset)
    data = next(p for p in root.rglob("*.json"))
    data.write_bytes(b"\xff\xfe" + data.read_bytes())
    with pytest.raises(DataError, match=r"not UTF-8 text"):
        getattr(rp, dataset)(str(root))


def test_corrupt_parquet_is_a_one_line_error(tmp_path):
    root = rel.write("mathvista", "hf", tmp_path / "mv")
    shard = next(root.rglob("*.parquet"))
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(DataError, match=r"testmini-00000-of-00001\.parquet: not a readable parquet file"):
        rp.mathvista(str(root))


def test_decompression_bomb_image_is_refused(tmp_path):
    import io

    from PIL import Image

    root = rel.write("math500", "github", tmp_path / "x")  # any folder; the image goes through the same decoder
    big = io.BytesIO()
    Image.new("1", (20000, 10000)).save(big, format="PNG")  # 2e8 pixels, a few KB compressed
    (root / "bomb.png").write_bytes(big.getvalue())
    row = rp.Row({"image": "bomb.png"}, "rows.json:record 0", root)
    with pytest.raises(DataError, match=r"record 0: field 'image'.*decompression bomb"):
        row.image("image")


def test_shipped_honeybee_tasks_run_from_a_data_dir(tmp_path):
    """All ten shipped tasks, each reading its pinned dataset from DATA_DIR/<hf_id>, through the real CLI."""
    import json

    import yaml

    from conftest import REPO, run_cli

    forms = {"math500": "github", "gpqa": "github"}
    shipped = sorted((REPO / "tasks/reasoning/honeybee").glob("*.yaml"))
    assert len(shipped) == 10
    for path in shipped:
        spec = yaml.safe_load(path.read_text())
        dataset = spec["source"]["loader"].removeprefix("reasoning_")
        assert spec["dataset"]["revision"] and spec["options"] == {
            "grader": "honeybee",
            "protocol": "honeybee",
            "max_new_tokens": 2048,
        }
        rel.write(dataset, forms.get(dataset, "hf"), tmp_path / "data" / spec["dataset"]["hf_id"])
    proc = run_cli(
        "eval",
        "--task",
        "honeybee-eval",
        "--model",
        "constant",
        "--data_dir",
        tmp_path / "data",
        "--output",
        tmp_path / "out",
        "--no-progress",
        check_rc=0,
    )
    assert proc.stdout.count("failed samples: 0") == 10
    assert "skipped 1 row(s) that cannot be scored: test-00001 (empty question)" in proc.stderr
    results = {p.parent.name: json.loads(p.read_text()) for p in (tmp_path / "out/reasoning").glob("*/*.json")}
    assert {k: v["n_samples"] for k, v in results.items()} == {
        "mathvista": 2,
        "mathverse": 2,
        "mathvision": 3,
        "mmmu-pro-vision": 2,
        "we-math": 6,
        "dynamath": 3,
        "logicvista": 2,
        "hallusionbench": 2,
        "math500": 2,
        "gpqa-diamond": 2,
    }
    # the constant model answers \boxed{A}: right exactly where HoneyBee's gold is A
    assert results["we-math"]["aggregates"]["all"]["accuracy"]["value"] == pytest.approx(100 / 6)
    assert results["logicvista"]["n_skipped"] == 1


def _task(tmp_path, dataset, options, form="hf"):
    """A task over one fixture release, built through the registry as `harness eval` builds it."""
    from harness import registry

    root = rel.write(dataset, form, tmp_path / "data" / dataset)
    path = tmp_path / f"{dataset}-{abs(hash(options))}.yaml"
    path.write_text(
        f"name: t/{dataset}\nkind: reasoning\n"
        f"source: {{loader: reasoning_{dataset}, args: {{path: {root}}}}}\n"
        f"options: {options}\nmetrics: [accuracy]\nprimary_metric: accuracy\n"
    )
    return registry.build_task(registry.load_task_file(path))


def test_protocol_picks_the_prompt_and_grader_and_both_are_hashed(tmp_path):
    hb = _task(tmp_path, "mathvision", "{grader: honeybee, protocol: honeybee}")
    native = _task(tmp_path, "mathvision", "{grader: honeybee, protocol: native}")
    strict = _task(tmp_path, "mathvision", "{grader: strict, protocol: honeybee}")
    sample = hb.samples[1]
    assert hb.prompt(sample)["text"] == sample.prompts["honeybee"] != native.prompt(sample)["text"]
    assert native.prompt(sample)["text"] == sample.prompts["native"]
    assert len({hb.content_hash(), native.content_hash(), strict.content_hash()}) == 3
    # "7" alone: right under score.py's whole-response fallback, an extraction failure under strict
    assert hb.score([sample], [["7"]])[0]["accuracy"] == 100.0
    assert strict.score([sample], [["7"]])[0] == {
        "accuracy": 0.0,
        "extraction_failed": 100.0,
        "maj@n": 0.0,
        "pass@n": 0.0,
        "mean@n": 0.0,
    }


def test_a_protocol_the_loader_does_not_build_is_a_load_error(tmp_path):
    from conftest import one_line_error, run_cli

    (tmp_path / "t.yaml").write_text(
        "name: t/embedded-hb\nkind: reasoning\nsource: {loader: reasoning_embedded, "
        "args: {n_per_type: 1}}\noptions: {protocol: honeybee}\nmetrics: [accuracy]\n"
        "primary_metric: accuracy\n"
    )
    proc = run_cli(
        "eval", "--task", "t/embedded-hb", "--include", tmp_path, "--model", "constant", "--output", tmp_path / "out"
    )
    one_line_error(proc, "t.yaml", "options.protocol 'honeybee'", "reasoning_embedded", "protocol: plain")


def test_corrupt_release_file_under_data_dir_is_one_line_through_the_cli(tmp_path):
    from conftest import REPO, one_line_error, run_cli

    root = rel.write("mathvista", "hf", tmp_path / "data" / "AI4Math" / "MathVista")
    shard = next(root.rglob("*.parquet"))
    shard.write_bytes(b"PAR1 not really")
    assert (REPO / "tasks/reasoning/honeybee/mathvista.yaml").is_file()
    proc = run_cli(
        "eval",
        "--task",
        "reasoning/mathvista",
        "--model",
        "constant",
        "--data_dir",
        tmp_path / "data",
        "--output",
        tmp_path / "out",
    )
    one_line_error(proc, "testmini-00000-of-00001.parquet", "not a readable parquet file")


def test_dynamath_ids_repeated_across_variants_stay_unique(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path / "mini"
    (root / "data").mkdir(parents=True)
    rows = [{**r, "decoded_image": {"bytes": rel.png(i), "path": None}} for i, r in enumerate(rel.DYNAMATH)]
    pq.write_table(pa.Table.from_pylist(rows + rows[:1]), root / "data/train-00000-of-00001.parquet")
    assert [s.id for s in rp.dynamath(str(root))] == ["1", "2", "3", "1@3"]
