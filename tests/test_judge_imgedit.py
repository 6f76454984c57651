"""ImgEdit-Bench Basic and UGE in their release layout, judged through a scripted OpenAI-compatible server on
127.0.0.1; per-type, macro and micro means against hand-computed values of step1_get_avgscore.py's rule."""

from __future__ import annotations

import json

import pytest
from editbench_fixtures import STANDIN_IMGEDIT, STANDIN_UGE, ScriptedChat, chat, image, sha256, task_yaml
from PIL import Image

from harness.api import evaluate
from harness.judges.protocols import ImgEditBasic, parse_viescore

REPLIES = {  # instruction -> judge reply
    "add a cat": "Brief reasoning: fine.\nPrompt Compliance: 4\nVisual Naturalness: 3\nPhysical & Detail Integrity: 5",
    "add a dog": "Brief reasoning: ok.\nPrompt Compliance: 2\nVisual Naturalness: 2\nPhysical & Detail Integrity: 3",
    "remove the car": "Brief reasoning: good.\nPrompt Compliance: 5\nVisual Naturalness: 4",
    "make it ukiyo-e": "Brief reasoning: no style change. Score: 3 (Acceptable)",
    "remove the lemon": "Brief reasoning: partially.\nScore: 2",
    "swap the number": "Brief reasoning: wrong. Score: 2.",
}


def imgedit_release(root):
    bench = root / "Benchmark"
    items = {
        "11": ("add/0001.jpg", "add a cat", "add"),
        "12": ("add/0002.jpg", "add a dog", "add"),
        "21": ("remove/0003.jpg", "remove the car", "remove"),
        "31": ("style/0004.jpg", "make it ukiyo-e", "style"),
    }
    for n, (rel, _, _) in enumerate(items.values()):
        (bench / "singleturn" / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image(400 + n)).save(bench / "singleturn" / rel)
    (bench / "Basic").mkdir(parents=True)
    (bench / "Basic" / "basic_edit.json").write_text(
        json.dumps({k: {"id": rel, "prompt": p, "edit_type": t} for k, (rel, p, t) in items.items()})
    )
    (bench / "Basic" / "prompts.json").write_text(json.dumps(STANDIN_IMGEDIT))
    (bench / "UGE").mkdir()
    (bench / "UGE" / "UGE_edit.json").write_text(
        json.dumps(
            {
                "1": {"id": "0005.jpg", "prompt": "remove the lemon"},
                "2": {"id": "0006.jpg", "prompt": "swap the number"},
            }
        )
    )
    (bench / "UGE" / "UGE_bench.py").write_text(STANDIN_UGE)
    (bench / "hard").mkdir()
    for n, name in enumerate(["0005.jpg", "0006.jpg"]):
        Image.fromarray(image(500 + n)).save(bench / "hard" / name)
    return root


def script(role, text, n, images):
    instr = text.split("Instruction: ", 1)[1].split(".\n")[0]
    return 200, chat(REPLIES[instr]), 0


def test_imgedit_basic_per_type_macro_and_micro(tmp_path):
    data = imgedit_release(tmp_path / "ImgEdit")
    task_yaml(
        tmp_path / "tasks",
        "edit/imgedit-test",
        "imgedit",
        {"path": str(data)},
        ["imgedit_score", "imgedit_score_macro"],
        "imgedit_score_macro",
        {
            "output_size": "any",
            "judge_protocol": "imgedit_basic",
            "macro_over": "edit_type",
            "judge_templates": {
                "file": "Benchmark/Basic/prompts.json",
                "sha256": sha256(data / "Benchmark/Basic/prompts.json"),
            },
        },
    )
    task_yaml(
        tmp_path / "tasks",
        "edit/imgedit-uge-test",
        "imgedit",
        {"path": str(data), "edit_json": "Benchmark/UGE/UGE_edit.json", "images": "Benchmark/hard"},
        ["imgedit_score"],
        "imgedit_score",
        {
            "output_size": "any",
            "judge_protocol": "imgedit_uge",
            "judge_templates": {
                "file": "Benchmark/UGE/UGE_bench.py",
                "sha256": sha256(data / "Benchmark/UGE/UGE_bench.py"),
            },
        },
    )
    with ScriptedChat(script) as server:
        basic, uge = evaluate(
            "edit/imgedit-test,edit/imgedit-uge-test",
            "identity",
            include=(tmp_path / "tasks",),
            output=tmp_path / "out",
            progress=False,
            judge="openai-chat",
            judge_args={"base_url": server.url, "model": "gpt-4o"},
        )
    agg = basic.aggregates
    add = [round(12 / 3, 2), round(7 / 3, 2)]  # 4.0, 2.33 (round per sample, as step1 does)
    assert agg["edit_type=add"]["imgedit_score"].mean == pytest.approx(sum(add) / 2)
    assert agg["edit_type=remove"]["imgedit_score"].mean == pytest.approx(4.5)
    assert agg["edit_type=style"]["imgedit_score"].n == 0  # its only reply has no "Name: <int>" line
    assert agg[""]["imgedit_score"].mean == pytest.approx((sum(add) + 4.5) / 3)  # micro
    assert agg[""]["imgedit_score_macro"].mean == pytest.approx((sum(add) / 2 + 4.5) / 2)  # macro
    assert basic.failures == {"31": "judge parse: rubric: 'Brief reasoning: no style change. Score: 3 (Acceptable)'"}
    # UGE: "Score: 2" parses, "Score: 2." does not (parts[1].isdigit()), as upstream
    assert uge.aggregates[""]["imgedit_score"].mean == 2.0 and list(uge.failures) == ["2"]
    # the original file's bytes are sent, labelled image/png as basic_bench.py does
    sent = [b for b in server.requests if "add a cat" in json.dumps(b)][0]["messages"][0]["content"]
    assert [p["type"] for p in sent] == ["text", "image_url", "image_url"]
    assert sent[1]["image_url"]["url"].startswith("data:image/png;base64,/9j/")  # JPEG bytes


@pytest.mark.parametrize(
    "text,want",
    [
        ('||V^=^V||\n{"score": [7, 2], "reasoning": "x"}\n||V^=^V||', [7, 2]),
        ('Sure! {"score" : [3, 9], "reasoning" : "fine"} done', [3, 9]),
        ('{"score": 6, "reasoning": "one"}', [6]),
        ("[4, 5]", [4, 5]),
        ("[4,5]", [4, 5]),
        ("9", [9]),
        (" 9\n", [9]),
        ("11", None),
        ("[4, 5, 6]", None),
        ("The image looks natural.", None),
        ('{"score": [5, }', None),
        ("{score: 5, reasoning: fine}", [5]),
        ('||V^=^V|| {"reasoning": "no score"} ||V^=^V||', None),
    ],
)
def test_viescore_parser_restates_mllm_output_to_dict(text, want):
    assert parse_viescore(text) == want


def test_viescore_official_guess_is_the_seeded_ten():
    assert parse_viescore("no json here", give_up=True) == [10]
    assert parse_viescore('{"score": [5, }', give_up=True) is None  # upstream would loop; counted as a failure


def test_imgedit_parser_restates_step1():
    def p(_, text, give_up):
        return ImgEditBasic.parse(None, "rubric", text, give_up)

    assert p(None, "Prompt Compliance: 4\nVisual Seamlessness: 1\nPhysical & Detail Fidelity: 1", False) == 2.0
    assert p(None, "A: 1\nB: 2", False) == 1.5
    assert p(None, "Note: 5 stars: yes", False) is None
    assert p(None, "Score: 4/5", False) is None
