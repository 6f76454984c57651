"""User settings that are the same for every run on a machine: today the data directory.

Read from ``$XDG_CONFIG_HOME/harness/config.yaml`` (default ``~/.config/harness/config.yaml``), a YAML mapping::

    data_dir: /data/benchmarks      # where released benchmark data is looked for (harness.data.release)

A command-line option (``--data_dir``) wins over the file; without either, ``DEFAULT_DATA_DIR`` is used.
A malformed file or an unknown key is one error line naming the file and the field.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from harness.config import load_yaml_config

DEFAULT_DATA_DIR = Path("~/.local/share/harness/data").expanduser()


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    data_dir: Path | None = None


def config_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "harness" / "config.yaml"


def load_settings() -> Settings:
    path = config_file()
    if not path.is_file():
        return Settings()
    return load_yaml_config(path, Settings, "the harness config file")


def data_dir(option: str | Path | None = None) -> Path:
    """The data directory: the command-line value, else the config file's ``data_dir``, else the default.
    A relative ``data_dir`` in the config file is taken relative to the file's folder."""
    if option:
        return Path(option).expanduser()
    configured = load_settings().data_dir
    if configured is None:
        return DEFAULT_DATA_DIR
    configured = configured.expanduser()
    return configured if configured.is_absolute() else config_file().parent / configured
