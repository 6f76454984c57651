"""SAIL-Embedding reference (omni-modal item / query embedder with dynamic hard-negative mining and adaptive
multi-source balancing) and adapters for real transformers embedding models.

Importing the package registers ``sail`` and ``hf-text``, ``hf-clip``, ``hf-clap``, ``composite``; torch and
transformers are imported only when an adapter embeds.
"""

from harness_baselines.sail import (
    adapter,  # noqa: F401  (registers sail)
    hf,  # noqa: F401  (registers hf-text, hf-clip, hf-clap, composite)
)
