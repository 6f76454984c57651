"""HoneyBee recipes: validation errors (one line, naming file and field, exit 2) and the CLI in a subprocess."""

import json

import pytest

from harness.errors import HarnessError
from harness_baselines.honeybee.recipe import all_recipes, load_recipe


def _write(tmp_path, text, name="r.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_every_shipped_recipe_validates():
    names = all_recipes()
    assert len(names) >= 20
    for name in names:
        assert load_recipe(name).name == name


@pytest.mark.parametrize(
    "text, field, words",
    [
        ("name: x\nsources: [{name: nosuch, size: 3}]\n", "sources.0.name", "unknown source 'nosuch'"),
        (
            "name: x\nsources: [{name: mixed, size: 3}]\ninterventions: [{name: caption}, {name: blur}]\n",
            "interventions.1.name",
            "unknown intervention 'blur'",
        ),
        ("name: x\nsources: [{name: mixed, size: 0}]\n", "sources.0.size", "greater than or equal to 1"),
        ("name: x\nsources: [{name: mixed, size: 3}]\nscaling: {imagez: 2}\n", "scaling.imagez", "Extra inputs"),
        ("name: x\n", "sources", "give sources or a curation step"),
    ],
)
def test_invalid_recipe_names_file_and_field(tmp_path, text, field, words):
    path = _write(tmp_path, text)
    with pytest.raises(HarnessError) as e:
        load_recipe(path)
    msg = str(e.value)
    assert msg.startswith(path) and f"'{field}'" in msg and words in msg and "\n" not in msg


def test_malformed_yaml_is_one_line_error(tmp_path):
    path = _write(tmp_path, "name: x\nsources: [{name: mixed, size: 3}\n")
    with pytest.raises(HarnessError, match="malformed YAML"):
        load_recipe(path)


def test_unknown_recipe_name_lists_known():
    with pytest.raises(HarnessError, match="unknown recipe 'nope'.*src_mixed"):
        load_recipe("nope")


def test_cli_build_writes_dataset_and_manifest(cli, tmp_path):
    path = _write(
        tmp_path, "name: cli_tiny\nseed: 1\nsources: [{name: counting, size: 4}]\ninterventions: [{name: caption}]\n"
    )
    cache = tmp_path / "cache"
    proc = cli("recipe", "build", path, "--cache-dir", cache, "--output", tmp_path / "res", check_rc=0)
    assert "cli_tiny: 4 rows" in proc.stdout
    pointer = json.loads((cache / "datasets" / "cli_tiny.json").read_text())
    manifest = json.loads((cache / "datasets" / pointer["path"] / "manifest.json").read_text())
    assert manifest["rows"] == 4 and manifest["content_hash"] == pointer["content_hash"]
    assert not [p for p in (cache / "datasets").iterdir() if p.name.startswith(".tmp")]


@pytest.mark.parametrize(
    "text, words",
    [
        ("name: bad\nsources: [{name: nosuch, size: 3}]\n", "unknown source 'nosuch'"),
        ("name: bad\nsources: [{name: mixed, size: 3}]\ninterventions: [{name: blur}]\n", "unknown intervention"),
        ("name: bad\nsources: [oops\n", "malformed YAML"),
    ],
)
def test_cli_bad_recipe_exits_2_with_one_line(cli, tmp_path, text, words):
    path = _write(tmp_path, text)
    proc = cli("recipe", "build", path, "--cache-dir", tmp_path / "cache", check_rc=2)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0] and path in lines[0]


def test_training_budget_is_steps_or_epochs():
    from harness_baselines.honeybee.recipe import Train

    assert Train().steps_for(10_000) == 300  # equal compute, whatever the size
    assert Train(budget="epochs", epochs=5, batch_size=16).steps_for(1000) == 313  # ceil(5 * 1000 / 16)
    assert Train(budget="epochs", epochs=5).steps_for(2000) > Train(budget="epochs", epochs=5).steps_for(1000)
