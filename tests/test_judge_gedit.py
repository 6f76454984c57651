"""GEdit-Bench through the judge engine against a real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions
wire format with scripted replies: valid JSON, bare lists and numbers, malformed text, refusals, 429, 500 and
timeouts. Scores are checked against hand-computed official values; failures are counted, never averaged."""

from __future__ import annotations

import json
import math

import pytest
from editbench_fixtures import ScriptedChat, chat, gedit_release, sha256, task_yaml

from harness.api import evaluate, open_store

ROWS = [  # (task_type, key, instruction, language, intersection)
    ("color_alter", "k1", "case=a", "en", True),
    ("color_alter", "k2", "case=b", "en", True),
    ("color_alter", "k3", "case=bare", "en", False),
    ("style_change", "k4", "case=c", "en", True),
    ("style_change", "k5", "case=malformed", "en", False),
    ("style_change", "k6", "case=refuse", "en", False),
    ("style_change", "k7", "case=429", "en", False),
    ("style_change", "k8", "case=500", "en", False),
    ("style_change", "k9", "case=slow", "en", False),
    ("color_alter", "k1", "case=a", "cn", True),
]
SC = {"a": [9, 9], "b": [1, 3], "c": [4, 7], "429": [6, 6]}
PQ = {"a": [1, 5], "b": [9, 9], "c": [4, 9], "429": [9, 9]}


def _case_of_image() -> dict[str, str]:
    """The PQ prompt names no instruction (as upstream): the scripted server tells samples apart by the edit
    image (the identity editor returns the source, sent as JPEG q75)."""
    import base64

    from editbench_fixtures import image

    from harness.judges.protocols import _jpeg

    return {
        f"data:image/jpeg;base64,{base64.b64encode(_jpeg(image(i))).decode()}": row[2].split("=")[1]
        for i, row in enumerate(ROWS)
    }


CASE_OF_IMAGE = _case_of_image()


def script(role, text, n, images):
    case = CASE_OF_IMAGE[images[-1]]
    scores = (SC if role == "SC" else PQ).get(case)
    if case == "bare":
        return 200, chat("[7, 8]" if role == "SC" else "8"), 0
    if case == "malformed":
        return 200, chat("The edit looks fine to me." if role == "SC" else '{"score": [5, 5]}'), 0
    if case == "refuse":
        return 200, chat(None, refusal="I can't help with that."), 0
    if case == "429" and n == 0:
        return 429, {"error": {"code": "rate_limit_exceeded"}}, 0
    if case == "500":
        return 500, "internal error", 0
    if case == "slow":
        return 200, chat('{"score": [5, 5]}'), 2.0
    return 200, chat(f'||V^=^V||\n{{"score": {scores}, "reasoning": "ok"}}\n||V^=^V||'), 0


@pytest.fixture
def gedit(tmp_path):
    data = gedit_release(tmp_path / "GEdit-Bench", ROWS)
    tasks = tmp_path / "tasks"
    task_yaml(
        tasks,
        "edit/gedit-test",
        "gedit_bench",
        {"path": str(data)},
        ["viescore_sc", "viescore_pq", "viescore_o", "viescore_sc_macro", "viescore_o_macro"],
        "viescore_o_macro",
        {
            "output_size": "any",
            "judge_protocol": "viescore_tie",
            "macro_over": "edit_type",
            "judge_templates": {"file": "viescore/vie_prompts.py", "sha256": sha256(data / "viescore/vie_prompts.py")},
        },
    )
    return tasks, tmp_path / "out"


def judge_args(url):
    return {"base_url": url, "model": "gpt-4.1", "max_retries": 1, "backoff": 0.01, "timeout": 0.5, "concurrency": 4}


def test_gedit_scores_match_official_rule_and_failures_are_counted_by_cause(gedit):
    tasks, out = gedit
    with ScriptedChat(script) as server:
        [result] = evaluate(
            "edit/gedit-test",
            "identity",
            include=(tasks,),
            output=out,
            progress=False,
            judge="openai-chat",
            judge_args=judge_args(server.url),
        )
    agg = result.aggregates
    # O = sqrt(SC * PQ) per sample: a -> sqrt(9*1) = 3, b -> sqrt(1*9) = 3 (5.0 if averaged first), bare -> sqrt(7*8)
    en_color = [3.0, 3.0, math.sqrt(56)]
    en_style = [4.0, math.sqrt(6 * 9)]  # c -> sqrt(4*4) = 4; 429 retried -> sqrt(6*9)
    assert agg["edit_type=color_alter"]["viescore_o"].mean == pytest.approx((sum(en_color) + 3.0) / 4)
    assert agg["language=en"]["viescore_o"].n == 5
    assert agg["language=en"]["viescore_o_macro"].mean == pytest.approx((sum(en_color) / 3 + sum(en_style) / 2) / 2)
    assert agg["language=en"]["viescore_o"].mean == pytest.approx((sum(en_color) + sum(en_style)) / 5)
    assert agg["language=en/intersection"]["viescore_o_macro"].mean == pytest.approx((3.0 + 4.0) / 2)
    assert agg["language=en"]["viescore_sc_macro"].mean == pytest.approx(((9 + 1 + 7) / 3 + (4 + 6) / 2) / 2)
    causes = {sid: err.split(":")[0] for sid, err in result.failures.items()}
    assert causes == {
        "en/k5": "judge parse",
        "en/k6": "judge refusal",
        "en/k8": "judge transport",
        "en/k9": "judge transport",
    }
    store = open_store(out)
    run = store.find_run(result.spec.run_id())[0]
    assert dict(store.failures(run["run_id"]))["en/k8"].startswith("judge transport: sc: HTTP 500")
    # every call is stored with its raw text and the model the server reported
    rec = store.get_records(run["cache_key"], ["en/k1"])["en/k1"]
    calls = store.judge_calls(list(rec.info["judge_calls"].values()))
    assert {c["model"] for c in calls.values()} == {"judge-model-x"}
    assert any('"score": [9, 9]' in c["text"] for c in calls.values())
    # the malformed SC reply was asked twice (the protocol's own retry), both stored
    assert sum(1 for b in server.requests if "case=malformed" in json.dumps(b)) == 2


def test_rejudging_never_regenerates_and_official_policy_is_labelled(gedit):
    tasks, out = gedit
    with ScriptedChat(script) as server:
        evaluate(
            "edit/gedit-test",
            "identity",
            include=(tasks,),
            output=out,
            progress=False,
            judge="openai-chat",
            judge_args=judge_args(server.url),
        )
        n_first = len(server.requests)
        [again] = evaluate(
            "edit/gedit-test",
            "identity",
            include=(tasks,),
            output=out,
            progress=False,
            judge="openai-chat",
            judge_args=judge_args(server.url),
        )
        # only the unsettled transport failures are asked again; no edit is regenerated
        assert again.computed == 0
        assert len(server.requests) - n_first == 8  # k8 (500) and k9 (timeout): sc + pq, 2 HTTP attempts each
        [official] = evaluate(
            "edit/gedit-test",
            "identity",
            include=(tasks,),
            output=out,
            progress=False,
            judge="openai-chat",
            judge_args=judge_args(server.url),
            judge_failure_policy="official",
        )
    assert official.computed == 0 and official.spec.judge_failure_policy == "official"
    assert official.spec.run_id() != again.spec.run_id()
    # the official second round guesses random.randint(0, 10) seeded 42 (= 10) for the unparseable SC reply
    assert "en/k5" not in official.failures
    assert "failure policy OFFICIAL" in official.table()


def test_unreachable_endpoint_is_one_line_naming_the_url(gedit, cli):
    from conftest import one_line_error

    tasks, out = gedit
    proc = cli(
        "eval",
        "--task",
        "edit/gedit-test",
        "--include",
        tasks,
        "--model",
        "identity",
        "--output",
        out,
        "--no-progress",
        "--judge",
        "openai-chat",
        "--judge_args",
        "base_url=http://127.0.0.1:9/v1,model=m,max_retries=1,backoff=0.01",
    )
    one_line_error(proc, "http://127.0.0.1:9/v1/chat/completions", "unreachable")
    # the edits were stored: a later run with a reachable judge generates nothing
    with ScriptedChat(script) as server:
        [res] = evaluate(
            "edit/gedit-test",
            "identity",
            include=(tasks,),
            output=out,
            progress=False,
            judge="openai-chat",
            judge_args=judge_args(server.url),
        )
    assert res.computed == 0


@pytest.mark.parametrize(
    "args,needle",
    [
        ("model=m", "base_url"),
        ("base_url=http://127.0.0.1:1/v1,model=m,concurrency=0", "concurrency"),
        ("base_url=http://127.0.0.1:1/v1,model=m,colour=red", "colour"),
    ],
)
def test_bad_judge_args_are_one_line(gedit, cli, args, needle):
    from conftest import one_line_error

    tasks, out = gedit
    proc = cli(
        "eval",
        "--task",
        "edit/gedit-test",
        "--include",
        tasks,
        "--model",
        "identity",
        "--output",
        out,
        "--judge",
        "openai-chat",
        "--judge_args",
        args,
    )
    one_line_error(proc, "--judge_args", needle)


def test_template_file_differing_from_the_pin_is_one_line(gedit, cli, tmp_path):
    from conftest import one_line_error

    tasks, out = gedit
    (tmp_path / "GEdit-Bench" / "viescore" / "vie_prompts.py").write_text("_context_no_delimit = 'changed'\n")
    proc = cli(
        "eval",
        "--task",
        "edit/gedit-test",
        "--include",
        tasks,
        "--model",
        "identity",
        "--output",
        out,
        "--judge",
        "openai-chat",
        "--judge_args",
        "base_url=http://127.0.0.1:1/v1,model=m",
    )
    one_line_error(proc, "vie_prompts.py", "differs from the pinned official version")


def test_judge_agree_between_two_judges_on_the_same_edits(gedit, cli):
    tasks, out = gedit

    def harsh(role, text, n, images):  # a second judge that scores everything one point lower where it can
        status, body, delay = script(role, text, n, images)
        if isinstance(body, dict) and "choices" in body and body["choices"][0]["message"]["content"]:
            body = json.loads(json.dumps(body).replace("[9, 9]", "[8, 8]").replace("[4, 7]", "[3, 7]"))
        return status, body, delay

    runs = []
    for s in (script, harsh):
        with ScriptedChat(s) as server:
            [r] = evaluate(
                "edit/gedit-test",
                "identity",
                include=(tasks,),
                output=out,
                progress=False,
                judge="openai-chat",
                judge_args=judge_args(server.url),
            )
            runs.append(r.spec.run_id())
    proc = cli("judge-agree", runs[0], runs[1], "--include", tasks, "--output", out, check_rc=0)
    lines = proc.stdout.splitlines()
    assert "Spearman (viescore_o)" in lines[0]
    row = next(line for line in lines if line.startswith("all "))
    assert row.split()[1:3] == ["6", "4"]  # 6 samples both judged; 4 judge failures left out
    proc = cli("judge-agree", runs[0], "ffffffff", "--output", out)
    from conftest import one_line_error

    one_line_error(proc, "ffffffff", "not found")


def test_sigkill_mid_judging_resumes_from_the_stored_calls(gedit):
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    tasks, out = gedit
    with ScriptedChat(script, latency=0.3) as server:
        args = [
            sys.executable,
            "-m",
            "harness",
            "eval",
            "--task",
            "edit/gedit-test",
            "--include",
            str(tasks),
            "--model",
            "identity",
            "--output",
            str(out),
            "--no-progress",
            "--judge",
            "openai-chat",
            "--judge_args",
            f"base_url={server.url},model=gpt-4.1,concurrency=1,max_retries=1,backoff=0.01,timeout=0.5",
        ]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
        db, stored, deadline = out / "harness.sqlite", 0, time.time() + 120
        while stored < 3 and time.time() < deadline:
            time.sleep(0.2)
            if db.is_file():
                try:
                    with sqlite3.connect(db) as conn:
                        stored = conn.execute("SELECT COUNT(*) FROM judge_calls WHERE status='ok'").fetchone()[0]
                except sqlite3.OperationalError:  # table not created yet
                    pass
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with sqlite3.connect(db) as conn:
            settled = conn.execute("SELECT COUNT(*) FROM judge_calls WHERE status != 'transport'").fetchone()[0]
        assert settled >= 3
        before = len(server.requests)
        [res] = evaluate(
            "edit/gedit-test",
            "identity",
            include=(tasks,),
            output=out,
            progress=False,
            judge="openai-chat",
            judge_args=judge_args(server.url) | {"concurrency": 1},
        )
        asked = [json.dumps(b) for b in server.requests[before:]]
    assert res.computed == 0  # the edits were stored before judging began
    # no stored reply is asked again: the resumed run asks only for what the killed one had not settled
    with sqlite3.connect(db) as conn:
        total = conn.execute("SELECT COUNT(*) FROM judge_calls WHERE status != 'transport'").fetchone()[0]
    # + the unsettled transport cases' HTTP attempts (k8, k9: 2 calls x 2 attempts) and the 429s (one per role)
    assert len(asked) <= total - settled + 10
    assert res.aggregates["language=en"]["viescore_o"].n == 5


def test_leaderboard_rows_name_the_judge(gedit, cli):
    tasks, out = gedit
    with ScriptedChat(script) as server:
        evaluate(
            "edit/gedit-test",
            "identity",
            include=(tasks,),
            output=out,
            progress=False,
            judge="openai-chat",
            judge_args=judge_args(server.url),
        )
        evaluate(
            "edit/gedit-test",
            "identity",
            include=(tasks,),
            output=out,
            progress=False,
            judge="openai-chat",
            judge_args={**judge_args(server.url), "model": "other-judge"},
        )
    proc = cli(
        "leaderboard",
        "edit/gedit-test",
        "--include",
        tasks,
        "--output",
        out,
        "--format",
        "csv",
        "--to",
        out / "board.csv",
        check_rc=0,
    )
    assert "identity · judge openai-chat:gpt-4.1" in proc.stdout
    assert "identity · judge openai-chat:other-judge" in proc.stdout


def test_a_fixed_parser_rescores_stored_replies_without_asking_again(gedit, monkeypatch):
    from harness.judges import protocols

    class Lenient(protocols.VIEScoreTIE):  # a "fixed" parser: an unparseable reply counts as [5]
        name, version = "viescore_tie_lenient", 2

        def parse(self, role, text, give_up=False):
            return super().parse(role, text, give_up) or [5]

    monkeypatch.setitem(protocols.PROTOCOLS, Lenient.name, Lenient)
    tasks, out = gedit
    with ScriptedChat(script) as server:
        [first] = evaluate(
            "edit/gedit-test",
            "identity",
            include=(tasks,),
            output=out,
            progress=False,
            judge="openai-chat",
            judge_args=judge_args(server.url),
        )
        n_first = len(server.requests)
        [fixed] = evaluate(
            "edit/gedit-test",
            "identity",
            include=(tasks,),
            output=out,
            progress=False,
            judge="openai-chat",
            judge_args=judge_args(server.url),
            judge_protocol=Lenient.name,
        )
        asked = len(server.requests) - n_first
    assert fixed.spec.run_id() != first.spec.run_id() and fixed.computed == 0
    assert asked == 8  # only the unsettled transport failures (k8, k9) again; every stored reply re-parsed
    assert "en/k5" in first.failures and "en/k5" not in fixed.failures
