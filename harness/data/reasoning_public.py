"""Readers of the public VL-reasoning test sets in their published schemas, from a local folder (the user downloads
them; nothing is fetched). One loader per benchmark (registered in harness/data/__init__.py):

  reasoning_mathvista, reasoning_mathverse, reasoning_mathvision, reasoning_mmmu_pro, reasoning_wemath,
  reasoning_dynamath, reasoning_logicvista, reasoning_hallusionbench, reasoning_math500, reasoning_gpqa

Rows come from JSON (a list, or a mapping id -> row), JSONL, CSV or parquet (with pyarrow); image fields are paths
relative to the folder (or, in parquet exports, ``{"bytes": ..., "path": ...}`` structs). The per-benchmark field
mapping lives in ``reasoning_public_formats``; this module does the I/O. Every schema problem is one DataError
naming the file, the row and the field.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from harness.data import register_loader
from harness.data.skips import SkipRow
from harness.errors import DataError

DATA_SUFFIXES = (".json", ".jsonl", ".csv", ".parquet")


class Row(dict):
    """One record plus where it came from (``where`` = "FILE:line N" / "FILE:record N" / "FILE:key K")."""

    def __init__(
        self,
        data: dict,
        where: str,
        root: Path,
        index: int | None = None,
        file_stem: str = "",
        file_dir: Path | None = None,
    ):
        super().__init__(data)
        self.where, self.root = where, root
        self.file_dir = file_dir or root  # image paths are also tried relative to the data file's folder
        self.index, self.file_stem = index, file_stem  # position in its file: an id for releases that have none

    def error(self, field: str, msg: str) -> DataError:
        return DataError(f"{self.where}: field {field!r}: {msg}")

    def req(self, field: str, types=(str,), allow_empty: bool = False):
        """The value of a required field, type-checked (ints are accepted where strings are and stringified)."""
        if field not in self or self[field] is None:
            raise self.error(field, "missing")
        value = self[field]
        if str in types and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, types):
            raise self.error(field, f"expected {' or '.join(t.__name__ for t in types)}, got {type(value).__name__}")
        if not allow_empty and isinstance(value, str) and not value.strip():
            raise self.error(field, "empty")
        return value

    def question(self, field: str, id_field: str) -> str:
        """A text the sample cannot be scored without (question, gold answer): stripped; a missing or empty one
        makes the row a counted skip (harness/data/skips.py), not a load failure."""
        value = self.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise SkipRow(str(self.get(id_field) or self.where), f"empty {field}")
        return self.req(field).strip()

    def opt(self, field: str, default=None):
        value = self.get(field)
        return default if value is None else value

    def image(self, field: str, subdirs: tuple[str, ...] = ("", "images", "data", "data/images")) -> np.ndarray:
        """uint8 (H, W, 3) from a path relative to the folder (tried under each of ``subdirs``) or a bytes struct."""
        value = self.req(field, (str, dict, bytes))
        if isinstance(value, dict) and value.get("bytes"):
            return _decode(io.BytesIO(value["bytes"]), self.error(field, "undecodable image bytes"))
        if isinstance(value, bytes):
            return _decode(io.BytesIO(value), self.error(field, "undecodable image bytes"))
        rel = value.get("path") if isinstance(value, dict) else value
        if not rel:
            raise self.error(field, "no image path or bytes")
        rel = rel[2:] if rel.startswith("./") else rel
        for path in [self.file_dir / rel, *(self.root / sub / rel for sub in subdirs)]:
            if path.is_file():
                return _decode(path, self.error(field, f"cannot decode image {path}"))
        raise self.error(field, f"image {rel!r} not found under {self.root}")


def _decode(src, err: DataError) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            # an image past PIL's pixel limit (a decompression bomb) is refused, not decoded with a warning
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(src) as im:
                return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"{err}: image larger than {Image.MAX_IMAGE_PIXELS} pixels (decompression bomb?)") from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        raise err from None


def find_file(root: Path, file: str, patterns: tuple[str, ...]) -> list[Path]:
    """The data file(s): ``file`` if given (relative to the folder), else the first of ``patterns`` (globs) that
    matches (several parquet shards are read in order), else the folder's only data file."""
    if not root.is_dir():
        raise DataError(f"{root}: benchmark folder does not exist")
    if file:
        path = root / file
        if not path.is_file():
            raise DataError(f"{path}: data file does not exist")
        return [path]
    for pattern in patterns:
        found = sorted(root.glob(pattern))
        if found:
            return found
    found = sorted(p for p in root.rglob("*") if p.suffix in DATA_SUFFIXES and p.is_file())
    if len(found) == 1:
        return found
    raise DataError(
        f"{root}: no data file matching {', '.join(patterns)}"
        + (f" and {len(found)} candidates ({', '.join(p.name for p in found[:4])}); pass file=" if found else "")
    )


def read_rows(root: str | Path, file: str, patterns: tuple[str, ...]) -> list[Row]:
    """Every record of the benchmark's data file(s) as Rows. A JSON mapping gives its key as ``_key``."""
    root = Path(root)
    rows: list[Row] = []
    for path in find_file(root, file, patterns):
        rows += _read(path, root)
    if not rows:
        raise DataError(f"{root}: no records")
    return rows


def _read(path: Path, root: Path) -> list[Row]:
    name = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    try:
        return _read_rows(path, root, name)
    except UnicodeDecodeError as e:
        raise DataError(f"{name}: not UTF-8 text (byte {e.start})") from None


def _read_rows(path: Path, root: Path, name: str) -> list[Row]:
    stem = path.name.split("-")[0].split(".")[0]
    try:
        if path.suffix == ".jsonl":
            out = []
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as e:
                        raise DataError(f"{name}:line {i}: malformed JSON ({e.msg})") from None
                    out.append(_row(obj, f"{name}:line {i}", root, file_dir=path.parent))
            return out
        if path.suffix == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as e:
                raise DataError(f"{name}:line {e.lineno}: malformed JSON ({e.msg})") from None
            if isinstance(data, dict):
                return [
                    _row({**v, "_key": k} if isinstance(v, dict) else v, f"{name}:key {k}", root, file_dir=path.parent)
                    for k, v in data.items()
                ]
            if isinstance(data, list):
                return [_row(v, f"{name}:record {i}", root, i, stem, path.parent) for i, v in enumerate(data)]
            raise DataError(f"{name}: expected a JSON list or mapping of records, got {type(data).__name__}")
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as f:
                return [
                    _row(r, f"{name}:line {i}", root, file_dir=path.parent) for i, r in enumerate(csv.DictReader(f), 2)
                ]
        if path.suffix == ".parquet":
            try:
                import pyarrow.parquet as pq
            except ImportError:
                raise DataError(f"{name}: reading parquet needs pyarrow (pip install pyarrow)") from None
            import pyarrow as pa

            try:
                table = pq.read_table(path)
            except (pa.ArrowException, ValueError) as e:
                raise DataError(f"{name}: not a readable parquet file ({' '.join(str(e).split())[:200]})") from None
            return [_row(r, f"{name}:record {i}", root, i, stem, path.parent) for i, r in enumerate(table.to_pylist())]
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    raise DataError(f"{name}: unsupported data file type {path.suffix!r} (json, jsonl, csv, parquet)")


def _row(obj, where: str, root: Path, index: int | None = None, stem: str = "", file_dir: Path | None = None) -> Row:
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected an object, got {type(obj).__name__}")
    return Row(obj, where, root, index, stem, file_dir)


def _load(fmt: str, path: str, file: str, fill: dict | None = None, extra: tuple[str, ...] = (), **kwargs):
    """Read benchmark ``fmt`` from folder ``path``: ``file`` if given, else the first of its release patterns (with
    ``fill`` substituted, e.g. the split) that matches, plus the ``extra`` patterns' files."""
    from harness.data import reasoning_public_formats as formats

    patterns = tuple(p.format(**(fill or {})) for p in formats.FORMATS[fmt].patterns)
    rows = read_rows(path, file, patterns)
    for pattern in extra if not file else ():
        for extra_file in sorted(Path(path).glob(pattern)):
            rows += _read(extra_file, Path(path))
    return formats.convert(fmt, rows, **kwargs)


# One function per benchmark (signatures are checked against task YAML args, so extra knobs are explicit).
@register_loader("reasoning_mathvista", kind="reasoning")
def mathvista(path: str, file: str = ""):
    """MathVista testmini: HF AI4Math/MathVista ``data/testmini-*.parquet`` or the GitHub ``testmini.json``
    (pid, question, query, image / decoded_image, choices, answer, question_type, answer_type, unit, metadata)."""
    return _load("mathvista", path, file)


@register_loader("reasoning_mathverse", kind="reasoning")
def mathverse(path: str, file: str = "", version: str = "Vision Only"):
    """MathVerse testmini, rows of one problem_version (default the vision-only one): AI4Math/MathVerse's root-level
    ``testmini.parquet`` / ``testmini.json``, or hbXNov/MATHVERSE_NUMERIC_OR_CHOICE_ANSWER (``data/testmini-*``)."""
    return _load("mathverse", path, file, version=version)


@register_loader("reasoning_mathvision", kind="reasoning")
def mathvision(path: str, file: str = "", split: str = "test"):
    """MATH-Vision ``split`` (test: 3040, testmini: 304): id, question, options, image / decoded_image, answer,
    level, subject (HF MathLLMs/MathVision ``data/{split}-*.parquet`` or the GitHub ``data/{split}.jsonl``)."""
    return _load("mathvision", path, file, {"split": split})


@register_loader("reasoning_mmmu_pro", kind="reasoning")
def mmmu_pro(path: str, file: str = ""):
    """MMMU-Pro, vision setting: id, image (question and options rendered in it), options, answer, subject
    (HF MMMU/MMMU_Pro ``vision/test-*.parquet``)."""
    return _load("mmmu_pro", path, file)


@register_loader("reasoning_wemath", kind="reasoning")
def wemath(path: str, file: str = ""):
    """We-Math testmini: ID, question, option ("A. ..; B. .."), answer, image_path, key, question number."""
    return _load("wemath", path, file)


@register_loader("reasoning_dynamath", kind="reasoning")
def dynamath(path: str, file: str = "", variant: int = 1):
    """DynaMath: hbXNov/dynamath_mini (``data/train-*.parquet``, what HoneyBee evaluates), else the official HF
    ``data/sample{variant}-*.parquet`` (split sample_variant{variant}) or the GitHub JSON."""
    return _load("dynamath", path, file, {"variant": variant})


@register_loader("reasoning_logicvista", kind="reasoning")
def logicvista(path: str, file: str = ""):
    """LogicVista: HF lscpku/LogicVista ``data/test-*.parquet`` (image bytes) or the GitHub ``data/dataset.json``
    (id -> {imagename, question, answer, skill, broad_capability})."""
    return _load("logicvista", path, file)


@register_loader("reasoning_hallusionbench", kind="reasoning")
def hallusionbench(path: str, file: str = "", include_text_only: bool = False):
    """HallusionBench: the questions with an image (HF lmms-lab/HallusionBench split ``image``, 951, which HoneyBee
    evaluates), plus the text-only ones with ``include_text_only`` (split ``non_image``; GitHub
    ``HallusionBench.json`` holds both, told apart by ``visual_input``)."""
    extra = ("data/non_image-*.parquet",) if include_text_only else ()
    return _load("hallusionbench", path, file, extra=extra, include_text_only=include_text_only)


@register_loader("reasoning_math500", kind="reasoning")
def math500(path: str, file: str = ""):
    """MATH-500 (text only): problem, solution, answer, subject, level, unique_id."""
    return _load("math500", path, file)


@register_loader("reasoning_gpqa", kind="reasoning")
def gpqa(path: str, file: str = "", seed: int = 0):
    """GPQA-diamond (text only): Question, Correct Answer, Incorrect Answer 1..3; options shuffled by ``seed``."""
    return _load("gpqa", path, file, seed=seed)
