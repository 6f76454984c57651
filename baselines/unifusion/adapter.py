"""The UniFusion editing adapter: ``--model unifusion --model_args variant=lap,regime=edit-ft,steps=20``.

Each conditioning variant is also its own model name (``unifusion-last_layer``, ``unifusion-kv_fusion``,
``unifusion-injection``, ``unifusion-lap``, ``unifusion-lap_norefiner``, ``unifusion-verifi``), so every variant
is one leaderboard row. Without ``vlm`` / ``generator`` the shipped checkpoints under
``baselines/unifusion/checkpoints/<regime>/<variant>[-seed<s>]`` are used:

- ``regime=edit-ft`` (default): fine-tuned on single-reference edit pairs (the paper's UniFusion-Edit);
- ``regime=zero-shot``: trained on text-to-image + reconstructions only, never an edit pair;
- ``train_seed`` (the training seed, ``harness.adapters.TRAINING_SEED``): runs that differ only in it pool into
  one leaderboard row with a two-level CI.

The generator is conditioned on VLM(source [+ references], instruction) and, by default, samples from pure noise
(``start=noise``, the paper's method: the source reaches it only through the VLM). ``start=source`` (SDEdit from
the noised source pixels, ``strength``) is an option for comparison, not the paper's method. ``unifusion-verifi``
conditions on the VLM's generated rewrite only, and returns the rewrite text as per-sample side information.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, create_model

from harness.adapters import TRAINING_SEED, Editor, hash_path, register_adapter, weights_id
from harness.errors import HarnessError
from harness.resources import package_dir

CHECKPOINTS = package_dir("harness_baselines.unifusion", "checkpoints")  # package data of the wheel
Variant = Literal["last_layer", "kv_fusion", "injection", "lap", "lap_norefiner", "verifi"]


class UniFusionArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    variant: Variant = "lap"
    regime: Literal["edit-ft", "zero-shot"] = "edit-ft"
    # The training seed of the shipped generator (1 = <variant>, s = <variant>-seed<s>); runs differing only in it
    # pool into one board row (harness/seeds.py).
    train_seed: int = Field(1, ge=1, json_schema_extra=TRAINING_SEED)
    vlm: str = ""  # hub id or folder; default: the shipped tiny VLM
    generator: str = ""  # folder (config.json + safetensors + scheduler_config.json); default: shipped, per variant
    steps: int = Field(10, ge=1, le=1000)  # Euler steps: 10 keep the whole ladder's evaluation inside the CPU budget
    start: Literal["noise", "source"] = "noise"  # source = SDEdit, not the paper's method
    strength: float = Field(0.7, gt=0, le=1)  # SDEdit: sigma the source is noised to (start=source only)
    trust_remote_code: bool = False


def shipped_generator(regime: str, variant: str, seed: int) -> Path:
    """The shipped checkpoint folder (train.checkpoint_dir writes the same layout)."""
    return CHECKPOINTS / regime / (variant if seed == 1 else f"{variant}-seed{seed}")


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
    max_images = None  # the source plus any number of references: each reference's image tokens go to the VLM

    def __init__(self, **model_args):
        super().__init__(**model_args)
        a = self.args
        self.generator_path = Path(a.generator or shipped_generator(a.regime, a.variant, a.train_seed)).expanduser()
        self.vlm_path = a.vlm or str(CHECKPOINTS / "vlm")
        if not self.generator_path.is_dir():  # a wrong path fails now, before any run starts
            hint = "" if a.generator else " (train it: python -m harness_baselines.unifusion.train all)"
            raise HarnessError(f"generator {self.generator_path}: checkpoint folder does not exist{hint}")

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
        source = "rewrite" if a.variant == "verifi" else "prompt"
        self.pipeline = UniFusionPipeline(encoder, transformer, scheduler, source=source)

    def edit(self, images, instructions, seeds, references=None):
        a = self.args
        inputs = [[image, *refs] for image, refs in zip(images, references)] if references else list(images)
        outputs = self.pipeline(inputs, instructions, seeds, steps=a.steps, start=a.start, strength=a.strength)
        rewrites = self.pipeline.last_rewrites
        self.last_info = [{"rewrite": r} for r in rewrites] if rewrites is not None else None
        return outputs

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


def _register_variant(variant: str) -> type[UniFusionEditor]:
    """``unifusion-<variant>``: the editor with ``variant`` fixed, one leaderboard row per conditioning."""
    cls = type(f"UniFusion_{variant}", (UniFusionEditor,), {"Args": _fixed_variant(variant), "__module__": __name__})
    return register_adapter(f"unifusion-{variant}")(cls)


VARIANT_EDITORS = {variant: _register_variant(variant) for variant in get_args(Variant)}
