"""Numbers as the tables print them (boards, ``harness eval``, ``show``, ``compare``, ``regress``): a mean to the
precision its 95% interval supports, ``16.9 ± 2.3`` rather than ``16.9000 ± 2.3000``; a zero-width interval (every
sample scored alike) as the value itself, ``100 ± 0``; p-values to 3 decimals. Stored values keep full precision."""

from __future__ import annotations

import math


def ci_decimals(half: float) -> int:
    """Decimal places that show a CI half-width to two significant figures (3 when it is 0 or not finite).

    A mean is printed to the precision its interval supports: ``16.9 ± 2.3`` rather than ``16.9000 ± 2.3000``,
    ``0.562 ± 0.031`` rather than ``0.5620 ± 0.0312``; the stored values keep full precision."""
    if not math.isfinite(half) or half <= 0:
        return 3
    return int(min(6, max(0, 1 - math.floor(math.log10(half)))))


def rounded(x: float, half: float, sign: bool = False) -> str:
    """``x`` to the precision a CI of half-width ``half`` supports (``ci_decimals``). A zero-width interval (every
    sample scored alike) or an unknown one shows the value as it is, to at most 3 decimals: ``100``, not
    ``100.000``."""
    if x is None or not math.isfinite(x):
        return "nan"
    if half is not None and math.isfinite(half) and half > 0:
        return f"{x:{'+' if sign else ''}.{ci_decimals(half)}f}"
    text = f"{x:.3f}".rstrip("0").rstrip(".")
    text = "0" if text == "-0" else text
    return f"+{text}" if sign and not text.startswith("-") else text


def p_text(p: float) -> str:
    """A p-value to 3 decimals, to 2 significant figures below 0.001 (``1.0e-04``: a permutation test's smallest
    p; still a number a script can parse)."""
    return "nan" if p is None or not math.isfinite(p) else f"{p:.1e}" if 0 < p < 0.001 else f"{p:.3f}"


def bracket(low: float, high: float, half: float, sign: bool = False) -> str:
    """A 95% CI as ``[low, high]``, both ends rounded to the precision of the half-width ``half``."""
    return f"[{rounded(low, half, sign)}, {rounded(high, half, sign)}]"


def interval(mean: float, low: float, high: float) -> tuple[str, str]:
    """(mean, "[low, high]") of a 95% CI, rounded to its half-width's precision."""
    known = low is not None and high is not None and math.isfinite(low) and math.isfinite(high)
    half = (high - low) / 2 if known else float("nan")
    return rounded(mean, half), bracket(low, high, half)
