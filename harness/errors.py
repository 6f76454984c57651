class HarnessError(Exception):
    """A user-facing error: the CLI prints its one-line message and exits with code 2."""


class DataError(HarnessError):
    """Bad or missing input data (a file, field or sample id is named in the message)."""
