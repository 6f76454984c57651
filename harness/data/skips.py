"""Rows a loader read but cannot score (an empty question, a judgment naming a document that does not exist).

A loader returns ``with_skips(samples, {row id: reason})`` instead of dropping such rows silently or failing the
whole load. The engine then warns once on stderr, records the skipped ids and reasons in the task's content hash,
the run's provenance, the results JSON and ``harness show``; ``--strict-data`` turns any skip into an error.
Works for any kind: ``samples`` is whatever the loader returns (a list of samples, a retrieval dataset, ...).
"""

from __future__ import annotations


class SkippedRows(dict):
    """{row id: one-line reason}; ids are the dataset's own (or "FILE:record N" where it has none)."""


def with_skips(samples, skipped: dict[str, str]):
    """Attach ``skipped`` to ``samples`` (a list is wrapped in a list subclass that carries it)."""
    if isinstance(samples, list) and type(samples) is list:
        samples = _SampleList(samples)
    samples.skipped = SkippedRows(skipped)
    return samples


def skipped_of(samples) -> SkippedRows:
    """The rows a loader skipped (empty for loaders that skip nothing)."""
    return SkippedRows(getattr(samples, "skipped", None) or {})


def describe(skipped: dict[str, str], limit: int = 5) -> str:
    """``'v1_382 (empty question), ...'`` for a one-line message."""
    parts = [f"{sid} ({reason})" for sid, reason in list(skipped.items())[:limit]]
    more = len(skipped) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


class _SampleList(list):
    skipped: SkippedRows


class SkipRow(Exception):
    """Raised by a per-row converter for a row that cannot be scored; the loader collects it with ``collect``."""

    def __init__(self, row_id: str, reason: str):
        super().__init__(f"{row_id}: {reason}")
        self.row_id, self.reason = row_id, reason
