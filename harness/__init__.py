"""harness: benchmark and evaluation harness for multimodal models (editing, retrieval, VL reasoning).

The verbs (``evaluate``, ``get_task``, ``list_tasks``, ``open_store``) are imported on first use, so
``import harness`` stays instant and never imports torch.
"""

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)

__all__ = ["evaluate", "get_task", "list_tasks", "open_store", "__version__"]


def __getattr__(name: str):
    if name in __all__:
        from harness import api

        return getattr(api, name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
