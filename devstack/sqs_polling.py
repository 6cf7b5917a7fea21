"""Deliver SQS messages that become visible later (DelaySeconds, a failed batch) to their mappings.

moto hands a queue's messages to its Lambda event source mappings only inside SendMessage, and
only those visible at that moment: a delayed message (webhook retries are sent with
DelaySeconds) or one a failed batch made visible again would wait for the next send. Lambda
polls instead; this does the same for every mapped queue, once a second, in this process (moto
runs in it, as for `event_sources._start_stream_at_latest`).
"""

from __future__ import annotations

import logging
import threading

from moto.awslambda.utils import get_backend
from moto.sqs.models import sqs_backends

INTERVAL_SECONDS = 1.0
logger = logging.getLogger(__name__)
_pollers: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def poll(queue_arn: str) -> None:
    """Start polling `queue_arn` (once per queue and process; the thread ends with the queue)."""
    with _lock:
        if queue_arn in _pollers and _pollers[queue_arn].is_alive():
            return
        thread = threading.Thread(target=_run, args=(queue_arn,), daemon=True, name=f"sqs-poll-{queue_arn.rsplit(':', 1)[1]}")
        _pollers[queue_arn] = thread
        thread.start()


def _run(queue_arn: str, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    while not stop.wait(INTERVAL_SECONDS):
        try:
            deliver_due(queue_arn)
        except KeyError:
            return  # the queue (or moto's backend) is gone: a stopped stack
        except Exception:
            logger.exception("polling %s failed", queue_arn)


def deliver_due(queue_arn: str) -> int:
    """Hand the queue's visible messages to its mappings, as moto does on SendMessage; answers
    how many messages were handed over."""
    # arn:aws:sqs:<region>:<account>:<name>
    _, _, _, region, account, name = queue_arn.split(":", 5)
    backend = sqs_backends[account][region]
    if name not in backend.queues:
        raise KeyError(name)
    queue = backend.queues[name]
    handed = 0
    for function_arn, mapping in list(queue.lambda_event_source_mappings.items()):
        if not mapping.enabled:
            continue
        messages = backend.receive_message(name, mapping.batch_size, 0, queue.visibility_timeout)
        if not messages:
            continue
        handed += len(messages)
        if get_backend(account, region).send_sqs_batch(function_arn, messages, queue.queue_arn):
            for message in messages:
                backend.delete_message(name, message.receipt_handle)
        else:
            for message in messages:  # visible again, as Lambda leaves a failed batch
                backend.change_message_visibility(name, message.receipt_handle, visibility_timeout=0)
    return handed
