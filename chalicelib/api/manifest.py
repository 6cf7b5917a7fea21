"""The HTTP routes Chalice serves, registered from `routes.txt` without importing their modules.

A cold start imports only this, chalice and the authorizer: a route's module (and with it
pydantic, PynamoDB, botocore, powertools) is imported by the route's first request, which then
goes through `routing.handle` like every other. `chalice package` still sees every route.
tests/api/test_lazy_routes.py keeps `routes.txt` equal to the modules' `@api.route` declarations.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from chalice import Blueprint, Response

from chalicelib.api.auth import jwt_auth

if TYPE_CHECKING:
    from chalicelib.api.routing import Reply, RouteSpec

MANIFEST = os.path.join(os.path.dirname(__file__), "routes.txt")
# Chalice answers unlisted media types itself (415, not problem+json); listing the common
# ones lets the wrapper refuse them in the API's own error format.
ACCEPTED_MEDIA_TYPES = [
    "application/json",
    "application/merge-patch+json",
    "application/problem+json",
    "text/plain",
    "text/xml",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
]

blueprint = Blueprint(__name__)


class Entry(NamedTuple):  # a NamedTuple: dataclasses would add inspect & co. to every cold start
    method: str
    path: str
    module: str  # in chalicelib.api
    function: str
    public: bool


@functools.cache
def entries() -> tuple[Entry, ...]:
    with open(MANIFEST, encoding="utf-8") as manifest:
        rows = [line.split() for line in manifest if line.strip() and not line.startswith("#")]
    return tuple(Entry(method, path, *target.split("."), flags == ["public"]) for method, path, target, *flags in rows)


def resolve(entry: Entry) -> tuple[RouteSpec, Callable[..., Reply]]:
    """The route's spec and handler, importing its module the first time."""
    from chalicelib.api.routing import REGISTERED

    importlib.import_module(f"chalicelib.api.{entry.module}")
    return REGISTERED[(entry.method, entry.path)]


def all_routes() -> list[RouteSpec]:
    """Every route's spec in manifest order; imports every route module (OpenAPI, tests)."""
    return [resolve(entry)[0] for entry in entries()]


def _lazy_view(entry: Entry) -> Callable[..., Response]:
    def view(**path_params: str) -> Response:
        try:
            spec, handler = resolve(entry)
        except Exception:  # a module that fails to import still answers problem+json
            from chalicelib import composition
            from chalicelib.api import problems

            composition.logger().exception("route module failed to load", extra={"route": f"{entry.method} {entry.path}"})
            return problems.internal_error()
        from chalicelib.api.routing import handle

        return handle(spec, handler, blueprint, path_params)

    view.__name__ = entry.function
    return view


def _register() -> None:
    for entry in entries():
        authorizer = None if entry.public else jwt_auth
        blueprint.route(entry.path, methods=[entry.method], authorizer=authorizer, content_types=ACCEPTED_MEDIA_TYPES)(
            _lazy_view(entry)
        )


_register()
