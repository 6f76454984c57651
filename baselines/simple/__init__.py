"""Simple editing baselines that bound the scale of every metric: identity (no edit), oracle (perfect edit) and
noise (random image)."""

from harness_baselines.simple import (
    editors,  # noqa: F401  (registers the adapters)
    embedders,  # noqa: F401
    reasoners,  # noqa: F401  (registers the reasoning baselines)
)
