"""Cold vs fully cached `harness eval --task edit/scenes --model unifusion-lap`, side by side in one run (one
process each, same CLI command, fresh interpreter per round). The anchor is the cold run; the cached run computes
nothing and, with lazy loading, never imports torch or reads a weight. Target: cached <= 3% of cold.

`make bench` (or `pytest tests/benchmarks/test_bench_lazy_loading.py --benchmark-enable -s`) prints both timings
and the ratio; README.md quotes them. Plain test runs execute each once on 10 samples as a smoke test."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

TIMINGS: dict[str, float] = {}
FILLED: list = []  # results folders the cold runs left complete (the cached test re-runs one of them)


def _eval(output, limit):
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "eval",
        "--task",
        "edit/scenes",
        "--model",
        "unifusion-lap",
        "--output",
        str(output),
        "--no-progress",
    ] + (["--limit", str(limit)] if limit else [])
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=1800).stdout


def _limit(benchmark):
    return 10 if benchmark.disabled else None  # the whole task (150 samples) when timing


def test_bench_unifusion_lap_edit_scenes_cold(benchmark, tmp_path):
    rounds = iter(range(100))
    limit = _limit(benchmark)

    def fresh():
        folder = tmp_path / f"cold{next(rounds)}"
        FILLED.append(folder)
        return (folder,), {}

    out = benchmark.pedantic(lambda folder: _eval(folder, limit), setup=fresh, rounds=1, iterations=1)
    assert " 0 cached" in out
    if not benchmark.disabled:
        TIMINGS["cold"] = benchmark.stats.stats.mean


def test_bench_unifusion_lap_edit_scenes_fully_cached(benchmark, tmp_path):
    limit = _limit(benchmark)
    folder = FILLED[-1] if FILLED else tmp_path
    if not FILLED:
        _eval(folder, limit)  # fill the cache once (when run without the cold test)
    out = benchmark.pedantic(lambda: _eval(folder, limit), rounds=5, iterations=1)
    assert "· 0 computed" in out
    if not benchmark.disabled and "cold" in TIMINGS:
        ratio = benchmark.stats.stats.mean / TIMINGS["cold"]
        benchmark.extra_info["ratio_to_cold"] = ratio
        print(f"\nfully cached / cold = {benchmark.stats.stats.mean:.3f} s / {TIMINGS['cold']:.3f} s = {ratio:.2%}")
