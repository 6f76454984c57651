"""Image editing: (source image, instruction[s]) -> edited image.

Samples with exact ground truth (the embedded suites, MagicBrush) are scored with pixel metrics against the target;
reference-free samples (GEdit-Bench, ImgEdit, Emu Edit) with reference metrics against the source
(harness/metrics/reference.py) and, in a separate judging stage, by a judge (harness/judges/). A multi-turn sample
(MagicBrush final-turn) is edited turn after turn, each turn on the editor's own previous output. A
multi-reference sample (``EditSample.references``, e.g. edit/compose) gives the editor further images beside the
one it edits; only editors that declare reading that many (``Editor.max_images``) run on such a task.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image

from harness.adapters import Editor, reads_images
from harness.data.samples import EditSample
from harness.errors import HarnessError
from harness.kinds.base import AdapterContractError, Task, take_info
from harness.metrics import editing, reference

# Metrics that need an exact target and edit mask of the source's size (harness.metrics.editing).
PIXEL_METRICS = frozenset({f"{m}{s}" for m in ("l1", "psnr", "ssim") for s in ("", "_edit", "_keep")} | {"success"})


class EditTask(Task):
    kind = "edit"
    contract = Editor

    def __init__(self, spec, samples: list[EditSample]):
        super().__init__(spec, samples)
        self.pixel_metrics = PIXEL_METRICS & set(spec.metrics)
        self.reference_metrics = set(reference.REFERENCE_METRICS) & set(spec.metrics)
        if self.pixel_metrics and spec.options.output_size == "any":
            raise ValueError(
                f"metrics {', '.join(sorted(self.pixel_metrics))} compare pixels at the source's size: "
                f"they need options.output_size: source (use l1_ref / l2_ref for resized edits)"
            )
        for s in samples:
            if min(s.source.shape[:2]) < editing.MIN_SIDE:
                raise ValueError(
                    f"sample {s.id!r}: images of {s.source.shape[1]}x{s.source.shape[0]} px are "
                    f"smaller than the {editing.MIN_SIDE}x{editing.MIN_SIDE} SSIM window"
                )
            for j, ref in enumerate(s.references, 2):
                if not (isinstance(ref, np.ndarray) and ref.dtype == np.uint8 and ref.ndim == 3 and ref.shape[2] == 3):
                    got = f"{ref.dtype} {ref.shape}" if isinstance(ref, np.ndarray) else type(ref).__name__
                    raise ValueError(f"sample {s.id!r}: image {j} is {got}, expected uint8 (H, W, 3)")
            if self.pixel_metrics:
                if s.target is None or s.mask is None:
                    raise ValueError(
                        f"sample {s.id!r} has no target/mask, which metrics "
                        f"{', '.join(sorted(self.pixel_metrics))} need"
                    )
                if s.target.shape != s.source.shape or s.mask.shape != s.source.shape[:2]:
                    raise ValueError(
                        f"sample {s.id!r}: source {s.source.shape}, target {s.target.shape} and mask "
                        f"{s.mask.shape} sizes disagree"
                    )

    def sample_digest(self, s: EditSample) -> bytes:
        h = hashlib.sha256(f"{s.id}\0{s.instruction}\0{s.edit_type}\0{s.caption}".encode())
        for arr in (s.source, s.target, s.mask):
            if arr is None:
                h.update(b"\0none")
            else:
                h.update(str(arr.shape).encode())
                h.update(np.ascontiguousarray(arr).tobytes())
        # Fields newer than the embedded suites are hashed only when set, so those suites keep their task hashes.
        extra = [s.input_caption, s.output_caption, *s.turns, *s.subsets]
        for ref in s.references:
            h.update(b"\0reference" + str(ref.shape).encode() + np.ascontiguousarray(ref).tobytes())
        if any(extra):
            h.update(
                (
                    "\0extra\0"
                    + "\0".join([s.input_caption, s.output_caption, "turns", *s.turns, "subsets", *s.subsets])
                ).encode()
            )
        return h.digest()

    def scoring_identity(self) -> dict:
        """The encoders behind the reference metrics (id, revision and weight-file hash): part of the task hash."""
        from harness.metrics import encoders

        opts, out = self.spec.options, {}
        if self.reference_metrics & set(reference.CLIP_METRICS):
            out["clip"] = encoders.clip_encoder(opts.clip_model, opts.clip_revision).identity
        if self.reference_metrics & set(reference.DINO_METRICS):
            out["dino"] = encoders.dino_encoder(opts.dino_model, opts.dino_revision).identity
        return out

    def check_adapter(self, adapter: Editor) -> None:
        """Refuse an editor that reads fewer images per sample than this task's samples carry."""
        need, reads = max((len(s.images) for s in self.samples), default=1), reads_images(adapter)
        if reads is not None and need > reads:
            raise HarnessError(
                f"task {self.name!r} gives {need} images per sample (the source and {need - 1} reference"
                f"{'s' if need > 2 else ''}); model {adapter.name or type(adapter).__name__!r} reads {reads} "
                f"(Editor.max_images = {reads})"
            )
        if reads != 1:
            import inspect

            params = inspect.signature(adapter.edit).parameters
            if "references" not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                raise HarnessError(
                    f"model {adapter.name or type(adapter).__name__!r} declares max_images = {reads} but its "
                    f"edit() takes no references argument"
                )

    def predict(self, adapter: Editor, batch: list[EditSample], seeds: list[int]) -> list[np.ndarray]:
        return self.predict_with_info(adapter, batch, seeds)[0]

    def predict_with_info(
        self, adapter: Editor, batch: list[EditSample], seeds: list[int]
    ) -> tuple[list[np.ndarray], list[dict]]:
        # Copies: an adapter that edits its input in place (and returns it) must not change the sample it is
        # scored against, nor the next run's input.
        current = [s.source for s in batch]
        infos: list[list[dict]] = [[] for _ in batch]  # per sample, the side info of each of its turns
        multi = reads_images(adapter) != 1  # such editors always get ``references`` (see Editor.max_images)
        for turn in range(max(len(s.instructions) for s in batch)):
            active = [i for i, s in enumerate(batch) if turn < len(s.instructions)]
            extra = {"references": [tuple(r.copy() for r in batch[i].references) for i in active]} if multi else {}
            adapter.last_info = None
            outputs = adapter.edit(
                [current[i].copy() for i in active],
                [batch[i].instructions[turn] for i in active],
                [seeds[i] for i in active],
                **extra,
            )
            if not isinstance(outputs, (list, tuple)) or len(outputs) != len(active):
                got = len(outputs) if isinstance(outputs, (list, tuple)) else type(outputs).__name__
                raise AdapterContractError(f"returned {got} images for a batch of {len(active)}")
            for i, out, info in zip(active, outputs, take_info(adapter, [batch[i].id for i in active])):
                current[i] = self._check(np.asarray(out), current[i], batch[i].id)
                infos[i].append(info)
        # one turn: its info as given; a multi-turn session: {"turns": [info of each turn]} when any turn gave some
        return current, [turns[0] if len(turns) == 1 else ({"turns": turns} if any(turns) else {}) for turns in infos]

    def _check(self, out: np.ndarray, given: np.ndarray, sid: str) -> np.ndarray:
        if self.spec.options.output_size == "source" and out.shape != given.shape:
            raise AdapterContractError(
                f"returned an image of shape {out.shape} for sample {sid!r}, expected {given.shape}"
            )
        if out.ndim != 3 or out.shape[2] != 3 or min(out.shape[:2]) < 1:
            raise AdapterContractError(f"returned an image of shape {out.shape} for sample {sid!r}, expected (H, W, 3)")
        if out.dtype != np.uint8:
            raise AdapterContractError(f"returned dtype {out.dtype} for sample {sid!r}, expected uint8")
        return out

    def score(self, batch: list[EditSample], outputs: list[np.ndarray]) -> list[dict[str, float]]:
        opts = self.spec.options
        rows: list[dict[str, float]] = [{} for _ in batch]
        if self.pixel_metrics:
            for row, s, out in zip(rows, batch, outputs):
                row.update(editing.score_sample(out, s.target, s.mask, opts.success_edit_l1, opts.success_keep_l1))
        if self.reference_metrics:
            for row, extra in zip(rows, reference.score_batch(self.reference_metrics, outputs, batch, opts)):
                row.update(extra)
        return rows

    def encode(self, output: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(output).save(buf, format="PNG")  # lossless: a stored output re-scores identically
        return buf.getvalue()

    def decode(self, blob: bytes) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))

    def subsets(self, sample: EditSample) -> list[str]:
        return [f"edit_type={sample.edit_type}", *sample.subsets]


TASK_CLASS = EditTask
