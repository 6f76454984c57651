"""JSON Lines input shared by the local-folder readers: one object per non-blank line, a unique id per record,
and every problem a one-line DataError naming the file and line."""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import DataError


def read_jsonl(file: Path, id_field: str) -> list[tuple[str, dict]]:
    """[(where, record)] for each non-blank line of ``file``; ``where`` is "file:line" for error messages.
    ``record[id_field]`` must be a non-empty string or an integer (returned as a string) and unique in the file."""
    if not file.is_file():
        raise DataError(f"{file}: file not found")
    try:
        lines = file.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise DataError(f"{file}: not UTF-8 text ({' '.join(str(e).split())})") from None
    out, first_line = [], {}
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{file}:{n}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{where}: malformed JSON ({e.msg}, column {e.colno})") from None
        if not isinstance(rec, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(rec).__name__}")
        rid = rec.get(id_field)
        if isinstance(rid, bool) or not isinstance(rid, (str, int)) or not str(rid).strip():
            raise DataError(f"{where}: field {id_field!r} must be a non-empty string")
        rec[id_field] = rid = str(rid)
        if rid in first_line:
            raise DataError(f"{where}: field {id_field!r}: duplicate id {rid!r} (first used on line {first_line[rid]})")
        first_line[rid] = n
        out.append((where, rec))
    return out
