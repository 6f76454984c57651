"""Sample records of the three task kinds. Plain dataclasses over numpy arrays: loading a task never imports torch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class EditSample:
    """One zero-shot editing example with exact ground truth.

    source, target: uint8 arrays of shape (H, W, 3).
    mask: bool array of shape (H, W), True where pixels must change (the edit region);
    the keep region is ``~mask``. A global edit may have an empty keep region.
    caption: a text description of ``target`` (used by text-to-image checks).
    """

    id: str
    source: np.ndarray
    instruction: str
    target: np.ndarray
    mask: np.ndarray
    edit_type: str
    caption: str = ""
    meta: dict = field(default_factory=dict)
