"""Field mapping of each public reasoning benchmark onto ReasoningSample (I/O is in ``reasoning_public``).

Each converter reads one row in any of the benchmark's release forms (the GitHub/original JSON and the Hugging Face
snapshot parquet, including the variants HoneyBee evaluates) and builds:
- ``answer``: the gold as HoneyBee's ``get_processed_response`` makes it (an option letter where the gold is one
  of the options); ``mcq``: HoneyBee's per-item multiple-choice decision (``is_mcq``);
- ``prompts["honeybee"]``: exactly HoneyBee's prompt (harness/protocols/honeybee_prompts.py), and
  ``prompts["native"]``: the benchmark's own prompt (harness/protocols/native.py);
- ``choices``: the options as text, where the release gives them as text (for the ``strict`` grader);
- an id unique by construction.
HoneyBee's item keeps each field as released (no stripping): its prompt is built from the raw text. Rows that
cannot be scored (an empty question or gold) are skipped and counted.

The converters live by family: ``reasoning_public_math`` and ``reasoning_public_general``, with the field
helpers they share in ``reasoning_public_fields``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from harness.data.reasoning_embedded import ReasoningSample
from harness.data.reasoning_public import Row
from harness.data.reasoning_public_general import gpqa, hallusionbench, logicvista, mmmu_pro
from harness.data.reasoning_public_math import (
    dynamath,
    math500,
    mathverse,
    mathvision,
    mathvista,
    wemath,
)
from harness.data.skips import SkipRow, describe, with_skips
from harness.errors import DataError


@dataclass(frozen=True)
class Format:
    convert: Callable[..., ReasoningSample | None]
    patterns: tuple[str, ...]  # where the data file usually is, relative to the folder (first match wins)
    # ids may legitimately repeat (a mix of DynaMath variants keeps each seed question's id): a repeat is told
    # apart by its row number, "ID@ROW", instead of failing the load
    repeated_ids: bool = False


FORMATS = {
    "mathvista": Format(mathvista, ("data/testmini-*.parquet", "testmini.json", "data/testmini.json")),
    "mathverse": Format(mathverse, ("testmini.parquet", "data/testmini-*.parquet", "testmini.json")),
    "mathvision": Format(mathvision, ("data/{split}-*.parquet", "data/{split}.jsonl", "{split}.jsonl")),
    "mmmu_pro": Format(mmmu_pro, ("vision/test-*.parquet", "vision.jsonl", "vision.json")),
    "wemath": Format(wemath, ("data/testmini-*.parquet", "testmini.parquet", "testmini.json", "testmini.jsonl")),
    "dynamath": Format(
        dynamath,
        (
            "data/train-*.parquet",
            "data/sample{variant}-*.parquet",
            "data/sample_variant{variant}-*.parquet",
            "sample_variant{variant}.json",
            "dataset/dataset.json",
            "dataset.json",
        ),
        repeated_ids=True,
    ),
    "logicvista": Format(logicvista, ("data/test-*.parquet", "dataset.json", "data/dataset.json")),
    "hallusionbench": Format(hallusionbench, ("data/image-*.parquet", "HallusionBench.json")),
    "math500": Format(math500, ("test.jsonl", "math500.jsonl")),
    "gpqa": Format(gpqa, ("gpqa_diamond.csv", "dataset/gpqa_diamond.csv")),
}


def convert(fmt: str, rows: list[Row], **kwargs) -> list[ReasoningSample]:
    """Rows -> samples (rows a format filters out, e.g. other MathVerse versions, are dropped; rows that cannot be
    scored are skipped and reported); ids must be unique."""
    samples, seen, skipped = [], {}, {}
    for row in rows:
        try:
            sample = FORMATS[fmt].convert(row, **kwargs)
        except SkipRow as skip:
            skipped[skip.row_id] = skip.reason
            continue
        if sample is None:
            continue
        if sample.id in seen and FORMATS[fmt].repeated_ids and row.index is not None:
            sample = dataclasses.replace(sample, id=f"{sample.id}@{row.index}")
        if sample.id in seen:
            raise DataError(f"{row.where}: duplicate sample id {sample.id!r} (first at {seen[sample.id]})")
        seen[sample.id] = row.where
        samples.append(sample)
    if not samples and skipped:
        raise DataError(f"{rows[0].where.split(':')[0]}: no {fmt} row can be scored ({describe(skipped)})")
    if not samples:
        raise DataError(f"{rows[0].where.split(':')[0]}: no {fmt} samples" + (f" with {kwargs}" if kwargs else ""))
    return with_skips(samples, skipped)
