"""Reasoner adapters for real transformers checkpoints: ``hf-vlm`` (image-text-to-text) and ``hf-lm`` (causal LM).

Importing this package registers both adapters without importing torch (heavy imports happen on first use), so
``harness list models`` stays fast.
"""

from harness_baselines.hf import lm, vlm  # noqa: F401  (registers the adapters)
