"""Typed domain errors. The API maps each class to a status and problem type in one table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    """Base of every error the domain or storage raises on purpose."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(DomainError):
    """Input is well-formed JSON but breaks a rule; carries per-field errors."""

    def __init__(self, errors: list[FieldError] | None = None, detail: str = "") -> None:
        self.errors: list[FieldError] = list(errors or [])
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in self.errors))


class MalformedRequest(DomainError):
    """The request cannot be parsed at all (bad JSON, tampered cursor)."""


class NotFound(DomainError):
    """The resource does not exist or the caller may not see it (never 403: no existence leak)."""


class TicketNotFound(NotFound):
    pass


class Unauthenticated(DomainError):
    """The token is valid but names no user the directory still knows (deleted): 401."""


class NotAllowed(DomainError):
    """The caller can see the resource but its role may not do this."""

    def __init__(self, detail: str = "", errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors: list[FieldError] = list(errors or [])

    @classmethod
    def for_fields(cls, fields: list[str], message: str) -> NotAllowed:
        return cls(f"not allowed to set: {', '.join(fields)}", [FieldError(f, message) for f in fields])


class Conflict(DomainError):
    """The resource's state does not allow the action (now; `retry_after` says when to retry)."""

    def __init__(self, detail: str = "", retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class InvalidTransition(Conflict):
    pass


class Contention(Conflict):
    """A concurrent request held the same item (a transaction conflict): nothing was written,
    and the same request retried shortly succeeds. Writers that re-read and retry catch it."""

    def __init__(self, detail: str = "", retry_after: int | None = 1) -> None:
        super().__init__(detail, retry_after)


class VersionConflict(DomainError):
    """An If-Match precondition named a version that is no longer current."""


class PayloadTooLarge(DomainError):
    pass


class UnsupportedMediaType(DomainError):
    pass


class Throttled(DomainError):
    """The backing store is throttling; the client should retry after a pause."""

    def __init__(self, detail: str = "", retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A backing service failed in a way a retry may fix."""

    def __init__(self, detail: str = "", retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class MalformedMail(DomainError):
    """An inbound message that cannot be read as mail (or is built to hurt the parser)."""


class MailTooLarge(PayloadTooLarge):
    """An inbound message over the size we accept (answered with a bounce notice)."""
