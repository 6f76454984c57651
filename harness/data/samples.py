"""Sample records of the three task kinds. Plain dataclasses over numpy arrays: loading a task never imports torch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class EditSample:
    """One editing example: a source image and an instruction, with or without ground truth.

    source: uint8 array (H, W, 3) at the benchmark's native resolution (readers resize only when a protocol does).
    target: uint8 (H', W', 3) ground-truth edit, or None for reference-free benchmarks (GEdit-Bench, ImgEdit,
        Emu Edit): those are scored by a judge or against the source.
    mask: bool (H', W'), True where pixels must change (the edit region; the keep region is ``~mask``), or None.
    caption: a text description of ``target`` (MagicBrush's local caption; used by CLIP-T and text-to-image checks).
    input_caption / output_caption: descriptions of the source and of the intended edit (Emu Edit's CLIP-dir).
    turns: follow-up instructions of a multi-turn session, applied in order to the editor's own previous output
        (MagicBrush's final-turn setting); ``target`` is then the ground truth after the last turn.
    subsets: extra breakdown keys beyond ``edit_type=...`` (e.g. ``language=en``, ``language=en/intersection``).
    references: further input images after the source, in order (uint8 (h, w, 3) each, any size): a
        multi-reference sample ("put the shape from the second image into the first"). The source stays the image
        that is edited and scored (target and mask are on its grid); only editors declaring ``max_images`` > 1
        see references (harness.adapters.Editor).
    """

    id: str
    source: np.ndarray
    instruction: str
    target: np.ndarray | None = None
    mask: np.ndarray | None = None
    edit_type: str = "unknown"
    caption: str = ""
    input_caption: str = ""
    output_caption: str = ""
    turns: tuple[str, ...] = ()
    subsets: tuple[str, ...] = ()
    references: tuple[np.ndarray, ...] = ()
    meta: dict = field(default_factory=dict)

    @property
    def images(self) -> tuple[np.ndarray, ...]:
        """Every input image of the sample, the source first."""
        return (self.source, *self.references)

    @property
    def instructions(self) -> tuple[str, ...]:
        """Every instruction of the sample, in order (one unless it is a multi-turn session)."""
        return (self.instruction, *self.turns)
