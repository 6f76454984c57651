"""identity / oracle / noise editors.

``oracle`` must see the target, which the Editor contract does not pass: it reads the task's samples itself,
matching on the source image, so it needs the task name in its args (default: every embedded editing task).

All three read any number of images per sample (``max_images = None``) and use the first: on a multi-reference
task (edit/compose) identity returns the image to edit unchanged, the floor a composing editor must beat."""

from __future__ import annotations

import hashlib

import numpy as np
from pydantic import BaseModel, ConfigDict

from harness.adapters import Editor, register_adapter


@register_adapter("identity")
class IdentityEditor(Editor):
    """Returns the source image unchanged (perfect on the keep region, fails every edit)."""

    max_images = None  # references are ignored: the first image comes back

    def edit(self, images, instructions, seeds, references=None):
        return [np.array(img, copy=True) for img in images]


class NoiseArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    low: int = 0
    high: int = 255


@register_adapter("noise")
class NoiseEditor(Editor):
    """Returns uniform random pixels, seeded per sample (poor everywhere)."""

    Args = NoiseArgs
    max_images = None

    def edit(self, images, instructions, seeds, references=None):
        return [
            np.random.default_rng(seed).integers(self.args.low, self.args.high + 1, size=img.shape, dtype=np.uint8)
            for img, seed in zip(images, seeds)
        ]


class OracleArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    task: str = "edit"  # task or group whose ground truth the oracle may look up


@register_adapter("oracle")
class OracleEditor(Editor):
    """Returns the ground-truth target, looked up by (images, instruction) in the task's samples."""

    Args = OracleArgs
    max_images = None

    def __init__(self, **model_args):
        super().__init__(**model_args)
        from harness import registry

        self._targets: dict[bytes, np.ndarray] = {}
        for entry in registry.resolve(self.args.task, registry.discover_tasks()):
            for s in registry.build_task(entry).samples:
                self._targets[self._key(s.source, s.instruction, s.references)] = s.target

    @staticmethod
    def _key(image: np.ndarray, instruction: str, references=()) -> bytes:
        h = hashlib.sha256(np.ascontiguousarray(image).tobytes())
        h.update(instruction.encode())
        for ref in references:  # two compose samples may share a source and an instruction, not the reference
            h.update(b"\0" + np.ascontiguousarray(ref).tobytes())
        return h.digest()

    def edit(self, images, instructions, seeds, references=None):
        out = []
        for img, text, refs in zip(images, instructions, references or [()] * len(images)):
            target = self._targets.get(self._key(img, text, refs))
            if target is None:
                raise KeyError("oracle has no ground truth for this (image, instruction)")
            out.append(target.copy())
        return out
