"""The embedded retrieval suites: deterministic from the seed, twins that only speech tells apart, graded q2i
relevance, cached espeak-ng speech, the four task YAMLs, one-line errors when espeak-ng is missing."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from harness import registry
from harness.data import retrieval_embedded as gen
from harness.data import retrieval_tts
from harness.errors import DataError
from harness.kinds.retrieval import RetrievalData, RetrievalItem, RetrievalQuery, RetrievalTask

SMALL = dict(n_twins=2, n_single=2, members=2, size=24)


def _digest(data):
    import hashlib

    h = hashlib.sha256()
    for it in data.items:
        h.update(repr((it.id, it.text, it.group, it.meta)).encode() + it.image.tobytes() + it.audio.tobytes())
    for q in data.queries:
        h.update(repr((q.id, q.text, sorted(q.relevant.items()), q.meta)).encode())
    return h.hexdigest()


def test_same_seed_same_suite_other_seed_other_suite():
    assert _digest(gen.generate(seed=3, **SMALL)) == _digest(gen.generate(seed=3, **SMALL))
    assert _digest(gen.generate(seed=3, **SMALL)) != _digest(gen.generate(seed=4, **SMALL))


def test_audio_twins_match_in_concept_and_differ_only_in_the_spoken_word():
    data = gen.generate(seed=0, n_twins=3, n_single=3, members=3, size=24)
    groups = {}
    for it in data.items:
        groups.setdefault(it.group, []).append(it)
    plans = gen.groups(0, 3, 3)
    twins = [p for p in plans if p["twin"]]
    assert len(twins) == 6 and len([p for p in plans if not p["twin"]]) == 3
    for p in twins:
        other = next(q for q in plans if q["group"] == p["twin"])
        assert other["key"] == p["key"] and other["word"] != p["word"]
        assert {it.meta["subset"] for it in groups[p["group"]]} == {"audio"}
    # The title never names the spoken word; speech is real audio at 16 kHz.
    for it in data.items:
        assert it.text is None or it.meta["word"] not in it.text
        assert it.sample_rate == 16000 and it.audio.dtype == np.float32 and 2000 < len(it.audio) < 40000
        assert np.abs(it.audio).max() <= 1.0 and it.image.shape == (24, 24, 3)


def test_q2i_relevance_is_graded_own_group_2_twin_1():
    data = gen.generate(seed=0, **SMALL)
    for q in data.queries:
        own = q.id.split("-")[0]
        assert all(r == (2 if d.startswith(own) else 1) for d, r in q.relevant.items())
        assert (q.meta["subset"] == "audio") == (1 in q.relevant.values()) == ("says" in q.text)


def test_speech_is_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = retrieval_tts.speak("violin", "en-gb", 130, 35)
    files = list((tmp_path / "harness" / "tts").glob("*.wav"))
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns
    assert np.array_equal(retrieval_tts.speak("violin", "en-gb", 130, 35), first)
    assert files[0].stat().st_mtime_ns == mtime  # read back, not re-rendered


def test_missing_espeak_is_a_one_line_error(cli, tmp_path):
    env_path = tmp_path / "bin"
    env_path.mkdir()
    code = (
        "import os, sys; os.environ['PATH'] = sys.argv[1]; os.environ['XDG_CACHE_HOME'] = sys.argv[2]\n"
        "from harness.cli import main; sys.argv = ['harness', 'eval', '--task', 'retrieval/q2i', '--model', "
        "'bow', '-o', sys.argv[2], '--no-progress']; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(env_path), str(tmp_path)], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "espeak-ng not found" in proc.stderr and "apt-get install espeak-ng" in proc.stderr


def test_the_four_suites_share_data_and_differ_in_mode_and_audio():
    tasks = registry.discover_tasks()
    names = ["retrieval/i2i", "retrieval/i2i-noaudio", "retrieval/q2i", "retrieval/q2i-noaudio"]
    assert sorted(registry.groups(tasks)["retrieval"]) == sorted(names)
    specs = {n: tasks[n].spec for n in names}
    assert len({(s.source.loader, tuple(sorted(s.source.args.items()))) for s in specs.values()}) == 1
    for n, s in specs.items():
        assert s.options.mode == n.split("/")[1][:3]
        assert ("audio" in s.options.modalities) == (not n.endswith("noaudio"))


def test_loader_module_does_not_import_torch():
    code = "import sys, harness.data.retrieval_embedded; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def _task(data, mode="q2i"):
    spec = registry.discover_tasks()[f"retrieval/{mode}"].spec
    return RetrievalTask(spec, data)


def test_duplicate_item_ids_and_judgments_of_unknown_items_name_the_id():
    a, b = RetrievalItem("x", text="a", group="g"), RetrievalItem("x", text="b", group="g")
    with pytest.raises(ValueError, match="duplicate item id 'x'"):
        _task(RetrievalData([a, b], [RetrievalQuery("q", text="a", relevant={"x": 1})]))
    with pytest.raises(ValueError, match="query 'q' judges unknown item id 'y'"):
        _task(RetrievalData([a], [RetrievalQuery("q", text="a", relevant={"y": 1})]))


def test_small_sizes_are_rejected_with_a_data_error():
    with pytest.raises(DataError, match="members=1"):
        gen.generate(members=1)
    with pytest.raises(DataError, match="only 47 exist"):
        gen.groups(0, 40, 10)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_embeddings_are_a_contract_error_naming_the_sample(bad):
    from harness.adapters import Embedder
    from harness.kinds.base import AdapterContractError

    class Bad(Embedder):
        def embed(self, items, modalities, seeds):
            out = np.ones((len(items), 3), np.float32)
            out[-1, 1] = bad
            return out

    task = _task(gen.generate(seed=0, **SMALL))
    units = task.units()[:3]
    with pytest.raises(AdapterContractError, match=f"non-finite embedding for sample '{units[-1].id}'"):
        task.predict(Bad(), units, [0, 1, 2])
