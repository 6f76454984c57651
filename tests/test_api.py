"""The Python API (harness.evaluate / get_task / list_tasks / open_store): names, classes and instances, dict or
string args, typed results that render and serialize, and the README's notebook example run as written."""

import json
import re
import subprocess
import sys

import pytest

import harness
from harness.adapters import Editor
from harness.errors import HarnessError
from tests.conftest import REPO, run_cli


class Halve(Editor):
    """Not registered: passed to evaluate() as a class or an instance."""

    def edit(self, images, instructions, seeds):
        return [image // 2 for image in images]


def test_import_harness_is_light_and_lists_its_verbs():
    code = (
        "import sys, harness; assert 'torch' not in sys.modules and 'harness.runner' not in sys.modules; "
        "print(sorted(harness.__all__)); harness.list_tasks(); assert 'torch' not in sys.modules"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "evaluate" in out and "get_task" in out and "open_store" in out


def test_dict_args_are_the_same_run_as_the_cli_string(tmp_path):
    first = harness.evaluate("edit/scenes", "noise", {"low": 0, "high": 128}, limit=4, output=tmp_path, progress=False)
    assert first[0].computed == 4
    proc = run_cli(
        "eval",
        "--task",
        "edit/scenes",
        "--model",
        "noise",
        "--model_args",
        "low=0,high=128",
        "--limit",
        "4",
        "--output",
        tmp_path,
        "--no-progress",
        check_rc=0,
    )
    assert f"run {first[0].spec.run_id()} · 0 computed, 4 cached" in proc.stdout


def test_class_and_instance_are_one_row_and_results_serialize(tmp_path):
    by_class = harness.evaluate("edit/scenes", Halve, limit=3, output=tmp_path, progress=False)
    by_instance = harness.evaluate("edit/scenes", Halve(), limit=3, output=tmp_path, progress=False)
    assert by_class[0].spec == by_instance[0].spec and by_instance[0].computed == 0
    assert by_class[0].spec.model == f"{Halve.__module__}:Halve"  # what --model would take
    data = json.loads(json.dumps(by_class.to_dict()))  # plain JSON all the way down
    assert data[0]["aggregates"]["all"]["success"]["n"] == 3
    (written,) = (tmp_path / "edit" / "scenes").glob("*Halve_*.json")
    assert data[0] == json.loads(written.read_text())
    table = by_class.table()
    assert "edit/scenes" in table and "success" in table and "95% CI" in table
    assert "| metric" in by_class[0]._repr_markdown_() and "edit_type=recolor" in by_class[0].table()
    store = harness.open_store(tmp_path)
    assert store.find_run(by_class[0].spec.run_id())
    assert harness.open_store(tmp_path / "harness.sqlite").path == store.path


def test_get_task_and_list_tasks():
    names = harness.list_tasks()
    assert "edit/scenes" in names and names == sorted(names)
    task = harness.get_task("edit/scenes")
    assert task.name == "edit/scenes" and len(task.samples) == 150 and task.samples[0].source.dtype.name == "uint8"
    with pytest.raises(HarnessError, match="did you mean 'edit/scenes'"):
        harness.get_task("edit/scene")
    with pytest.raises(HarnessError, match="is a group of"):
        harness.get_task("edit")


@pytest.mark.parametrize(
    "model, args, needle",
    [
        (42, None, "model: expected a name, an adapter class or instance, not int"),
        (dict, None, "not an Editor, Embedder or Reasoner subclass"),
        (Halve(), {"a": 1}, "model_args: not used with an adapter instance"),
        ("noise", {"loww": 0}, "--model_args for noise: loww"),
        ("noise", ["low=0"], "model_args: expected a dict or 'key=value,...', not list"),
    ],
)
def test_bad_model_or_args_is_a_harness_error(tmp_path, model, args, needle):
    with pytest.raises(HarnessError, match=re.escape(needle)):
        harness.evaluate("edit/scenes", model, args, limit=2, output=tmp_path, progress=False)


def test_readme_notebook_example_runs(tmp_path):
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Python API") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "edit/scenes" in proc.stdout and "success" in proc.stdout
    assert (tmp_path / "results" / "harness.sqlite").is_file()
