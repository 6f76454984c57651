"""Input shared by the local-folder readers: JSON Lines (one object per non-blank line, a unique id per record),
UTF-8 text files and images; every problem a one-line DataError naming the file (and line or referencing record)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import DataError


def one_line(text: object) -> str:
    """An exception or value as one line of error text."""
    return " ".join(str(text).split())


def read_lines(file: Path, missing: str = "file not found") -> list[str]:
    """The lines of a UTF-8 text file (a BOM is dropped); a missing or undecodable file is a one-line DataError."""
    if not file.is_file():
        raise DataError(f"{file}: {missing}")
    try:
        return file.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise DataError(f"{file}: not UTF-8 text ({one_line(e)})") from None


def open_image(path: Path, where: str):
    """A fully decoded PIL image (a truncated file fails here, not later); ``where`` names the referencing record."""
    from PIL import Image

    if not path.is_file():
        raise DataError(f"{path}: image file not found (referenced by {where})")
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise DataError(f"{path}: cannot decode image ({one_line(e)}) (referenced by {where})") from None


def read_jsonl(file: Path, id_field: str) -> list[tuple[str, dict]]:
    """[(where, record)] for each non-blank line of ``file``; ``where`` is "file:line" for error messages.
    ``record[id_field]`` must be a non-empty string or an integer (returned as a string) and unique in the file."""
    out, first_line = [], {}
    for n, line in enumerate(read_lines(file), start=1):
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
