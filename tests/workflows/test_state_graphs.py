"""Every ASL file: a sound state graph, a valid definition, placeholders that infra/ substitutes,
and for escalations, a graph that is the domain's move table.

moto's create_state_machine checks grammar only (a dangling Next passes), so the graph is
checked here; cfn-lint checks the definition against the ASL schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.escalations import ALLOWED_MOVES, Stage, waiting_stages
from devstack.paths import TEMPLATE_PATH
from tests.conftest import ROOT

ASL_FILES = sorted((ROOT / "statemachines").glob("*.asl.json"))
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
TERMINAL_TYPES = ("Succeed", "Fail")


def _template() -> dict[str, Any]:
    return json.loads(TEMPLATE_PATH.read_text())


def _state_machines() -> dict[str, dict[str, Any]]:
    """ASL file name → the properties of the infra/ resource that deploys it."""
    machines = {}
    for resource in _template()["Resources"].values():
        if resource.get("Type") == "AWS::StepFunctions::StateMachine":
            location = resource["Properties"]["DefinitionS3Location"]
            machines[(TEMPLATE_PATH.parent / location).resolve().name] = resource["Properties"]
    return machines


def _load(path: Path) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(path.read_text())
    return definition


def _targets(state: dict[str, Any]) -> Iterator[str]:
    if "Next" in state:
        yield state["Next"]
    if "Default" in state:
        yield state["Default"]
    for choice in state.get("Choices", []):
        yield choice["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]


def _graphs(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The top-level graph and every nested one (Parallel branches, Map item processors)."""
    yield definition
    for state in definition["States"].values():
        for branch in state.get("Branches", []):
            yield from _graphs(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _graphs(state[key])


def test_there_is_an_asl_file_and_infra_deploys_each_one() -> None:
    assert ASL_FILES
    assert sorted(_state_machines()) == [path.name for path in ASL_FILES]


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_state_graph_is_sound(path: Path) -> None:
    for graph in _graphs(_load(path)):
        states = graph["States"]
        assert graph["StartAt"] in states, "StartAt names no state"
        for name, state in states.items():
            dangling = [target for target in _targets(state) if target not in states]
            assert not dangling, f"{name} goes to missing states {dangling}"
            if state["Type"] == "Choice":
                assert state.get("Choices"), f"{name} has no choices"
                assert "Next" not in state and "End" not in state
            elif state["Type"] not in TERMINAL_TYPES:
                assert ("Next" in state) != bool(state.get("End")), f"{name} needs exactly one of Next and End"
        reached, frontier = set(), [graph["StartAt"]]
        while frontier:
            name = frontier.pop()
            if name not in reached:
                reached.add(name)
                frontier.extend(_targets(states[name]))
        assert reached == set(states), f"unreachable: {sorted(set(states) - reached)}"
        terminal = [n for n, s in states.items() if s["Type"] in TERMINAL_TYPES or s.get("End")]
        assert terminal, "no terminal state"


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_every_task_retries_service_errors_with_backoff_and_catches_everything(path: Path) -> None:
    for graph in _graphs(_load(path)):
        for name, state in graph["States"].items():
            if state["Type"] != "Task":
                continue
            retriers = state.get("Retry", [])
            assert retriers, f"{name} has no Retry"
            assert all(r["BackoffRate"] > 1 and r["MaxAttempts"] >= 2 for r in retriers), name
            assert any(
                "Throttling" in e or "ProvisionedThroughput" in e or e == "States.TaskFailed"
                for r in retriers
                for e in r["ErrorEquals"]
            ), name
            catchers = state.get("Catch", [])
            assert catchers and catchers[-1]["ErrorEquals"] == ["States.ALL"], f"{name} must catch everything last"


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_placeholders_are_exactly_what_infra_substitutes(path: Path) -> None:
    used = set(PLACEHOLDER.findall(path.read_text()))
    substituted = set(_state_machines()[path.name].get("DefinitionSubstitutions", {}))
    assert used == substituted


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_definition_is_valid_asl_for_cloudformation(path: Path) -> None:
    from cfnlint.api import ManualArgs, lint

    properties = _state_machines()[path.name]
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::123456789012:role/workflow",
                    "Definition": _load(path),
                    "DefinitionSubstitutions": {name: "x" for name in properties.get("DefinitionSubstitutions", {})},
                },
            }
        },
    }
    assert lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"])) == []


# -- escalations: the graph is the domain's move table ------------------------------------
ESCALATION = ROOT / "statemachines" / "escalation.asl.json"


def _stage_states(states: dict[str, Any], prefix: str) -> dict[str, str]:
    return {name.removeprefix(prefix): name for name in states if name.startswith(prefix)}


def _entered_from(states: dict[str, Any], name: str) -> set[str]:
    """Enter_<stage> states a signal leads to from `name`, looking through Choice states."""
    found, frontier, seen = set(), [states[name]["Next"]], set()
    while frontier:
        target = frontier.pop()
        if target in seen:
            continue
        seen.add(target)
        if target.startswith("Enter_"):
            found.add(target.removeprefix("Enter_"))
        elif states[target]["Type"] == "Choice":
            frontier.extend(c["Next"] for c in states[target]["Choices"])
    return found


def test_the_escalation_definition_is_what_the_stage_table_generates() -> None:
    """statemachines/generate.py writes it from the domain's move table; nobody edits it by hand."""
    from statemachines import generate

    assert ESCALATION.read_text(encoding="utf-8") == generate.render(), "run: python -m statemachines.generate"


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_deployable_definitions_carry_no_moto_workarounds(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "StringSplit($$.State.EnteredTime" not in text and "Base64Decode" not in text


def test_escalation_states_agree_with_the_stage_enum_and_the_move_table() -> None:
    states = _load(ESCALATION)["States"]
    entered = _stage_states(states, "Enter_")
    awaited = _stage_states(states, "Await_")
    assert set(entered) == {stage.value for stage in Stage}
    assert set(awaited) == {stage.value for stage in waiting_stages()} == set(_stage_states(states, "AwaitSlice_"))
    moves = {(src, dst) for src in awaited for dst in _entered_from(states, awaited[src])}
    assert moves == {(src.value, dst.value) for src, targets in ALLOWED_MOVES.items() for dst in targets}


def test_escalation_states_write_the_stage_they_are_named_after() -> None:
    states = _load(ESCALATION)["States"]
    for stage, name in _stage_states(states, "Enter_").items():
        assert states[name]["ResultSelector"]["stage"] == stage
        if stage != Stage.SUBMITTED:
            update = states[name]["Parameters"]["TransactItems"][0]["Update"]
            assert update["ExpressionAttributeValues"][":stage"] == {"S": stage}
    for stage, name in _stage_states(states, "Await_").items():
        assert states[name]["Parameters"]["ExpressionAttributeValues"][":stage"] == {"S": stage}
        assert states[name]["ResultSelector"]["from"] == stage
        assert states[name]["Catch"][0] == {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "RecordOverdue"}
    for stage, name in _stage_states(states, "AwaitSlice_").items():
        assert states[name]["Parameters"] == states[f"Await_{stage}"]["Parameters"]
        assert states[name]["ResultSelector"] == states[f"Await_{stage}"]["ResultSelector"]
        assert states[name]["Next"] == states[f"Await_{stage}"]["Next"]
        assert states[name]["Catch"][0]["Next"] == "SliceEnded"
    resume = {choice["StringEquals"]: choice["Next"] for choice in states["ResumeWaiting"]["Choices"]}
    assert resume == {stage.value: f"Wait_{stage.value}" for stage in waiting_stages()}
    for stage, name in _stage_states(states, "Wait_").items():
        targets = [choice["Next"] for choice in states[name]["Choices"]] + [states[name]["Default"]]
        assert targets == ["Renew", f"AwaitSlice_{stage}", f"Await_{stage}"]
