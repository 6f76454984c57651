"""Speech for the embedded retrieval suites: ``espeak-ng`` (Debian package ``espeak-ng``) renders a phrase to a WAV,
cached on disk so a suite regenerates in well under a second once its phrases exist.

Cache: ``$XDG_CACHE_HOME/harness/tts`` (default ``~/.cache/harness/tts``), one WAV per (text, voice, speed, pitch,
espeak-ng version) hash. Files are written atomically (temp file + rename), so concurrent generators never read a
half-written WAV. espeak-ng is deterministic, so a cached file equals a fresh rendering.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from harness.errors import DataError

SAMPLE_RATE = 16_000  # what every embedded clip is resampled to
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp")


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "harness" / "tts"


@functools.lru_cache(maxsize=1)
def _espeak() -> tuple[str, str]:
    """(executable, version string); one-line DataError when espeak-ng is not installed."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DataError(
            "espeak-ng not found: the embedded retrieval suites need it for speech "
            "(Debian/Ubuntu: apt-get install espeak-ng)"
        )
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    return exe, out.stdout.strip()


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        rate, raw = w.getframerate(), w.readframes(w.getnframes())
    return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0, rate


def _resample(x: np.ndarray, rate: int) -> np.ndarray:
    """Linear-interpolation resample to SAMPLE_RATE: speech energy of espeak's 22.05 kHz output sits far below
    8 kHz, so the aliasing of plain interpolation is negligible here, and it needs no scipy."""
    if rate == SAMPLE_RATE:
        return x
    n = int(round(len(x) * SAMPLE_RATE / rate))
    return np.interp(np.arange(n) * (rate / SAMPLE_RATE), np.arange(len(x)), x).astype(np.float32)


def speak(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> np.ndarray:
    """float32 (samples,) mono speech in [-1, 1] at SAMPLE_RATE, from the disk cache or espeak-ng."""
    exe, version = _espeak()
    key = hashlib.sha256(repr((text, voice, speed, pitch, version)).encode()).hexdigest()[:24]
    path = cache_dir() / f"{key}.wav"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".wav", dir=path.parent)
        os.close(fd)
        try:
            proc = subprocess.run(
                [exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", tmp, text],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if proc.returncode != 0:
                raise DataError(f"espeak-ng failed on {text!r} (voice {voice}): {' '.join(proc.stderr.split())}")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    try:
        x, rate = _read_wav(path)
    except (wave.Error, EOFError) as e:  # a damaged cache entry: drop it so the next run re-renders
        path.unlink(missing_ok=True)
        raise DataError(f"{path}: corrupt cached WAV ({e}); removed, run again") from None
    return _resample(x, rate)
