"""Domain errors: what went wrong in terms of the service, not of HTTP.

Services and repositories raise these; `app.api.problems` turns each kind into a status code.
"""


class DomainError(Exception):
    """A failure the client caused or can act on; `detail` is safe to show to the client."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(DomainError):
    """The addressed resource does not exist."""


class ConflictError(DomainError):
    """The change contradicts the current state: a duplicate unique value, a row in use."""


class InvalidReferenceError(DomainError):
    """A field refers to another resource that does not exist."""


class VersionMismatchError(DomainError):
    """The client's copy is stale: the resource changed since the version it names."""


class InvalidCursorError(DomainError):
    """A page cursor the API did not issue, or one issued for another sort order."""
