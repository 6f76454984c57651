"""What the base's pretraining images cover, per category: how many survive decontamination and how varied the
scenes they show are, against the scenes of the eval suite ``reasoning/embedded``.

    python baselines/honeybee/probe/pretrain_coverage.py [--images 12000] [--cache DIR] [--restyle]

Scans the pretraining source exactly as ``harness recipe pretrain`` does (pretrain.pretrain_images: render, pHash
against the eval suites, keep or drop; with ``--restyle`` a matching image is redrawn instead, restyle.py) and
prints one markdown row per category: images scanned, kept as rendered, kept restyled, dropped; then the distinct
"readings" among the kept images (the clock's time, the rectangle's width x height, the triangle's labelled angle
pair, the digits, the bar values, the shape inventory), the eval suite's distinct readings of that category and
how many of those the kept images show at least once (a reading never pretrained is one the base never saw). The
geometry category is split into its rectangles and triangles. ~2-4 CPU minutes (rendering and hashing ~17k images).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

from harness import registry
from harness.data.reasoning_embedded import generate
from harness_baselines.honeybee.pretrain import describe, pretrain_images

ROWS = ("counting", "digits", "bar_chart", "clock", "rectangle", "triangle")


def reading(category: str, facts: dict) -> tuple[str, str]:
    """(row, reading) of a scene: the facts its description states, keyed by the table's row."""
    if category == "geometry":
        row = facts["shape"]
        return row, (f"{facts['width']}x{facts['height']}" if row == "rectangle" else str(facts["angles"][:2]))
    if category == "clock":
        return category, facts["time"]
    return category, describe(SimpleNamespace(category=category, facts=facts))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=12000, help="pretraining images kept (the base's 12,000)")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "harness" / "honeybee")
    ap.add_argument("--restyle", action="store_true", help="as `recipe pretrain --restyle`")
    args = ap.parse_args(argv)

    rows = {r: {"scanned": 0, "kept": 0, "restyled": 0, "dropped": 0, "readings": set()} for r in ROWS}

    def count(q, outcome: str, _image) -> None:
        row, value = reading(q.category, q.facts)
        rows[row]["scanned"] += 1
        rows[row][outcome] += 1
        if outcome != "dropped":
            rows[row]["readings"].add(value)

    pretrain_images(args.images, args.cache, log=None, restyle=args.restyle, on_scan=count)
    evals: dict[str, set] = {r: set() for r in ROWS}
    suite = registry.resolve("reasoning/embedded", registry.discover_tasks())[0].spec.source.args  # the task YAML's
    for s in generate(**{**suite, "with_images": False}):  # the same scenes, their facts only (no rendering)
        row, value = reading(s.category, s.meta)
        evals[row].add(value)
    print(
        "| category | scanned | kept as rendered | kept restyled | dropped (match) | kept | distinct readings kept "
        "| eval distinct readings | eval readings seen in pretraining |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in ROWS:
        r = rows[row]
        seen = len(evals[row] & r["readings"])
        print(
            f"| {row} | {r['scanned']:,} | {r['kept']:,} | {r['restyled']:,} | {r['dropped']:,} | "
            f"{r['kept'] + r['restyled']:,} | {len(r['readings']):,} | {len(evals[row]):,} | {seen:,} "
            f"({100 * seen / max(1, len(evals[row])):.0f} %) |"
        )


if __name__ == "__main__":
    main()
