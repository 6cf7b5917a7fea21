"""Run Lambda invocations on moto as in-process Python calls (local stack only).

Without Docker, moto 5.2.5 never runs a function's code. Every invocation path of moto
(the Invoke API, Step Functions `lambda:invoke` tasks, SQS and DynamoDB stream event source
mappings, S3 notifications) ends in `moto.awslambda.models.LambdaFunction.invoke`; the patch
below answers it with the registered handler's return value, JSON-encoded, as Lambda would.
Functions without a registered handler keep moto's behaviour.

moto's SQS event source mappings ignore a handler's partial batch response and delete every
message of a batch the handler returned from, so a record the handler reported as failed
(throttled, the table busy) was lost locally where Lambda would retry it. The second patch,
of `LambdaBackend.send_sqs_batch`, reads `batchItemFailures` as Lambda does: the reported
records stay on the queue, in flight until their visibility timeout, then are received again
(and after `maxReceiveCount` receives go to the dead-letter queue); the others are deleted.

moto delivers DynamoDB stream batches synchronously, inside the write that produced them. Here
they run on one background worker per function instead, in order, as Lambda polls a shard:
the write returns first, and a handler that reads the table cannot deadlock against
devstack.dynamodb_isolation's lock, which the writing thread still holds. `drain()` waits for
background work (tests, shutdown). With `track_stream_batches(ledger)` (the local stack) every
batch is noted in a devstack.stream_ledger before the write returns and marked done when its
handler returned, so a start runs again what a `kill -9` interrupted.

Chalice naming (as `chalice deploy` names functions; `chalice package` uses the logical ids):
  handler `name` of `@app.lambda_function` / `@app.on_*`  → function `<app_name>-<stage>-<name>`,
                                                             logical id CamelCase(name)
  the REST API handler (the app object itself)            → function `<app_name>-<stage>`,
                                                             logical id `APIHandler`
Blueprint handlers carry their `name_prefix` in `name`, as in chalice.

A function registered with an `environment` runs each invocation inside
`chalicelib.config.function_environment(environment)` (devstack.lambda_env: what its template
resource declares), and every AWS call it makes meanwhile is attributed to it
(devstack.aws_calls, compared with its role by tests/local/test_lambda_environments.py).
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalice.app import Chalice
from chalice.utils import to_cfn_resource_name
from moto.awslambda.models import LambdaBackend, LambdaFunction

from chalicelib.config import FunctionEnvironment, function_environment
from devstack import aws_calls, stream_filters
from devstack.stream_ledger import RESUMED_BATCH_KEY, InFlight

Handler = Callable[[Any, Any], Any]

logger = logging.getLogger(__name__)
_handlers: dict[str, Handler] = {}
_environments: dict[str, FunctionEnvironment] = {}
# Function name → the FilterCriteria patterns of its stream mapping (devstack/stream_filters.py).
_stream_filters: dict[str, list[Any]] = {}
_original_invoke: Callable[..., str | bytes] | None = None
_original_send_sqs_batch: Callable[..., bool] | None = None
_install_lock = threading.Lock()
_stream_workers: dict[str, ThreadPoolExecutor] = {}
_event_threads: list[threading.Thread] = []
_in_flight: InFlight | None = None


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str
    started_at: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started_at
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def register(function_name: str, handler: Handler, environment: FunctionEnvironment | None = None) -> None:
    """Make invocations of the moto function `function_name` call `handler(event, context)`,
    with `environment` as the app's environment (None: the process's)."""
    install()
    _handlers[function_name] = handler
    if environment is None:
        _environments.pop(function_name, None)
    else:
        _environments[function_name] = environment


def environment_of(function_name: str) -> FunctionEnvironment | None:
    """The environment invocations of `function_name` run with (None: the process's)."""
    return _environments.get(function_name)


def filter_stream(function_name: str, patterns: list[Any] | None) -> None:
    """Deliver the function only the stream records these patterns match (Lambda's FilterCriteria)."""
    if patterns:
        _stream_filters[function_name] = list(patterns)
    else:
        _stream_filters.pop(function_name, None)


def unregister(function_name: str) -> None:
    _handlers.pop(function_name, None)
    _environments.pop(function_name, None)


def chalice_functions(app: Chalice, app_name: str, stage: str) -> dict[str, tuple[str, Handler]]:
    """Logical id → (function name, entry point) of every Lambda function chalice would deploy.

    Routes share the API handler. Left out: built-in authorizers (`chalice local` runs them
    inside its HTTP server) and websocket handlers (not served locally at all).
    """
    functions: dict[str, tuple[str, Handler]] = {"APIHandler": (f"{app_name}-{stage}", app)}
    names = [function.name for function in app.pure_lambda_functions]
    names += [source.name for source in app.event_sources]
    for name in names:
        # handler_map holds what Lambda calls: the handler wrapped with its event class and middleware.
        functions[to_cfn_resource_name(name)] = (f"{app_name}-{stage}-{name}", app.handler_map[name])
    return functions


def chalice_authorizers(app: Chalice, app_name: str, stage: str) -> dict[str, str]:
    """Logical id → function name of each built-in authorizer chalice deploys as its own function.

    Locally `chalice local` runs them inside the HTTP server; the local stack still creates them
    (as placeholders nobody invokes) so template resources naming them, such as alarms, exist.
    """
    return {
        to_cfn_resource_name(authorizer.name): f"{app_name}-{stage}-{authorizer.name}" for authorizer in app.builtin_auth_handlers
    }


def chalice_authorizer_handlers(app: Chalice, app_name: str, stage: str) -> dict[str, tuple[str, Handler]]:
    """Logical id → (function name, entry point) of each built-in authorizer, for invoking it as
    API Gateway would (a TOKEN event); `chalice local` itself calls them in its HTTP server."""
    handlers: dict[str, tuple[str, Handler]] = {}
    for authorizer in app.builtin_auth_handlers:
        module, _, attribute = authorizer.handler_string.rpartition(".")
        handler = getattr(importlib.import_module(module), attribute)
        handlers[to_cfn_resource_name(authorizer.name)] = (f"{app_name}-{stage}-{authorizer.name}", handler)
    return handlers


def register_functions(
    functions: dict[str, tuple[str, Handler]], environments: Mapping[str, FunctionEnvironment]
) -> dict[str, str]:
    """Register each (logical id → function name, entry point) with the environment its logical
    id has in `environments`; answers logical id → function name."""
    registered = {}
    for logical_id, (function_name, handler) in functions.items():
        register(function_name, handler, environments.get(logical_id))
        registered[logical_id] = function_name
    return registered


def register_chalice_app(app: Chalice, app_name: str, stage: str) -> dict[str, str]:
    """Register every Lambda entry point of `app`; answers logical id → function name."""
    registered = {}
    for logical_id, (function_name, handler) in chalice_functions(app, app_name, stage).items():
        register(function_name, handler)
        registered[logical_id] = function_name
    return registered


def track_stream_batches(ledger: InFlight | None) -> None:
    """Note every stream batch in `ledger` from now on (None: stop noting)."""
    global _in_flight
    _in_flight = ledger


def install() -> None:
    """Patch moto's LambdaFunction.invoke once; idempotent."""
    global _original_invoke, _original_send_sqs_batch
    with _install_lock:
        if _original_invoke is None:
            _original_invoke = LambdaFunction.invoke
            LambdaFunction.invoke = _dispatching_invoke  # type: ignore[method-assign]
        if _original_send_sqs_batch is None:
            _original_send_sqs_batch = LambdaBackend.send_sqs_batch
            LambdaBackend.send_sqs_batch = _send_sqs_batch  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore moto's own invoke and forget all handlers."""
    global _original_invoke, _original_send_sqs_batch, _in_flight
    with _install_lock:
        _in_flight = None
        if _original_invoke is not None:
            LambdaFunction.invoke = _original_invoke  # type: ignore[method-assign]
            _original_invoke = None
        if _original_send_sqs_batch is not None:
            LambdaBackend.send_sqs_batch = _original_send_sqs_batch  # type: ignore[method-assign]
            _original_send_sqs_batch = None
        _handlers.clear()
        _environments.clear()
        _stream_filters.clear()
        for worker in _stream_workers.values():
            worker.shutdown(wait=False, cancel_futures=True)
        _stream_workers.clear()


def drain(timeout: float = 30.0) -> None:
    """Wait until queued stream batches and asynchronous invocations have run."""
    deadline = time.monotonic() + timeout
    with _install_lock:
        workers = list(_stream_workers.values())
    for worker in workers:
        worker.submit(lambda: None).result(timeout=max(0.0, deadline - time.monotonic()))
    for thread in list(_event_threads):
        thread.join(timeout=max(0.0, deadline - time.monotonic()))


def _stream_worker(function_name: str) -> ThreadPoolExecutor:
    with _install_lock:
        if function_name not in _stream_workers:
            _stream_workers[function_name] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"stream-{function_name}")
        return _stream_workers[function_name]


def _is_stream_batch(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records or not isinstance(records[0], dict):
        return False
    return bool(records[0].get("eventSource") == "aws:dynamodb")


def _dispatching_invoke(self: LambdaFunction, body: str | bytes, request_headers: Any, response_headers: Any) -> str | bytes:
    """Same contract as moto's LambdaFunction.invoke: the payload, bytes for RequestResponse."""
    handler = _handlers.get(self.function_name)
    if handler is None:
        assert _original_invoke is not None
        return _original_invoke(self, body, request_headers, response_headers)
    event = json.loads(body) if body else {}
    context = LambdaContext(
        function_name=self.function_name,
        invoked_function_arn=self.function_arn,
        memory_limit_in_mb=int(self.memory_size or 128),
        timeout_seconds=int(self.timeout or 3),
        aws_request_id=str(uuid.uuid4()),
        started_at=time.monotonic(),
    )
    invocation_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
    resumed = event.pop(RESUMED_BATCH_KEY, None) if isinstance(event, dict) else None
    if _is_stream_batch(event):
        records = stream_filters.passing(_stream_filters.get(self.function_name), event["Records"])
        if not records:
            return b"null"  # as Lambda: a batch whose records no filter matches invokes nothing
        event = {**event, "Records": records}
        ledger = _in_flight
        batch_id = resumed or (ledger.started(self.function_name, event) if ledger is not None else None)
        _stream_worker(self.function_name).submit(_run_stream_batch, handler, event, context, ledger, batch_id)
        # Non-empty, so moto counts the batch as delivered and does not send it again.
        return b"null"
    if invocation_type == "Event":
        # Lambda answers 202 at once and runs asynchronous invocations later.
        thread = threading.Thread(target=_run, args=(handler, event, context, {}), daemon=True, name="lambda-event")
        _event_threads[:] = [*(t for t in _event_threads if t.is_alive()), thread]
        thread.start()
        return ""
    payload = _run(handler, event, context, response_headers)
    if invocation_type == "RequestResponse":
        response_headers["x-amz-log-result"] = base64.b64encode(b"").decode()
        return payload.encode("utf-8")
    return payload


def _send_sqs_batch(self: LambdaBackend, function_arn: str, messages: list[Any], queue_arn: str) -> bool:
    """moto's `send_sqs_batch` (one invocation per message, as moto delivers), honouring partial
    batch responses. Its callers (moto's SendMessage, `sqs_polling.deliver_due`) delete every
    message left in `messages` when this answers True, and make them all visible again when it
    answers False (a function error, as before); so the records the handler reported as failed
    are taken out of the list: they stay in flight and are received again after their
    visibility timeout, as Lambda leaves them."""
    failed = []
    for message in messages:
        response_headers: dict[str, Any] = {}
        payload = self.invoke(
            function_name=function_arn,
            qualifier=None,
            body=json.dumps(_sqs_event(message, queue_arn, self.region_name)),
            headers={},
            response_headers=response_headers,
        )
        if "x-amz-function-error" in response_headers:
            return False
        if message.id in _reported_failures(payload):
            failed.append(message)
    for message in failed:
        messages.remove(message)
    return True


def _sqs_event(message: Any, queue_arn: str, region: str) -> dict[str, Any]:
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp or message.sent_timestamp),
    }
    if queue_arn.endswith(".fifo"):
        attributes.update({"MessageGroupId": message.group_id, "MessageDeduplicationId": message.deduplication_id})
    record = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    return {"Records": [record]}


def _reported_failures(payload: Any) -> set[str]:
    """The `itemIdentifier`s of a partial batch response (empty for any other answer)."""
    try:
        response = json.loads(payload) if payload else None
    except (TypeError, ValueError):
        return set()
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not isinstance(failures, list):
        return set()
    return {str(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)}


def _run_stream_batch(handler: Handler, event: Any, context: LambdaContext, ledger: InFlight | None, batch_id: str | None) -> str:
    payload = _run(handler, event, context, {})
    if ledger is not None and batch_id is not None:
        ledger.finished(batch_id)
    return payload


def _run(handler: Handler, event: Any, context: LambdaContext, response_headers: Any) -> str:
    try:
        environment = _environments.get(context.function_name)
        with aws_calls.attributed_to(context.function_name):
            if environment is None:
                return json.dumps(handler(event, context))
            with function_environment(environment):
                return json.dumps(handler(event, context))
    except Exception as exc:
        logger.exception("local Lambda function %s failed", context.function_name)
        # Lambda's shape for an uncaught exception; Step Functions turns it into a catchable error.
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(
            {"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": traceback.format_tb(exc.__traceback__)}
        )
