"""Official judge prompt templates, read at run time from the files users download with a benchmark — never copied
into this repository — and verified against the sha256 of the exact official bytes pinned in the task YAML.

Python template modules (GEdit-Bench's ``viescore/vie_prompts.py``, ImgEdit's ``UGE_bench.py``) are read with
``ast`` (their string assignments), never imported or executed.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

from harness.errors import DataError


def read_verified(path: Path, sha256: str, source: str = "") -> bytes:
    """The file's bytes; a missing file or one whose sha256 differs is a one-line DataError naming it."""
    if not path.is_file():
        raise DataError(
            f"{path}: judge template file not found (put the official "
            f"{source or 'evaluation file'} there; expected sha256 {sha256[:12]}...)"
        )
    data = path.read_bytes()
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise DataError(
            f"{path}: judge template file differs from the pinned official version (sha256 {got[:12]}..."
            f", expected {sha256[:12]}...)"
        )
    return data


def python_strings(path: Path, data: bytes) -> dict[str, str]:
    """Module-level ``NAME = "..."`` string assignments of a Python file, without executing it."""
    try:
        tree = ast.parse(data.decode("utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read judge templates ({type(e).__name__})") from None
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node.value.value
    return out


def json_strings(path: Path, data: bytes) -> dict[str, str]:
    try:
        obj = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: malformed JSON ({type(e).__name__})") from None
    if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
        raise DataError(f"{path}: expected an object of template strings")
    return obj


def load(path: Path, sha256: str, required: tuple[str, ...], source: str = "") -> dict[str, str]:
    """Verified templates by name; every name in ``required`` must be present."""
    data = read_verified(path, sha256, source)
    strings = json_strings(path, data) if path.suffix == ".json" else python_strings(path, data)
    missing = [name for name in required if name not in strings]
    if missing:
        raise DataError(f"{path}: no template {missing[0]!r}")
    return strings
