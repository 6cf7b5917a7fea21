"""Composition root: builds every dependency lazily, once per container (nothing at import).

"Once per container" is once per function environment: in AWS each function has its own process;
the local stack and the tests run several functions in one, each inside its own
`config.function_environment`, so every builder caches per environment and one function never
gets what was built from another's variables (docs/decisions.md, "Lambda environments and
permissions").
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib import config
from chalicelib.config import MailSettings, Settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from chalicelib.services.attachments import AttachmentService
    from chalicelib.services.automations import AutomationService, Automator
    from chalicelib.services.conversation import ConversationService
    from chalicelib.services.directory import DirectoryService
    from chalicelib.services.escalations import EscalationService, EscalationStarter
    from chalicelib.services.events import EventFeed
    from chalicelib.services.imports import ImportService
    from chalicelib.services.inbound_mail import InboundMailService, InboundOriginals
    from chalicelib.services.links import LinkService
    from chalicelib.services.merge import MergeService
    from chalicelib.services.presence import PresenceService
    from chalicelib.services.proxy_access import ProxyAccessService
    from chalicelib.services.renames import Renames
    from chalicelib.services.routing import OpenCounters, Router, RoutingRuleService
    from chalicelib.services.sla import SlaConfigCache, SlaService
    from chalicelib.services.statuses import StatusCatalogCache
    from chalicelib.services.templates import TemplateService
    from chalicelib.services.tickets import TicketService
    from chalicelib.services.time_entries import TimeEntryService
    from chalicelib.services.time_rules import TimeRules
    from chalicelib.services.views import ViewService
    from chalicelib.services.webhooks import WebhookCache, WebhookService
    from chalicelib.services.workspace_settings import WorkspaceSettings
    from chalicelib.storage.activities import ActivityRepository
    from chalicelib.storage.attachments import AttachmentRepository, FileStore
    from chalicelib.storage.directory import DirectoryRepository
    from chalicelib.storage.escalations import EscalationRepository, EscalationWorkflow
    from chalicelib.storage.events import EventRepository
    from chalicelib.storage.idempotency import IdempotentRunner
    from chalicelib.storage.inbound_mail import InboundMailRepository
    from chalicelib.storage.mail import MailRepository, SesSender
    from chalicelib.storage.presence import PresenceRepository
    from chalicelib.storage.routing import RoutingRepository
    from chalicelib.storage.secrets import SecretReader
    from chalicelib.storage.sla import SlaTimers
    from chalicelib.storage.stream import StreamImages
    from chalicelib.storage.tickets import TicketRepository
    from chalicelib.storage.user_pool import UserPool


T = TypeVar("T")


class _PerEnvironment:
    """A zero-argument builder called once per function environment (`functools.cache`, keyed by
    `config.environment_key()`)."""

    def __init__(self, builder: Callable[[], Any]) -> None:
        functools.update_wrapper(self, builder)
        self._builder = builder
        self._built: dict[object, Any] = {}
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        key = config.environment_key()
        try:
            return self._built[key]
        except KeyError:
            pass
        value = self._builder()
        with self._lock:
            return self._built.setdefault(key, value)

    def cache_clear(self) -> None:
        self._built.clear()


_BUILDERS: list[_PerEnvironment] = []  # every builder, so reset() cannot miss a new one


def per_environment(builder: Callable[[], T]) -> Callable[[], T]:
    built = _PerEnvironment(builder)
    _BUILDERS.append(built)
    return built


def clock() -> datetime:
    """The one place business code gets `now` from."""
    return datetime.now(UTC)


@per_environment
def settings() -> Settings:
    return Settings.from_env()


@per_environment
def _storage_bound() -> None:
    from chalicelib.storage.models import bind

    bind(settings().table_name, host=config.endpoint_url(config.environ(), "dynamodb"))


@per_environment
def ticket_repository() -> TicketRepository:
    from chalicelib.storage.tickets import TicketRepository

    _storage_bound()
    return TicketRepository()


@per_environment
def directory_repository() -> DirectoryRepository:
    from chalicelib.storage.directory import DirectoryRepository

    _storage_bound()
    return DirectoryRepository()


@per_environment
def sign_in_directory() -> DirectoryRepository:
    """The Cognito trigger's directory: bound to the table alone, not through settings() (the
    trigger has no cursor secret or auth settings)."""
    from chalicelib.storage.directory import DirectoryRepository
    from chalicelib.storage.models import bind

    env = config.environ()
    bind(env["HELPDESK_TABLE"], host=config.endpoint_url(env, "dynamodb"))
    return DirectoryRepository()


@per_environment
def sign_in_user_pool() -> UserPool:
    """The Cognito trigger's view of the user pool (whether an admin has a verified TOTP app)."""
    from chalicelib.storage.user_pool import UserPool

    return UserPool.connect()


def stream_images() -> StreamImages:
    """How the stream handlers read the table's images (imported on first use)."""
    from chalicelib.storage.stream import StreamImages

    return StreamImages()


class OperatorStores:
    """The repositories the operator commands (`chalicelib/cli.py`) use, bound to a table named
    on the command line with the operator's own credentials (no function environment)."""

    def __init__(self, table: str, host: str | None) -> None:
        from chalicelib.storage.models import bind

        bind(table, host=host)

    def directory(self) -> DirectoryRepository:
        from chalicelib.storage.directory import DirectoryRepository

        return DirectoryRepository()

    def escalations(self) -> EscalationRepository:
        from chalicelib.storage.escalations import EscalationRepository

        return EscalationRepository()

    def tickets(self) -> TicketRepository:
        from chalicelib.storage.tickets import TicketRepository

        return TicketRepository()

    def inbound_mail(self) -> InboundMailRepository:
        from chalicelib.storage.inbound_mail import InboundMailRepository

        return InboundMailRepository()


def operator_stores(table: str, host: str | None) -> OperatorStores:
    return OperatorStores(table, host)


@per_environment
def status_catalog() -> StatusCatalogCache:
    from chalicelib.services.statuses import StatusCatalogCache

    return StatusCatalogCache(directory_repository())


@per_environment
def ticket_service() -> TicketService:
    from chalicelib.services.tickets import TicketService

    return TicketService(ticket_repository(), directory_repository(), status_catalog(), sla=sla_service())


@per_environment
def directory_service() -> DirectoryService:
    from chalicelib.services.directory import DirectoryService

    return DirectoryService(directory_repository(), ticket_repository(), status_catalog(), sla=sla_service())


@per_environment
def activity_repository() -> ActivityRepository:
    from chalicelib.storage.activities import ActivityRepository

    _storage_bound()
    return ActivityRepository()


@per_environment
def workspace_settings() -> WorkspaceSettings:
    from chalicelib.services.workspace_settings import WorkspaceSettings

    return WorkspaceSettings(directory_repository())


@per_environment
def conversation_service() -> ConversationService:
    from chalicelib.services.conversation import ConversationService

    return ConversationService(ticket_service(), activity_repository(), status_catalog(), workspace_settings())


@per_environment
def template_service() -> TemplateService:
    from chalicelib.services.templates import TemplateService

    return TemplateService(directory_repository(), ticket_service(), workspace_settings())


# One per process, not per environment: Powertools Logger instances of one service share the
# python logger, and a second instance takes that logger's first handler as its own (chalice's,
# when an app with configure_logs created one), whose formatter cannot append keys.
@functools.cache
def logger() -> Logger:
    from aws_lambda_powertools import Logger

    return Logger(service=config.environ().get("POWERTOOLS_SERVICE_NAME", "helpdesk"))


@per_environment
def idempotency_config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="body",
        expires_after_seconds=24 * 3600,
        raise_on_no_idempotency_key=True,
    )


@per_environment
def idempotent_runner() -> IdempotentRunner:
    """Runs a POST once per (caller, route, Idempotency-Key); replays its response for 24 h."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

    from chalicelib.storage import keys
    from chalicelib.storage.idempotency import IdempotentRunner

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

    return IdempotentRunner(run)


def reset() -> None:
    """Forget every built dependency (tests rebind to a fresh environment)."""
    for builder in _BUILDERS:
        builder.cache_clear()


# -- secrets read at run time (issue 15) -----------------------------------------------------
@per_environment
def secretsmanager_client() -> Any:
    from chalicelib.storage.clients import aws_client

    return aws_client("secretsmanager")


@per_environment
def secret_reader() -> SecretReader:
    from chalicelib.storage.secrets import SecretReader

    return SecretReader(secretsmanager_client)


def cursor_secret() -> str:
    """The cursors' HMAC key: a configured value (tests; the local HS256 secret without an ARN),
    else the Secrets Manager secret of HELPDESK_CURSOR_SECRET_ARN, read at most once per TTL."""
    current = settings()
    if current.configured_cursor_secret or not current.cursor_secret_arn:
        return current.cursor_secret
    return secret_reader().value(current.cursor_secret_arn)


def _mail_secret_ring(arn: str) -> tuple[str, ...]:
    from chalicelib.storage.secrets import PREVIOUS

    reader = secret_reader()
    # After a rotation AWSPREVIOUS holds the old key: replies to mail sent before still verify.
    return tuple(value for value in (reader.value(arn), reader.optional(arn, PREVIOUS)) if value)


# -- escalations (issue 4) ------------------------------------------------------------
@per_environment
def stepfunctions_client() -> Any:
    from chalicelib.storage.clients import aws_client

    return aws_client("stepfunctions")


@per_environment
def escalation_repository() -> EscalationRepository:
    from chalicelib.storage.escalations import EscalationRepository

    _storage_bound()
    return EscalationRepository()


@per_environment
def escalation_workflow() -> EscalationWorkflow:
    from chalicelib.storage.escalations import EscalationWorkflow

    return EscalationWorkflow(stepfunctions_client, settings().escalation_state_machine_arn)


@per_environment
def escalation_starter() -> EscalationStarter:
    from chalicelib.services.escalations import EscalationStarter
    from chalicelib.storage.escalations import EscalationWorkflow

    # Read directly, not through Settings: the stream function has no API secrets.
    env = config.environ()
    targets = json.loads(env.get("HELPDESK_ESCALATION_STAGE_TARGETS") or "{}")
    workflow = EscalationWorkflow(stepfunctions_client, env.get("HELPDESK_ESCALATION_STATE_MACHINE", ""))
    return EscalationStarter(workflow, targets)


@per_environment
def escalation_service() -> EscalationService:
    from chalicelib.services.escalations import EscalationService

    return EscalationService(
        escalation_repository(), escalation_workflow(), ticket_service(), settings().escalation_stage_targets
    )


# -- record actions (issue 3) ---------------------------------------------------------
@per_environment
def s3_client() -> Any:
    from chalicelib.storage.clients import aws_client

    # SigV4: presigned URLs must work for buckets in every region.
    return aws_client("s3", signature_version="s3v4")


@per_environment
def attachment_repository() -> AttachmentRepository:
    from chalicelib.storage.attachments import AttachmentRepository

    _storage_bound()
    return AttachmentRepository()


@per_environment
def file_store() -> FileStore:
    from chalicelib.storage.attachments import FileStore

    return FileStore(s3_client, lambda: settings().attachments_bucket)


@per_environment
def link_service() -> LinkService:
    from chalicelib.services.links import LinkService

    return LinkService(ticket_service(), ticket_repository(), activity_repository(), attachment_repository(), file_store())


@per_environment
def merge_service() -> MergeService:
    from chalicelib.services.merge import MergeService

    return MergeService(ticket_service(), ticket_repository(), activity_repository(), attachment_repository(), file_store())


@per_environment
def proxy_access_service() -> ProxyAccessService:
    from chalicelib.services.proxy_access import ProxyAccessService

    return ProxyAccessService(ticket_service(), ticket_repository(), activity_repository(), attachment_repository(), file_store())


@per_environment
def time_entry_service() -> TimeEntryService:
    from chalicelib.services.time_entries import TimeEntryService

    return TimeEntryService(ticket_service(), ticket_repository(), activity_repository(), attachment_repository(), file_store())


@per_environment
def attachment_service() -> AttachmentService:
    from chalicelib.services.attachments import AttachmentService

    return AttachmentService(ticket_service(), ticket_repository(), activity_repository(), attachment_repository(), file_store())


# -- views and presence (issue 11) -----------------------------------------------------
@per_environment
def view_service() -> ViewService:
    from chalicelib.services.views import ViewService
    from chalicelib.storage.views import ViewRepository

    _storage_bound()
    return ViewService(ticket_service(), ViewRepository(), routing_repository())


@per_environment
def presence_repository() -> PresenceRepository:
    from chalicelib.storage.presence import PresenceRepository

    _storage_bound()
    return PresenceRepository()


@per_environment
def presence_service() -> PresenceService:
    from chalicelib.services.presence import PresenceService

    return PresenceService(presence_repository(), ticket_service())


# -- SLA clocks (issue 4) -------------------------------------------------------------
@per_environment
def sla_config_cache() -> SlaConfigCache:
    from chalicelib.services.sla import SlaConfigCache

    return SlaConfigCache(directory_repository())


@per_environment
def sla_service() -> SlaService:
    from chalicelib.services.sla import SlaService
    from chalicelib.storage.sla import SlaLedgerRepository

    _storage_bound()
    return SlaService(sla_config_cache(), SlaLedgerRepository())


@per_environment
def import_service() -> ImportService:
    """The import of another help desk's export (`python -m chalicelib.cli import`)."""
    from chalicelib.services.imports import ImportService
    from chalicelib.storage.imports import ImportWriter

    return ImportService(ImportWriter(ticket_repository()), ticket_repository(), sla_service(), clock, directory_repository())


@per_environment
def sla_timers() -> SlaTimers:
    from chalicelib.storage.sla import SlaTimers

    # Read directly, not through Settings: the stream handler that starts timers has no API secrets.
    return SlaTimers(stepfunctions_client(), config.environ().get("HELPDESK_SLA_STATE_MACHINE", ""))


# -- events (outbox, publisher, change feed) -------------------------------------------
@per_environment
def event_repository() -> EventRepository:
    from chalicelib.storage.events import EventRepository

    _storage_bound()
    return EventRepository()


@per_environment
def events_client() -> Any:
    from chalicelib.storage.clients import aws_client

    return aws_client("events")


@per_environment
def event_feed() -> EventFeed:
    from chalicelib.services.events import EventFeed

    return EventFeed(event_repository())


# -- webhooks ---------------------------------------------------------------------------
@per_environment
def webhook_service() -> WebhookService:
    from chalicelib.services.webhooks import WebhookService

    return WebhookService(directory_repository())


@per_environment
def sqs_client() -> Any:
    from chalicelib.storage.clients import aws_client

    return aws_client("sqs")


@per_environment
def _delivery_storage_bound() -> None:
    from chalicelib.storage.models import bind

    # Read directly, not through Settings: the delivery function has no API secrets. Same
    # variable and default as Settings.table_name, so both bindings agree in one process.
    env = config.environ()
    bind(env.get("HELPDESK_TABLE", "helpdesk-local-HelpdeskTable"), host=config.endpoint_url(env, "dynamodb"))


@per_environment
def webhook_cache() -> WebhookCache:
    from chalicelib.services.webhooks import WebhookCache
    from chalicelib.storage.directory import DirectoryRepository

    _delivery_storage_bound()
    return WebhookCache(DirectoryRepository())


# -- mail notifications (issue 10) ----------------------------------------------------------
# The sender function has only its own environment (no API secrets): it binds storage like the
# webhook delivery does and reads MailSettings, never Settings.
@per_environment
def mail_settings() -> MailSettings:
    from chalicelib.config import MailSettings

    return MailSettings.from_env(secret_ring=_mail_secret_ring)


@per_environment
def mail_ticket_repository() -> TicketRepository:
    from chalicelib.storage.tickets import TicketRepository

    _delivery_storage_bound()
    return TicketRepository()


@per_environment
def mail_directory_repository() -> DirectoryRepository:
    from chalicelib.storage.directory import DirectoryRepository

    _delivery_storage_bound()
    return DirectoryRepository()


@per_environment
def mail_activity_repository() -> ActivityRepository:
    from chalicelib.storage.activities import ActivityRepository

    _delivery_storage_bound()
    return ActivityRepository()


@per_environment
def mail_status_catalog() -> StatusCatalogCache:
    from chalicelib.services.statuses import StatusCatalogCache

    return StatusCatalogCache(mail_directory_repository())


@per_environment
def mail_repository() -> MailRepository:
    from chalicelib.storage.mail import MailRepository

    _delivery_storage_bound()
    return MailRepository()


@per_environment
def ses_client() -> Any:
    from chalicelib.storage.clients import aws_client

    # One attempt: a throttled send fails the batch item and SQS retries it later; botocore's
    # own retries would hold the claim while SES is already refusing.
    return aws_client("ses", max_attempts=1)


@per_environment
def ses_sender() -> SesSender:
    from chalicelib.storage.mail import SesSender

    return SesSender(ses_client(), mail_settings().configuration_set)


# -- routing (issue 11) ---------------------------------------------------------------------
@per_environment
def routing_rule_service() -> RoutingRuleService:
    from chalicelib.services.routing import RoutingRuleService

    return RoutingRuleService(directory_repository())


@per_environment
def routing_repository() -> RoutingRepository:
    from chalicelib.storage.routing import RoutingRepository

    _storage_bound()
    return RoutingRepository()


@per_environment
def router() -> Router:
    from chalicelib.services.routing import Router

    return Router(ticket_service(), directory_repository(), routing_repository(), status_catalog())


@per_environment
def open_counters() -> OpenCounters:
    from chalicelib.services.routing import OpenCounters

    return OpenCounters(routing_repository())


# -- automations (issue 11) --------------------------------------------------------------------
@per_environment
def automation_service() -> AutomationService:
    from chalicelib.services.automations import AutomationService

    return AutomationService(directory_repository())


@per_environment
def automator() -> Automator:
    from chalicelib.handlers.metrics import emit_metric
    from chalicelib.services.automations import Automator
    from chalicelib.storage.automations import AutomationRunRepository

    _storage_bound()
    return Automator(
        ticket_service(),
        conversation_service(),
        template_service(),
        directory_repository(),
        AutomationRunRepository(),
        status_catalog(),
        route_new=router().route_new,
        count=emit_metric,
    )


@per_environment
def time_rules() -> TimeRules:
    from chalicelib.handlers.metrics import emit_metric
    from chalicelib.services.time_rules import TimeRules
    from chalicelib.storage.time_rules import TimeRuleWaits

    # Read directly, like the SLA timers' machine: the stream handler has no API secrets.
    waits = TimeRuleWaits(stepfunctions_client(), config.environ().get("HELPDESK_TIME_RULE_STATE_MACHINE", ""))
    return TimeRules(ticket_service(), automator(), sla_config_cache(), waits, count=emit_metric)


@per_environment
def renames() -> Renames:
    from chalicelib.services.renames import Renames
    from chalicelib.storage.renames import RenameRepository

    _storage_bound()
    return Renames(ticket_repository(), RenameRepository())


# -- inbound mail (issue 10) -------------------------------------------------------------------
# The receiver writes tickets and comments through the same services as the API (same rules,
# events, SLA), bound to the table like the API is (Settings needs no API secret to be built).
@per_environment
def inbound_mail_repository() -> InboundMailRepository:
    from chalicelib.storage.inbound_mail import InboundMailRepository

    _storage_bound()
    return InboundMailRepository()


def inbound_mail_service(count: Callable[[str, int], None]) -> InboundMailService:
    """Built once per environment by the handler (`handlers/inbound_mail.receiver`)."""
    from chalicelib.services.inbound_mail import InboundMailService
    from chalicelib.storage.inbound_mail import InboundFiles, RawMailStore, RefusalNotices

    return InboundMailService(
        RawMailStore(s3_client()),
        inbound_mail_repository(),
        ticket_repository(),
        directory_repository(),
        ticket_service(),
        conversation_service(),
        mail_settings(),
        InboundFiles(s3_client(), lambda: settings().attachments_bucket),
        RefusalNotices(),
        ses_sender(),
        clock=clock,
        count=count,
        log=logger(),
    )


@per_environment
def inbound_originals() -> InboundOriginals:
    from chalicelib.services.inbound_mail import InboundOriginals

    return InboundOriginals(ticket_service(), inbound_mail_repository(), s3_client)
