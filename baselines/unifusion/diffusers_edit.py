"""Generic adapter for existing diffusers editing pipelines, so real editing models share the leaderboard.

    --model diffusers-edit --model_args pretrained=PATH_OR_ID,steps=20,guidance_scale=7.5

``pipeline=auto`` reads the folder's ``model_index.json``: an InstructPix2Pix checkpoint is loaded with
``StableDiffusionInstructPix2PixPipeline`` (the source image is a condition, ``image_guidance_scale`` applies);
anything else goes through ``AutoPipelineForImage2Image`` (SDEdit-style, ``strength`` applies). Each sample is
generated alone with its own seeded ``torch.Generator``, so outputs do not depend on the batch size.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from harness.adapters import Editor, register_adapter, weights_id
from harness.errors import HarnessError


class DiffusersEditArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    pretrained: str  # hub id (must be in the local cache: no downloads here) or folder saved by save_pretrained
    pipeline: Literal["auto", "instruct-pix2pix", "img2img"] = "auto"
    steps: int = Field(20, ge=1, le=1000)
    guidance_scale: float = 7.5
    image_guidance_scale: float = 1.5  # instruct-pix2pix only
    strength: float = Field(0.8, gt=0, le=1)  # img2img only
    size: int = Field(0, ge=0)  # run at size x size (multiple of 8), 0 = the source size rounded up to 8
    trust_remote_code: bool = False


def _pipeline_class_name(path: str) -> str:
    index = Path(path) / "model_index.json"
    if index.is_file():
        return json.loads(index.read_text()).get("_class_name", "")
    return ""


@register_adapter("diffusers-edit")
class DiffusersEditor(Editor):
    Args = DiffusersEditArgs

    def __init__(self, **model_args):
        super().__init__(**model_args)
        a = self.args
        local = Path(a.pretrained).expanduser()
        if a.pretrained.startswith((".", "/", "~")) and not local.is_dir():
            raise HarnessError(f"diffusers-edit: pretrained {a.pretrained}: folder does not exist")
        kind = a.pipeline
        if kind == "auto":
            kind = "instruct-pix2pix" if "InstructPix2Pix" in _pipeline_class_name(a.pretrained) else "img2img"
        self.pipeline_kind = kind

    def load(self):
        """diffusers is imported and the pipeline read only here (see harness.adapters: lazy loading)."""
        import torch
        from diffusers import AutoPipelineForImage2Image, StableDiffusionInstructPix2PixPipeline
        from diffusers.utils import logging as df_logging

        df_logging.disable_progress_bar()
        a, kind = self.args, self.pipeline_kind
        cls = StableDiffusionInstructPix2PixPipeline if kind == "instruct-pix2pix" else AutoPipelineForImage2Image
        extra = {"safety_checker": None, "requires_safety_checker": False} if kind == "instruct-pix2pix" else {}
        try:
            self.pipe = cls.from_pretrained(
                a.pretrained, dtype=torch.float32, trust_remote_code=a.trust_remote_code, **extra
            )
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise HarnessError(
                f"diffusers-edit: cannot load {a.pretrained} as {kind} ({str(e).splitlines()[0][:200]})"
            ) from None
        self.pipe.set_progress_bar_config(disable=True)

    def edit(self, images, instructions, seeds):
        import torch
        from PIL import Image

        a = self.args
        outputs = []
        for image, text, seed in zip(images, instructions, seeds):
            h, w = image.shape[:2]
            side = a.size or -(-max(h, w) // 8) * 8
            source = Image.fromarray(image).resize((side, side), Image.BICUBIC)
            kwargs = {
                "prompt": text,
                "image": source,
                "num_inference_steps": a.steps,
                "guidance_scale": a.guidance_scale,
                "output_type": "np",
                "generator": torch.Generator().manual_seed(int(seed) % 2**63),
            }
            if self.pipeline_kind == "instruct-pix2pix":
                kwargs["image_guidance_scale"] = a.image_guidance_scale
            else:
                kwargs["strength"] = a.strength
            out = self.pipe(**kwargs).images[0]  # float (side, side, 3) in [0, 1]
            arr = (np.clip(out, 0, 1) * 255).round().astype(np.uint8)
            outputs.append(np.asarray(Image.fromarray(arr).resize((w, h), Image.BICUBIC), dtype=np.uint8).copy())
        return outputs

    def fingerprint(self) -> str:
        """Arguments + every weight/config file of a local pipeline folder (a hub id: id + the commit it resolves
        to in the local cache), read without loading the pipeline."""
        if getattr(self, "_fingerprint", None) is None:
            h = hashlib.sha256(super().fingerprint().encode())
            root = Path(self.args.pretrained).expanduser()
            if root.is_dir():
                for f in sorted(p for p in root.rglob("*") if p.is_file()):
                    h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
            else:
                h.update(weights_id(self.args.pretrained).encode())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint
