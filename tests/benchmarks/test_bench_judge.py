"""Judge throughput (pytest-benchmark): the openai-chat judge against a local server on 127.0.0.1 that answers
every call after a fixed latency L. With concurrency C, N calls should take about N·L/C; the anchor is that ideal
(and, measured in the same run, a bare thread pool of ``requests.post`` calls: what the local server and machine
allow). Recorded in ``extra_info``: ``ratio_to_ideal`` (target ≤ 1.2), ``ratio_to_bare`` and the peak traced
memory at N/4 and N calls (flat in N: requests are built lazily, at most 2C in flight).

Plain test runs execute the small size once as a smoke test; ``make bench`` (--benchmark-enable) runs the large
size and asserts the 1.2 target.
"""

from __future__ import annotations

import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

from editbench_fixtures import ScriptedChat, chat, image, png_bytes

from harness.judges.base import JudgeRequest, Part
from harness.judges.openai_chat import OpenAIChatJudge

SMALL, LARGE = (48, 0.2, 8), (320, 0.5, 16)  # (N calls, latency L seconds, concurrency C)
IMAGE = png_bytes(image(0, 64, 64))


def reply(role, text, n, images):
    return 200, chat('{"score": [5, 5], "reasoning": "ok"}'), 0


def requests_(n):
    for i in range(n):  # lazily built, as the judging stage does
        yield JudgeRequest((Part("text", text=f"ROLE=SC call {i}"), Part("image", data=IMAGE, mime="image/png")))


def judge_all(judge, n) -> int:
    return sum(1 for _, r in judge.complete(requests_(n)) if r.status == "ok")


def bare_pool(url, n, c) -> int:
    import requests

    def one(i):
        return requests.post(
            url + "/chat/completions",
            json={
                "model": "m",
                "messages": [{"role": "user", "content": [{"type": "text", "text": f"ROLE=SC bare {i}"}]}],
            },
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(c) as pool:
        return sum(1 for s in pool.map(one, range(n)) if s == 200)


def peak_memory(judge, n) -> int:
    tracemalloc.start()
    judge_all(judge, n)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_bench_judge_throughput(benchmark):
    n, latency, c = SMALL if benchmark.disabled else LARGE
    with ScriptedChat(reply, latency=latency, record=False) as server:
        judge = OpenAIChatJudge(base_url=server.url, model="m", concurrency=c, max_retries=0)
        start = time.perf_counter()
        assert bare_pool(server.url, n, c) == n
        bare = time.perf_counter() - start
        ok = benchmark.pedantic(judge_all, args=(judge, n), rounds=1, iterations=1)
        wall = benchmark.stats.stats.max if not benchmark.disabled else None
        if wall is None:  # timing disabled: measure once by hand for the smoke check
            start = time.perf_counter()
            judge_all(judge, n)
            wall = time.perf_counter() - start
        small_peak, big_peak = peak_memory(judge, n // 4), peak_memory(judge, n)
    ideal = n * latency / c
    benchmark.extra_info.update(
        {
            "n": n,
            "latency_s": latency,
            "concurrency": c,
            "ideal_s": ideal,
            "wall_s": wall,
            "bare_pool_s": bare,
            "ratio_to_ideal": wall / ideal,
            "ratio_to_bare": wall / bare,
            "peak_bytes_n_over_4": small_peak,
            "peak_bytes_n": big_peak,
        }
    )
    assert ok == n
    assert big_peak < 2 * small_peak + (1 << 20)  # flat in N (4x the calls, not 4x the memory)
    assert wall / ideal <= (1.2 if not benchmark.disabled else 2.0), benchmark.extra_info
