"""Composition root: builds every dependency lazily, once per container (nothing at import)."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from chalicelib.services.conversation import ConversationService, TemplateService, WorkspaceSettings
    from chalicelib.services.directory import DirectoryService
    from chalicelib.services.escalations import EscalationService, EscalationStarter
    from chalicelib.services.events import EventFeed
    from chalicelib.services.record_actions import RecordActionsService
    from chalicelib.services.sla import SlaConfigCache, SlaService
    from chalicelib.services.statuses import StatusCatalogCache
    from chalicelib.services.tickets import TicketService
    from chalicelib.services.webhooks import WebhookCache, WebhookService
    from chalicelib.storage.activities import ActivityRepository
    from chalicelib.storage.attachments import AttachmentRepository, FileStore
    from chalicelib.storage.directory import DirectoryRepository
    from chalicelib.storage.escalations import EscalationRepository, EscalationWorkflow
    from chalicelib.storage.events import EventRepository
    from chalicelib.storage.sla import SlaTimers
    from chalicelib.storage.tickets import TicketRepository


def clock() -> datetime:
    """The one place business code gets `now` from."""
    return datetime.now(UTC)


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


@functools.cache
def _storage_bound() -> None:
    from chalicelib.storage.models import bind

    bind(settings().table_name, host=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL"))


@functools.cache
def ticket_repository() -> TicketRepository:
    from chalicelib.storage.tickets import TicketRepository

    _storage_bound()
    return TicketRepository()


@functools.cache
def directory_repository() -> DirectoryRepository:
    from chalicelib.storage.directory import DirectoryRepository

    _storage_bound()
    return DirectoryRepository()


@functools.cache
def status_catalog() -> StatusCatalogCache:
    from chalicelib.services.statuses import StatusCatalogCache

    return StatusCatalogCache(directory_repository())


@functools.cache
def ticket_service() -> TicketService:
    from chalicelib.services.tickets import TicketService

    return TicketService(ticket_repository(), directory_repository(), status_catalog(), sla=sla_service())


@functools.cache
def directory_service() -> DirectoryService:
    from chalicelib.services.directory import DirectoryService

    return DirectoryService(directory_repository(), ticket_repository(), status_catalog(), sla=sla_service())


@functools.cache
def activity_repository() -> ActivityRepository:
    from chalicelib.storage.activities import ActivityRepository

    _storage_bound()
    return ActivityRepository()


@functools.cache
def workspace_settings() -> WorkspaceSettings:
    from chalicelib.services.conversation import WorkspaceSettings

    return WorkspaceSettings(directory_repository())


@functools.cache
def conversation_service() -> ConversationService:
    from chalicelib.services.conversation import ConversationService

    return ConversationService(ticket_service(), activity_repository(), status_catalog(), workspace_settings())


@functools.cache
def template_service() -> TemplateService:
    from chalicelib.services.conversation import TemplateService

    return TemplateService(directory_repository(), ticket_service(), workspace_settings())


@functools.cache
def logger() -> Logger:
    from aws_lambda_powertools import Logger

    return Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "helpdesk"))


@functools.cache
def idempotency_config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="body",
        expires_after_seconds=24 * 3600,
        raise_on_no_idempotency_key=True,
    )


@functools.cache
def idempotent_runner() -> Callable[..., dict[str, Any]]:
    """Runs a POST once per (caller, route, Idempotency-Key); replays its response for 24 h."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

    from chalicelib.storage import keys

    layer = DynamoDBPersistenceLayer(
        table_name=settings().table_name,
        key_attr="PK",
        sort_key_attr="SK",
        static_pk_value=keys.IDEMPOTENCY_PK,
        expiry_attr="ttl",
    )

    @idempotent_function(data_keyword_argument="request", persistence_store=layer, config=idempotency_config())
    def run(request: dict[str, Any], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return compute()

    return run


def reset() -> None:
    """Forget every built dependency (tests rebind to a fresh environment)."""
    for builder in (
        settings,
        _storage_bound,
        ticket_repository,
        directory_repository,
        status_catalog,
        ticket_service,
        directory_service,
        activity_repository,
        workspace_settings,
        conversation_service,
        template_service,
        idempotency_config,
        idempotent_runner,
        stepfunctions_client,
        escalation_repository,
        escalation_workflow,
        escalation_service,
        escalation_starter,
        sla_config_cache,
        sla_service,
        sla_timers,
        s3_client,
        attachment_repository,
        file_store,
        record_actions_service,
        event_repository,
        events_client,
        event_feed,
        webhook_service,
        sqs_client,
        _delivery_storage_bound,
        webhook_cache,
    ):
        builder.cache_clear()


# -- escalations (issue 4) ------------------------------------------------------------
@functools.cache
def stepfunctions_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("stepfunctions", config=Config(retries={"mode": "standard", "max_attempts": 3}))


@functools.cache
def escalation_repository() -> EscalationRepository:
    from chalicelib.storage.escalations import EscalationRepository

    _storage_bound()
    return EscalationRepository()


@functools.cache
def escalation_workflow() -> EscalationWorkflow:
    from chalicelib.storage.escalations import EscalationWorkflow

    return EscalationWorkflow(stepfunctions_client, settings().escalation_state_machine_arn)


@functools.cache
def escalation_starter() -> EscalationStarter:
    from chalicelib.services.escalations import EscalationStarter
    from chalicelib.storage.escalations import EscalationWorkflow

    # Read directly, not through Settings: the stream function has no API secrets.
    targets = json.loads(os.environ.get("HELPDESK_ESCALATION_STAGE_TARGETS") or "{}")
    workflow = EscalationWorkflow(stepfunctions_client, os.environ.get("HELPDESK_ESCALATION_STATE_MACHINE", ""))
    return EscalationStarter(workflow, targets)


@functools.cache
def escalation_service() -> EscalationService:
    from chalicelib.services.escalations import EscalationService

    return EscalationService(
        escalation_repository(), escalation_workflow(), ticket_service(), settings().escalation_stage_targets
    )


# -- record actions (issue 3) ---------------------------------------------------------
@functools.cache
def s3_client() -> Any:
    import boto3
    from botocore.config import Config

    # SigV4: presigned URLs must work for buckets in every region.
    return boto3.client("s3", config=Config(signature_version="s3v4", retries={"mode": "standard", "max_attempts": 3}))


@functools.cache
def attachment_repository() -> AttachmentRepository:
    from chalicelib.storage.attachments import AttachmentRepository

    _storage_bound()
    return AttachmentRepository()


@functools.cache
def file_store() -> FileStore:
    from chalicelib.storage.attachments import FileStore

    return FileStore(s3_client, lambda: settings().attachments_bucket)


@functools.cache
def record_actions_service() -> RecordActionsService:
    from chalicelib.services.record_actions import RecordActionsService

    return RecordActionsService(
        ticket_service(), ticket_repository(), activity_repository(), attachment_repository(), file_store()
    )


# -- SLA clocks (issue 4) -------------------------------------------------------------
@functools.cache
def sla_config_cache() -> SlaConfigCache:
    from chalicelib.services.sla import SlaConfigCache

    return SlaConfigCache(directory_repository())


@functools.cache
def sla_service() -> SlaService:
    from chalicelib.services.sla import SlaService
    from chalicelib.storage.sla import SlaLedgerRepository

    _storage_bound()
    return SlaService(sla_config_cache(), SlaLedgerRepository())


@functools.cache
def sla_timers() -> SlaTimers:
    from chalicelib.storage.sla import SlaTimers

    # Read directly, not through Settings: the stream handler that starts timers has no API secrets.
    return SlaTimers(stepfunctions_client(), os.environ.get("HELPDESK_SLA_STATE_MACHINE", ""))


# -- events (outbox, publisher, change feed) -------------------------------------------
@functools.cache
def event_repository() -> EventRepository:
    from chalicelib.storage.events import EventRepository

    _storage_bound()
    return EventRepository()


@functools.cache
def events_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("events", config=Config(retries={"mode": "standard", "max_attempts": 3}))


@functools.cache
def event_feed() -> EventFeed:
    from chalicelib.services.events import EventFeed

    return EventFeed(event_repository())


# -- webhooks ---------------------------------------------------------------------------
@functools.cache
def webhook_service() -> WebhookService:
    from chalicelib.services.webhooks import WebhookService

    return WebhookService(directory_repository())


@functools.cache
def sqs_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("sqs", config=Config(retries={"mode": "standard", "max_attempts": 3}))


@functools.cache
def _delivery_storage_bound() -> None:
    from chalicelib.storage.models import bind

    # Read directly, not through Settings: the delivery function has no API secrets. Same
    # variable and default as Settings.table_name, so both bindings agree in one process.
    bind(
        os.environ.get("HELPDESK_TABLE", "helpdesk-local-HelpdeskTable"),
        host=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL"),
    )


@functools.cache
def webhook_cache() -> WebhookCache:
    from chalicelib.services.webhooks import WebhookCache
    from chalicelib.storage.directory import DirectoryRepository

    _delivery_storage_bound()
    return WebhookCache(DirectoryRepository())
