"""Reference implementations and adapters. Each subpackage registers its adapters when imported (entry point
group ``harness.adapters`` in pyproject.toml); the engine in ``harness/`` never imports this package directly."""
