"""Video frames and audio tracks decoded with PyAV (``av`` on PyPI, which ships FFmpeg in its wheel), cached by
file content.

Frame sampling (``sample_frames``): of the N decoded frames, all when N <= n, else the n frames at
``np.linspace(0, N - 1, n).astype(int)`` — CLIP4Clip's uniform mode (ArrowLuo/CLIP4Clip,
dataloaders/dataloader_msrvtt_retrieval.py, ``slice_framepos=2``), applied to every decoded frame where CLIP4Clip
first resamples to 1 frame per second. Frames are RGB, resized to ``size`` x ``size`` (bicubic).

Audio (``decode_audio``, also a video's audio track): every channel averaged to float32 mono in [-1, 1] at the
file's own sample rate (the embedder resamples to what its model wants). A video without an audio stream has
``audio = None``, so its "with audio" and "without audio" tasks see the same item.

Decoded media are cached under ``cache_dir`` by the sha256 of the file's bytes and the decoding parameters, so a
re-read (another task, another run) costs a hash instead of a decode; a file edited in place gets a new entry.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.data.jsonl import one_line
from harness.errors import DataError

FORMAT_VERSION = 1  # bump when decoding changes: old cache entries are then ignored


def default_cache_dir() -> Path:
    return Path(os.path.expanduser("~/.cache/harness/media"))


@dataclass(frozen=True)
class Media:
    frames: list[np.ndarray] | None  # uint8 (size, size, 3), time order
    audio: np.ndarray | None  # float32 (samples,) mono
    sample_rate: int | None


def sample_frames(n_total: int, n: int) -> list[int]:
    """Indices of the frames kept (rule in the module doc)."""
    if n_total <= n:
        return list(range(n_total))
    return np.linspace(0, n_total - 1, num=n, dtype=int).tolist()


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _audio(container) -> tuple[np.ndarray | None, int | None]:
    import av

    if not container.streams.audio:
        return None, None
    stream = container.streams.audio[0]
    resampler = av.AudioResampler(format="flt", layout="mono", rate=stream.rate)
    chunks = []
    for frame in container.decode(stream):
        chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    x = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return np.clip(x, -1.0, 1.0), int(stream.rate)


def _decode(path: Path, n_frames: int, size: int, video: bool) -> Media:
    import av
    from PIL import Image

    with av.open(str(path)) as container:
        frames = None
        if video:
            if not container.streams.video:
                raise DataError(f"{path}: no video stream")
            decoded = [f.to_image() for f in container.decode(container.streams.video[0])]
            if not decoded:
                raise DataError(f"{path}: no decodable video frame")
            frames = [
                np.asarray(decoded[i].convert("RGB").resize((size, size), Image.BICUBIC), np.uint8).copy()
                for i in sample_frames(len(decoded), n_frames)
            ]
    with av.open(str(path)) as container:  # reopened: decoding the video stream consumed the demuxer
        audio, rate = _audio(container)
    if not video and audio is None:
        raise DataError(f"{path}: no audio stream")
    return Media(frames, audio, rate)


def load_media(
    path: Path, where: str, video: bool, n_frames: int = 8, size: int = 224, cache_dir: Path | None = None
) -> Media:
    """A video's sampled frames and audio track (``video=True``) or an audio file's samples; ``where`` names the
    referencing record for error messages. Cached by file hash (module doc)."""
    if not path.is_file():
        raise DataError(f"{path}: {'video' if video else 'audio'} file not found (referenced by {where})")
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    key = f"{_file_hash(path)}-v{FORMAT_VERSION}-" + (f"video{n_frames}x{size}" if video else "audio")
    entry = cache / key[:2] / f"{key}.npz"
    if entry.is_file():
        with np.load(entry, allow_pickle=False) as z:
            frames = list(z["frames"]) if "frames" in z else None
            audio = z["audio"] if "audio" in z else None
            return Media(frames, audio, int(z["rate"]) if "rate" in z else None)
    try:
        media = _decode(path, n_frames, size, video)
    except DataError as e:
        raise DataError(f"{e} (referenced by {where})") from None
    except Exception as e:  # noqa: BLE001 — FFmpeg's errors (InvalidDataError, ...) are all "cannot decode"
        raise DataError(f"{path}: cannot decode ({one_line(e)}) (referenced by {where})") from None
    arrays = {}
    if media.frames is not None:
        arrays["frames"] = np.stack(media.frames)
    if media.audio is not None:
        arrays["audio"], arrays["rate"] = media.audio, np.int64(media.sample_rate)
    entry.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    tmp = entry.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, entry)  # atomic: a concurrent reader sees the whole entry or none
    return media
