"""Task definitions shipped with harness (YAML). Installed as the data package ``harness_tasks``; the engine finds
them through harness.resources, so this folder holds no code."""
