"""The metric catalog: every metric declares its direction once; retrieval families take any cutoff."""

import json

import pytest

from harness.metrics import METRICS
from tests.conftest import FIXTURES, one_line_error, run_cli

TASK = """name: retrieval/cutoffs
kind: retrieval
source: {{loader: retrieval_folder, args: {{path: {path}, size: 8}}}}
metrics: {metrics}
primary_metric: ndcg@5
"""


def test_any_cutoff_is_a_metric_with_the_family_direction():
    retrieval = METRICS["retrieval"]
    assert retrieval["ndcg@5"].higher_is_better and retrieval["recall@3"].higher_is_better
    assert "recall@1000" in retrieval and "ndcg@0" not in retrieval and "ndcg@k" not in retrieval
    assert METRICS["edit"]["l1_keep"].higher_is_better is False
    assert {"recall@10", "ndcg@10", "map", "mrr"} <= set(retrieval)  # listed by `harness list metrics`


def test_task_with_new_cutoffs_runs_and_scores_them(tmp_path):
    (tmp_path / "t.yaml").write_text(
        TASK.format(path=FIXTURES / "retrieval_local", metrics=json.dumps(["ndcg@5", "recall@3", "recall@2", "map"]))
    )
    run_cli(
        "eval",
        "--task",
        "retrieval/cutoffs",
        "--include",
        tmp_path,
        "--model",
        "bow",
        "--output",
        tmp_path / "r",
        "--no-progress",
        check_rc=0,
    )
    (result,) = (tmp_path / "r" / "retrieval" / "cutoffs").glob("bow_*.json")
    scores = json.loads(result.read_text())["aggregates"]["all"]
    assert set(scores) == {"ndcg@5", "recall@3", "recall@2", "map"}
    assert scores["recall@2"]["value"] <= scores["recall@3"]["value"] and scores["ndcg@5"]["n"] == 3


@pytest.mark.parametrize("metric, hint", [("ndcg@0", "did you mean"), ("ndcgg@5", "did you mean 'ndcg@5'")])
def test_malformed_cutoff_is_refused_naming_the_field(tmp_path, metric, hint):
    (tmp_path / "t.yaml").write_text(TASK.format(path=FIXTURES / "retrieval_local", metrics=json.dumps([metric])))
    one_line_error(run_cli("list", "tasks", "--include", tmp_path), "t.yaml", "metrics[0]", repr(metric), hint)
