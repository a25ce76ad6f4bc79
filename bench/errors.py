"""The one error the harness raises: something it needs is missing or misbehaved."""


class HarnessError(RuntimeError):
    """The benchmark cannot go on; the message says why and, where it can, what to do."""
