"""Readers of released text<->audio and text<->video retrieval sets (media decoded by harness/data/media.py).

Clotho v2 (``retrieval_clotho``; DCASE language-based audio retrieval), as released on Zenodo:
    clotho_captions_{split}.csv   header ``file_name,caption_1,...,caption_5``: five captions per audio file
    {split}/<file_name>           the audio files (WAV)
  direction "text_to_audio": each caption is a query (id ``<file_name>#<n>``) whose one relevant item is its audio
  file; "audio_to_text": each audio file is a query whose five relevant items are its captions (DCASE 2022 task 6b
  scores both with R@1/5/10 and mAP@10).

MSR-VTT (``retrieval_msrvtt``), as released (videodatainfo JSON) and as most text-to-video papers split it:
    MSRVTT_data.json              {"videos": [{"video_id", "split", ...}], "sentences": [{"video_id", "caption",
                                  "sen_id"}]} (the official train_val/test_videodatainfo.json have this shape)
    videos/all/<video_id>.mp4     the clips (``videos`` names another folder)
    MSRVTT_JSFUSION_test.csv      optional (``test_csv``): the 1k-A test split, columns key,vid_key,video_id,
                                  sentence — one caption per video (CLIP4Clip's MSRVTT_DataLoader reads this file)
  text -> video: each caption is a query (id ``<video_id>#<sen_id>``) whose relevant item is its video. Items carry
  the sampled frames and the clip's own audio track; a task with modalities [text, image] is the "-noaudio" twin
  of one with [text, image, audio] over the same items.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Literal

from harness.data import register_loader
from harness.data.jsonl import one_line
from harness.data.media import load_media
from harness.errors import DataError
from harness.kinds.retrieval import RetrievalData, RetrievalItem, RetrievalQuery


def _csv_rows(file: Path, required: list[str]) -> list[tuple[str, dict]]:
    if not file.is_file():
        raise DataError(f"{file}: file not found")
    try:
        with open(file, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{file}: missing column {missing[0]!r} (header: {','.join(reader.fieldnames or [])})")
            return [(f"{file}:{n}", row) for n, row in enumerate(reader, start=2)]
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{file}: not a readable CSV ({one_line(e)})") from None


@register_loader("retrieval_clotho", kind="retrieval")
def clotho(
    path: str,
    split: str = "evaluation",
    direction: Literal["text_to_audio", "audio_to_text"] = "text_to_audio",
    cache_dir: str = "",
) -> RetrievalData:
    """Clotho v2 captions + audio (layout in the module doc)."""
    folder = Path(path)
    captions = [f"caption_{n}" for n in range(1, 6)]
    rows = _csv_rows(folder / f"clotho_captions_{split}.csv", ["file_name", *captions])
    if not rows:
        raise DataError(f"{folder / f'clotho_captions_{split}.csv'}: no rows")
    audio_items, texts = [], []
    for where, row in rows:
        name = row["file_name"].strip()
        media = load_media(folder / split / name, where, video=False, cache_dir=cache_dir or None)
        audio_items.append((name, media))
        for n, col in enumerate(captions, start=1):
            if (row[col] or "").strip():
                texts.append((f"{name}#{n}", row[col].strip(), name))
    if direction == "text_to_audio":
        items = [RetrievalItem(name, audio=m.audio, sample_rate=m.sample_rate) for name, m in audio_items]
        queries = [RetrievalQuery(cid, text=text, relevant={name: 1}) for cid, text, name in texts]
    else:
        items = [RetrievalItem(cid, text=text) for cid, text, _ in texts]
        queries = [
            RetrievalQuery(
                name,
                audio=m.audio,
                sample_rate=m.sample_rate,
                relevant={cid: 1 for cid, _, owner in texts if owner == name},
            )
            for name, m in audio_items
        ]
    return RetrievalData(items, queries)


def _json(file: Path) -> dict:
    if not file.is_file():
        raise DataError(f"{file}: file not found")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{file}: malformed JSON ({one_line(e)})") from None
    for key in ("videos", "sentences"):
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            raise DataError(f"{file}: expected an object with a {key!r} list")
    return data


@register_loader("retrieval_msrvtt", kind="retrieval")
def msrvtt(
    path: str,
    split: str = "test",
    annotations: str = "MSRVTT_data.json",
    videos: str = "videos/all",
    test_csv: str = "",
    n_frames: int = 8,
    size: int = 224,
    cache_dir: str = "",
) -> RetrievalData:
    """MSR-VTT text -> video (layout in the module doc): the videos of ``split`` and all their captions, or with
    ``test_csv`` the rows of that file (1k-A: 1000 videos, one caption each)."""
    folder = Path(path)
    pairs: list[tuple[str, str, str, str]] = []  # (query id, caption, video id, where)
    if test_csv:
        for where, row in _csv_rows(folder / test_csv, ["video_id", "sentence"]):
            pairs.append((f"{row['video_id']}#{row.get('key') or where}", row["sentence"], row["video_id"], where))
    else:
        file = folder / annotations
        data = _json(file)
        keep = {v.get("video_id") for v in data["videos"] if v.get("split") == split}
        if not keep:
            raise DataError(f"{file}: no video has split {split!r}")
        for n, s in enumerate(data["sentences"]):
            if s.get("video_id") in keep:
                if not isinstance(s.get("caption"), str):
                    raise DataError(f"{file}: sentences[{n}]: field 'caption' must be a string")
                pairs.append(
                    (f"{s['video_id']}#{s.get('sen_id', n)}", s["caption"], s["video_id"], f"{file}: sentences[{n}]")
                )
    if not pairs:
        raise DataError(f"{folder}: no captions for split {split!r}")
    first_where = {}
    for _, _, vid, where in pairs:
        first_where.setdefault(vid, where)
    items = []
    for vid, where in first_where.items():
        m = load_media(
            folder / videos / f"{vid}.mp4", where, video=True, n_frames=n_frames, size=size, cache_dir=cache_dir or None
        )
        items.append(RetrievalItem(vid, frames=m.frames, audio=m.audio, sample_rate=m.sample_rate))
    queries = [RetrievalQuery(qid, text=text.strip(), relevant={vid: 1}) for qid, text, vid, _ in pairs]
    return RetrievalData(items, queries)
