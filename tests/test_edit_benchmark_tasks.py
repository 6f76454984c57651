"""The shipped benchmark tasks (tasks/edit/benchmarks/) run from the CLI on fixture releases laid out under
--data_dir exactly as the pinned datasets are, with the identity editor and a judge on 127.0.0.1."""

from __future__ import annotations

import pytest
from editbench_fixtures import STANDIN_VIESCORE, ScriptedChat, chat, gedit_release

from conftest import one_line_error

ROWS = [
    ("color_alter", "k1", "make it red", "en", True),
    ("style_change", "k2", "make it a sketch", "en", False),
    ("color_alter", "k1", "变成红色", "cn", True),
]


def reply(role, text, n, images):
    if role == "SC":
        return 200, chat('{"score": [8, 2], "reasoning": "x"}'), 0
    return 200, chat("no scores today"), 0  # PQ never parses: every sample a counted parse failure


@pytest.fixture
def data_dir(tmp_path):
    gedit_release(tmp_path / "data" / "stepfun-ai" / "GEdit-Bench", ROWS)
    (tmp_path / "standin.py").write_text(STANDIN_VIESCORE)
    return tmp_path / "data"


def test_gedit_bench_task_runs_from_the_cli_and_show_lists_judge_failures(data_dir, tmp_path, cli):
    import hashlib

    standin = tmp_path / "standin.py"
    sha = hashlib.sha256(standin.read_bytes()).hexdigest()
    out = tmp_path / "out"
    with ScriptedChat(reply) as server:
        proc = cli(
            "eval",
            "--task",
            "edit/gedit-bench",
            "--data_dir",
            data_dir,
            "--model",
            "identity",
            "--output",
            out,
            "--no-progress",
            "--judge",
            "openai-chat",
            "--judge_args",
            f"base_url={server.url},model=qwen,max_retries=0",
            "--judge_templates",
            standin,
            "--judge_templates_sha256",
            sha,
            check_rc=0,
        )
    assert "failures by cause transport 0, refusal 0, parse 3" in proc.stdout
    run_id = proc.stdout.split("run ")[-1].split()[0]
    import json
    from pathlib import Path

    # the run's last line: "run ID · N computed, M cached · RESULTS.json · K of N samples FAILED"
    results_json = next(p for p in proc.stdout.strip().splitlines()[-1].split(" · ") if p.endswith(".json"))
    doc = json.loads(Path(results_json).read_text())
    assert doc["judge_failures"] == {"transport": 0, "refusal": 0, "parse": 3} and doc["n_failed"] == 3
    show = cli("show", run_id, "--output", out, check_rc=0)
    assert "en/k1: judge parse: pq: 'no scores today'" in show.stdout
    # without --judge the same task only generates (reference-free: no judge metric, nothing averaged in)
    gen = cli(
        "eval",
        "--task",
        "edit/gedit-bench",
        "--data_dir",
        data_dir,
        "--model",
        "identity",
        "--output",
        out,
        "--no-progress",
        check_rc=0,
    )
    assert "0 computed" in gen.stdout


def test_official_templates_missing_is_one_line_naming_the_file(data_dir, tmp_path, cli):
    proc = cli(
        "eval",
        "--task",
        "edit/gedit-bench",
        "--data_dir",
        data_dir,
        "--model",
        "identity",
        "--output",
        tmp_path / "out",
        "--judge",
        "openai-chat",
        "--judge_args",
        "base_url=http://127.0.0.1:1/v1,model=m",
    )
    one_line_error(proc, "Step1X-Edit/GEdit-Bench/viescore/vie_prompts.py", "github.com/stepfun-ai/Step1X-Edit")


def test_absent_release_names_what_to_download(tmp_path, cli):
    proc = cli(
        "eval", "--task", "edit/emu-edit", "--data_dir", tmp_path, "--model", "identity", "--output", tmp_path / "out"
    )
    one_line_error(proc, "facebook/emu_edit_test_set")


def test_uncached_encoder_is_one_line(tmp_path, cli, monkeypatch):
    from editbench_fixtures import image, png_bytes, write_parquet

    write_parquet(
        tmp_path / "facebook" / "emu_edit_test_set" / "data" / "test-00000-of-00001.parquet",
        [
            {
                "instruction": "x",
                "image": {"bytes": png_bytes(image(1)), "path": None},
                "task": "style",
                "split": "test",
                "idx": 0,
                "hash": "h",
                "input_caption": "a",
                "output_caption": "b",
            }
        ],
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    proc = cli(
        "eval", "--task", "edit/emu-edit", "--data_dir", tmp_path, "--model", "identity", "--output", tmp_path / "out"
    )
    one_line_error(proc, "openai/clip-vit-large-patch14", "Hugging Face cache")


def _gedit_task(tmp_path, rows_or_path):
    from editbench_fixtures import sha256, task_yaml

    data = gedit_release(tmp_path / "GEdit", rows_or_path) if isinstance(rows_or_path, list) else rows_or_path
    task_yaml(
        tmp_path / "tasks",
        "edit/g",
        "gedit_bench",
        {"path": str(data)},
        ["viescore_o"],
        "viescore_o",
        {
            "output_size": "any",
            "judge_protocol": "viescore_tie",
            "judge_templates": {"file": "viescore/vie_prompts.py", "sha256": sha256(data / "viescore/vie_prompts.py")},
        },
    )
    return tmp_path / "tasks"


def test_rows_without_an_instruction_are_skipped_and_counted(tmp_path, cli):
    tasks = _gedit_task(tmp_path, [*ROWS, ("color_alter", "k9", "", "en", False)])
    proc = cli(
        "eval",
        "--task",
        "edit/g",
        "--include",
        tasks,
        "--model",
        "identity",
        "--output",
        tmp_path / "out",
        "--no-progress",
        check_rc=0,
    )
    assert "skipped 1 row(s)" in proc.stderr and "en/k9 (empty instruction)" in proc.stderr
    strict = cli(
        "eval",
        "--task",
        "edit/g",
        "--include",
        tasks,
        "--model",
        "identity",
        "--output",
        tmp_path / "out",
        "--strict-data",
    )
    one_line_error(strict, "en/k9")


def test_missing_column_and_missing_image_are_one_line(tmp_path, cli):
    from editbench_fixtures import task_yaml, write_parquet
    from test_judge_imgedit import imgedit_release

    data = gedit_release(tmp_path / "GEdit", ROWS)
    write_parquet(data / "data" / "train-00000-of-00001.parquet", [{"task_type": "x", "key": "k"}])
    proc = cli(
        "eval",
        "--task",
        "edit/g",
        "--include",
        _gedit_task(tmp_path, data),
        "--model",
        "identity",
        "--output",
        tmp_path / "out",
    )
    one_line_error(proc, "train-00000-of-00001.parquet", "no column 'instruction'")
    img = imgedit_release(tmp_path / "ImgEdit")
    (img / "Benchmark" / "singleturn" / "add" / "0002.jpg").unlink()
    task_yaml(
        tmp_path / "t2",
        "edit/i",
        "imgedit",
        {"path": str(img)},
        ["imgedit_score"],
        "imgedit_score",
        {"output_size": "any"},
    )
    proc = cli(
        "eval", "--task", "edit/i", "--include", tmp_path / "t2", "--model", "identity", "--output", tmp_path / "out"
    )
    one_line_error(proc, "0002.jpg", "image file not found", "key '12'")


@pytest.mark.slow
def test_imgedit_and_magicbrush_from_the_cli_with_the_local_vlm_judge_and_tiny_encoders(tmp_path, cli):
    from editbench_fixtures import sha256, task_yaml, tiny_clip, tiny_dino
    from test_edit_reference_metrics import MB_METRICS, magicbrush_release
    from test_judge_imgedit import imgedit_release

    from harness_baselines.hf.tiny import build_llava

    img = imgedit_release(tmp_path / "ImgEdit")
    task_yaml(
        tmp_path / "tasks",
        "edit/imgedit-cli",
        "imgedit",
        {"path": str(img)},
        ["imgedit_score"],
        "imgedit_score",
        {
            "output_size": "any",
            "judge_protocol": "imgedit_basic",
            "judge_templates": {
                "file": "Benchmark/Basic/prompts.json",
                "sha256": sha256(img / "Benchmark/Basic/prompts.json"),
            },
        },
    )
    mb = magicbrush_release(tmp_path / "mb")
    task_yaml(
        tmp_path / "tasks",
        "edit/mb-cli",
        "magicbrush",
        {"path": str(mb), "setting": "final-turn"},
        MB_METRICS,
        "l1_ref",
        {
            "output_size": "any",
            "clip_model": str(tiny_clip(tmp_path / "clip")),
            "dino_model": str(tiny_dino(tmp_path / "dino")),
        },
    )
    vlm = build_llava(tmp_path / "llava")
    judged = cli(
        "eval",
        "--task",
        "edit/imgedit-cli",
        "--include",
        tmp_path / "tasks",
        "--model",
        "identity",
        "--output",
        tmp_path / "out",
        "--no-progress",
        "--judge",
        "hf-vlm",
        "--judge_args",
        f"pretrained={vlm},max_new_tokens=6",
        check_rc=0,
    )
    assert "failures by cause transport 0" in judged.stdout  # gibberish replies: parse failures, counted
    ref = cli(
        "eval",
        "--task",
        "edit/mb-cli",
        "--include",
        tmp_path / "tasks",
        "--model",
        "identity",
        "--output",
        tmp_path / "out",
        "--no-progress",
        check_rc=0,
    )
    assert "clip_t" in ref.stdout and "dino" in ref.stdout and "2 computed" in ref.stdout
