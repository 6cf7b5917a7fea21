"""Sizes are bounded in bytes where DynamoDB stores them (400 KB an item, 4 MB a transaction):
text at the character limits in 4-byte characters answers 2xx or a 4xx problem, never a 500 or
DynamoDB's own message, and the ticket can still be changed afterwards."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chalicelib.domain.bodies import BODY_MAX, BODY_MAX_BYTES, ELLIPSIS
from chalicelib.domain.tickets import DESCRIPTION_MAX, stored_bytes
from tests.api.test_bad_input import assert_problem

EMOJI = "\U0001f600"  # 4 bytes in UTF-8, 12 as PynamoDB's escaped JSON
# Characters whose stored size differs most: 4-byte, 3-byte, escaped controls, markup that grows.
WIDE = st.sampled_from([EMOJI, "\U00010348", "\u4e2d", "\u2026", "\u0007", "&", "<", "a"])


def _text(draw, size):
    unit = draw(st.lists(WIDE, min_size=1, max_size=4))
    return ("".join(unit) * size)[:size]


@st.composite
def hostile_writes(draw):
    description = _text(draw, draw(st.sampled_from([DESCRIPTION_MAX, DESCRIPTION_MAX // 2, 40_000, 1_000])))
    value = _text(draw, draw(st.sampled_from([1_000, 500, 100])))
    fields = {f"f{i}": value for i in range(draw(st.sampled_from([50, 20, 5])))}
    comment = _text(draw, draw(st.sampled_from([BODY_MAX, BODY_MAX + 1, 30_000])))
    number = draw(st.sampled_from([10**400, 10**38, -(10**38) + 1, 1.5e308, 7]))
    return description, fields, comment, number


def _ok_or_problem(response):
    assert response.status_code < 500, response.body
    if response.status_code >= 400:
        problem = assert_problem(response, response.status_code)
        assert "Item size" not in problem["detail"] and "ValidationException" not in problem["detail"]
    return response.status_code < 300


@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(write=hostile_writes())
def test_text_at_the_limits_in_four_byte_characters_never_breaks_a_ticket(world, write):
    description, fields, comment, number = write
    agent = world["agent_all"]
    ticket = agent.post("/v1/tickets", {"subject": EMOJI * 250, "description": "d", "requester_id": "alice"}).data
    path = f"/v1/tickets/{ticket['id']}"

    _ok_or_problem(agent.post("/v1/tickets", {"subject": "s", "description": description, "custom_fields": fields}))
    _ok_or_problem(agent.patch(path, {"description": description}))
    _ok_or_problem(agent.patch(path, {"custom_fields": fields}))
    _ok_or_problem(agent.patch(path, {"custom_fields": {"n": number}}))
    _ok_or_problem(world["alice"].post(f"{path}/comments", {"body": comment}))
    _ok_or_problem(agent.post(f"{path}/comments", {"body": comment, "visibility": "internal"}))

    # Whatever was accepted, every later write to the ticket still goes through.
    assert agent.patch(path, {"priority": "high", "tags": ["after"]}).status_code == 200
    assert agent.post(f"{path}/comments", {"body": "still writable"}).status_code == 201


def test_a_description_of_65536_emoji_is_a_422_naming_the_byte_limit(world):
    agent = world["agent_all"]
    problem = assert_problem(agent.post("/v1/tickets", {"subject": "s", "description": EMOJI * DESCRIPTION_MAX}), 422)
    assert [e["field"] for e in problem["errors"]] == ["description"]


def test_a_comment_of_65536_emoji_is_stored_truncated_within_the_byte_limit(world, make_ticket):
    ticket = make_ticket(requester_id="alice")
    created = world["alice"].post(f"/v1/tickets/{ticket['id']}/comments", {"body": EMOJI * BODY_MAX})
    assert created.status_code == 201, created.body
    body = created.data["body"]
    assert body.endswith(ELLIPSIS) and set(body[:-1]) == {EMOJI}
    assert stored_bytes(body) <= BODY_MAX_BYTES


def test_custom_fields_are_bounded_in_bytes_count_and_number_range(world, make_ticket):
    agent = world["agent_all"]
    ticket = make_ticket()
    path = f"/v1/tickets/{ticket['id']}"
    wide = {f"f{i}": EMOJI * 1000 for i in range(50)}  # ~600 KB escaped, copied onto every list entry
    assert [e["field"] for e in assert_problem(agent.patch(path, {"custom_fields": wide}), 422)["errors"]] == ["custom_fields"]
    for number in (str(10**400), str(10**38), "1e400", "Infinity", "NaN"):
        assert_problem(agent.request("PATCH", path, '{"custom_fields": {"n": ' + number + "}}"), 422)
    many = {f"k{i}": 1 for i in range(30)}
    assert agent.patch(path, {"custom_fields": many}).status_code == 200
    more = {f"m{i}": 1 for i in range(30)}  # 60 once merged
    assert_problem(agent.patch(path, {"custom_fields": more}), 422)
    assert agent.patch(path, {"priority": "low"}).status_code == 200
