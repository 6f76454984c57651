"""Extension points register one way (harness.plugins): a decorator next to the code and a package entry-point
group. A third-party package, installed as a real distribution (a dist-info folder on sys.path), adds a data
format and a model that task YAML and --model use without any engine edit."""

import json
import textwrap

import pytest

from harness.errors import HarnessError
from harness.plugins import Registry
from tests.conftest import one_line_error, run_cli

LOADER_MODULE = '''
import json
from pathlib import Path

import numpy as np

from harness.data import register_loader
from harness.data.samples import EditSample


@register_loader("solid_colors", kind="edit")
def solid_colors(path: str, size: int = 16):
    """Rows of {"id", "from": [r, g, b], "to": [r, g, b]}: recolor a solid image."""
    samples = []
    for line in Path(path).read_text().splitlines():
        row = json.loads(line)
        source = np.full((size, size, 3), row["from"], np.uint8)
        target = np.full((size, size, 3), row["to"], np.uint8)
        samples.append(EditSample(row["id"], source, "recolor everything", target, np.ones((size, size), bool),
                                  "recolor"))
    return samples
'''

ADAPTER_MODULE = '''
from harness.adapters import Editor, register_adapter


@register_adapter("plugin-invert")
class Invert(Editor):
    """Inverts the image."""

    def edit(self, images, instructions, seeds):
        return [255 - im for im in images]
'''


def install_plugin(site, entry_points: dict[str, dict[str, str]], modules: dict[str, str]) -> None:
    """Lay out an installed distribution the way pip does (module files + dist-info with entry_points.txt)."""
    for name, text in modules.items():
        (site / f"{name}.py").write_text(text)
    info = site / "harness_test_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: harness-test-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for group, eps in entry_points.items())
    )


@pytest.fixture()
def plugin_site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(
        site,
        {"harness.loaders": {"colors": "my_loaders"}, "harness.adapters": {"inv": "my_adapters"}},
        {"my_loaders": LOADER_MODULE, "my_adapters": ADAPTER_MODULE},
    )
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    rows = [{"id": f"c{i}", "from": [10 * i, 0, 0], "to": [255 - 10 * i, 255, 255]} for i in range(4)]
    (tasks / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tasks / "colors.yaml").write_text(
        textwrap.dedent("""\
        name: plugin/colors
        kind: edit
        source: {loader: solid_colors, args: {path: rows.jsonl, size: 16}}
        metrics: [success, l1]
        primary_metric: success
    """)
    )
    return tmp_path


def test_entry_point_loader_and_adapter_are_usable_from_task_yaml(plugin_site):
    out = plugin_site / "results"
    proc = run_cli("list", "tasks", "--include", plugin_site / "tasks", pythonpath=plugin_site / "site", check_rc=0)
    assert "plugin/colors" in proc.stdout and "solid_colors" in proc.stdout
    run_cli(
        "eval",
        "--task",
        "plugin/colors",
        "--include",
        plugin_site / "tasks",
        "--model",
        "plugin-invert",
        "--output",
        out,
        "--no-progress",
        pythonpath=plugin_site / "site",
        check_rc=0,
    )
    (result,) = (out / "plugin" / "colors").glob("plugin-invert_*.json")
    aggregates = json.loads(result.read_text())["aggregates"]["all"]
    # the plugin's targets are exact inverses of its sources, so inverting succeeds on every sample
    assert aggregates["success"]["value"] == 1.0 and aggregates["success"]["n"] == 4
    assert aggregates["l1"]["value"] == 0.0


def test_unknown_loader_in_task_yaml_names_the_file_and_suggests(plugin_site):
    text = (plugin_site / "tasks" / "colors.yaml").read_text().replace("solid_colors", "solid_color")
    (plugin_site / "tasks" / "colors.yaml").write_text(text)
    proc = run_cli("list", "tasks", "--include", plugin_site / "tasks", pythonpath=plugin_site / "site")
    one_line_error(proc, "colors.yaml", "unknown loader 'solid_color'", "did you mean 'solid_colors'")


def test_a_broken_plugin_module_is_one_line_naming_the_entry_point(plugin_site):
    (plugin_site / "site" / "my_loaders.py").write_text("import not_a_module_anywhere\n")
    proc = run_cli("list", "tasks", "--include", plugin_site / "tasks", pythonpath=plugin_site / "site")
    one_line_error(proc, "harness.loaders:colors = my_loaders", "not_a_module_anywhere")


def test_registry_refuses_a_second_object_under_a_taken_name():
    reg = Registry("thing", "harness.test-nothing")
    reg.add("a", len)
    reg.add("a", len)  # the same object again (a module imported twice) is fine
    with pytest.raises(TypeError, match="registered twice"):
        reg.add("a", sum)
    with pytest.raises(HarnessError, match="unknown thing 'b' \\(known: a\\)"):
        reg.get("b")
