"""The CLI in real subprocesses: listings, evaluation of the simple baselines with their known scores, results
files, the store, leaderboard and show, and one-line errors with exit code 2 for bad input."""

import json
import sqlite3
import subprocess
import sys

import pytest

from conftest import FIXTURES, REPO, one_line_error


def test_list_commands_do_not_import_torch():
    code = (
        "import sys; from harness.cli import app\n"
        "for what in ('tasks', 'models', 'metrics'):\n"
        "    app(['list', what], standalone_mode=False)\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert "edit/scenes" in out.stdout and "edit/photos" in out.stdout
    for name in ("identity", "oracle", "noise", "psnr_keep", "ssim_edit", "success"):
        assert name in out.stdout


def test_help_lists_every_verb(cli):
    out = cli("--help", check_rc=0).stdout
    for verb in ("list", "eval", "leaderboard", "show"):
        assert verb in out


@pytest.fixture(scope="module")
def baseline_runs(tmp_path_factory):
    """identity, oracle and noise on the whole editing group, through the CLI, into one store."""
    out = tmp_path_factory.mktemp("results")
    for model in ("identity", "oracle", "noise"):
        run_cli_ok = __import__("conftest").run_cli
        run_cli_ok("eval", "--task", "edit", "--model", model, "--output", out, "--no-progress", check_rc=0)
    return out


def _results(out, model):
    files = sorted(out.glob(f"edit/*/{model}_*.json"))
    assert len(files) == 2, files  # one per task of the group
    return {json.loads(f.read_text())["spec"]["task"]: json.loads(f.read_text()) for f in files}


def test_oracle_is_perfect_everywhere(baseline_runs):
    for res in _results(baseline_runs, "oracle").values():
        agg = res["aggregates"]["all"]
        assert agg["success"]["value"] == 1.0
        for region in ("", "_edit", "_keep"):
            assert agg[f"l1{region}"]["value"] == 0.0
            assert agg[f"psnr{region}"]["value"] == 100.0
            assert agg[f"ssim{region}"]["value"] == 1.0
        assert res["n_failed"] == 0


def test_identity_keeps_the_rest_but_makes_no_edit(baseline_runs):
    for res in _results(baseline_runs, "identity").values():
        agg = res["aggregates"]["all"]
        assert agg["l1_keep"]["value"] == 0.0 and agg["psnr_keep"]["value"] == 100.0
        assert agg["ssim_keep"]["value"] == 1.0
        assert agg["success"]["value"] == 0.0
        assert agg["l1_edit"]["value"] > 0.1 and agg["psnr_edit"]["value"] < 20
        for subset, metrics in res["aggregates"].items():
            if subset != "all":
                assert metrics["success"]["value"] == 0.0, subset


def test_noise_is_poor_on_both_regions(baseline_runs):
    for res in _results(baseline_runs, "noise").values():
        agg = res["aggregates"]["all"]
        assert agg["success"]["value"] == 0.0
        assert agg["psnr_edit"]["value"] < 12 and agg["psnr_keep"]["value"] < 12
        assert agg["ssim_keep"]["value"] < 0.3 and agg["l1_keep"]["value"] > 0.2


def test_suite_has_300_samples_over_8_edit_types_with_breakdown(baseline_runs):
    res = _results(baseline_runs, "identity")
    assert sum(r["n_samples"] for r in res.values()) >= 300
    types = {s for r in res.values() for s in r["aggregates"] if s.startswith("edit_type=")}
    assert len(types) >= 8


def test_store_holds_runs_with_provenance(baseline_runs):
    db = sqlite3.connect(baseline_runs / "harness.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    runs = db.execute("SELECT model, status, task_hash, fingerprint, provenance, n_samples FROM runs").fetchall()
    assert {r[0] for r in runs} == {"identity", "oracle", "noise"} and len(runs) == 6
    for _model, status, task_hash, fingerprint, prov, n in runs:
        assert status == "finished" and task_hash and fingerprint and n > 0
        prov = json.loads(prov)
        assert prov["git_sha"] and "torch" in prov["packages"] and "numpy" in prov["packages"]
    n_records = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    assert n_records == sum(r[5] for r in runs)


def test_rerun_is_a_cache_hit(baseline_runs, cli):
    out = cli(
        "eval", "--task", "edit/scenes", "--model", "noise", "--output", baseline_runs, "--no-progress", check_rc=0
    ).stdout
    assert "0 computed, 150 cached" in out


def test_leaderboard_renders_rows_from_the_store(baseline_runs, cli, tmp_path):
    target = tmp_path / "edit.md"
    cli("leaderboard", "edit", "--output", baseline_runs, "--to", target, check_rc=0)
    text = target.read_text()
    # One table per task (boards stay narrow): a "## TASK" heading, then a header row and the three models.
    sections = {
        part.splitlines()[0]: [line for line in part.splitlines() if line.startswith("| ")]
        for part in text.split("\n## ")[1:]
    }
    assert set(sections) == {"edit/photos", "edit/scenes", "edit/compose"}  # the board adds the two-reference suite
    for task, lines in sections.items():
        if task == "edit/compose":  # not evaluated in this store: its rows are empty cells
            continue
        assert len(lines) == 1 + 3, task  # header, three models
        assert "success" in lines[0] and "psnr_keep" in lines[0]
        assert lines[1].startswith("| oracle") and "1 ± 0 (n=" in lines[1]
    assert "(n=150)" in sections["edit/scenes"][1] and "(n=210)" in sections["edit/photos"][1]
    csv_text = cli(
        "leaderboard", "edit", "--output", baseline_runs, "--format", "csv", "--to", tmp_path / "e.csv", check_rc=0
    ).stdout
    assert csv_text.splitlines()[0].startswith("model,edit/photos success,")


def test_show_prints_spec_provenance_and_failures(baseline_runs, cli):
    res = _results(baseline_runs, "noise")["edit/scenes"]
    out = cli("show", res["run_id"][:8], "--output", baseline_runs, check_rc=0).stdout
    assert res["run_id"] in out and '"model": "noise"' in out and "git_sha" in out and "failures: 0" in out


def test_sample_failures_are_counted_and_shown(cli, plugin_dir, tmp_path):
    out = cli(
        "eval",
        "--task",
        "edit/scenes",
        "--model",
        "bad_adapters:FailsOnMove",
        "-o",
        tmp_path,
        "--no-progress",
        pythonpath=plugin_dir,
        check_rc=0,
    ).stdout
    assert "failed samples: 30 of 150" in out
    res = json.loads(next(tmp_path.glob("edit/scenes/*.json")).read_text())
    assert res["n_failed"] == 30 and all("move" in sid for sid in res["failures"])
    assert res["aggregates"]["all"]["l1_keep"]["n"] == 120  # failures are not averaged in as zeros
    shown = cli("show", res["run_id"], "-o", tmp_path, check_rc=0).stdout
    assert "failures: 30" in shown and "RuntimeError: cannot move things" in shown


def test_local_magicbrush_style_folder_is_scored(cli, tmp_path):
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "local.yaml").write_text(
        "name: edit/local\nkind: edit\n"
        f"source: {{loader: edit_folder, args: {{path: {FIXTURES / 'edit_local'}, size: 16}}}}\n"
        "metrics: [success, l1_edit]\nprimary_metric: success\n"
    )
    out = cli(
        "eval",
        "--task",
        "edit/local",
        "--model",
        "identity",
        "--include",
        tasks,
        "-o",
        tmp_path / "r",
        "--no-progress",
        check_rc=0,
    ).stdout
    assert "edit/local · identity" in out and "failed samples: 0 of 3" in out


# --- bad input: one line on stderr naming the culprit, exit code 2, nothing written ---------------------------


def test_unknown_task_suggests_a_close_name(cli, tmp_path):
    one_line_error(
        cli("eval", "--task", "edit/scene", "--model", "identity", "-o", tmp_path),
        "unknown task 'edit/scene'",
        "did you mean 'edit/scenes'",
    )
    assert not any(tmp_path.iterdir())


def test_unknown_model_suggests_a_close_name(cli, tmp_path):
    one_line_error(
        cli("eval", "--task", "edit", "--model", "identiy", "-o", tmp_path),
        "unknown model 'identiy'",
        "did you mean 'identity'",
    )


def test_unknown_model_arg_is_named(cli, tmp_path):
    one_line_error(cli("eval", "--task", "edit", "--model", "noise", "--model_args", "hihg=3", "-o", tmp_path), "hihg")


def _write_task(folder, text):
    folder.mkdir(exist_ok=True)
    (folder / "bad.yaml").write_text(text)
    return folder


GOOD = (
    "name: edit/mine\nkind: edit\nsource: {loader: edit_scenes, args: {n_per_type: 2}}\n"
    "metrics: [success]\nprimary_metric: success\n"
)


@pytest.mark.parametrize(
    "text, needles",
    [
        ("name: [unclosed\n", ["bad.yaml", "malformed YAML"]),
        (GOOD.replace("primary_metric", "colour: red\nprimary_metric"), ["bad.yaml", "'colour'", "Extra inputs"]),
        (GOOD.replace("n_per_type: 2", "n_per_type: many"), ["bad.yaml", "args.n_per_type"]),
        (GOOD.replace("metrics: [success]\n", ""), ["bad.yaml", "'metrics'", "required"]),
        (GOOD.replace("[success]", "[sucess]"), ["bad.yaml", "metrics[0]", "'sucess'", "did you mean 'success'"]),
        (GOOD.replace("edit_scenes", "edit_scenez"), ["bad.yaml", "unknown loader 'edit_scenez'"]),
    ],
)
def test_bad_task_yaml_fails_at_load_naming_file_and_field(cli, tmp_path, text, needles):
    tasks = _write_task(tmp_path / "tasks", text)
    one_line_error(cli("list", "tasks", "--include", tasks), *needles)


def test_missing_and_corrupt_images_are_named(cli, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    from PIL import Image

    Image.new("RGB", (8, 8), "red").save(data / "a.png")
    (data / "broken.png").write_bytes(b"not a png at all")
    meta = '{"id": "s1", "source": "a.png", "instruction": "x", "target": "%s"}\n'
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "t.yaml").write_text(
        "name: edit/local\nkind: edit\n"
        f"source: {{loader: edit_folder, args: {{path: {data}}}}}\n"
        "metrics: [success]\nprimary_metric: success\n"
    )
    (data / "metadata.jsonl").write_text(meta % "missing.png")
    one_line_error(
        cli("eval", "--task", "edit/local", "--model", "identity", "--include", tasks, "-o", tmp_path / "r"),
        "missing.png",
    )
    (data / "metadata.jsonl").write_text(meta % "broken.png")
    one_line_error(
        cli("eval", "--task", "edit/local", "--model", "identity", "--include", tasks, "-o", tmp_path / "r"),
        "broken.png",
    )
    assert not list((tmp_path / "r").glob("**/*.json"))


@pytest.mark.parametrize(
    "adapter, needles",
    [
        ("TooFew", ["broke the Editor contract", "images for a batch of"]),
        ("WrongSize", ["broke the Editor contract", "shape (8, 8, 3)"]),
    ],
)
def test_adapter_breaking_the_contract_is_an_error_and_writes_no_result(cli, plugin_dir, tmp_path, adapter, needles):
    proc = cli(
        "eval",
        "--task",
        "edit/scenes",
        "--model",
        f"bad_adapters:{adapter}",
        "-o",
        tmp_path,
        "--limit",
        "4",
        "--no-progress",
        pythonpath=plugin_dir,
    )
    one_line_error(proc, *needles)
    assert not list(tmp_path.glob("**/*.json"))
    status = sqlite3.connect(tmp_path / "harness.sqlite").execute("SELECT status FROM runs").fetchall()
    assert status == [("failed",)]


def test_unwritable_output_is_refused_before_any_work(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("I am a file")
    one_line_error(
        cli("eval", "--task", "edit", "--model", "identity", "-o", blocker / "results"),
        "--output",
        "not a writable directory",
    )
    assert blocker.read_text() == "I am a file"
