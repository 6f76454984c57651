"""Speed of the engine's hot paths (pytest-benchmark; `make bench` enables timing, plain test runs execute each
once as a smoke test). Reference figures measured on the 2-core CI machine are in README.md."""

import numpy as np
import pytest

from harness import registry
from harness.metrics.editing import score_sample
from harness.metrics.stats import bootstrap_ci
from harness.store import Record, RunStore


@pytest.fixture(scope="module")
def scenes():
    return registry.build_task(registry.discover_tasks()["edit/scenes"]).samples


def test_bench_score_100_edits_64px(benchmark, scenes):
    batch = scenes[:100]
    rows = benchmark(lambda: [score_sample(s.source, s.target, s.mask, 0.1, 0.02) for s in batch])
    assert len(rows) == 100


def test_bench_generate_embedded_edit_suite(benchmark):
    entries = registry.resolve("edit", registry.discover_tasks())
    n = benchmark(lambda: sum(len(registry.build_task(e).samples) for e in entries))
    assert n >= 300


def test_bench_store_1000_records_in_batches_of_8(benchmark, tmp_path):
    counter = iter(range(10**6))

    def write():
        store = RunStore(tmp_path / f"{next(counter)}.sqlite")
        blob = bytes(4096)
        for i in range(0, 1000, 8):
            store.put_records("k", [Record(f"s{j}", blob, {"l1": 0.1}, {}, None) for j in range(i, i + 8)])
        store.close()

    benchmark(write)


def test_bench_bootstrap_ci_10k_samples(benchmark):
    values = np.random.default_rng(0).random(10_000)
    agg = benchmark(bootstrap_ci, values, 0)
    assert agg.n == 10_000
