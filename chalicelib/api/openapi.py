"""The OpenAPI 3.1 document, generated from every route's spec and the pydantic models."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from pydantic import BaseModel

from chalicelib.api.manifest import all_routes
from chalicelib.api.models import Problem
from chalicelib.api.routing import RouteSpec

_REF = "#/components/schemas/{model}"
_ERROR_TEXT = {
    400: "Malformed request (bad JSON, tampered cursor, an If-Match that is no ETag)",
    401: "Missing or invalid bearer token",
    403: "The caller's role may not do this",
    404: "Not found, or not visible to the caller",
    409: "The resource's state does not allow this",
    412: "If-Match names a stale version",
    413: "Body too large",
    415: "The body is not JSON",
    422: "Validation failed (see errors)",
    429: "Throttled; see Retry-After",
    503: "A backing service is busy; see Retry-After",
}


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF)
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": _REF.format(model=model.__name__)}


def _operation(spec: RouteSpec, components: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": spec.name,
        "summary": spec.summary,
        "tags": [spec.tag],
        "parameters": [],
        "responses": {},
        "x-roles": list(spec.roles),
    }
    for name in re.findall(r"{(\w+)}", spec.path):
        operation["parameters"].append(
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_.:@-]{1,128}$"}}
        )
    if spec.query is not None:
        schema = spec.query.model_json_schema(ref_template=_REF)
        for name, prop in schema.get("properties", {}).items():
            operation["parameters"].append({"name": name, "in": "query", "required": False, "schema": prop})
    if spec.method in ("PATCH", "DELETE"):
        operation["parameters"].append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "ETag of the version the change is based on",
            }
        )
    if spec.method == "POST":
        operation["parameters"].append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    if spec.body is not None:
        # A body whose fields are all optional may be left out (a PATCH with nothing to change).
        required = any(field.is_required() for field in spec.body.model_fields.values())
        operation["requestBody"] = {
            "required": required,
            "content": {"application/json": {"schema": _schema(spec.body, components)}},
        }
    if spec.response is not None and spec.status != 204:
        content = {"application/json": {"schema": _schema(spec.response, components)}}
        operation["responses"][str(spec.status)] = {"description": "OK", "content": content}
    else:
        operation["responses"][str(spec.status)] = {"description": "OK"}
    codes = set(spec.errors) | {400, 413, 503}
    if spec.method in ("PATCH", "DELETE"):
        codes.add(412)  # If-Match
    if not spec.public:
        operation["security"] = [{"bearer": []}]
        # 422 too: references (team, assignee, CC...) are validated against stored records.
        codes |= {401, 403, 422, 429}
    if spec.query is not None or spec.body is not None:
        codes.add(422)
    if spec.body is not None:
        codes.add(415)
    problem = {"application/problem+json": {"schema": {"$ref": _REF.format(model="Problem")}}}
    for code in sorted(codes):
        operation["responses"][str(code)] = {"description": _ERROR_TEXT[code], "content": problem}
    return operation


def document() -> dict[str, Any]:
    components: dict[str, Any] = {}
    _schema(Problem, components)
    paths: dict[str, Any] = {}
    for spec in all_routes():  # imports every route module: the document is built once per container
        if spec.dialect != "v1":
            continue  # /api/v2/ speaks Zendesk's API, documented by Zendesk's reference (docs/zendesk.md)
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Helpdesk API",
            "version": "1.0.0",
            "description": "Serverless, workflow-orchestrated help desk. Errors are application/problem+json.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def docs_page(spec: dict[str, Any]) -> str:
    """A self-contained page (no CDN: it must work offline) listing every operation."""
    rows = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            params = ", ".join(f"{p['name']} ({p['in']})" for p in op.get("parameters", []))
            body = ""
            if "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
                schema = html.escape(json.dumps(spec["components"]["schemas"][ref], indent=2))
                body = f"<details><summary>body: {html.escape(ref)}</summary><pre>{schema}</pre></details>"
            codes = ", ".join(op["responses"])
            roles = ", ".join(op["x-roles"])
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op['summary'])}<br><small>roles: {roles}; params: {html.escape(params) or '-'}; "
                f"responses: {codes}</small>{body}</td></tr>"
            )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Helpdesk API</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}"
        "td{vertical-align:top;padding:.3rem .6rem;border-bottom:1px solid #ddd}"
        "pre{background:#f6f6f6;padding:.5rem;max-height:20rem;overflow:auto}</style></head><body>"
        f"<h1>{html.escape(spec['info']['title'])} {html.escape(spec['info']['version'])}</h1>"
        f"<p>{html.escape(spec['info']['description'])} Machine-readable: <a href='/openapi.json'>/openapi.json</a>. "
        "Authenticate with <code>Authorization: Bearer &lt;JWT&gt;</code>.</p>"
        f"<table>{''.join(rows)}</table></body></html>"
    )
