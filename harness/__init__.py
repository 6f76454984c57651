"""harness: benchmark and evaluation harness for multimodal models (editing, retrieval, VL reasoning)."""

__version__ = "0.1.0"
