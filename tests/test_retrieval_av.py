"""Text<->audio and text<->video retrieval on released layouts, with media made by PyAV itself: a Clotho v2-shaped
folder (captions CSV + WAVs, both directions) and an MSR-VTT-shaped one (videodatainfo JSON + mp4 clips with and
without an audio track, and the 1k-A CSV), run end to end through the CLI with and without audio. Checks the frame
sampling rule, the decoded-media cache and one-line errors for broken media."""

import json
import shutil
import textwrap
import wave

import numpy as np
import pytest

from conftest import one_line_error

av = pytest.importorskip("av")

RATE = 16000
# clip -> (frame brightness, tone Hz or None, captions)
CLIPS = {
    "video7010": (30, 440, ["a man sings a high note", "someone singing"]),
    "video7011": (120, None, ["a silent grey room", "an empty room"]),
    "video7012": (220, 880, ["a bird whistles loudly", "whistling outdoors"]),
}


def _tone(hz, seconds=1.0):
    t = np.arange(int(RATE * seconds)) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def make_clip(path, brightness, hz, n_frames=20):
    """An mp4 (mpeg4 video, AAC audio when ``hz``) whose frame i has grey level brightness + i."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = None
        if hz:
            audio = out.add_stream("aac", rate=RATE)
            audio.layout = "mono"
        for i in range(n_frames):
            img = np.full((32, 32, 3), brightness + i, np.uint8)
            out.mux(video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(video.encode())
        if audio is not None:
            frame = av.AudioFrame.from_ndarray(_tone(hz, 2.0)[None], format="fltp", layout="mono")
            frame.sample_rate = RATE
            out.mux(audio.encode(frame))
            out.mux(audio.encode())


@pytest.fixture
def msrvtt(tmp_path):
    root = tmp_path / "msrvtt"
    (root / "videos" / "all").mkdir(parents=True)
    videos, sentences = [], []
    for n, (vid, (bright, hz, caps)) in enumerate(CLIPS.items()):
        make_clip(root / "videos" / "all" / f"{vid}.mp4", bright, hz)
        videos.append(
            {
                "category": 9,
                "url": f"https://www.youtube.com/watch?v=x{n}",
                "video_id": vid,
                "start time": 1.0,
                "end time": 3.0,
                "split": "test",
                "id": 7010 + n,
            }
        )
        sentences += [{"caption": c, "video_id": vid, "sen_id": 2 * n + k} for k, c in enumerate(caps)]
    videos.append(
        {"category": 1, "url": "u", "video_id": "video0", "start time": 0, "end time": 1, "split": "train", "id": 0}
    )  # a training video: not read (its file does not even exist)
    sentences.append({"caption": "training caption", "video_id": "video0", "sen_id": 99})
    (root / "MSRVTT_data.json").write_text(json.dumps({"info": {}, "videos": videos, "sentences": sentences}))
    (root / "MSRVTT_JSFUSION_test.csv").write_text(
        "key,vid_key,video_id,sentence\n"
        + "".join(f"ret{n},msr{7010 + n},{vid},{caps[0]}\n" for n, (vid, (_, _, caps)) in enumerate(CLIPS.items()))
    )
    return root


def _wav(path, x):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(RATE)
        w.writeframes((x * 32767).astype("<i2").tobytes())


@pytest.fixture
def clotho(tmp_path):
    root = tmp_path / "clotho"
    (root / "evaluation").mkdir(parents=True)
    rows = []
    for name, hz, words in [("Bird song.wav", 880, "birds"), ("Low hum.wav", 110, "hum"), ("Bell.wav", 440, "bell")]:
        _wav(root / "evaluation" / name, _tone(hz))
        caps = [f"{words} caption {k}" for k in range(1, 6)]
        rows.append(",".join([f'"{name}"', *caps]))
    (root / "clotho_captions_evaluation.csv").write_text(
        "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n" + "\n".join(rows) + "\n"
    )
    return root


# Embeds what a video or audio item carries: mean brightness of its frames (or image) and the dominant audio
# frequency; texts by keywords. Logs the inputs it sees.
PLUGIN = """
import json
import numpy as np
from pydantic import BaseModel, ConfigDict
from harness.adapters import Embedder

WORDS = {"sings": 440, "singing": 440, "whistles": 880, "whistling": 880, "birds": 880, "hum": 110, "bell": 440}

class LogArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    log: str = ""

class Media(Embedder):
    Args = LogArgs
    def embed(self, items, modalities, seeds, role="document", instruction=None):
        out = np.zeros((len(items), 4), np.float32)
        for row, it in enumerate(items):
            if self.args.log:
                with open(self.args.log, "a") as f:
                    f.write(json.dumps({"role": role, "keys": sorted(it),
                                        "frames": [list(x.shape) for x in it.get("frames", [])],
                                        "brightness": [float(x.mean()) for x in it.get("frames", [])]}) + "\\n")
            if "audio" in it:
                spec = np.abs(np.fft.rfft(it["audio"]))
                hz = np.argmax(spec) * it["sample_rate"] / len(it["audio"])
                out[row, 0 if abs(hz - 440) < 50 else 1 if abs(hz - 880) < 50 else 2] = 1
            for word, hz in WORDS.items():
                if word in (it.get("text") or ""):
                    out[row, {440: 0, 880: 1, 110: 2}[hz]] = 1
            out[row, 3] = 0.01
        return out
"""


@pytest.fixture
def plugins(tmp_path):
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "media_embedders.py").write_text(textwrap.dedent(PLUGIN))
    return d


def _task(folder, name, loader, args, modalities):
    folder.mkdir(exist_ok=True)
    (folder / f"{name.replace('/', '_')}.yaml").write_text(
        f"name: {name}\nkind: retrieval\nsource: {{loader: {loader}, args: {json.dumps(args)}}}\n"
        f"metrics: [recall@1, recall@5, ndcg@10, map]\nprimary_metric: recall@1\n"
        f"options: {{mode: q2i, modalities: {json.dumps(modalities)}}}\n"
    )
    return folder


def _run(cli, tasks, name, out, plugins, log="", **kw):
    return cli(
        "eval",
        "--task",
        name,
        "--include",
        tasks,
        "--model",
        "media_embedders:Media",
        "--model_args",
        f"log={log}" if log else "",
        "-o",
        out,
        "--no-progress",
        pythonpath=plugins,
        **kw,
    )


def _agg(out, name):
    (path,) = out.glob(f"{name}/*.json")
    return json.loads(path.read_text())["aggregates"]["all"]


def test_msrvtt_with_and_without_the_audio_track(cli, tmp_path, msrvtt, plugins):
    args = {"path": str(msrvtt), "n_frames": 4, "size": 16, "cache_dir": str(tmp_path / "cache")}
    tasks = _task(tmp_path / "tasks", "msrvtt/t2v", "retrieval_msrvtt", args, ["text", "image", "audio"])
    _task(tasks, "msrvtt/t2v-noaudio", "retrieval_msrvtt", args, ["text", "image"])
    log = tmp_path / "log.jsonl"
    out = _run(cli, tasks, "msrvtt/t2v", tmp_path / "r", plugins, log=log, check_rc=0).stdout
    assert "failed samples: 0 of 9" in out  # 3 videos + 6 captions (the training video is not read)
    docs = [json.loads(line) for line in log.read_text().splitlines() if '"document"' in line]
    assert len(docs) == 3 and all(d["frames"] == [[16, 16, 3]] * 4 for d in docs)
    assert sorted("audio" in d["keys"] for d in docs) == [False, True, True]  # video7011 has no audio stream
    # 20 frames, 4 sampled at linspace(0, 19, 4) -> frames 0, 6, 12, 19 (grey levels brightness + index)
    first = next(d for d in docs if abs(d["brightness"][0] - 30) < 6)
    assert np.allclose(first["brightness"], [30, 36, 42, 49], atol=4), first["brightness"]
    _run(cli, tasks, "msrvtt/t2v-noaudio", tmp_path / "r", plugins, check_rc=0)
    with_audio, without = _agg(tmp_path / "r", "msrvtt/t2v"), _agg(tmp_path / "r", "msrvtt/t2v-noaudio")
    assert with_audio["recall@1"]["value"] == 1.0  # sounding clips found by their sound, the silent one by silence
    assert without["recall@1"]["value"] == 2 / 6  # all clips tie: the id-descending tie break favours video7012


def test_msrvtt_1k_a_csv_split(cli, tmp_path, msrvtt, plugins):
    args = {
        "path": str(msrvtt),
        "test_csv": "MSRVTT_JSFUSION_test.csv",
        "n_frames": 2,
        "size": 8,
        "cache_dir": str(tmp_path / "cache"),
    }
    tasks = _task(tmp_path / "tasks", "msrvtt/1ka", "retrieval_msrvtt", args, ["text", "image", "audio"])
    out = _run(cli, tasks, "msrvtt/1ka", tmp_path / "r", plugins, check_rc=0).stdout
    assert "failed samples: 0 of 6" in out  # 3 videos, one caption each


@pytest.mark.parametrize("direction, n", [("text_to_audio", 3 + 15), ("audio_to_text", 15 + 3)])
def test_clotho_both_directions(cli, tmp_path, clotho, plugins, direction, n):
    args = {"path": str(clotho), "direction": direction, "cache_dir": str(tmp_path / "cache")}
    tasks = _task(tmp_path / "tasks", "clotho/x", "retrieval_clotho", args, ["text", "audio"])
    out = _run(cli, tasks, "clotho/x", tmp_path / "r", plugins, check_rc=0).stdout
    assert f"failed samples: 0 of {n}" in out
    agg = _agg(tmp_path / "r", "clotho/x")
    assert agg["recall@1"]["value"] == 1.0 if direction == "text_to_audio" else agg["recall@5"]["value"] == 1.0
    _task(tasks, "clotho/x-noaudio", "retrieval_clotho", args, ["text"])
    _run(cli, tasks, "clotho/x-noaudio", tmp_path / "r", plugins, check_rc=0)
    # without audio every audio item looks alike: only the tie break decides
    assert _agg(tmp_path / "r", "clotho/x-noaudio")["recall@1"]["value"] < agg["recall@1"]["value"]


def test_decoded_media_are_cached_by_file_hash(tmp_path, msrvtt):
    from harness.data.media import load_media

    clip, cache = msrvtt / "videos" / "all" / "video7010.mp4", tmp_path / "cache"
    a = load_media(clip, "test", video=True, n_frames=3, size=8, cache_dir=cache)
    entries = list(cache.rglob("*.npz"))
    assert len(entries) == 1
    copy = tmp_path / "copy.mp4"
    shutil.copy(clip, copy)  # same bytes elsewhere: the same entry
    b = load_media(copy, "test", video=True, n_frames=3, size=8, cache_dir=cache)
    assert list(cache.rglob("*.npz")) == entries
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames)) and np.array_equal(a.audio, b.audio)
    load_media(clip, "test", video=True, n_frames=5, size=8, cache_dir=cache)  # other parameters: a new entry
    assert len(list(cache.rglob("*.npz"))) == 2


def test_frame_sampling_rule():
    from harness.data.media import sample_frames

    assert sample_frames(20, 4) == [0, 6, 12, 19] and sample_frames(3, 8) == [0, 1, 2]


@pytest.mark.parametrize(
    "breakage, needles",
    [
        ("missing", ["video7011.mp4", "video file not found", "sentences[2]"]),
        ("corrupt", ["video7011.mp4", "cannot decode"]),
    ],
)
def test_broken_video_is_a_one_line_error(cli, tmp_path, msrvtt, plugins, breakage, needles):
    clip = msrvtt / "videos" / "all" / "video7011.mp4"
    clip.unlink() if breakage == "missing" else clip.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really")
    args = {"path": str(msrvtt), "n_frames": 2, "size": 8, "cache_dir": str(tmp_path / "cache")}
    tasks = _task(tmp_path / "tasks", "msrvtt/t2v", "retrieval_msrvtt", args, ["text", "image"])
    one_line_error(_run(cli, tasks, "msrvtt/t2v", tmp_path / "r", plugins), *needles)
