"""The edit gallery of a judge-scored task (GEdit-Bench fixture in its released layout, judged by the scripted
OpenAI-compatible server on 127.0.0.1 of test_judge_gedit): each sample shows the edit (read from the generation
records), every judge call's raw reply, and judge failures named by cause."""

from __future__ import annotations

import html

from editbench_fixtures import ScriptedChat
from test_judge_gedit import gedit, judge_args, script  # noqa: F401  (gedit is a fixture)

from harness.api import evaluate, open_store
from harness.registry import discover_tasks
from harness.report.site import write_site

BOARD = """name: gedit
tasks: [edit/gedit-test]
metrics: [viescore_o]
"""


def test_judged_edit_gallery_shows_outputs_and_raw_judge_replies(gedit, tmp_path):  # noqa: F811
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
    (tmp_path / "gedit.yaml").write_text(BOARD)
    summary = write_site([str(tmp_path / "gedit.yaml")], open_store(out), discover_tasks((tasks,)), tmp_path / "site")
    page = (tmp_path / "site" / "galleries" / "gedit" / "edit-gedit-test.html").read_text()
    assert summary.notes == []
    text = html.unescape(page)
    assert '||V^=^V||\n{"score": [9, 9], "reasoning": "ok"}' in text  # the raw reply, verbatim
    assert "judge reply · sc" in text and "judge reply · pq" in text
    assert "judge refusal: sc" in text and "judge parse: sc" in text  # failures by cause, not as scores
    assert page.count('<figure class="tile "><img') == 10  # every edit shown, read from the generation records
