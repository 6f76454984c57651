"""UniFusion: a frozen vision-language model as the single encoder of image and prompt, its multi-layer hidden
states pooled by Layerwise Attention Pooling (LAP) into the conditioning of a flow-matching diffusion generator.

Importing the package registers the adapters: ``unifusion`` (variant chosen by ``--model_args variant=``), one
name per variant (``unifusion-last_layer``, ``unifusion-kv_fusion``, ``unifusion-injection``, ``unifusion-lap``,
``unifusion-lap_norefiner``, ``unifusion-verifi``; each with ``regime=edit-ft|zero-shot`` and ``train_seed=``)
and the generic ``diffusers-edit``. Heavy imports (torch, transformers, diffusers) happen when an adapter is built.
"""

from harness_baselines.unifusion import (
    adapter,  # noqa: F401,E402  (registers unifusion, unifusion-<variant>)
    diffusers_edit,  # noqa: F401,E402  (registers diffusers-edit)
)
