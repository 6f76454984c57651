"""Recipe files: what a HoneyBee-style CoT dataset is made of, validated by pydantic like task YAML.

A recipe names its sources (with sizes) or a curation step that picks the top-ranked source recipes, the CoT
generator (the programmatic ``teacher`` or any registered Reasoner adapter), the stage-1 answer filter, the
stage-2 interventions, the stage-3 scaling factors, the proxy's training budget and a seed. Any problem is a
one-line HarnessError naming the file and the field (the CLI turns it into exit code 2).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.config import load_yaml_config
from harness.errors import HarnessError
from harness.resources import package_dir
from harness_baselines.honeybee.sources import SOURCES

RECIPES_DIR = package_dir("harness_baselines.honeybee", "recipes")  # package data of the wheel
_STRICT = ConfigDict(extra="forbid", frozen=True)


class SourceUse(BaseModel):
    model_config = _STRICT
    name: str
    size: int = Field(ge=1)

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in SOURCES:
            raise ValueError(f"unknown source {v!r} (known: {', '.join(SOURCES)})")
        return v


class Curation(BaseModel):
    """Stage 1 ranking: take the ``top`` recipes (single-source ones) by their proxy's mean accuracy on the eval
    group in the results store, and mix their sources, ``size`` rows in all."""

    model_config = _STRICT
    rank: list[str] = Field(min_length=2)
    top: int = Field(ge=1)
    size: int = Field(ge=1)


class Generator(BaseModel):
    model_config = _STRICT
    model: str = "teacher"  # "teacher", or a registered Reasoner adapter name
    model_args: str = ""
    error_rate: float = Field(0.1, ge=0, le=1)  # teacher only


class Caption(BaseModel):
    model_config = _STRICT
    name: Literal["caption"]  # "caption and solve": the CoT starts with a caption of the image


class Rotate(BaseModel):
    model_config = _STRICT
    name: Literal["rotate"]
    p: float = Field(0.5, ge=0, le=1)  # share of images rotated by 90, 180 or 270 degrees


class Distractors(BaseModel):
    model_config = _STRICT
    name: Literal["distractors"]
    n: int = Field(4, ge=1)  # grey marks scattered over the image


class QuestionInImage(BaseModel):
    model_config = _STRICT
    name: Literal["question_in_image"]
    p: float = Field(1.0, ge=0, le=1)


class RemoveTextSolvable(BaseModel):
    model_config = _STRICT
    name: Literal["remove_text_solvable"]


class MoreOptions(BaseModel):
    model_config = _STRICT
    name: Literal["more_options"]
    n_options: int = Field(6, ge=5, le=8)


class LongCot(BaseModel):
    model_config = _STRICT
    name: Literal["long_cot"]
    min_words: int = Field(20, ge=1)


class BalanceDifficulty(BaseModel):
    model_config = _STRICT
    name: Literal["balance_difficulty"]


class TextMix(BaseModel):
    model_config = _STRICT
    name: Literal["text_mix"]
    fraction: float = Field(0.3, gt=0, le=1)  # text-only rows added, relative to the image rows


class MajorityVote(BaseModel):
    """Synthesized questions (``scaling.questions``) get their label the way HoneyBee's do, without ground truth:
    the generator answers ``votes`` times; the question is kept when the most frequent answer has at least
    ``min_share`` of the votes, and that answer becomes its label."""

    model_config = _STRICT
    name: Literal["majority_vote"]
    votes: int = Field(5, ge=2)
    min_share: float = Field(0.6, gt=0, le=1)


Intervention = Annotated[
    Caption
    | Rotate
    | Distractors
    | QuestionInImage
    | RemoveTextSolvable
    | MoreOptions
    | LongCot
    | BalanceDifficulty
    | TextMix
    | MajorityVote,
    Field(discriminator="name"),
]
INTERVENTIONS = (
    "caption",
    "rotate",
    "distractors",
    "question_in_image",
    "remove_text_solvable",
    "more_options",
    "long_cot",
    "balance_difficulty",
    "text_mix",
    "majority_vote",
)


class Scaling(BaseModel):
    model_config = _STRICT
    images: int = Field(1, ge=1)  # multiplies every source size: more unique images
    questions: int = Field(1, ge=1)  # questions per image: the original + synthesized ones
    cots: int = Field(1, ge=1)  # CoTs per question


class Train(BaseModel):
    """The proxy's training budget. ``budget: steps`` (default): ``steps`` optimizer steps whatever the dataset's
    size, so recipes compare at equal compute; ``budget: epochs``: ``epochs`` passes over the dataset (HoneyBee
    trains 5 epochs), so a larger recipe also gets more compute. Scaling results answer different questions under
    the two, so report both."""

    model_config = _STRICT
    budget: Literal["steps", "epochs"] = "steps"
    steps: int = Field(300, ge=1)
    epochs: float = Field(5, gt=0)
    batch_size: int = Field(16, ge=1)
    lr: float = Field(2e-3, gt=0)
    # "base": fine-tune the committed pretrained base (pretrain.py), HoneyBee's setting (it fine-tunes PLM);
    # "scratch": a randomly initialised proxy (the recipe must then teach perception too).
    init: Literal["base", "scratch"] = "base"
    # Rows of the base's pretraining task replayed in every batch, as a share of batch_size, on top of the recipe's
    # own rows (pretrain.Rehearsal): part of the proxy's training procedure, the same for every recipe.
    rehearsal: float = Field(0.25, ge=0, le=1)

    def steps_for(self, rows: int) -> int:
        """Optimizer steps for a dataset of ``rows`` rows under this budget."""
        if self.budget == "steps":
            return self.steps
        return max(1, math.ceil(self.epochs * rows / self.batch_size))


class Decontamination(BaseModel):
    """Training rows matching an evaluation sample (baselines/honeybee/decontaminate.py) are dropped, or with
    ``action: flag`` kept and marked; counts go into the manifest. ``enabled: false`` builds without the check
    (leaderboards then flag the recipe's rows)."""

    model_config = _STRICT
    enabled: bool = True
    action: Literal["drop", "flag"] = "drop"
    suites: list[str] = Field(default_factory=lambda: ["reasoning", "reasoning-quick"], min_length=1)
    phash_distance: int = Field(4, ge=0, le=64)  # Hamming distance between 64-bit pHashes counted as a match
    ngram: int = Field(8, ge=1)  # word n-gram length of the text comparison
    min_overlap: float = Field(0.8, gt=0, le=1)  # share of a training question's n-grams in one eval question


class Recipe(BaseModel):
    model_config = _STRICT
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    description: str = ""
    stage: Literal["sources", "curation", "interventions", "scaling", "combined"] = "sources"
    seed: int = 0
    sources: list[SourceUse] = Field(default_factory=list)
    curation: Curation | None = None
    generator: Generator = Field(default_factory=Generator)
    answer_filter: bool = False  # stage 1: drop CoTs whose final answer disagrees with the ground truth
    interventions: list[Intervention] = Field(default_factory=list)
    scaling: Scaling = Field(default_factory=Scaling)
    train: Train = Field(default_factory=Train)
    decontamination: Decontamination = Field(default_factory=Decontamination)

    def intervention(self, name: str):
        return next((iv for iv in self.interventions if iv.name == name), None)


def recipe_path(name_or_path: str) -> Path:
    """A recipe name (baselines/honeybee/recipes/NAME.yaml) or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml"):
        if not p.is_file():
            raise HarnessError(f"{p}: recipe file does not exist")
        return p
    p = RECIPES_DIR / f"{name_or_path}.yaml"
    if not p.is_file():
        known = ", ".join(sorted(x.stem for x in RECIPES_DIR.glob("*.yaml")))
        raise HarnessError(f"unknown recipe {name_or_path!r} (known: {known})")
    return p


def load_recipe(name_or_path: str) -> Recipe:
    path = recipe_path(name_or_path)
    recipe = load_yaml_config(path, Recipe, "a recipe", tag_names={"name": ("intervention", list(INTERVENTIONS))})
    if not recipe.sources and recipe.curation is None:
        raise HarnessError(f"{path}: field 'sources': give sources or a curation step")
    return recipe


def all_recipes() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))
