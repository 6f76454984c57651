"""The SAIL reference's rows: ``full`` and rows that each change one thing against it (no torch import here, so the
adapter's argument check stays cheap).

Switches of ``FULL``: audio (the model sees speech, train and test), hnm (mined hard negatives), balance (OT source
weights), instructions (task instruction token: True = task- and role-specific, "unified" = one for everything,
False = none), cosent / mrl / micl / lf (objective terms, losses.py),
dataset_temperature (one NCE temperature per source, initialised per source), progressive (two stages: a warm-up
on uniform sources, then the selected mix; off: the second stage alone from scratch, for as many steps as both),
fusion (bidirectional or causal attention), select (whose initial model fixes λ*, hard negatives and source
weights: "full" = the full model's warm-up, shared; "own" = this row's warm-up).
"""

from __future__ import annotations

FULL = dict(
    audio=True,
    hnm=True,
    balance=True,
    instructions=True,
    cosent=True,
    mrl=True,
    micl=True,
    lf=True,
    dataset_temperature=True,
    progressive=True,
    fusion="bidirectional",
    select="full",
)
CHANGES = {
    "full": {},
    # the first version's single-change rows
    "no_audio": {"audio": False},
    "no_hnm": {"hnm": False},
    "no_balance": {"balance": False},
    "no_audio_pipeline": {"audio": False, "select": "own"},  # the whole pipeline without audio
    # the rungs of the paper's ablation ladder (Fig. 9/10) a tiny model can express
    "no_instructions": {"instructions": False},
    "unified_instruction": {"instructions": "unified"},  # the paper's rung: one instruction vs task-specific ones
    "no_cosent": {"cosent": False},
    "no_progressive": {"progressive": False},
    "causal": {"fusion": "causal"},
    # the other objective terms, switchable (not shipped: see SHIPPED)
    "no_mrl": {"mrl": False},
    "no_micl": {"micl": False},
    "no_lf": {"lf": False},
    "shared_temperature": {"dataset_temperature": False},
}
ABLATIONS = {name: {**FULL, **change} for name, change in CHANGES.items()}
# The shipped checkpoints: every single-change row with training seeds 0, 1, 2 (the board pools them with
# seed-aware CIs). The other rows train on request (--ablation NAME); they are not shipped, to keep the one-command
# retrain inside its CPU budget.
_SINGLE = ["full", "no_audio", "no_hnm", "no_balance", "no_instructions", "no_cosent", "no_progressive", "causal"]
_SINGLE += ["unified_instruction"]
SHIPPED = {0: _SINGLE, 1: _SINGLE, 2: _SINGLE}


def checkpoint_name(ablation: str, seed: int = 0) -> str:
    """sail-<ablation>.safetensors for training seed 0, else sail-<ablation>-seed<k>.safetensors."""
    return f"sail-{ablation}.safetensors" if seed == 0 else f"sail-{ablation}-seed{seed}.safetensors"
