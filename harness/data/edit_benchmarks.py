"""Readers of the published editing benchmarks, from local copies of their releases, at native resolution.

- GEdit-Bench: the Hugging Face dataset ``stepfun-ai/GEdit-Bench`` (split ``train``, 1212 rows = 606 instructions x
  en/cn), a snapshot folder with parquet shards (``data/train-*.parquet``, images as {bytes, path} structs). The
  judge sees ``input_image`` (what generate_image_example.py saves as ``_SRCIMG.png``); the editor gets the same
  image at its native size (the example script's 512x512-area resize is one editor's preprocessing, not the
  benchmark's).
- ImgEdit-Bench: PKU-YuanGroup/ImgEdit ``Benchmark/Basic/basic_edit.json`` (key -> {id, prompt, edit_type}) or
  ``Benchmark/UGE/UGE_edit.json`` (key -> {id, prompt}) with the images of the HF ``sysuyy/ImgEdit``
  ``Benchmark.tar`` (``Benchmark/singleturn/<id>`` for Basic).
- MagicBrush: the test zip (``edit_sessions.json``, ``images/<img_id>/``, local captions); ``all-turn`` = every turn
  edited independently from its ground-truth input, ``final-turn`` = each session edited iteratively, scored on
  the last turn (OSU-NLP-Group/MagicBrush evaluation/image_eval.py).
- Emu Edit: the HF dataset ``facebook/emu_edit_test_set`` (splits ``validation`` 2022 / ``test`` 3589; fields
  instruction, image, task, split, idx, hash, input_caption, output_caption), no ground truth.

Repetition on purpose: each reader follows its own release's layout. Every problem is a one-line DataError naming
the file and the row.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from harness.data import register_loader
from harness.data.jsonl import one_line, open_image
from harness.data.samples import EditSample
from harness.data.skips import with_skips
from harness.errors import DataError


def _rgb(im: Image.Image) -> np.ndarray:
    return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def _image_cell(cell, where: str) -> np.ndarray:
    """A parquet image cell ({bytes, path} struct) -> uint8 (H, W, 3)."""
    data = cell.get("bytes") if isinstance(cell, dict) else None
    if not data:
        raise DataError(f"{where}: no image bytes")
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return _rgb(im)
    except (OSError, ValueError, SyntaxError) as e:
        raise DataError(f"{where}: cannot decode image ({one_line(e)})") from None


def _parquet_rows(folder: Path, split: str, columns: list[str]):
    """(where, row dict) over the split's parquet shards of an HF snapshot folder (root-level or under data/)."""
    import pyarrow.parquet as pq

    if not folder.is_dir():
        raise DataError(f"{folder}: dataset folder not found")
    shards = sorted(p for p in folder.rglob("*.parquet") if p.name.startswith(f"{split}-") or p.stem == split)
    if not shards:
        raise DataError(f"{folder}: no {split}-*.parquet shards (expected the Hugging Face snapshot layout)")
    for shard in shards:
        try:
            pf = pq.ParquetFile(shard)
        except Exception as e:  # noqa: BLE001 — pyarrow raises several types for a corrupt file
            raise DataError(f"{shard}: cannot read parquet ({one_line(e)})") from None
        missing = [c for c in columns if c not in pf.schema_arrow.names]
        if missing:
            raise DataError(f"{shard}: no column {missing[0]!r}")
        n = 0
        for batch in pf.iter_batches(batch_size=64, columns=columns):
            for row in batch.to_pylist():
                yield f"{shard}: row {n}", row
                n += 1


GEDIT_COLUMNS = ["task_type", "key", "instruction", "instruction_language", "input_image", "Intersection_exist"]


@register_loader("gedit_bench", kind="edit")
def gedit_bench(path: str, language: str = "all", task_type: str = "", intersection: bool = False) -> list[EditSample]:
    """GEdit-Bench rows (optionally one language, one task type, or the Intersection_exist subset). Subsets:
    edit_type=<task_type>, language=<lang>, language=<lang>/intersection."""
    samples, skipped = [], {}
    for where, row in _parquet_rows(Path(path), "train", GEDIT_COLUMNS):
        lang, ttype, inter = row["instruction_language"], row["task_type"], bool(row["Intersection_exist"])
        wanted = (language in ("all", lang)) and (not task_type or ttype == task_type) and (inter or not intersection)
        if not wanted:
            continue
        if not row["key"]:
            raise DataError(f"{where}: empty key")
        if not (row["instruction"] or "").strip():  # nothing to edit by: skipped, counted and listed
            skipped[f"{lang}/{row['key']}"] = "empty instruction"
            continue
        subsets = (f"language={lang}", *((f"language={lang}/intersection",) if inter else ()))
        samples.append(
            EditSample(
                id=f"{lang}/{row['key']}",
                source=_image_cell(row["input_image"], where),
                instruction=row["instruction"],
                edit_type=ttype,
                subsets=subsets,
                meta={"key": row["key"], "language": lang, "intersection": inter},
            )
        )
    if not samples:
        raise DataError(f"{path}: no GEdit-Bench rows match language={language} task_type={task_type or 'any'}")
    return with_skips(samples, skipped) if skipped else samples


def _read_json(file: Path) -> dict:
    if not file.is_file():
        raise DataError(f"{file}: file not found")
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{file}: malformed JSON ({one_line(e)})") from None
    if not isinstance(data, dict) or not data:
        raise DataError(f"{file}: expected a non-empty JSON object")
    return data


@register_loader("imgedit", kind="edit")
def imgedit(
    path: str,
    edit_json: str = "Benchmark/Basic/basic_edit.json",
    images: str = "Benchmark/singleturn",
    edit_type: str = "",
) -> list[EditSample]:
    """ImgEdit-Bench Basic (or UGE with edit_json=Benchmark/UGE/UGE_edit.json): key -> {id, prompt[, edit_type]}."""
    folder = Path(path)
    file = folder / edit_json
    samples = []
    for key, item in _read_json(file).items():
        where = f"{file}: key {key!r}"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("prompt"), str):
            raise DataError(f"{where}: expected an object with string fields 'id' and 'prompt'")
        etype = item.get("edit_type") or "uge"
        if edit_type and etype != edit_type:
            continue
        image_path = folder / images / item["id"]
        samples.append(
            EditSample(
                id=str(key),
                source=_rgb(open_image(image_path, where)),
                instruction=item["prompt"],
                edit_type=etype,
                meta={"source_path": str(image_path)},
            )
        )
    if not samples:
        raise DataError(f"{file}: no items with edit_type {edit_type!r}")
    return samples


def _turn_index(name: str, fallback: int) -> int:
    m = re.search(r"output(\d+)", name)
    return int(m.group(1)) if m else fallback


@register_loader("magicbrush", kind="edit")
def magicbrush(path: str, setting: str = "all-turn", captions: str = "local_descriptions.json") -> list[EditSample]:
    """MagicBrush test sessions at native resolution. all-turn: one sample per turn (input = that turn's
    ground-truth input); final-turn: one sample per session, its turns applied iteratively to the editor's own
    outputs, scored on the last ground-truth output. ``captions``: {img_id: {output file name: local caption}}
    (CLIP-T's text; absent = CLIP-T not computed)."""
    from harness.data.edit_local import TURN_FIELDS, _mask

    if setting not in ("all-turn", "final-turn"):
        raise DataError(f"magicbrush: setting must be all-turn or final-turn, not {setting!r}")
    folder = Path(path)
    file = folder / "edit_sessions.json"
    sessions = _read_json(file)
    caption_file = folder / captions
    caption_map = _read_json(caption_file) if caption_file.is_file() else {}
    samples = []
    for img_id, turns in sessions.items():
        if not isinstance(turns, list) or not turns:
            raise DataError(f"{file}: session {img_id!r}: expected a non-empty list of turns")
        for t, turn in enumerate(turns):
            if not isinstance(turn, dict) or any(
                not isinstance(turn.get(k), str) or not turn[k].strip() for k in TURN_FIELDS
            ):
                raise DataError(
                    f"{file}: session {img_id!r} turn {t}: fields {', '.join(TURN_FIELDS)} must be non-empty strings"
                )
        # Turn order by the output file's number (the fix of MagicBrush PR #28), list order as the tie-break.
        turns = sorted(turns, key=lambda tr: _turn_index(tr["output"], 0))
        d = folder / "images" / img_id
        caps = caption_map.get(img_id, {}) if isinstance(caption_map.get(img_id), dict) else {}

        def image(name, t, field, d=d, img_id=img_id):
            return _rgb(open_image(d / name, f"{file}: session {img_id!r} turn {t}, field {field!r}"))

        if setting == "all-turn":
            for t, turn in enumerate(turns):
                src, tgt = image(turn["input"], t, "input"), image(turn["output"], t, "output")
                mask = (
                    _mask(d / turn["mask"], f"{file}: session {img_id!r} turn {t}, field 'mask'", tgt.shape[0], True)
                    if tgt.shape[0] == tgt.shape[1]
                    else None
                )
                samples.append(
                    EditSample(
                        id=f"{img_id}-{t}",
                        source=src,
                        instruction=turn["instruction"],
                        target=tgt,
                        mask=mask,
                        edit_type=f"turn{t + 1}",
                        caption=caps.get(turn["output"], ""),
                        meta={"session": img_id, "turn": t},
                    )
                )
        else:
            last = turns[-1]
            samples.append(
                EditSample(
                    id=str(img_id),
                    source=image(turns[0]["input"], 0, "input"),
                    instruction=turns[0]["instruction"],
                    target=image(last["output"], len(turns) - 1, "output"),
                    edit_type=f"{len(turns)}-turn",
                    caption=caps.get(last["output"], ""),
                    turns=tuple(tr["instruction"] for tr in turns[1:]),
                    meta={"session": img_id},
                )
            )
    return samples


EMU_COLUMNS = ["instruction", "image", "task", "idx", "input_caption", "output_caption"]


@register_loader("emu_edit", kind="edit")
def emu_edit(path: str, split: str = "test", task: str = "") -> list[EditSample]:
    """Emu Edit test set rows (optionally one ``task``); captions feed CLIP-dir and CLIP-out."""
    samples, seen, skipped = [], {}, {}
    for where, row in _parquet_rows(Path(path), split, EMU_COLUMNS):
        if task and row["task"] != task:
            continue
        sid = str(row["idx"])
        if sid in seen:
            raise DataError(f"{where}: duplicate idx {sid!r} (first at {seen[sid]})")
        seen[sid] = where
        if not (row["instruction"] or "").strip():  # nothing to edit by: skipped, counted and listed
            skipped[sid] = "empty instruction"
            continue
        samples.append(
            EditSample(
                id=sid,
                source=_image_cell(row["image"], where),
                instruction=row["instruction"],
                edit_type=row["task"] or "unknown",
                input_caption=row["input_caption"] or "",
                output_caption=row["output_caption"] or "",
            )
        )
    if not samples:
        raise DataError(f"{path}: no Emu Edit rows in split {split!r}" + (f" with task {task!r}" if task else ""))
    return with_skips(samples, skipped) if skipped else samples
