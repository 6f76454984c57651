"""Read a retrieval benchmark stored in a local folder (BEIR / MTEB layout, plus image and audio files).

    corpus.jsonl     one JSON object per line: "_id" (required), optional "title", "text", "image" (path),
                     "audio" (path to a WAV), "group" (items of one group are relevant to each other in i2i mode);
                     at least one of text / image / audio. Other keys (e.g. "subset") go to the item's ``meta``.
    queries.jsonl    "_id", optional "text", "image", "audio"; other keys (e.g. "subset") go to ``meta``.
    qrels/test.tsv   BEIR qrels: header ``query-id<TAB>corpus-id<TAB>score``, then one judgment per line
                     (integer score; > 0 relevant, 0 judged non-relevant). ``split`` picks another file.
                     Judgments naming an id the folder lacks are skipped rows (counted, reported in provenance and
                     ``harness show``; ``--strict-data`` refuses them), as BEIR's loader tolerates them.

Paths are relative to the folder (``../`` and absolute paths are allowed; errors name the resolved file). As in
BEIR, a corpus "title" is prepended to its "text", and queries without any judgment in the qrels are dropped
(queries.jsonl often holds the queries of every split). queries.jsonl and qrels come together or not at all: a
folder with only corpus.jsonl serves i2i tasks.

Images become uint8 (size, size, 3) RGB; audio is read with the stdlib ``wave`` module (8/16/32-bit PCM, any
channel count) into float32 mono in [-1, 1]. Every problem raises DataError with one line naming the file (and
line or id).
"""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from harness.data import register_loader
from harness.data.jsonl import one_line, open_image, read_jsonl, read_lines
from harness.data.skips import SkippedRows, describe
from harness.errors import DataError
from harness.kinds.retrieval import RetrievalData, RetrievalItem, RetrievalQuery

_PCM = {1: (np.uint8, 128.0, 128.0), 2: (np.int16, 0.0, 32768.0), 4: (np.int32, 0.0, 2.0**31)}  # dtype, offset, scale


def _image(path: Path, where: str, size: int) -> np.ndarray:
    rgb = open_image(path, where).convert("RGB").resize((size, size), Image.LANCZOS)
    return np.asarray(rgb, dtype=np.uint8).copy()


def _wav(path: Path, where: str) -> tuple[np.ndarray, int]:
    """float32 (samples,) mono, sample rate."""
    if not path.is_file():
        raise DataError(f"{path}: audio file not found (referenced by {where})")
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            raw = w.readframes(n)
    except (wave.Error, EOFError, OSError) as e:
        raise DataError(f"{path}: corrupt WAV ({one_line(e)}) (referenced by {where})") from None
    if width not in _PCM:
        raise DataError(f"{path}: unsupported WAV sample width {8 * width} bits (referenced by {where})")
    if len(raw) != n * channels * width:
        raise DataError(
            f"{path}: corrupt WAV (truncated: {len(raw)} of {n * channels * width} data bytes) (referenced by {where})"
        )
    dtype, offset, scale = _PCM[width]
    x = (np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(np.float32) - offset) / scale
    return x.reshape(-1, channels).mean(axis=1).astype(np.float32), rate


def _jsonl(file: Path) -> list[tuple[str, dict]]:
    """(where, record) per non-blank line; records are objects with a unique "_id", optional string fields."""
    out = read_jsonl(file, "_id")
    for where, rec in out:
        for key in ("title", "text", "image", "audio", "group"):
            if rec.get(key) is not None and not isinstance(rec[key], str):
                raise DataError(f"{where}: field {key!r} must be a string, got {one_line(json.dumps(rec[key]))}")
    return out


def _media(folder: Path, rec: dict, where: str, size: int) -> dict:
    """Decoded text / image / audio fields of one record (None when absent)."""
    # ../ and absolute media paths are allowed; errors name the resolved file
    image = _image((folder / rec["image"]).resolve(), f"{where}, field 'image'", size) if rec.get("image") else None
    audio, rate = (
        _wav((folder / rec["audio"]).resolve(), f"{where}, field 'audio'") if rec.get("audio") else (None, None)
    )
    text = " ".join(t for t in (rec.get("title"), rec.get("text")) if t) or None
    if text is None and image is None and audio is None:
        raise DataError(f"{where}: {rec['_id']!r} has no text, image or audio")
    return {"text": text, "image": image, "audio": audio, "sample_rate": rate}


def _meta(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in ("_id", "title", "text", "image", "audio", "group")}


def judgments(rows, queries: set[str], corpus: set[str], dangling: str):
    """(where, query id, corpus id, relevance) rows -> ({query id: {corpus id: relevance}}, skipped {row id:
    reason}, corpus ids judged but absent and kept). Shared by the BEIR (TSV) and MTEB (parquet) readers.

    Judgments naming a query or corpus id that the data lacks (ArguAna's qrels name a document missing from its
    corpus, beir-cellar/beir#101 and #172; NFCorpus's name query PLAIN-2, absent from its queries, #202) are what
    BEIR's GenericDataLoader (beir/datasets/data_loader.py, ``_load_qrels``) and MTEB's HF loader read without
    checking. A judgment of an absent query cannot be scored: skipped. One of an absent document: skipped by
    default (it can never be retrieved, so it only lowers every model's recall and nDCG alike);
    ``dangling="keep"`` keeps it, as BEIR + pytrec_eval do, in the query's denominators."""
    qrels: dict[str, dict[str, int]] = {}
    skipped: dict[str, str] = {}
    kept: set[str] = set()
    for where, qid, cid, rel in rows:
        if qid not in queries:
            skipped[where] = f"query {qid!r} is not in the queries"
            continue
        if cid not in corpus:
            if dangling == "skip":
                skipped[where] = f"corpus id {cid!r} is not in the corpus"
                continue
            kept.add(cid)
        if cid in qrels.setdefault(qid, {}):
            raise DataError(f"{where}: duplicate judgment for query {qid!r}, corpus id {cid!r}")
        qrels[qid][cid] = rel
    return qrels, skipped, kept


def _qrels_tsv(file: Path):
    """(where, query id, corpus id, relevance) per judgment line of a BEIR qrels file."""
    lines = read_lines(file, "file not found (queries.jsonl needs qrels)")
    for n, line in enumerate(lines, start=1):
        cols = line.rstrip("\r\n").split("\t")
        if not line.strip() or (n == 1 and cols[0].strip().lower() == "query-id"):
            continue  # blank line, or the BEIR header
        where = f"{file}:{n}"
        if len(cols) != 3:
            raise DataError(f"{where}: expected 3 tab-separated columns (query-id, corpus-id, score), got {len(cols)}")
        qid, cid, score = (c.strip() for c in cols)
        try:
            rel = int(score)
        except ValueError:
            raise DataError(f"{where}: score {score!r} is not an integer") from None
        yield f"{file.parent.name}/{file.name}:{n}", qid, cid, rel


@register_loader("retrieval_folder", kind="retrieval")
def load_folder(
    path: str, size: int = 64, split: str = "test", dangling: Literal["skip", "keep"] = "skip"
) -> RetrievalData:
    """The corpus (gallery) and the judged queries of a folder (layout in the module doc); ``split`` names the
    qrels file (``qrels/{split}.tsv``); ``dangling``: judgments of absent documents skipped (counted and
    reported) or kept in the denominators as BEIR + pytrec_eval do (see ``judgments``)."""
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"{folder}: benchmark folder not found")
    items = [
        RetrievalItem(rec["_id"], group=rec.get("group"), meta=_meta(rec), **_media(folder, rec, where, size))
        for where, rec in _jsonl(folder / "corpus.jsonl")
    ]
    if not items:
        raise DataError(f"{folder / 'corpus.jsonl'}: no items (the file is empty)")
    qfile, qrels_file = folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"
    if not qfile.is_file() and not qrels_file.is_file():
        return RetrievalData(items, [])
    records = _jsonl(qfile)
    qrels, skipped, kept = judgments(
        _qrels_tsv(qrels_file), {rec["_id"] for _, rec in records}, {it.id for it in items}, dangling
    )
    queries = [
        RetrievalQuery(rec["_id"], relevant=qrels[rec["_id"]], meta=_meta(rec), **_media(folder, rec, where, size))
        for where, rec in records
        if rec["_id"] in qrels
    ]  # unjudged queries are dropped, as in BEIR
    if not queries:
        raise DataError(f"{qrels_file}: no judgments" + (f" of known ids ({describe(skipped)})" if skipped else ""))
    return RetrievalData(items, queries, skipped=SkippedRows(skipped), absent_judged=frozenset(kept))
