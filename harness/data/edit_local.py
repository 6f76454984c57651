"""Read editing benchmarks stored in a local folder.

Two layouts are understood:

(a) ``metadata.jsonl``: one JSON object per line with ``id``, ``source``, ``instruction``,
    ``target`` (paths relative to the folder) and optional ``mask``, ``edit_type``, ``caption`` and
    ``references`` (a list of further input image paths, in order: a multi-reference sample, whose editor reads
    the source plus these; each is resized to ``size`` like the source).
(b) MagicBrush's release: ``edit_sessions.json`` mapping img_id -> list of turns
    ``{"input", "mask", "output", "instruction"}`` with files under ``images/<img_id>/``.

Every problem raises DataError with a one-line message naming the file (and line/field). Image paths may leave
the folder (``../shared/x.png``) or be absolute: they are allowed, resolved, and errors name the resolved path.
A sample whose target equals its source is refused (success would be 0 even for a perfect output). Source and
target of different sizes are both resized to ``size``; ``size_mismatch: error`` refuses them instead, and the
default (``warn``) says on stderr how many were resized.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from harness.data import register_loader
from harness.data.jsonl import one_line, open_image, read_jsonl
from harness.data.samples import EditSample
from harness.errors import DataError

REQUIRED = ("id", "source", "instruction", "target")
OPTIONAL = ("mask", "edit_type", "caption")
TURN_FIELDS = ("input", "mask", "output", "instruction")


def _open_rgb(path: Path, where: str) -> Image.Image:
    return open_image(path, where).convert("RGB")


def _rgb(im: Image.Image, size: int) -> np.ndarray:
    """uint8 (size, size, 3)."""
    return np.asarray(im.resize((size, size), Image.LANCZOS), dtype=np.uint8).copy()


def _mask(path: Path, where: str, size: int, transparent_is_edit: bool) -> np.ndarray:
    """bool (size, size): nonzero pixels (any channel) are the edit region.

    With transparent_is_edit (MagicBrush), a mask with real transparency follows the DALL-E 2
    inpainting convention MagicBrush was annotated with: fully transparent = edit region.
    """
    im = open_image(path, where)
    if im.mode in ("1", "L", "I", "I;16", "F"):
        region = np.asarray(im) != 0
    else:
        rgba = np.asarray(im.convert("RGBA"))
        alpha = rgba[..., 3]
        if transparent_is_edit and (alpha < 255).any():
            region = alpha == 0
        else:
            region = rgba[..., :3].any(axis=-1)
    # Resample the binary mask itself so "nonzero" is decided at full resolution.
    small = Image.fromarray(region.astype(np.uint8) * 255).resize((size, size), Image.NEAREST)
    return np.asarray(small) > 0


def _sample(
    folder: Path,
    sid: str,
    src: str,
    instruction: str,
    tgt: str,
    mask: str | None,
    edit_type: str,
    caption: str,
    where: str,
    size: int,
    transparent_is_edit: bool = False,
    fields: tuple[str, str, str] = ("source", "target", "mask"),
    mismatch: list | None = None,
    references: tuple[str, ...] = (),
) -> EditSample:
    src_im = _open_rgb((folder / src).resolve(), f"{where}, field '{fields[0]}'")
    tgt_im = _open_rgb((folder / tgt).resolve(), f"{where}, field '{fields[1]}'")
    if src_im.size != tgt_im.size and mismatch is not None:
        if mismatch[0] == "error":
            raise DataError(
                f"{where}: {fields[0]} is {src_im.size[0]}x{src_im.size[1]} px but {fields[1]} is "
                f"{tgt_im.size[0]}x{tgt_im.size[1]} px (size_mismatch: error)"
            )
        mismatch.append(where)
    source, target = _rgb(src_im, size), _rgb(tgt_im, size)
    if np.array_equal(source, target):
        raise DataError(
            f"{where}: {fields[1]} is identical to {fields[0]} (nothing to edit: a perfect output "
            "would score success 0); fix or drop the record"
        )
    if mask is None:
        region = np.any(source != target, axis=-1)
    else:
        region = _mask((folder / mask).resolve(), f"{where}, field '{fields[2]}'", size, transparent_is_edit)
    meta = {"folder": str(folder), "source": src, "target": tgt}
    if mask is not None:
        meta["mask"] = mask
    refs = tuple(
        _rgb(_open_rgb((folder / ref).resolve(), f"{where}, field 'references[{j}]'"), size)
        for j, ref in enumerate(references)
    )
    if refs:
        meta["references"] = list(references)
    return EditSample(
        id=sid,
        source=source,
        instruction=instruction,
        target=target,
        mask=region,
        edit_type=edit_type,
        caption=caption,
        references=refs,
        meta=meta,
    )


def _read_jsonl(folder: Path, file: Path, size: int, mismatch: list) -> list[EditSample]:
    samples = []
    for where, rec in read_jsonl(file, "id"):
        for key in REQUIRED + OPTIONAL:
            if key not in rec or (key in OPTIONAL and rec[key] is None):
                if key in REQUIRED:
                    raise DataError(f"{where}: missing required field '{key}'")
            elif not isinstance(rec[key], str) or (key in REQUIRED and not rec[key].strip()):
                raise DataError(
                    f"{where}: field '{key}' must be a non-empty string, got {one_line(json.dumps(rec[key]))}"
                )
        references = rec.get("references") or []
        if not isinstance(references, list) or not all(isinstance(r, str) and r.strip() for r in references):
            raise DataError(
                f"{where}: field 'references' must be a list of image paths, got {one_line(json.dumps(references))}"
            )
        samples.append(
            _sample(
                folder,
                rec["id"],
                rec["source"],
                rec["instruction"],
                rec["target"],
                rec.get("mask") or None,
                rec.get("edit_type") or "unknown",
                rec.get("caption") or "",
                where,
                size,
                mismatch=mismatch,
                references=tuple(references),
            )
        )
    if not samples:
        raise DataError(f"{file}: no samples (the file is empty)")
    return samples


def _read_magicbrush(folder: Path, file: Path, size: int, mismatch: list) -> list[EditSample]:
    try:
        sessions = json.loads(file.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{file}: malformed JSON ({one_line(e)})") from None
    if not isinstance(sessions, dict) or not sessions:
        raise DataError(f"{file}: expected a non-empty object mapping img_id -> list of turns")
    samples = []
    for img_id, turns in sessions.items():
        if not isinstance(turns, list):
            raise DataError(f"{file}: session {img_id!r}: expected a list of turns")
        for t, turn in enumerate(turns):
            where = f"{file}: session {img_id!r} turn {t}"
            if not isinstance(turn, dict):
                raise DataError(f"{where}: expected a JSON object")
            for key in TURN_FIELDS:
                if not isinstance(turn.get(key), str) or not turn[key].strip():
                    raise DataError(f"{where}: field '{key}' must be a non-empty string")
            d = f"images/{img_id}/"
            samples.append(
                _sample(
                    folder,
                    f"{img_id}-{t}",
                    d + turn["input"],
                    turn["instruction"],
                    d + turn["output"],
                    d + turn["mask"],
                    "magicbrush",
                    "",
                    where,
                    size,
                    transparent_is_edit=True,
                    fields=("input", "output", "mask"),
                    mismatch=mismatch,
                )
            )
    return samples


@register_loader("edit_folder", kind="edit")
def load_folder(path: str | Path, size: int = 64, size_mismatch: Literal["warn", "error"] = "warn") -> list[EditSample]:
    """All samples of a folder; images uint8 (size, size, 3), masks bool (size, size)."""
    from harness.metrics.editing import MIN_SIDE

    folder = Path(path)
    if size < MIN_SIDE:
        raise DataError(f"{folder}: size={size} is below the {MIN_SIDE} px minimum (the SSIM window)")
    if not folder.is_dir():
        raise DataError(f"{folder}: benchmark folder not found")
    mismatch: list = [size_mismatch]
    if (folder / "metadata.jsonl").is_file():
        samples = _read_jsonl(folder, folder / "metadata.jsonl", size, mismatch)
    elif (folder / "edit_sessions.json").is_file():
        samples = _read_magicbrush(folder, folder / "edit_sessions.json", size, mismatch)
    else:
        raise DataError(f"{folder}: no metadata.jsonl or edit_sessions.json in this folder")
    if len(mismatch) > 1:
        print(
            f"warning: {folder}: {len(mismatch) - 1} sample(s) with source and target of different sizes were "
            f"resized to {size}x{size} (first: {mismatch[1]}); size_mismatch: error refuses them",
            file=sys.stderr,
        )
    return samples
