"""The UniFusion editing adapter: ``--model unifusion --model_args variant=lap,vlm=PATH,generator=PATH,steps=20``.

Each conditioning variant is also its own model name (``unifusion-last_layer``, ``unifusion-kv_fusion``,
``unifusion-injection``, ``unifusion-lap``), so every variant is one leaderboard row. Without ``vlm`` /
``generator`` the shipped checkpoints under ``baselines/unifusion/checkpoints/`` are used.

Editing is zero-shot: the generator never saw an edit pair; it is conditioned on VLM(source image, instruction)
and starts either from the noised source (``start=source``, SDEdit with ``strength``) or from pure noise
(``start=noise``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from harness.adapters import Editor, hash_path, register_adapter, weights_id
from harness.errors import HarnessError
from harness.resources import package_dir

CHECKPOINTS = package_dir("harness_baselines.unifusion", "checkpoints")  # package data of the wheel
Variant = Literal["last_layer", "kv_fusion", "injection", "lap"]


class UniFusionArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    variant: Variant = "lap"
    vlm: str = ""  # hub id or folder; default: the shipped tiny VLM
    generator: str = ""  # folder (config.json + safetensors + scheduler_config.json); default: shipped, per variant
    steps: int = Field(20, ge=1, le=1000)
    start: Literal["source", "noise"] = "source"
    strength: float = Field(0.7, gt=0, le=1)  # SDEdit: sigma the source is noised to (start=source only)
    trust_remote_code: bool = False


def load_generator(path: Path, variant: str):
    """-> (UniFusionTransformer, FlowMatchEulerDiscreteScheduler) from a folder; one-line errors."""
    from diffusers import FlowMatchEulerDiscreteScheduler
    from diffusers.utils import logging as df_logging

    from harness_baselines.unifusion.generator import UniFusionTransformer

    df_logging.disable_progress_bar()
    if not path.is_dir():
        raise HarnessError(f"generator {path}: checkpoint folder does not exist")
    for name in ("config.json", "scheduler_config.json"):
        if not (path / name).is_file():
            raise HarnessError(f"generator {path}: missing {name}")
    try:
        transformer = UniFusionTransformer.from_pretrained(path, low_cpu_mem_usage=False)  # no accelerate needed
        scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(path)
    except (OSError, ValueError, TypeError) as e:
        raise HarnessError(f"generator {path}: cannot load ({str(e).splitlines()[0][:200]})") from None
    if transformer.config.variant != variant:
        raise HarnessError(
            f"generator {path}: trained for variant {transformer.config.variant!r}, "
            f"but variant={variant!r} was asked for"
        )
    return transformer.eval(), scheduler


@register_adapter("unifusion")
class UniFusionEditor(Editor):
    """A frozen VLM encodes (source, instruction); the variant's conditioning drives a flow-matching generator."""

    Args = UniFusionArgs

    def __init__(self, **model_args):
        super().__init__(**model_args)
        a = self.args
        self.generator_path = Path(a.generator or CHECKPOINTS / a.variant).expanduser()
        self.vlm_path = a.vlm or str(CHECKPOINTS / "vlm")
        if not self.generator_path.is_dir():  # a wrong path fails now, before any run starts
            raise HarnessError(f"generator {self.generator_path}: checkpoint folder does not exist")

    def load(self):
        """diffusers/transformers are imported and the weights read only here (see harness.adapters)."""
        from harness_baselines.unifusion.encoder import VLMEncoder
        from harness_baselines.unifusion.pipeline import UniFusionPipeline

        a = self.args
        transformer, scheduler = load_generator(self.generator_path, a.variant)
        encoder = VLMEncoder.from_pretrained(self.vlm_path, trust_remote_code=a.trust_remote_code)
        cfg = transformer.config
        if cfg.vlm_hidden_size != encoder.hidden_size:
            raise HarnessError(
                f"generator {self.generator_path} expects VLM hidden size {cfg.vlm_hidden_size}, "
                f"vlm {self.vlm_path} has {encoder.hidden_size}"
            )
        if cfg.vlm_num_hidden_states != encoder.num_hidden_states:
            raise HarnessError(
                f"generator {self.generator_path} expects {cfg.vlm_num_hidden_states} VLM hidden "
                f"states, vlm {self.vlm_path} has {encoder.num_hidden_states}"
            )
        encoder = VLMEncoder(encoder.model, encoder.processor, layers=transformer.layer_indices, name=self.vlm_path)
        self.pipeline = UniFusionPipeline(encoder, transformer, scheduler)

    def edit(self, images, instructions, seeds):
        a = self.args
        return self.pipeline(images, instructions, seeds, steps=a.steps, start=a.start, strength=a.strength)

    def fingerprint(self) -> str:
        """Arguments + the bytes of every checkpoint file (a hub VLM: its id and resolved commit)."""
        if getattr(self, "_fingerprint", None) is None:
            self._fingerprint = self._hash_checkpoints()
        return self._fingerprint

    def _hash_checkpoints(self) -> str:
        h = hashlib.sha256(super().fingerprint().encode())
        h.update(hash_path(self.generator_path).encode())
        h.update(weights_id(self.vlm_path).encode())  # a folder's bytes, or a hub id and its cached commit
        return h.hexdigest()[:16]


def _fixed_variant(variant: str) -> type[BaseModel]:
    """Args of a one-variant model name: ``variant`` can only be that variant."""
    return create_model(f"UniFusionArgs_{variant}", __base__=UniFusionArgs, variant=(Literal[variant], variant))  # type: ignore[valid-type]


@register_adapter("unifusion-last_layer")
class UniFusionLastLayer(UniFusionEditor):
    Args = _fixed_variant("last_layer")


@register_adapter("unifusion-kv_fusion")
class UniFusionKVFusion(UniFusionEditor):
    Args = _fixed_variant("kv_fusion")


@register_adapter("unifusion-injection")
class UniFusionInjection(UniFusionEditor):
    Args = _fixed_variant("injection")


@register_adapter("unifusion-lap")
class UniFusionLAP(UniFusionEditor):
    Args = _fixed_variant("lap")
