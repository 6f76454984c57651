"""HoneyBee-style CoT data recipes for VL reasoners: build a dataset from a recipe, train a proxy VLM on it,
score the proxy on the reasoning suites (see README.md). Importing the package registers ``honeybee-proxy``."""

from harness_baselines.honeybee import adapter  # noqa: F401  (registers the adapter)
