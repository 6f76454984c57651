"""Options and helpers the CLI verbs share: the results folder, extra task folders, the data folder."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

err_console = Console(stderr=True)
DEFAULT_OUTPUT = Path("results")

IncludeOpt = typer.Option([], "--include", help="Extra folder of task YAML files (repeatable).")
DataDirOpt = typer.Option(
    None,
    "--data_dir",
    "--data-dir",
    help="Folder of downloaded benchmark releases (default: data_dir in "
    "~/.config/harness/config.yaml, else ~/.local/share/harness/data); the local "
    "Hugging Face cache is searched too.",
)
OutputOpt = typer.Option(DEFAULT_OUTPUT, "--output", "-o", help="Results folder (JSON files + SQLite store).")


def find_tasks(include: list[Path]):
    from harness import registry

    return registry.discover_tasks(tuple(include))


def open_results_store(output: Path):
    from harness.api import open_store

    return open_store(output)
