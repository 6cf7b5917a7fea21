"""Every string a request body may carry is an identifier, sanitized rich text or declared plain
text: a new text field without that decision fails here (stored XSS starts with a raw field)."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, TypeAdapter

from chalicelib.api import manifest
from chalicelib.api.models import SANITIZED, PlainText, Structured

BODY_MODELS = {spec.body for entry in manifest.entries() if (spec := manifest.resolve(entry)[0]).body is not None}


def _leaves(annotation: Any, metadata: list[Any], path: str) -> Iterator[tuple[str, Any, list[Any]]]:
    """(path, leaf type, metadata that applies to it) of every str and Any inside a field's type."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        yield from _leaves(base, [*metadata, *extra], path)
    elif annotation is str or annotation is Any:
        yield path, annotation, metadata
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from _model_leaves(annotation, f"{path}.")
    elif origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _leaves(arg, metadata, path)
    elif origin in (list, tuple, set, frozenset):
        for arg in get_args(annotation):
            yield from _leaves(arg, [], f"{path}[]")
    elif origin is dict:
        key, value = get_args(annotation)
        structured = [m for m in metadata if isinstance(m, Structured)]  # covers everything inside
        yield from _leaves(key, structured, f"{path}{{key}}")
        yield from _leaves(value, structured, f"{path}{{value}}")
    elif origin is Literal or annotation is type(None):
        return
    else:
        assert origin is None, f"{path}: teach this test the type {annotation!r}"


def _model_leaves(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Any, list[Any]]]:
    model.model_rebuild()
    hints = typing.get_type_hints(model, include_extras=True)
    for name in model.model_fields:
        yield from _leaves(hints[name], [], f"{prefix}{name}")


def _decision(leaf: Any, metadata: list[Any]) -> str | None:
    if any(isinstance(m, Structured) for m in metadata):
        return "structured"
    if leaf is Any:
        return None
    if any(m is SANITIZED for m in metadata):
        return "sanitized"
    if any(isinstance(m, PlainText) for m in metadata):
        return "plain"
    if any(getattr(m, "pattern", None) for m in metadata):
        return "identifier"
    return None


def test_every_request_model_is_walked():
    names = {model.__name__ for model in BODY_MODELS}
    assert {"TicketCreate", "CommentCreate", "EscalationCreate", "TimeEntryCreate", "TemplateCreate"} <= names


def test_every_text_field_of_every_request_body_is_sanitized_or_declared_plain():
    undecided = [
        f"{model.__name__}.{path}"
        for model in BODY_MODELS
        for path, leaf, metadata in _model_leaves(model)
        if _decision(leaf, metadata) is None
    ]
    assert undecided == [], "give each a decision in its model: SANITIZED (rich text), PlainText(why), a pattern, or a Literal"


def test_rich_text_fields_browsers_render_go_through_the_sanitizer():
    decided = {
        f"{model.__name__}.{path}": _decision(leaf, metadata)
        for model in BODY_MODELS
        for path, leaf, metadata in _model_leaves(model)
    }
    rich = [
        "TicketCreate.description",
        "TicketPatch.description",
        "CommentCreate.body",
        "EscalationCreate.description",
        "EscalationTransition.note",
        "EscalationVerification.comment",
        "TimeEntryCreate.note",
        "TemplateCreate.body",
        "TemplatePatch.body",
        "FeedbackCreate.comment",
        "ActivityCreate.body",
        "ActivityPatch.body",
        "ActivityCommentCreate.body",
    ]
    assert {name: decided[name] for name in rich} == dict.fromkeys(rich, "sanitized")
    assert decided["TicketCreate.channel_details{value}"] == "structured"


XSS = '<p>ok</p><script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">x</a>'


@pytest.mark.parametrize(
    ("model", "path", "leaf", "metadata"),
    [
        (model, path, leaf, metadata)
        for model in sorted(BODY_MODELS, key=lambda m: m.__name__)
        for path, leaf, metadata in _model_leaves(model)
        if _decision(leaf, metadata) == "sanitized"
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) and issubclass(value, BaseModel) else str(value)[:40],
)
def test_a_sanitized_field_stores_no_script_handler_or_javascript_url(model, path, leaf, metadata):
    stored = TypeAdapter(Annotated[(leaf, *metadata)]).validate_python(XSS)
    assert "<p>ok</p>" in stored
    assert "<script" not in stored and "onerror" not in stored and "javascript:" not in stored
