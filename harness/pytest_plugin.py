"""pytest plugin (entry point ``pytest11``): a model repository gates itself in three lines::

    def test_no_regression(harness_regress):
        harness_regress("baselines/my-model.json")   # evaluates (cached) and fails listing what got worse

Create or refresh the baseline with ``harness regress --baseline baselines/my-model.json --update --model ...``.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def harness_regress(tmp_path_factory):
    """Callable(baseline, output=None, **overrides) -> gate lines; fails the test on any regression.
    ``output``: results folder (a fresh temporary one by default, so nothing is cached between test runs);
    overrides: task, model, model_args, limit, tolerances, alpha, include (see ``harness.regress.gate``)."""
    from harness import regress

    def check(baseline, output=None, **overrides):
        out = Path(output) if output else tmp_path_factory.mktemp("harness-regress")
        lines, _ = regress.gate(Path(baseline), output=out, **overrides)
        bad = [line for line in lines if line.status == "REGRESSED"]
        if bad:
            pytest.fail(f"{len(bad)} regression(s) against {baseline}:\n{regress.table(lines)}", pytrace=False)
        return lines

    return check
