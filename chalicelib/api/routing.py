"""One wrapper for every route: parse, authenticate, call the service, shape the response.

Route modules declare their routes with `Api.route`; importing a module records them in
REGISTERED. Chalice serves them through `chalicelib.api.manifest`, which imports a route's module
on its first request (the manifest, not this module, is what `app.py` registers).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalice import Blueprint, Response
from pydantic import BaseModel, ValidationError

from chalicelib import composition
from chalicelib.api import cursors, problems, tracing
from chalicelib.api.auth import caller_from_context
from chalicelib.domain.errors import (
    DomainError,
    FieldError,
    MalformedRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from chalicelib.domain.visibility import Caller

ALL_ROLES = ("admin", "agent", "customer")
STAFF = ("admin", "agent")
_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")
_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,12})"?\s*$')
# Deepest nesting a body may have. Our deepest model (channel_details.thread[i].field) is 4;
# json.loads recurses per level and blows Python's stack near 1,000 (a 2 KB body).
MAX_JSON_DEPTH = 32
# A JSON string (skipped whole, so brackets inside text do not count) or one bracket.
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    name: str
    summary: str
    tag: str
    roles: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    public: bool
    errors: tuple[int, ...]
    # "v1": problem+json errors, listed in OpenAPI. Other dialects (the Zendesk layer, issue 13)
    # translate error responses with ERROR_DIALECTS and are documented by their own reference.
    dialect: str = "v1"


# Error translators of the other dialects, registered by their route modules.
ERROR_DIALECTS: dict[str, Callable[[Response], Response]] = {}

# (method, path) → spec and handler of every route whose module has been imported.
REGISTERED: dict[tuple[str, str], tuple[RouteSpec, Callable[..., Reply]]] = {}


@dataclass
class RequestContext:
    caller: Caller
    body: Any
    query: Any
    headers: Mapping[str, str]
    now: datetime
    path: str
    if_match: int | None = None
    # The path the client asked for, with API Gateway's stage prefix if any (absolute links).
    request_path: str = ""

    def page_cursor(self, position: str | None, *query_parts: Any) -> str | None:
        if position is None:
            return None
        return cursors.encode(position, self._fingerprint(query_parts), composition.cursor_secret())

    def page_position(self, cursor: str | None, *query_parts: Any) -> str | None:
        if cursor is None:
            return None
        return cursors.decode(cursor, self._fingerprint(query_parts), composition.cursor_secret())

    def _fingerprint(self, query_parts: tuple[Any, ...]) -> str:
        return cursors.fingerprint(self.path, self.caller.user_id, *query_parts)


@dataclass
class Reply:
    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    version: int | None = None


def to_json(value: Any) -> str:
    return json.dumps(value, default=_encode, ensure_ascii=False, separators=(",", ":"))


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def rfc3339(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def validation_errors(exc: ValidationError) -> ValidationFailed:
    return ValidationFailed(
        [FieldError(_field_path(tuple(e["loc"])) or "body", e["msg"].removeprefix("Value error, ")) for e in exc.errors()]
    )


class Api:
    """The routes of one resource (one OpenAPI tag); each is served through `handle`."""

    def __init__(self, tag: str, dialect: str = "v1") -> None:
        self.tag = tag
        self.dialect = dialect

    def route(
        self,
        path: str,
        method: str,
        *,
        summary: str,
        roles: tuple[str, ...] = ALL_ROLES,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        public: bool = False,
        errors: tuple[int, ...] = (),
    ) -> Callable[[Callable[..., Reply]], Callable[..., Reply]]:
        def register(handler: Callable[..., Reply]) -> Callable[..., Reply]:
            spec = RouteSpec(
                method,
                path,
                handler.__name__,
                summary,
                self.tag,
                roles,
                body,
                query,
                response,
                status,
                public,
                errors,
                self.dialect,
            )
            previous = REGISTERED.get((method, path))
            # Re-importing a module re-registers its routes; a second module claiming one is a bug.
            if previous and (previous[1].__module__, previous[1].__name__) != (handler.__module__, handler.__name__):
                raise ValueError(f"{method} {path} is declared by {previous[1].__module__} and {handler.__module__}")
            REGISTERED[(method, path)] = (spec, handler)
            return handler

        return register


def handle(spec: RouteSpec, handler: Callable[..., Reply], blueprint: Blueprint, path_params: dict[str, str]) -> Response:
    started = time.perf_counter()
    request = blueprint.current_request
    caller_id = None
    _correlate(request, path_params, blueprint.lambda_context)
    try:
        with tracing.tracer().provider.in_subsegment(f"## {spec.method} {spec.path}") as subsegment:
            subsegment.put_annotation("route", f"{spec.method} {spec.path}")
            if path_params.get("ticket_id"):
                subsegment.put_annotation("ticket_id", path_params["ticket_id"])
            response = _dispatch(spec, handler, request, path_params, blueprint.lambda_context)
    except DomainError as exc:
        response = problems.from_error(exc)
    except Exception:
        composition.logger().exception("unhandled error", extra={"route": f"{spec.method} {spec.path}"})
        response = problems.internal_error()
    if spec.dialect in ERROR_DIALECTS and response.status_code >= 400:
        response = ERROR_DIALECTS[spec.dialect](response)
    if not spec.public:
        caller_id = (request.context.get("authorizer") or {}).get("principalId")
    composition.logger().info(
        "request",
        extra={
            "route": f"{spec.method} {spec.path}",
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "caller_id": caller_id,
            "request_id": request.context.get("requestId"),
            **{k: v for k, v in path_params.items() if k.endswith("id")},
        },
    )
    return response


def _correlate(request: Any, path_params: Mapping[str, str], lambda_context: Any) -> None:
    """Correlation ids on every log line of this request (the logger lives as long as the container)."""
    logger = composition.logger()
    lambda_request_id = getattr(lambda_context, "aws_request_id", None)
    logger.set_correlation_id(request.context.get("requestId") or lambda_request_id)
    # None removes a key a previous request of this container left behind.
    logger.append_keys(
        ticket_id=path_params.get("ticket_id"),
        lambda_request_id=lambda_request_id,
    )


def _dispatch(
    spec: RouteSpec, handler: Callable[..., Reply], request: Any, path_params: dict[str, str], lambda_context: Any
) -> Response:
    for name, value in path_params.items():
        if not _ID.fullmatch(value or ""):
            raise _not_found(name)
    raw = request.raw_body or b""
    if len(raw) > composition.settings().max_body_bytes:
        raise PayloadTooLarge(f"the body exceeds {composition.settings().max_body_bytes} bytes")
    now = composition.clock()
    if spec.public:
        caller = Caller(user_id="anonymous", role="customer")
    else:
        # The token says who; the directory says what they may do (one GetItem per request).
        caller = composition.directory_service().resolve_caller(caller_from_context(request.context), now)
        if caller.role not in spec.roles:
            from chalicelib.domain.errors import NotAllowed

            raise NotAllowed(f"{caller.role}s may not {spec.method} {spec.path}")
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    payload = _parse_body(spec, raw, headers.get("content-type", ""))
    body = _validate_body(spec.body, raw) if spec.body is not None else None
    query = _validate(spec.query, dict(request.query_params or {})) if spec.query is not None else None
    if spec.query is None and request.query_params:
        raise ValidationFailed([FieldError(name, "unknown query parameter") for name in request.query_params])
    context = RequestContext(
        caller,
        body,
        query,
        headers,
        now,
        spec.path,
        _if_match(headers.get("if-match")),
        request_path=str((request.context or {}).get("path") or ""),
    )

    def compute() -> dict[str, Any]:
        reply = handler(context, **path_params)
        out_headers = dict(reply.headers)
        if reply.version is not None:
            out_headers["ETag"] = f'"{reply.version}"'
        if reply.body is None:
            return {"status": reply.status, "headers": out_headers, "body": ""}
        if isinstance(reply.body, str):  # a page, with its own Content-Type
            return {"status": reply.status, "headers": out_headers, "body": reply.body}
        out_headers["Content-Type"] = "application/json"
        return {"status": reply.status, "headers": out_headers, "body": to_json(reply.body)}

    key = headers.get("idempotency-key")
    if spec.method == "POST" and key is not None and not key.strip():
        # An empty key would silently turn the retry-safety the client asked for off.
        raise ValidationFailed([FieldError("Idempotency-Key", "must not be empty")])
    if spec.method == "POST" and key:
        # In-progress records expire with the invocation, so a crashed attempt can be retried.
        composition.idempotency_config().register_lambda_context(lambda_context)
        result = _run_once(spec, caller, path_params, key, payload, compute)
    else:
        result = compute()
    return Response(body=result["body"], status_code=result["status"], headers=result["headers"])


def _not_found(name: str) -> DomainError:
    from chalicelib.domain.errors import NotFound

    return NotFound(f"no resource with that {name}")


def _parse_body(spec: RouteSpec, raw: bytes, content_type: str) -> Any:
    if spec.body is None or not raw.strip():
        return {}
    media_type = content_type.split(";")[0].strip().lower()
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"send the body as JSON with Content-Type: application/json, not {media_type}")
    _check_depth(raw)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"the body is not valid JSON: {exc}") from exc


def _check_depth(raw: bytes) -> None:
    """400 for a body nested deeper than MAX_JSON_DEPTH, found before any parser recurses."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return  # cannot be deeper than its number of brackets: the common case costs two counts
    depth = 0
    for token in _JSON_TOKEN.finditer(raw):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise MalformedRequest(f"the body is nested deeper than {MAX_JSON_DEPTH} levels")
        elif bracket in (b"]", b"}"):
            depth -= 1


def _validate_body(model: type[BaseModel], raw: bytes) -> BaseModel:
    """Strict JSON validation: `0` is not a boolean and `"5"` is not a number, as the schema says."""
    try:
        return model.model_validate_json(raw if raw.strip() else b"{}", strict=True)
    except ValidationError as exc:
        raise validation_errors(exc) from exc


def _validate(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_errors(exc) from exc


def _if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    match = _IF_MATCH.match(value)
    if not match:  # not an ETag at all: a client bug, not a stale version (docs/decisions.md, HTTP)
        raise MalformedRequest(f'If-Match {value!r} is not an ETag of this API; ETags look like "3"')
    return int(match.group(1))


def _run_once(
    spec: RouteSpec, caller: Caller, path_params: Mapping[str, str], key: str, payload: Any, compute: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    if len(key) > 255:
        raise ValidationFailed([FieldError("Idempotency-Key", "at most 255 characters")])
    scope = f"{caller.user_id} {spec.method} {spec.path} {sorted(path_params.items())} {key}"

    def unrecorded() -> None:
        composition.logger().warning("idempotency record left in progress", extra={"route": f"{spec.method} {spec.path}"})

    return composition.idempotent_runner().run_once(scope, payload, compute, unrecorded)
