"""Zero-shot image editing: (source image, instruction) -> edited image, scored against the exact target."""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image

from harness.adapters import Editor
from harness.data.samples import EditSample
from harness.kinds.base import AdapterContractError, Task
from harness.metrics import editing


class EditTask(Task):
    kind = "edit"
    contract = Editor

    def __init__(self, spec, samples: list[EditSample]):
        super().__init__(spec, samples)
        for s in samples:
            if min(s.source.shape[:2]) < editing.MIN_SIDE:
                raise ValueError(f"sample {s.id!r}: images of {s.source.shape[1]}x{s.source.shape[0]} px are "
                                 f"smaller than the {editing.MIN_SIDE}x{editing.MIN_SIDE} SSIM window")
            if s.target.shape != s.source.shape or s.mask.shape != s.source.shape[:2]:
                raise ValueError(f"sample {s.id!r}: source {s.source.shape}, target {s.target.shape} and mask "
                                 f"{s.mask.shape} sizes disagree")

    def sample_digest(self, s: EditSample) -> bytes:
        h = hashlib.sha256(f"{s.id}\0{s.instruction}\0{s.edit_type}\0{s.caption}".encode())
        for arr in (s.source, s.target, s.mask):
            h.update(str(arr.shape).encode())
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.digest()

    def predict(self, adapter: Editor, batch: list[EditSample], seeds: list[int]) -> list[np.ndarray]:
        outputs = adapter.edit([s.source for s in batch], [s.instruction for s in batch], seeds)
        if not isinstance(outputs, (list, tuple)) or len(outputs) != len(batch):
            got = len(outputs) if isinstance(outputs, (list, tuple)) else type(outputs).__name__
            raise AdapterContractError(f"returned {got} images for a batch of {len(batch)}")
        checked = []
        for s, out in zip(batch, outputs):
            out = np.asarray(out)
            if out.shape != s.source.shape:
                raise AdapterContractError(
                    f"returned an image of shape {out.shape} for sample {s.id!r}, expected {s.source.shape}")
            if out.dtype != np.uint8:
                raise AdapterContractError(f"returned dtype {out.dtype} for sample {s.id!r}, expected uint8")
            checked.append(out)
        return checked

    def score(self, batch: list[EditSample], outputs: list[np.ndarray]) -> list[dict[str, float]]:
        opts = self.spec.options
        return [editing.score_sample(out, s.target, s.mask, opts.success_edit_l1, opts.success_keep_l1)
                for s, out in zip(batch, outputs)]

    def encode(self, output: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(output).save(buf, format="PNG")  # lossless: a stored output re-scores identically
        return buf.getvalue()

    def decode(self, blob: bytes) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))

    def subsets(self, sample: EditSample) -> list[str]:
        return [f"edit_type={sample.edit_type}"]


TASK_CLASS = EditTask
