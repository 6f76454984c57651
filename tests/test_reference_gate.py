"""CI gates this project's own reference models: every committed baseline in baselines/regress/ must still hold
(fast subsets, fresh evaluation each time: the gate's own pytest plugin does the work)."""

from pathlib import Path

import pytest

BASELINES = sorted((Path(__file__).resolve().parents[1] / "baselines" / "regress").glob("*.json"))


def test_there_are_reference_baselines():
    assert BASELINES


@pytest.mark.parametrize("baseline", BASELINES, ids=[p.stem for p in BASELINES])
def test_no_regression(harness_regress, baseline):
    harness_regress(baseline)
