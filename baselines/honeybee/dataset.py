"""The on-disk dataset of a built recipe: JSONL shards + content-addressed PNG files + manifest.json.

Rows are written one at a time (memory stays bounded whatever the size), into a temporary folder that is renamed
to ``<cache>/datasets/<recipe>-<hash12>`` only when complete, so a crash never leaves a half dataset behind.
The content hash covers every row's JSON in order; a row names its image by the PNG's sha256, so the images
are covered too. ``<cache>/datasets/<recipe>.json`` points at the newest build.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from harness.errors import HarnessError
from harness.results import atomic_write_text

ROWS_PER_SHARD = 5000


class DatasetWriter:
    """Context manager: ``add(row, image)`` streams rows; on a clean exit the folder is hashed into place."""

    def __init__(self, cache: Path, name: str, rows_per_shard: int = ROWS_PER_SHARD):
        self.root = cache / "datasets"
        self.root.mkdir(parents=True, exist_ok=True)
        self.name, self.rows_per_shard = name, rows_per_shard
        self.tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=f".tmp-{name}-"))
        self.hash = hashlib.sha256()
        self.n_rows, self.n_images, self.shard, self.file = 0, 0, 0, None
        self.path: Path | None = None
        # The CoTs of one question arrive one after another with the same array: hash and look it up once.
        self._last_image: tuple[np.ndarray, str] | None = None

    def __enter__(self):
        return self

    def add(self, row: dict, image: np.ndarray | None) -> None:
        if image is not None:
            row["image"] = self._put_image(image)
        if self.file is None or self.n_rows % self.rows_per_shard == 0 and self.n_rows:
            self._next_shard()
        line = json.dumps(row, sort_keys=True, ensure_ascii=False)
        self.hash.update(line.encode() + b"\n")
        self.file.write(line + "\n")
        self.n_rows += 1

    def _next_shard(self) -> None:
        if self.file is not None:
            self.file.close()
            self.shard += 1
        self.file = open(self.tmp / f"shard-{self.shard:05d}.jsonl", "w")

    def _put_image(self, image: np.ndarray) -> str:
        if self._last_image is not None and self._last_image[0] is image:
            return self._last_image[1]
        rel = self._store_image(image)
        self._last_image = (image, rel)
        return rel

    def _store_image(self, image: np.ndarray) -> str:
        # Hash the pixels, not the PNG bytes: the name must not depend on the encoder's settings.
        digest = hashlib.sha256(str(image.shape).encode() + np.ascontiguousarray(image).tobytes()).hexdigest()
        rel = f"images/{digest[:2]}/{digest}.png"
        path = self.tmp / rel
        if not path.exists():  # several questions/CoTs on one image share the file
            path.parent.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            Image.fromarray(image).save(buf, format="PNG", compress_level=1)
            path.write_bytes(buf.getvalue())
            self.n_images += 1
        return rel

    def finish(self, manifest: dict) -> Path:
        if self.file is None:
            self._next_shard()
        self.file.close()
        digest = self.hash.hexdigest()
        manifest = {
            **manifest,
            "content_hash": digest,
            "rows": self.n_rows,
            "images": self.n_images,
            "shards": self.shard + 1,
        }
        (self.tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
        final = self.root / f"{self.name}-{digest[:12]}"
        if final.exists():  # same content already built: keep the existing copy
            shutil.rmtree(self.tmp)
        else:
            os.replace(self.tmp, final)
        atomic_write_text(self.root / f"{self.name}.json", json.dumps({"path": final.name, "content_hash": digest}))
        self.path = final
        return final

    def __exit__(self, exc_type, *exc):
        if exc_type is not None or self.path is None:
            if self.file is not None and not self.file.closed:
                self.file.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False


def dataset_dir(cache: Path, name: str) -> Path:
    """The newest build of recipe ``name``; a HarnessError when there is none."""
    pointer = cache / "datasets" / f"{name}.json"
    if not pointer.is_file():
        raise HarnessError(f"recipe {name!r} is not built in {cache} (run `harness recipe build {name}`)")
    return cache / "datasets" / json.loads(pointer.read_text())["path"]


def manifest(path: Path) -> dict:
    return json.loads((path / "manifest.json").read_text())


def iter_rows(path: Path):
    """Rows of a built dataset, streamed shard by shard, in build order."""
    for shard in sorted(path.glob("shard-*.jsonl")):
        with open(shard) as f:
            for line in f:
                yield json.loads(line)


def load_image(path: Path, rel: str) -> np.ndarray:
    return np.asarray(Image.open(path / rel).convert("RGB"))
