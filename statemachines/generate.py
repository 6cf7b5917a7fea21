"""Writes statemachines/escalation.asl.json from the domain's stage table.

The stages and their moves are `chalicelib.domain.escalations.ALLOWED_MOVES`: every stage gets
an `Enter_<stage>` state (one transaction writing the stage) and, if it has a way out, an
`Await_<stage>` state (the task token wait); a stage with two ways out gets a Choice. Adding a
stage is its enum member and its line in the move table, then `python -m statemachines.generate`.
`--check` (CI, `make lint`) fails when the checked-in file is not what the table generates.

The definition is written for AWS; moto's differences are patched by devstack/moto_quirks.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.domain.escalations import ALLOWED_MOVES, NO_TARGET_SECONDS, WAIT_SLICE_SECONDS, Stage, waiting_stages

OUTPUT = Path(__file__).with_name("escalation.asl.json")
TABLE = "${TableName}"
BUS = "${EventBusName}"
NOW = "$$.State.EnteredTime"  # AWS: 2026-01-01T00:00:00.123Z, what the API's Z stamps sort with
SERVICE_ERRORS = [
    "DynamoDb.ProvisionedThroughputExceededException",
    "DynamoDb.ThrottlingException",
    "DynamoDb.RequestLimitExceededException",
    "DynamoDb.InternalServerErrorException",
    "DynamoDb.TransactionConflictException",
    "DynamoDb.TransactionInProgressException",
    "DynamoDb.SdkClientException",
]
RETRY_SERVICE = {
    "ErrorEquals": SERVICE_ERRORS,
    "IntervalSeconds": 1,
    "BackoffRate": 2,
    "MaxAttempts": 6,
    "MaxDelaySeconds": 30,
    "JitterStrategy": "FULL",
}
# A cancelled stage transaction is a conflict with a concurrent ticket write (or throttling)
# far more often than a failed condition: back off for up to ~35 s (was 2 attempts) before
# failing; a run that failed anyway is redriven by an operator (docs/operations.md).
RETRY_CANCELLED = {
    "ErrorEquals": ["DynamoDb.TransactionCanceledException"],
    "IntervalSeconds": 1,
    "BackoffRate": 2,
    "MaxAttempts": 6,
    "MaxDelaySeconds": 10,
    "JitterStrategy": "FULL",
}
CATCH_ALL = {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}


def fmt(template: str, *args: str) -> str:
    """A `States.Format` call; braces that are not placeholders must be escaped (`\\{`)."""
    return f"States.Format('{template}', {', '.join(args)})" if args else f"'{template}'"


def s(value: str) -> dict[str, str]:
    return {"S": value}


def s_path(path: str) -> dict[str, str]:
    return {"S.$": path}


def ticket_key() -> dict[str, Any]:
    return {"PK": s_path(fmt("TICKET#{}", "$.ticket_id")), "SK": s("TICKET")}


def escalation_key() -> dict[str, Any]:
    return {"PK": s_path(fmt("ESC#{}", "$.escalation_id")), "SK": s("ESC")}


def activity_sort_key(suffix: str) -> str:
    return fmt("ACT#1#{}-{}", NOW, suffix)


def event_detail(extra: str, *args: str) -> str:
    """The event detail as a JSON string (`schema_version` 1), built with States.Format."""
    head = '\\{"schema_version":1,"ticket_id":"{}","escalation_id":"{}","version":null,'
    return fmt(head + extra + "\\}", "$.ticket_id", "$.escalation_id", *args)


def timeline_put(subject: str, *, suffix: str, visibility: str, actor: dict[str, str], fields: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": s_path(fmt("TICKET#{}", "$.ticket_id")),
        "SK": s_path(activity_sort_key(suffix)),
        "kind": s("activity"),
        "id": s_path(fmt("{}-{}", NOW, suffix)),
        "ticket_id": s_path("$.ticket_id"),
        "type": s("system"),
        "visibility": s(visibility),
        "actor_id": actor,
        "at": s_path(NOW),
        "subject": s_path(subject),
        "pinned": {"BOOL": False},
    }
    if fields:
        item["fields"] = s_path("States.JsonToString($.signal.fields)")
    if visibility == "public":
        item["GSI1PK"] = s_path(fmt("PUBLIC#{}", "$.ticket_id"))
        item["GSI1SK"] = s_path(activity_sort_key(suffix))
    return {"Put": {"TableName": TABLE, "Item": item}}


def event_put(event_type: str, *, event_id: str, detail: str) -> dict[str, Any]:
    item = {
        "PK": s("EVENTS"),
        "SK": s_path(fmt("{}#{}", NOW, event_id)),
        "kind": s("event"),
        "id": s_path(event_id),
        "type": s(event_type),
        "at": s_path(NOW),
        "ticket_id": s_path("$.ticket_id"),
        "detail": s_path(detail),
    }
    return {"Put": {"TableName": TABLE, "Item": item}}


def stage_changed_event(stage: Stage, old: str | None) -> dict[str, Any]:
    changes = '"actor_id":"{}","at":"{}","changes":[\\{"property":"escalation.stage","old":'
    changes += ("null" if old is None else '"{}"') + f',"new":"{stage.value}"\\}}]'
    args = ["$.signal.actor_id", NOW] + ([] if old is None else [old])
    return event_put("escalation.stage_changed", event_id="$.signal.uid", detail=event_detail(changes, *args))


# --------------------------------------------------------------------------- stage states


def enter_state(stage: Stage) -> dict[str, Any]:
    waits = stage in waiting_stages()
    selector: dict[str, Any] = {"stage": stage.value, "at.$": NOW}
    if waits:
        selector["target.$"] = f"$$.Execution.Input.timers.{stage.value}"
        selector["timer"] = {"seconds.$": f"$$.Execution.Input.timers.{stage.value}"}
    if stage == Stage.SUBMITTED:
        comment = (
            "The API created the escalation in submitted (with the one-open-escalation check); record its public "
            "timeline entry and its escalation.stage_changed event (the outbox), one transaction"
        )
        items = [
            timeline_put(
                fmt("Escalation {} submitted", "$.escalation_id"),
                suffix="$.signal.uid",
                visibility="public",
                actor=s_path("$.signal.actor_id"),
                fields=True,
            ),
            stage_changed_event(stage, None),
        ]
        parameters: dict[str, Any] = {"ClientRequestToken.$": "$.signal.uid", "TransactItems": items}
    else:
        comment = (
            f"Enter {stage.value}: escalation stage and stage list, public timeline entry, ticket summary (+version), "
            "escalation.stage_changed event (the outbox), one transaction"
        )
        entry = {
            "M": {
                "stage": s(stage.value),
                "entered_at": s_path(NOW),
                "note": s_path("$.signal.note"),
                "actor_id": s_path("$.signal.actor_id"),
            }
        }
        escalation_update = {
            "Update": {
                "TableName": TABLE,
                "Key": escalation_key(),
                "UpdateExpression": (
                    "SET stage = :stage, stages = list_append(stages, :entry), estimated_resolution_date = :erd, "
                    "updated_at = :at ADD version :one "
                    "REMOVE task_token, task_stage, claim_id, claimed_at, claimed_to, timer_left"
                ),
                "ConditionExpression": "stage = :from",
                "ExpressionAttributeValues": {
                    ":stage": s(stage.value),
                    ":from": s_path("$.signal.from"),
                    ":entry": {"L": [entry]},
                    ":erd": s_path("States.JsonToString($.signal.summary.estimated_resolution_date)"),
                    ":at": s_path(NOW),
                    ":one": {"N": "1"},
                },
            }
        }
        summary_update = {
            "Update": {
                "TableName": TABLE,
                "Key": ticket_key(),
                "UpdateExpression": "SET escalation = :summary ADD version :one",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": {
                    ":summary": s_path("States.JsonToString($.signal.summary)"),
                    ":one": {"N": "1"},
                },
            }
        }
        items = [
            escalation_update,
            timeline_put(
                fmt(f"Escalation {{}} moved to {stage.value}", "$.escalation_id"),
                suffix="$.signal.uid",
                visibility="public",
                actor=s_path("$.signal.actor_id"),
                fields=True,
            ),
            summary_update,
            stage_changed_event(stage, "$.signal.from"),
        ]
        parameters = {"ClientRequestToken.$": "$.signal.uid", "TransactItems": items}
    state: dict[str, Any] = {
        "Type": "Task",
        "Comment": comment,
        "Resource": "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems",
        "Parameters": parameters,
        "ResultSelector": selector,
        "ResultPath": "$.current",
        "Retry": [RETRY_SERVICE, RETRY_CANCELLED],
        "Catch": [CATCH_ALL],
    }
    if waits:
        state["Next"] = wait_name(stage)
    else:
        state["End"] = True
    return state


def wait_name(stage: Stage) -> str:
    return f"Wait_{stage.value}"


def wait_choice(stage: Stage) -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Comment": (
            "Before every wait: a run due for renewal (renew_at, 330 days after it started) hands over to the next "
            f"run; otherwise wait in {stage.value} for a slice of at most {WAIT_SLICE_SECONDS} s (30 days), the last "
            "slice being what is left of the stage's timer"
        ),
        # `$.renew_at` is the execution input's, carried in the state (no ResultPath writes the
        # root): a comparison's Path is a reference path, which moto cannot resolve in `$$`.
        "Choices": [
            {"Variable": NOW, "TimestampGreaterThanEqualsPath": "$.renew_at", "Next": "Renew"},
            {
                "Variable": "$.current.timer.seconds",
                "NumericGreaterThan": WAIT_SLICE_SECONDS,
                "Next": f"AwaitSlice_{stage.value}",
            },
        ],
        "Default": f"Await_{stage.value}",
    }


def await_state(stage: Stage, *, sliced: bool = False) -> dict[str, Any]:
    """The task token wait; `sliced`: a 30-day slice of a longer timer (its timeout is no overrun)."""
    moves = sorted(ALLOWED_MOVES[stage], key=list(Stage).index)
    single = len(moves) == 1
    to: dict[str, str] = {"to": moves[0].value} if single else {"to.$": "$.to"}
    stage_of: dict[str, str] = {"stage": moves[0].value} if single else {"stage.$": "$.to"}
    timeout: dict[str, Any] = (
        {"TimeoutSeconds": WAIT_SLICE_SECONDS} if sliced else {"TimeoutSecondsPath": "$.current.timer.seconds"}
    )
    return {
        "Type": "Task",
        "Comment": (
            f"Store the task token on the escalation and wait for the API's signal to leave {stage.value}; "
            + (
                "the timeout is one 30-day slice of a longer timer (no execution waits past its one-year limit)"
                if sliced
                else "the timeout is what is left of the stage's target duration"
            )
        ),
        "Resource": "arn:aws:states:::aws-sdk:dynamodb:updateItem.waitForTaskToken",
        **timeout,
        "Parameters": {
            "TableName": TABLE,
            "Key": escalation_key(),
            "UpdateExpression": "SET task_token = :token, task_stage = :stage REMOVE claim_id, claimed_at, claimed_to",
            # A transition queued while the workflow was moving is taken instead of waiting.
            "ConditionExpression": "stage = :stage AND attribute_not_exists(queued_signal)",
            "ExpressionAttributeValues": {":token": s_path("$$.Task.Token"), ":stage": s(stage.value)},
        },
        "ResultSelector": {
            "from": stage.value,
            **to,
            "note.$": "$.note",
            "actor_id.$": "$.actor_id",
            "uid.$": "States.UUID()",
            "summary": {
                "id.$": "$$.Execution.Input.escalation_id",
                **stage_of,
                "estimated_resolution_date.$": "$.estimated_resolution_date",
            },
            "fields": {"escalation_id.$": "$$.Execution.Input.escalation_id", **stage_of},
        },
        "ResultPath": "$.signal",
        "Retry": [RETRY_SERVICE],
        "Catch": [
            {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "SliceEnded" if sliced else "RecordOverdue"},
            {"ErrorEquals": ["DynamoDb.ConditionalCheckFailedException"], "ResultPath": "$.queued", "Next": "TakeQueued"},
            CATCH_ALL,
        ],
        "Next": f"Enter_{moves[0].value}" if single else outcome_name(stage),
    }


def outcome_name(stage: Stage) -> str:
    return f"{stage.value.capitalize()}Outcome"


def outcome_state(stage: Stage) -> dict[str, Any]:
    moves = sorted(ALLOWED_MOVES[stage], key=lambda s: (s != Stage.RESOLVED, list(Stage).index(s)))
    return {
        "Type": "Choice",
        "Comment": f"{stage.value} has {len(moves)} ways out: {', '.join(m.value for m in moves)}",
        "Choices": [{"Variable": "$.signal.to", "StringEquals": move.value, "Next": f"Enter_{move.value}"} for move in moves],
        "Default": "Unexpected",
    }


# --------------------------------------------------------------------------- shared states


def record_overdue() -> dict[str, Any]:
    overrun = {
        "M": {
            "stage": s_path("$.current.stage"),
            "target_seconds": {"N.$": fmt("{}", "$.current.target")},
            "at": s_path(NOW),
        }
    }
    event_id = fmt("{}-overdue-{}", "$$.Execution.Name", NOW)
    detail = event_detail(
        '"actor_id":"system","at":"{}","changes":[],"stage":"{}","target_seconds":{}', NOW, "$.current.stage", "$.current.target"
    )
    return {
        "Type": "Task",
        "Comment": (
            "The stage outlived its target: record the overrun (escalation + internal timeline entry + "
            "escalation.stage_overdue event in the outbox), keep waiting in the same stage"
        ),
        "Resource": "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems",
        "Parameters": {
            "TransactItems": [
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": escalation_key(),
                        "UpdateExpression": (
                            "SET overruns = list_append(if_not_exists(overruns, :empty), :entry), updated_at = :at"
                        ),
                        "ConditionExpression": "stage = :stage",
                        "ExpressionAttributeValues": {
                            ":empty": {"L": []},
                            ":entry": {"L": [overrun]},
                            ":stage": s_path("$.current.stage"),
                            ":at": s_path(NOW),
                        },
                    }
                },
                timeline_put(
                    fmt(
                        "Escalation {} overran its {} target of {} seconds",
                        "$.escalation_id",
                        "$.current.stage",
                        "$.current.target",
                    ),
                    suffix=fmt("{}-{}", "$.escalation_id", "$.current.stage"),
                    visibility="internal",
                    actor=s("system"),
                    fields=False,
                ),
                event_put("escalation.stage_overdue", event_id=event_id, detail=detail),
            ]
        },
        "ResultSelector": {"seconds": NO_TARGET_SECONDS, "overrun": True},
        "ResultPath": "$.current.timer",
        "Retry": [RETRY_SERVICE, RETRY_CANCELLED],
        "Catch": [CATCH_ALL],
        "Next": "ResumeWaiting",
    }


def queued_states() -> dict[str, Any]:
    """A transition the API accepted while the workflow was between two waits (202 with
    `pending_stage`): taken at the wait, then entered like a signal."""
    targets = [stage for stage in Stage if any(stage in moves for moves in ALLOWED_MOVES.values())]
    return {
        "TakeQueued": {
            "Type": "Task",
            "Comment": "Remove the queued transition (only one queued from the stage this wait is in) and use it as the signal",
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:updateItem",
            "Parameters": {
                "TableName": TABLE,
                "Key": escalation_key(),
                "UpdateExpression": "REMOVE queued_signal, queued_from",
                "ConditionExpression": "stage = :stage AND queued_from = :stage AND attribute_exists(queued_signal)",
                "ExpressionAttributeValues": {":stage": s_path("$.current.stage")},
                "ReturnValues": "ALL_OLD",
            },
            "ResultSelector": {"signal.$": "States.StringToJson($.Attributes.queued_signal.S)"},
            "ResultPath": "$.queued",
            "Retry": [RETRY_SERVICE],
            "Catch": [CATCH_ALL],
            "Next": "UseQueued",
        },
        "UseQueued": {
            "Type": "Pass",
            "Comment": "The queued signal has the shape a wait's ResultSelector gives a signal",
            "InputPath": "$.queued.signal",
            "ResultPath": "$.signal",
            "Next": "QueuedMove",
        },
        "QueuedMove": {
            "Type": "Choice",
            "Comment": "The API checked the move against the domain's table; the stage entered re-checks `from`",
            "Choices": [
                {"Variable": "$.signal.to", "StringEquals": stage.value, "Next": f"Enter_{stage.value}"} for stage in targets
            ],
            "Default": "Unexpected",
        },
    }


def start_state() -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Comment": (
            "Run 1 enters submitted; a later run (started from the stream when the escalation's run went up: "
            "continued or restarted by an operator) resumes waiting in the recorded stage"
        ),
        "Choices": [{"Variable": "$.current", "IsPresent": True, "Next": "ResumeWaiting"}],
        "Default": f"Enter_{Stage.SUBMITTED.value}",
    }


def resume_waiting() -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Comment": (
            "Wait again in the recorded stage: after an overrun (without a timer), after a slice, or in a run that "
            "continues an earlier one"
        ),
        "Choices": [
            {"Variable": "$.current.stage", "StringEquals": stage.value, "Next": wait_name(stage)} for stage in waiting_stages()
        ],
        "Default": "Unexpected",
    }


def slice_states() -> dict[str, Any]:
    """What follows a 30-day slice that ended without a signal, and the renewal of a run."""
    return {
        "SliceEnded": {
            "Type": "Choice",
            "Comment": (
                f"A stage without a timer ({NO_TARGET_SECONDS} s: no target, or overrun already) waits slice after slice; "
                "otherwise the slice is taken off the timer"
            ),
            "Choices": [
                {"Variable": "$.current.timer.seconds", "NumericGreaterThanEquals": NO_TARGET_SECONDS, "Next": "ResumeWaiting"}
            ],
            "Default": "NextSlice",
        },
        "NextSlice": {
            "Type": "Pass",
            "Comment": "30 days of the stage's timer have passed",
            "Parameters": {"seconds.$": f"States.MathAdd($.current.timer.seconds, -{WAIT_SLICE_SECONDS})"},
            "ResultPath": "$.current.timer",
            "Next": "ResumeWaiting",
        },
        "Renew": {
            "Type": "Task",
            "Comment": (
                "Continue as new before the one-year limit of an execution: raise the escalation's run (only from this "
                "stage and run), keep what is left of the timer, give the token up; the ticket stream starts the next run "
                "(<id>-r<run>), which resumes waiting in this stage without entering it again"
            ),
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:updateItem",
            "Parameters": {
                "TableName": TABLE,
                "Key": escalation_key(),
                "UpdateExpression": (
                    "SET #run = :next, run_started_at = :at, timer_left = :left "
                    "REMOVE task_token, task_stage, claim_id, claimed_at, claimed_to"
                ),
                # The first run's item has no `run` yet (absent = 1).
                "ConditionExpression": "stage = :stage AND (#run = :run OR attribute_not_exists(#run))",
                "ExpressionAttributeNames": {"#run": "run"},
                "ExpressionAttributeValues": {
                    ":next": {"N.$": fmt("{}", "States.MathAdd($$.Execution.Input.run, 1)")},
                    ":run": {"N.$": fmt("{}", "$$.Execution.Input.run")},
                    ":stage": s_path("$.current.stage"),
                    ":at": s_path(NOW),
                    ":left": {"N.$": fmt("{}", "$.current.timer.seconds")},
                },
            },
            "ResultPath": None,
            "Retry": [RETRY_SERVICE],
            "Catch": [CATCH_ALL],
            "Next": "Renewed",
        },
        "Renewed": {
            "Type": "Succeed",
            "Comment": "This run handed the escalation over to its next run",
        },
    }


def failure_states() -> dict[str, Any]:
    return {
        "Unexpected": {
            "Type": "Pass",
            "Comment": "Unreachable while the API validates signals against the domain's move table",
            "Result": {
                "Error": "Helpdesk.UnexpectedStage",
                "Cause": "the signal or the recorded stage is not one the workflow allows",
            },
            "ResultPath": "$.error",
            "Next": "RecordFailure",
        },
        "RecordFailure": {
            "Type": "Task",
            "Comment": "Never die silently: record the failure on the escalation, then publish it",
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:updateItem",
            "Parameters": {
                "TableName": TABLE,
                "Key": escalation_key(),
                "UpdateExpression": "SET failure = :failure, updated_at = :at",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": {
                    ":failure": {
                        "M": {
                            "error": s_path("$.error.Error"),
                            "cause": s_path("$.error.Cause"),
                            "at": s_path(NOW),
                            "execution": s_path("$$.Execution.Id"),
                        }
                    },
                    ":at": s_path(NOW),
                },
            },
            "ResultPath": None,
            "Retry": [RETRY_SERVICE],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.record_error", "Next": "PublishFailure"}],
            "Next": "PublishFailure",
        },
        "PublishFailure": {
            "Type": "Task",
            "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {
                "Entries": [
                    {
                        "EventBusName": BUS,
                        "Source": "helpdesk",
                        "DetailType": "escalation.failed",
                        "Detail": {
                            "schema_version": 1,
                            "ticket_id.$": "$.ticket_id",
                            "escalation_id.$": "$.escalation_id",
                            "version": None,
                            "actor_id": "system",
                            "at.$": NOW,
                            "changes": [],
                            "error.$": "$.error.Error",
                            "cause.$": "$.error.Cause",
                        },
                    }
                ]
            },
            "ResultPath": None,
            "Retry": [
                {
                    "ErrorEquals": [
                        "EventBridge.FailedEntry",
                        "EventBridge.AmazonEventBridgeException",
                        "EventBridge.InternalException",
                        "EventBridge.ThrottlingException",
                        "States.TaskFailed",
                    ],
                    "IntervalSeconds": 1,
                    "BackoffRate": 2,
                    "MaxAttempts": 6,
                    "MaxDelaySeconds": 30,
                    "JitterStrategy": "FULL",
                }
            ],
            "Next": "Failed",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.publish_error", "Next": "Failed"}],
        },
        "Failed": {
            "Type": "Fail",
            "Error": "Helpdesk.EscalationFailed",
            "Cause": "the escalation workflow failed; the escalation's failure attribute and the escalation.failed event say why",
        },
    }


def definition() -> dict[str, Any]:
    states: dict[str, Any] = {"Start": start_state()}
    for stage in Stage:
        states[f"Enter_{stage.value}"] = enter_state(stage)
        if stage in waiting_stages():
            states[wait_name(stage)] = wait_choice(stage)
            states[f"AwaitSlice_{stage.value}"] = await_state(stage, sliced=True)
            states[f"Await_{stage.value}"] = await_state(stage)
            if len(ALLOWED_MOVES[stage]) > 1:
                states[outcome_name(stage)] = outcome_state(stage)
    states["RecordOverdue"] = record_overdue()
    states["ResumeWaiting"] = resume_waiting()
    states.update(slice_states())
    states.update(queued_states())
    states.update(failure_states())
    flow = " → ".join(stage.value for stage in Stage)
    backs = [
        f"back from {src.value} to {dst.value}"
        for src, targets in ALLOWED_MOVES.items()
        for dst in targets
        if list(Stage).index(dst) < list(Stage).index(src)
    ]
    return {
        "Comment": (
            f"One escalation run (execution name = escalation id, then <id>-r<run>): {flow}, {', '.join(backs)}. "
            "The API validates and signals (SendTaskSuccess with the token stored on the escalation); "
            "this workflow writes every stage. "
            "Generated by statemachines/generate.py from the domain's move table: do not edit."
        ),
        "StartAt": "Start",
        "States": states,
    }


def render() -> str:
    return json.dumps(definition(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the checked-in definition differs")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is not what the stage table generates: run python -m statemachines.generate", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
