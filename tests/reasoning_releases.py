"""Tiny copies of the ten reasoning benchmarks in each release form users download, written into a folder:
``hf`` = the Hugging Face dataset snapshot (parquet at the repo-tree paths, images as ``{bytes, path}`` structs),
``github`` = the original/GitHub release (JSON / JSONL / CSV with image files). A few rows each, in the released
schemas, reproducing the quirks found in the real files (repeated We-Math ``ID``s and odd option strings, MMMU-Pro's
nested option list, LogicVista's empty record v1_382, HallusionBench's text-only rows, MathVerse's other versions).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image


def png(value: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


MATHVISTA = [
    {
        "pid": "1",
        "question": "What is the measure of angle x?",
        "image": "images/1.jpg",
        "choices": ["30", "45", "60", "90"],
        "unit": None,
        "precision": None,
        "answer": "45",
        "question_type": "multi_choice",
        "answer_type": "text",
        "metadata": {"task": "geometry problem solving"},
        "query": "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end."
        "\nQuestion: What is the measure of angle x?\nChoices:\n(A) 30\n(B) 45\n(C) 60\n(D) 90",
    },
    {
        "pid": "2",
        "question": "How heavy is the box?",
        "image": "images/2.jpg",
        "choices": None,
        "unit": "g",
        "precision": None,
        "answer": "1000",
        "question_type": "free_form",
        "answer_type": "integer",
        "metadata": {"task": "figure question answering"},
        "query": "Hint: Please answer the question requiring an integer answer and provide the final value, e.g., 1, "
        "2, 3, at the end.\nQuestion: How heavy is the box? (Unit: g)",
    },
]

MATHVERSE = [  # AI4Math/MathVerse testmini; the HoneyBee variant adds numeric_or_choice_answer
    {
        "sample_index": "1",
        "problem_index": "1",
        "problem_version": "Text Dominant",
        "question": "Find x. (A) 1 (B) 2",
        "image": "images_version_1/image_1.png",
        "answer": "B",
        "numeric_or_choice_answer": "B",
        "question_type": "multi-choice",
        "metadata": {"subject": "plane geometry"},
        "query_wo": "...",
        "query_cot": "Please first conduct reasoning, and then answer the question. Find x. (A) 1 (B) 2",
    },
    {
        "sample_index": "5",
        "problem_index": "1",
        "problem_version": "Vision Only",
        "question": "",
        "image": "images_version_5/image_1.png",
        "answer": "B",
        "numeric_or_choice_answer": "B",
        "question_type": "multi-choice",
        "metadata": {"subject": "plane geometry"},
        "query_wo": "...",
        "query_cot": "According to the question shown in the image, please first conduct reasoning, and then answer "
        "the question and provide the correct option letter, e.g., A, B, C, D, at the end.",
    },
    {
        "sample_index": "10",
        "problem_index": "2",
        "problem_version": "Vision Only",
        "question": "",
        "image": "images_version_5/image_2.png",
        "answer": "12 cm",
        "numeric_or_choice_answer": "12",
        "question_type": "free-form",
        "metadata": {"subject": "solid geometry"},
        "query_wo": "...",
        "query_cot": "According to the question shown in the image, please first conduct reasoning, and then answer "
        "the question.",
    },
]

MATHVISION = [
    {
        "id": "1",
        "question": "Which shape comes next?",
        "options": ["A", "B", "C", "D", "E"],
        "image": "images/1.jpg",
        "answer": "C",
        "solution": None,
        "level": 2,
        "subject": "logic",
    },
    {
        "id": "2",
        "question": "How many dots are there?",
        "options": [],
        "image": "images/2.jpg",
        "answer": "7",
        "solution": None,
        "level": 1,
        "subject": "counting",
    },
    {
        "id": "3",
        "question": "What is 1 + 2?",
        "options": ["1", "2", "3", "4", "5"],
        "image": "images/3.jpg",
        "answer": "3",
        "solution": None,
        "level": 1,
        "subject": "arithmetic",
    },  # the gold given as an option's text
]

MMMU_PRO = [
    {"id": "test_Art_1", "options": "['oil', 'fresco', 'tempera', 'ink']", "answer": "C", "subject": "Art"},
    {
        "id": "validation_Accounting_29",
        "options": "[['A', 'B', 'Not enough information']]",
        "answer": "C",
        "subject": "Accounting",
    },  # the nested list of the real release
]

WEMATH = [  # ID repeats; "question number" is unique
    {
        "ID": "2steps_1",
        "split": "testmini",
        "knowledge concept": "Area",
        "question": "What is the area?",
        "option": "A. 6; B. 12; C. 24; D. 36; E. No correct answer",
        "answer": "B",
        "image_path": "images/1.png",
        "key": "2steps_1",
        "question number": 1,
        "knowledge concept description": "...",
    },
    {
        "ID": "2steps_1",
        "split": "testmini",
        "knowledge concept": "Area",
        "question": "How many squares?",
        "option": "A．3；B．4",
        "answer": "A",
        "image_path": "images/2.png",
        "key": "2steps_2",
        "question number": 2,
        "knowledge concept description": "...",
    },  # full-width separators
    {
        "ID": "3steps_7",
        "split": "testmini",
        "knowledge concept": "Angles",
        "question": "Which angle?",
        "option": "A. 5 B. 7 C. 9",
        "answer": "C",
        "image_path": "images/3.png",
        "key": "3steps_1",
        "question number": 3,
        "knowledge concept description": "...",
    },  # no ";" between options
    {
        "ID": "1step_4",
        "split": "testmini",
        "knowledge concept": "Length",
        "question": "How long?",
        "option": "A. 1; B. 2; C. 3; F. 4",
        "answer": "F",
        "image_path": "images/4.png",
        "key": "1step_4",
        "question number": 4,
        "knowledge concept description": "...",
    },  # a letter jump C -> F
    {
        "ID": "1step_5",
        "split": "testmini",
        "knowledge concept": "Circles",
        "question": "What is marked?",
        "option": "A. 30°; B. a circle;O. is its center; C. 60°",
        "answer": "C",
        "image_path": "images/5.png",
        "key": "1step_5",
        "question number": 5,
        "knowledge concept description": "...",
    },  # ";O." inside a text
    {
        "ID": "1step_6",
        "split": "testmini",
        "knowledge concept": "Directions",
        "question": "Which route?",
        "option": "A. go north to ;C.  ;B. go west to ;C.  ;C. stay; D. No correct answer",
        "answer": "B",
        "image_path": "images/6.png",
        "key": "1step_6",
        "question number": 6,
        "knowledge concept description": "...",
    },  # a bare ";C." label that belongs to the text (as in the release)
]

DYNAMATH = [  # hbXNov/dynamath_mini and DynaMath_Sample fields; the GitHub JSON says answer / level
    {
        "id": "1",
        "question": "How long is the bar?",
        "image": "images/1.png",
        "ground_truth": "2.5",
        "answer_type": "float",
        "subject": "PG",
        "knowledge_level": "high school",
    },
    {
        "id": "2",
        "question": "Which graph is increasing?\nA. f\nB. g",
        "image": "images/2.png",
        "ground_truth": "B",
        "answer_type": "multiple choice",
        "subject": "AL",
        "knowledge_level": "undergraduate",
    },
    {
        "id": "3",
        "question": "How many edges?",
        "image": "images/3.png",
        "ground_truth": "12",
        "answer_type": "integer",
        "subject": "SG",
        "knowledge_level": "elementary school",
    },
]

LOGICVISTA = {  # GitHub data/dataset.json: id -> record
    "1": {
        "imagename": "1.png",
        "question": "Which figure completes the pattern?\nA. 1\nB. 2\nC. 3",
        "answer": "C",
        "skill": ["inductive"],
        "broad_capability": "reasoning",
    },
    "v1_382": {
        "imagename": "382.png",
        "question": "",
        "answer": "",
        "skill": ["spatial"],
        "broad_capability": "reasoning",
    },  # empty in the real file
    "2": {
        "imagename": "2.png",
        "question": "Select all that apply.\nA. x\nB. y\nC. z",
        "answer": "A, C",
        "skill": ["deductive"],
        "broad_capability": "reasoning",
    },
}

HALLUSIONBENCH = [
    {
        "category": "VD",
        "subcategory": "illusion",
        "visual_input": "1",
        "set_id": "0",
        "figure_id": "0",
        "sample_note": "circle",
        "question_id": "0",
        "question": "Is the left circle larger?",
        "gt_answer_details": "same size",
        "gt_answer": "1",
        "filename": "./hallusion_bench/VD/illusion/0_0.png",
    },
    {
        "category": "VD",
        "subcategory": "illusion",
        "visual_input": "2",
        "set_id": "0",
        "figure_id": "1",
        "sample_note": "circle",
        "question_id": "0",
        "question": "Is the left circle larger?",
        "gt_answer_details": "edited",
        "gt_answer": "0",
        "filename": "./hallusion_bench/VD/illusion/0_1.png",
    },
    {
        "category": "VS",
        "subcategory": "chart",
        "visual_input": "0",
        "set_id": "0",
        "figure_id": "0",
        "sample_note": "text",
        "question_id": "1",
        "question": "Is Paris the capital of France?",
        "gt_answer_details": "yes",
        "gt_answer": "1",
        "filename": None,
    },  # text-only (split non_image)
]

MATH500 = [
    {
        "problem": "What is $1+1$?",
        "solution": "It is 2.",
        "answer": "2",
        "subject": "Prealgebra",
        "level": 1,
        "unique_id": "test/prealgebra/1.json",
    },
    {
        "problem": "Simplify $\\frac{2}{4}$.",
        "solution": "...",
        "answer": "\\frac{1}{2}",
        "subject": "Algebra",
        "level": 2,
        "unique_id": "test/algebra/2.json",
    },
]

GPQA = [
    {
        "Record ID": "rec1",
        "Question": "Which particle mediates electromagnetism?",
        "Correct Answer": "photon",
        "Incorrect Answer 1": "gluon",
        "Incorrect Answer 2": "W boson",
        "Incorrect Answer 3": "graviton",
        "High-level domain": "Physics",
        "Subdomain": "Particle",
    },
    {
        "Record ID": "rec2",
        "Question": "How many protons does nitrogen have?",
        "Correct Answer": " 7",
        "Incorrect Answer 1": "6",
        "Incorrect Answer 2": "8",
        "Incorrect Answer 3": "14",
        "High-level domain": "Chemistry",
        "Subdomain": "General",
    },  # a leading space, as some real rows have
]


def _parquet(path: Path, rows: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def _struct(path: str | None, value: int) -> dict:
    return {"bytes": png(value), "path": path}


def _files(root: Path, rows: list[dict], field: str) -> None:
    for k, row in enumerate(rows):
        if row.get(field):
            p = root / row[field].removeprefix("./")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(png(k))


def write(dataset: str, form: str, root: Path) -> Path:
    """Write ``dataset`` in release ``form`` ("hf" or "github") under ``root``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    shard = "-00000-of-00001.parquet"
    if dataset == "mathvista":
        if form == "hf":
            _parquet(
                root / f"data/testmini{shard}",
                [{**r, "decoded_image": _struct(None, i)} for i, r in enumerate(MATHVISTA)],
            )
        else:
            (root / "testmini.json").write_text(json.dumps({r["pid"]: r for r in MATHVISTA}))
            _files(root, MATHVISTA, "image")
    elif dataset == "mathverse":  # hf = hbXNov/MATHVERSE_NUMERIC_OR_CHOICE_ANSWER; github = AI4Math root parquet
        rows = [{**r, "image": _struct(r["image"], i)} for i, r in enumerate(MATHVERSE)]
        if form == "hf":
            _parquet(root / f"data/testmini{shard}", rows)
        else:
            _parquet(
                root / "testmini.parquet",
                [{k: v for k, v in r.items() if k != "numeric_or_choice_answer"} for r in rows],
            )
    elif dataset == "mathvision":
        if form == "hf":
            rows = [{**r, "decoded_image": _struct(None, i)} for i, r in enumerate(MATHVISION)]
            _parquet(root / f"data/test{shard}", rows)
            _parquet(root / f"data/testmini{shard}", rows[:1])
        else:
            (root / "data").mkdir()
            (root / "data/test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in MATHVISION))
            _files(root, MATHVISION, "image")
    elif dataset == "mmmu_pro":  # only an HF form exists
        _parquet(root / "vision/test-00000-of-00002.parquet", [{**MMMU_PRO[0], "image": _struct("a.png", 1)}])
        _parquet(root / "vision/test-00001-of-00002.parquet", [{**MMMU_PRO[1], "image": _struct("b.png", 2)}])
    elif dataset == "wemath":
        if form == "hf":
            _parquet(
                root / f"data/testmini{shard}",
                [{**r, "image_path": _struct(r["image_path"], i)} for i, r in enumerate(WEMATH)],
            )
        else:
            (root / "testmini.json").write_text(json.dumps(WEMATH, ensure_ascii=False))
            _files(root, WEMATH, "image_path")
    elif dataset == "dynamath":  # hf = hbXNov/dynamath_mini (split train); github = the JSON (answer, level)
        if form == "hf":
            _parquet(
                root / f"data/train{shard}", [{**r, "decoded_image": _struct(None, i)} for i, r in enumerate(DYNAMATH)]
            )
        else:
            # DynaMath/DynaMath dataset/dataset.json: id -> record, images relative to dataset/
            rows = {
                r["id"]: {
                    "question": r["question"],
                    "answer": r["ground_truth"],
                    "image": r["image"].replace("images/", "image/image"),
                    "answer_type": r["answer_type"],
                    "subject": r["subject"],
                    "level": r["knowledge_level"],
                }
                for r in DYNAMATH
            }
            (root / "dataset").mkdir()
            (root / "dataset/dataset.json").write_text(json.dumps(rows))
            _files(root / "dataset", list(rows.values()), "image")
    elif dataset == "logicvista":
        if form == "hf":  # lscpku/LogicVista: image bytes, no imagename, no id
            rows = [
                {
                    "question": r["question"],
                    "answer": r["answer"],
                    "skill": str(r["skill"]),
                    "image": _struct(r["imagename"], i),
                }
                for i, r in enumerate(LOGICVISTA.values())
            ]
            _parquet(root / f"data/test{shard}", rows)
        else:
            (root / "data").mkdir()
            (root / "data/dataset.json").write_text(json.dumps(LOGICVISTA))
            for k, r in enumerate(LOGICVISTA.values()):
                (root / "data/images").mkdir(exist_ok=True)
                (root / "data/images" / r["imagename"]).write_bytes(png(k))
    elif dataset == "hallusionbench":
        if form == "hf":
            image = [{**r, "image": _struct(r["filename"], i)} for i, r in enumerate(HALLUSIONBENCH) if r["filename"]]
            _parquet(root / f"data/image{shard}", image)
            _parquet(
                root / f"data/non_image{shard}", [{**r, "image": None} for r in HALLUSIONBENCH if not r["filename"]]
            )
        else:
            (root / "HallusionBench.json").write_text(json.dumps(HALLUSIONBENCH))
            _files(root, HALLUSIONBENCH, "filename")
    elif dataset == "math500":
        (root / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in MATH500))
    elif dataset == "gpqa":
        with (root / "gpqa_diamond.csv").open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(GPQA[0]))
            w.writeheader()
            w.writerows(GPQA)
    else:
        raise KeyError(dataset)
    return root
