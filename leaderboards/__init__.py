"""Leaderboard definitions shipped with harness (YAML) and their generated tables. Installed as the data package
``harness_leaderboards``; the engine finds them through harness.resources."""
