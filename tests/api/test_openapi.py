"""The served OpenAPI document covers every route and matches what the API returns."""

from __future__ import annotations

import json

from chalicelib.api.manifest import all_routes


def test_openapi_documents_every_route(client):
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    spec = json.loads(response.body)
    assert spec["openapi"].startswith("3.")
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    # Every /v1 route; the Zendesk layer (/api/v2/, docs/zendesk.md) is documented by Zendesk's reference.
    registered = {(route.method, route.path) for route in all_routes() if route.dialect == "v1"}
    assert documented == registered
    assert all(route.path.startswith("/api/v2/") for route in all_routes() if route.dialect != "v1")
    from app import app

    served = {(method, path) for path, methods in app.routes.items() for method in methods}
    assert served == {(route.method, route.path) for route in all_routes()}
    for path, ops in spec["paths"].items():
        for op in ops.values():
            assert op["summary"] and op["responses"], path


def test_collection_operations_are_named_after_the_collection(client):
    """Client generators turn operation ids into method names: `list_statuses`, never `list_statuss`."""
    spec = json.loads(client.http.get("/openapi.json").body)
    for path, ops in spec["paths"].items():
        collection = path.rsplit("/", 1)[1]
        if path.count("/") == 2 and {"get", "post"} <= ops.keys():  # a collection: list and create
            assert ops["get"]["operationId"] == "list_" + collection.replace("-", "_"), path


def test_openapi_is_a_valid_document(client):
    from openapi_spec_validator import validate

    validate(json.loads(client.http.get("/openapi.json").body))


def test_ticket_responses_conform_to_the_documented_schema(world, make_ticket):
    from jsonschema import Draft202012Validator

    spec = json.loads(world["admin"].client.http.get("/openapi.json").body)
    schemas = spec["components"]["schemas"]

    def resolve(schema):  # inline $refs for jsonschema without a registry
        text = json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
        return json.loads(text)

    ticket = make_ticket(requester_id="alice")
    for user in ("agent_all", "alice"):
        body = world[user].get(f"/v1/tickets/{ticket['id']}").data
        Draft202012Validator(resolve({**schemas["TicketOut"], "$defs": schemas})).validate(body)
        page = world[user].get("/v1/tickets").data
        Draft202012Validator(resolve({**schemas["TicketPage"], "$defs": schemas})).validate(page)


def test_docs_page_renders_without_auth(client):
    response = client.http.get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "/v1/tickets/{ticket_id}/history" in response.body.decode()
