"""Unauthenticated routes: /health, /openapi.json, /docs."""

from __future__ import annotations

import functools
from typing import Any

from chalicelib.api.models import Health
from chalicelib.api.routing import Api, Reply, RequestContext

api = Api("meta")


@functools.cache
def _document() -> dict[str, Any]:
    from chalicelib.api.openapi import document

    return document()


@api.route("/health", "GET", summary="Liveness", public=True, response=Health)
def health(ctx: RequestContext) -> Reply:
    return Reply({"status": "ok"})


@api.route("/openapi.json", "GET", summary="The OpenAPI document of every route", public=True)
def openapi(ctx: RequestContext) -> Reply:
    return Reply(_document())


@api.route("/docs", "GET", summary="Human-readable API reference", public=True)
def docs(ctx: RequestContext) -> Reply:
    from chalicelib.api.openapi import docs_page

    return Reply(docs_page(_document()), headers={"Content-Type": "text/html; charset=utf-8"})
