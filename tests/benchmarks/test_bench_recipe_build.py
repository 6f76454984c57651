"""Streaming recipe builds at scale: `harness recipe build` of 10k, 100k and 1M rows, per-row cost and peak RSS.

Each size builds in its own process (peak RSS is that process's ru_maxrss). The per-row cost is the build's
streaming time; the fixed cost of loading the decontamination index (the eval suites are rendered to check their
content hashes) is timed apart and reported as ``index_seconds``. Skipped unless ``--run-large`` (1M rows take
~380 CPU seconds, 37 min wall on 2 cores shared with training jobs); run one size with e.g. ``pytest
tests/benchmarks/test_bench_recipe_build.py --run-large --benchmark-enable -k "streams and [10000]"`` (a bare
``-k 10000`` also selects 100000 and 1000000). Measured figures are in baselines/honeybee/README.md."""

import json
import subprocess
import sys
import textwrap

import pytest

BUILD = textwrap.dedent("""
    import json, resource, sys, time
    from pathlib import Path
    from harness_baselines.honeybee.build import build
    from harness_baselines.honeybee.decontaminate import EvalIndex
    from harness_baselines.honeybee.recipe import Recipe
    rows, cache = int(sys.argv[1]), Path(sys.argv[2])
    # mixed source, 4 CoTs per question: rows = 4 x images, the shape of the scaling recipes.
    recipe = Recipe.model_validate({"name": f"bench{rows}", "seed": 5, "sources": [{"name": "mixed",
                                    "size": rows // 4}], "scaling": {"cots": 4},
                                    "decontamination": {"action": "flag"}})
    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime
    t0 = time.perf_counter()
    d = recipe.decontamination
    EvalIndex.build(d.suites, d.ngram, cache)  # fixed cost (renders the suites for their hashes), timed apart
    t1, c1 = time.perf_counter(), cpu()
    path, manifest = build(recipe, cache)
    seconds, cpu_seconds = time.perf_counter() - t1, cpu() - c1
    print(json.dumps({"rows": manifest["rows"], "seconds": seconds, "cpu_seconds": cpu_seconds,
                      "index_seconds": t1 - t0,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def _build(rows: int, cache) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", BUILD, str(rows), str(cache)], capture_output=True, text=True, timeout=4 * 3600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench-build")
    _build(4, d)  # the decontamination index, once
    return d


@pytest.mark.large
@pytest.mark.parametrize("rows", [10_000, 100_000, 1_000_000])
def test_bench_recipe_build_streams(benchmark, cache, rows):
    out = benchmark.pedantic(_build, args=(rows, cache), rounds=1, iterations=1)
    benchmark.extra_info.update(
        rows=out["rows"],
        per_row_ms=1000 * out["seconds"] / out["rows"],
        # CPU time is the honest cost on a shared machine (wall time grows with the other jobs' load)
        per_row_cpu_ms=1000 * out["cpu_seconds"] / out["rows"],
        cpu_seconds=out["cpu_seconds"],
        peak_rss_mb=out["peak_rss_mb"],
        index_seconds=out["index_seconds"],
    )
    print(
        f"\n{rows} rows: {out['seconds']:.1f} s wall, {1000 * out['seconds'] / out['rows']:.3f} ms/row wall, "
        f"{1000 * out['cpu_seconds'] / out['rows']:.3f} ms/row CPU, peak RSS {out['peak_rss_mb']:.0f} MiB"
    )
    assert out["rows"] == rows  # answer_filter off: every CoT is a row
    assert out["peak_rss_mb"] <= 1024


def _distinct_sets(rows: int) -> tuple[float, list[int]]:
    """The one per-row cost of the build that grows with its size: 4 hashes per row into the distinct-row sets
    (build.py). Returns (microseconds of CPU per row, the sets' sizes)."""
    import resource

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    sets = [set() for _ in range(4)]
    t = cpu()
    for i in range(rows):
        question, image, cot = f"question {i} text", f"images/{i % 256:02x}/{i}.png", f"cot {i} some words"
        sets[0].add(hash((question, image, cot)))
        sets[1].add(hash((question, image)))
        sets[2].add(hash(question))
        sets[3].add(hash(cot))
    return (cpu() - t) / rows * 1e6, [len(s) for s in sets]


@pytest.mark.large  # ~5 CPU seconds: not part of the default run
@pytest.mark.benchmark(group="distinct-sets")
@pytest.mark.parametrize("rows", [100_000, 1_000_000])  # 100k: the anchor the 1M size is read against
def test_bench_distinct_row_sets_per_row(benchmark, rows):
    per_row_us, sizes = benchmark.pedantic(_distinct_sets, args=(rows,), rounds=1, iterations=1)
    benchmark.extra_info.update(rows=rows, per_row_cpu_us=per_row_us)
    print(f"\n{rows} rows: distinct-row sets {per_row_us:.2f} us/row CPU")
    assert sizes == [rows] * 4  # every row distinct: the sets hold what a 1M build's sets hold
