"""The verbs of the ``harness`` command line, one module per role (``harness/cli.py`` registers them and
handles errors, signals and exit codes): ``run`` (eval), ``listing`` (list, show), ``boards`` (leaderboard, compare,
regress, power), ``report``, ``judge`` (judge-agree); ``common`` holds the options and helpers they share."""
