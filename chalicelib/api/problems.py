"""Domain errors to application/problem+json responses, in one table."""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib.domain import errors

PROBLEM_TYPES: dict[type[errors.DomainError], tuple[int, str, str]] = {
    errors.MalformedRequest: (400, "malformed-request", "Malformed request"),
    errors.Unauthenticated: (401, "unauthorized", "Unauthorized"),
    errors.NotAllowed: (403, "forbidden", "Forbidden"),
    errors.NotFound: (404, "not-found", "Not found"),
    errors.Conflict: (409, "conflict", "Conflict"),
    errors.VersionConflict: (412, "precondition-failed", "Precondition failed"),
    errors.PayloadTooLarge: (413, "payload-too-large", "Payload too large"),
    errors.UnsupportedMediaType: (415, "unsupported-media-type", "Unsupported media type"),
    errors.ValidationFailed: (422, "validation-failed", "Validation failed"),
    errors.Throttled: (429, "throttled", "Too many requests"),
    errors.Unavailable: (503, "unavailable", "Service unavailable"),
}


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    field_errors: list[errors.FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:helpdesk:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [{"field": e.field, "message": e.message} for e in field_errors or []],
    }
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": "application/problem+json", **(headers or {})},
    )


def from_error(exc: errors.DomainError) -> Response:
    for cls in type(exc).__mro__:
        if cls in PROBLEM_TYPES:
            status, slug, title = PROBLEM_TYPES[cls]  # type: ignore[index]
            break
    else:
        status, slug, title = 500, "internal", "Internal error"
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return problem(status, slug, title, exc.detail or title, getattr(exc, "errors", None), headers)


def internal_error() -> Response:
    return problem(500, "internal", "Internal error", "an unexpected error occurred; it has been logged")
