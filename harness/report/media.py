"""Media files of a report site: image thumbnails (at most 128 px, WebP: lossless when small) and speech clips
(16-bit WAV),
written once per content under ``media/`` and referenced by relative URL, so a gallery page stays small and its
images load lazily. Identical content (a source image shown in every model's row) is one file."""

from __future__ import annotations

import hashlib
import io
import wave
from pathlib import Path

import numpy as np
from PIL import Image

THUMB_MAX_SIDE = 128
LOSSLESS_MAX_BYTES = 4096  # rendered scenes and charts stay pixel-exact; heavier thumbnails are re-encoded lossy
AUDIO_MAX_RATE = 16000  # speech stays intelligible; halves the bytes of espeak-ng's 22.05 kHz
MASK_TINT = np.array([230, 40, 40], np.float32)


class Media:
    """Writes media into ``root/media`` and returns URLs relative to a page ``depth`` folders below ``root``."""

    def __init__(self, root: Path):
        self.dir = Path(root) / "media"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.bytes_written = 0

    def _put(self, data: bytes, suffix: str) -> str:
        name = hashlib.sha256(data).hexdigest()[:20] + suffix
        path = self.dir / name
        if not path.exists():
            path.write_bytes(data)
            self.bytes_written += len(data)
        return f"media/{name}"

    def image(self, image: np.ndarray) -> str:
        """A uint8 (H, W, 3) image -> its thumbnail's path relative to the site root."""
        img = Image.fromarray(np.ascontiguousarray(image))
        if max(img.size) > THUMB_MAX_SIDE:
            img.thumbnail((THUMB_MAX_SIDE, THUMB_MAX_SIDE), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, format="WEBP", lossless=True, method=4)
        if buf.tell() > LOSSLESS_MAX_BYTES:  # photo- or noise-like: lossless buys nothing a preview needs
            buf = io.BytesIO()
            img.save(buf, format="WEBP", quality=85, method=4)
        return self._put(buf.getvalue(), ".webp")

    def audio(self, samples: np.ndarray, sample_rate: int) -> str:
        """float32 mono samples in [-1, 1] -> a 16-bit PCM WAV's path relative to the site root."""
        x = np.asarray(samples, np.float32)
        if sample_rate > AUDIO_MAX_RATE:  # linear resampling: a preview player, not the scored signal
            n = round(len(x) * AUDIO_MAX_RATE / sample_rate)
            x = np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x).astype(np.float32)
            sample_rate = AUDIO_MAX_RATE
        pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(int(sample_rate))
            w.writeframes(pcm)
        return self._put(buf.getvalue(), ".wav")


def mask_overlay(source: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The source with the keep region dimmed and the edit mask tinted red: where the edit must happen."""
    out = source.astype(np.float32)
    out[~mask] *= 0.3
    out[mask] = 0.6 * out[mask] + 0.4 * MASK_TINT
    return out.round().astype(np.uint8)
