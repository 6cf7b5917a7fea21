"""The composition root of the local stack: start everything in order, stop it cleanly."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from botocore.exceptions import ClientError
from chalice.app import Chalice
from chalice.config import Config

from devstack import (
    dynamodb_isolation,
    environment,
    journal,
    lambda_dispatch,
    lambda_env,
    mail_sent,
    moto_fast_paths,
    moto_index_query,
    moto_quirks,
    outbox,
    s3_upload_policy,
    smtp_receiver,
    stream_ledger,
    time_rule_waits,
)
from devstack.aws import LocalAws
from devstack.demo import DEMO_USERS_FILE, DemoSeedError, DemoUser, load_demo_users, seed_demo_data
from devstack.event_sources import connect_event_sources
from devstack.http_api import SHUTDOWN_GRACE_SECONDS, STAGE, HttpApi, Throttle, load_chalice_config, request_log, serve
from devstack.journal import JOURNAL_DIR, Journal
from devstack.moto_server import MotoServer, PortInUse, start_moto
from devstack.paths import DEFAULT_STATE_DIR, PROJECT_DIR, TEMPLATE_PATH
from devstack.provision import Provisioned, Provisioner, load_template
from devstack.snapshot import SnapshotWriter, State, recover, snapshot_path, state_to_restore
from devstack.stream_filters import template_filters
from devstack.web_app import WebApp

TOKENS_FILE = "tokens.env"
DETAILS_FILE = "stack.txt"
LOG_FILE = "stack.log"
READY_MESSAGE = "Helpdesk local stack ready on"
logger = logging.getLogger(__name__)


@dataclass
class StackOptions:
    state_dir: Path = DEFAULT_STATE_DIR
    port: int = 8000
    moto_port: int = 4566
    smtp_port: int = smtp_receiver.DEFAULT_PORT
    host: str = "127.0.0.1"
    fresh: bool = False
    app_module: str = "app"
    app_attribute: str = "app"
    seed_demo: bool = True
    snapshot_interval: float = 10.0
    throttle: str | None = None
    """None or "off": no throttling; "template": the template's stage limits; "RATE:BURST"."""
    project_dir: Path = PROJECT_DIR
    template_path: Path = TEMPLATE_PATH


@dataclass
class LocalStack:
    """Everything one `python -m devstack` runs; `start()` then `stop()`."""

    options: StackOptions
    moto: MotoServer | None = None
    aws: LocalAws | None = None
    provisioned: Provisioned | None = None
    http_api: HttpApi | None = None
    smtp: smtp_receiver.SmtpReceiver | None = None
    snapshot_writer: SnapshotWriter | None = None
    journal: Journal | None = None
    first_start: bool = False
    jwt_secret: str = ""
    restored: dict[str, int] = field(default_factory=dict)
    event_sources: list[str] = field(default_factory=list)
    demo_error: str | None = None
    demo_users: list[DemoUser] = field(default_factory=list)
    started: bool = False
    restarted_timers: int = 0
    resumed_escalations: list[str] = field(default_factory=list)
    restarted_time_rule_waits: list[str] = field(default_factory=list)
    republished_events: int = 0
    resumed_stream_batches: int = 0
    publisher_name: str = ""

    def __post_init__(self) -> None:
        self.published = outbox.PublishedList(self.options.state_dir)
        self.in_flight: stream_ledger.InFlight | None = None
        self.throttle: Throttle | None = None

    def _throttle(self) -> Throttle | None:
        spec = self.options.throttle
        if spec is None or spec == "off":
            return None
        template = load_template(self.options.template_path)
        if spec == "template":
            return Throttle.from_template(template)
        rate, burst = parse_throttle(spec)
        return Throttle.from_template(template, rate, burst)

    @property
    def snapshot_file(self) -> Path:
        return snapshot_path(self.options.state_dir)

    def start(self) -> None:
        """Bring everything up; the order matters and is explained step by step."""
        saved_state = self._prepare_state_dir()
        # Concurrent API requests must not lose writes or crash moto's transactions.
        dynamodb_isolation.install()
        # Query from sorted key lists instead of reading the whole table (same answers as moto's;
        # before the journal: its wrapper must stay outermost, see the module on lock order).
        moto_index_query.install()
        # Every acknowledged item/object write is fsynced to <state dir>/journal first (outermost
        # wrapper, so it sees only what moto applied and committed).
        journal.install()
        # Byte-identical but cheaper moto: its DynamoDB serializer, per-execution ASL parse and
        # per-query table sort were most of the CPU under load (see the module).
        moto_fast_paths.install()
        # moto's Step Functions as AWS behaves where our definitions depend on it (entered times, timestamps).
        moto_quirks.install()
        # moto stores any form POST; AWS refuses one that breaks its presigned policy.
        s3_upload_policy.install()
        # Every mail the app sends through (moto's) SES also lands in <state dir>/mail/sent/.
        mail_sent.install(self.options.state_dir)
        self.moto = start_moto(self.options.host, self.options.moto_port)
        environment.point_aws_at_moto(self.moto.endpoint_url)
        self.aws = LocalAws(self.moto.endpoint_url, region=environment.local_region())
        config = load_chalice_config(self.options.project_dir, self.options.app_module, self.options.app_attribute)
        self._set_environment(config.environment_variables)
        app = self._provision_around_app_import(config)
        assert self.provisioned is not None
        # Restore before connecting event sources: restored items must not replay through streams.
        self._restore(saved_state)
        filters = template_filters(load_template(self.options.template_path))
        # Stream batches are noted until their handler returns (the publisher's: devstack.outbox).
        self.in_flight = stream_ledger.InFlight(self.options.state_dir, untracked=[self.publisher_name])
        lambda_dispatch.track_stream_batches(self.in_flight)
        # Time-rule waits live only in their executions: noted, to start the pending ones again.
        waits = time_rule_waits.WaitLedger(self.options.state_dir, self.provisioned.physical.get("TimeRuleStateMachine", ""))
        time_rule_waits.track(waits)
        self.event_sources = connect_event_sources(app, config.app_name, STAGE, self.aws, filters)
        if saved_state is not None:
            # Imported here: it imports the app's handlers, which read the stream ARN the
            # provisioning above put into the environment.
            from devstack.timers import restart_sla_timers, restart_time_rule_waits, resume_escalations

            # Before anything below writes: the outbox Query must not see (and publish a second
            # time) the events those writes stream to the publisher themselves.
            self.republished_events = outbox.publish_unpublished(
                self.aws.client("dynamodb"),
                self.aws.client("lambda"),
                self.provisioned.physical["HelpdeskTable"],
                self.publisher_name,
                self.published,
            )
            self.resumed_stream_batches = stream_ledger.resume(self.in_flight, self.aws.client("lambda"))
            self.restarted_timers = restart_sla_timers(self.aws.client("dynamodb"), self.provisioned.physical["HelpdeskTable"])
            self.resumed_escalations = resume_escalations()
            self.restarted_time_rule_waits = restart_time_rule_waits(
                waits, self.aws.client("dynamodb"), self.provisioned.physical["HelpdeskTable"]
            )
        else:
            self.published.replace(())
            self.in_flight.reopen([])
        self.snapshot_writer = SnapshotWriter(
            self.aws,
            self.provisioned,
            self.snapshot_file,
            interval=self.options.snapshot_interval,
            saved_state=saved_state,
            journal=self.journal,
        )
        self.snapshot_writer.start()
        storage = (self.moto.endpoint_url,) if self.moto is not None else ()  # attachments are posted there
        web = WebApp(self.options.project_dir / "web", self._demo_sign_in, storage)
        self.http_api = serve(config, self.options.host, self.options.port, web=web)
        # Mail in: SMTP on the loopback address, doing what the template's receipt rule does.
        route = smtp_receiver.inbound_route(self.aws, self.provisioned)
        if route is not None:
            self.smtp = smtp_receiver.SmtpReceiver(self.aws, route, port=self.options.smtp_port)
            self.smtp.start()
        if self.first_start and self.options.seed_demo:
            try:
                seed_demo_data(self.http_api.url, self.jwt_secret, self.options.state_dir)
            except DemoSeedError as exc:
                self.demo_error = str(exc)
        self.demo_users = load_demo_users(self.options.state_dir)
        # After the demo data: the limits are for clients, as API Gateway's are.
        self.throttle = self._throttle()
        self.http_api.throttle_with(self.throttle)
        self.started = True

    def _demo_sign_in(self) -> list[dict[str, object]]:
        """The web app's local sign-in list: each demo user with a token minted now."""
        return [
            {"label": u.label, "name": u.name, "role": u.role, "describe": u.describe(), "token": u.token(self.jwt_secret)}
            for u in self.demo_users
        ]

    def _prepare_state_dir(self) -> State | None:
        """The saved state, if any (none means a first start: demo data gets seeded)."""
        state_dir = self.options.state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        if self.options.fresh:
            # Demo user ids and tokens belong to the data being thrown away.
            for name in (self.snapshot_file.name, DEMO_USERS_FILE, TOKENS_FILE):
                (state_dir / name).unlink(missing_ok=True)
            shutil.rmtree(state_dir / JOURNAL_DIR, ignore_errors=True)
            shutil.rmtree(state_dir / outbox.OUTBOX_DIR, ignore_errors=True)
            shutil.rmtree(state_dir / stream_ledger.LEDGER_DIR, ignore_errors=True)
            shutil.rmtree(state_dir / time_rule_waits.WAITS_DIR, ignore_errors=True)
        state = state_to_restore(state_dir)
        self.first_start = state is None
        return state

    def _set_environment(self, variables: dict[str, str]) -> None:
        environment.apply(variables)
        # Neither chalice's config nor the template may switch the local stack to Cognito.
        self.jwt_secret = environment.set_local_auth()

    def _provision_around_app_import(self, config: Config) -> Chalice:
        """Provision the template, import the app, then create what depends on its functions.

        Resource names reach the environment before the import, so an app that reads them at
        import time finds them; the functions chalice would generate are known only after it.
        """
        assert self.aws is not None
        provisioner = Provisioner(
            load_template(self.options.template_path),
            self.aws,
            name_prefix=f"{config.app_name}-{STAGE}-",
            template_dir=self.options.template_path.parent,
        )
        provisioner.create_resources()
        self._set_environment(provisioner.environment()[0])
        app = config.chalice_app
        functions = lambda_dispatch.chalice_functions(app, config.app_name, STAGE)
        # The events it publishes are noted, so a start publishes those it never got to (devstack.outbox).
        self.publisher_name, publisher = functions[outbox.PUBLISHER_LOGICAL_ID]
        functions[outbox.PUBLISHER_LOGICAL_ID] = (self.publisher_name, outbox.recording_published(publisher, self.published))
        provisioner.add_lambda_functions(
            {
                **{logical_id: name for logical_id, (name, _) in functions.items()},
                **lambda_dispatch.chalice_authorizers(app, config.app_name, STAGE),
            }
        )
        self.provisioned = provisioner.finish()
        # The process (and so the HTTP API chalice's local server runs) gets every function's
        # variables; an invocation through moto gets exactly its function's (devstack.lambda_env).
        self._set_environment(self.provisioned.env)
        environments = lambda_env.declared_environments(
            app, config, STAGE, self.provisioned, lambda_env.local_stand_ins(self.jwt_secret)
        )
        lambda_dispatch.register_functions(
            {**functions, **lambda_dispatch.chalice_authorizer_handlers(app, config.app_name, STAGE)}, environments
        )
        return app

    def _restore(self, saved_state: State | None) -> None:
        """The snapshot and the journal's later entries back in moto; journaling starts."""
        assert self.aws is not None and self.provisioned is not None
        try:
            self.restored, self.journal = recover(self.aws, self.provisioned, self.options.state_dir, saved_state)
        except ClientError as exc:
            raise RuntimeError(
                f"{self.snapshot_file} does not fit infra/template.json any more ({exc}); start with --fresh to discard it"
            ) from exc

    def stop(self) -> bool:
        """Stop serving (SMTP, HTTP), save a last snapshot, stop moto; False if the snapshot failed."""
        saved = True
        if self.smtp is not None:
            self.smtp.stop()
            self.smtp = None
        if self.http_api is not None:
            still_running = self.http_api.stop()
            if still_running:
                logger.warning("%d request(s) still running after %g s; stopping anyway", still_running, SHUTDOWN_GRACE_SECONDS)
            self.http_api = None
        try:
            # Stream handlers still working on the last writes belong in the final snapshot.
            lambda_dispatch.drain(timeout=10)
        except TimeoutError:
            logger.warning("stream handlers still running at shutdown; their writes may be missing")
        if self.snapshot_writer is not None:
            try:
                # A stack that never got ready must not leave a snapshot: the next start would
                # not count as a first start and would skip the demo data.
                self.snapshot_writer.stop(final_save=self.started)
            except Exception:
                logger.exception("final snapshot failed; %s keeps the previous one", self.snapshot_file)
                saved = False
            self.snapshot_writer = None
        if self.journal is not None:
            journal.deactivate()
            self.journal.close()
            self.journal = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
        lambda_dispatch.uninstall()
        s3_upload_policy.uninstall()
        return saved


def parse_throttle(spec: str) -> tuple[float, int]:
    """ "RATE:BURST" (requests per second, bucket size); BURST defaults to RATE rounded up."""
    rate_text, _, burst_text = spec.partition(":")
    rate = float(rate_text)
    burst = int(burst_text) if burst_text else max(1, -int(-rate // 1))
    if rate <= 0 or burst < 1:
        raise ValueError(f"throttle {spec!r}: RATE must be > 0 and BURST >= 1")
    return rate, burst


def run(options: StackOptions) -> int:
    """Start the stack, serve until SIGINT or SIGTERM, stop it; answers the exit code.

    The console gets the banner and what goes wrong (stderr); the functions' own output
    (Powertools log lines, EMF metrics) and one line per HTTP request go to <state dir>/stack.log.
    """
    options.state_dir.mkdir(parents=True, exist_ok=True)
    with _stdout_to(options.state_dir / LOG_FILE) as console:
        return _run(options, console)


def _run(options: StackOptions, console: TextIO) -> int:
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        if stop_requested.is_set():
            # A second Ctrl-C means stopping hangs: leave without the final snapshot.
            print("Forced exit; the last periodic snapshot stays.", file=console, flush=True)
            os._exit(1)
        stop_requested.set()

    previous_handlers = {number: signal.signal(number, request_stop) for number in (signal.SIGINT, signal.SIGTERM)}
    stack = LocalStack(options)
    try:
        try:
            stack.start()
        except PortInUse as exc:
            print(f"The local stack did not start: {exc}", file=sys.stderr, flush=True)
            return 1
        except Exception:
            logger.exception("the local stack failed to start")
            return 1
        print_summary(stack, console)
        assert stack.http_api is not None
        print(f"{READY_MESSAGE} {stack.http_api.url}", file=console, flush=True)
        # Short waits keep the main thread responsive to signals on every platform.
        while not stop_requested.wait(0.5):
            pass
        print("Stopping: SMTP and HTTP servers, final snapshot, moto ...", file=console, flush=True)
    finally:
        clean = stack.stop()
        for number, handler in previous_handlers.items():
            signal.signal(number, handler)
    print(f"Stopped. State saved in {stack.snapshot_file}", file=console, flush=True)
    return 0 if clean else 1


@contextlib.contextmanager
def _stdout_to(path: Path) -> Iterator[TextIO]:
    """Point file descriptor 1 at `path` (whoever writes it: print, Powertools' handlers made
    earlier, EMF); yields a stream to the real console. Undone on exit."""
    sys.stdout.flush()
    saved = os.dup(1)
    console = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.close(log)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    request_log.addHandler(handler)
    request_log.setLevel(logging.INFO)
    request_log.propagate = False
    try:
        yield console
    finally:
        request_log.removeHandler(handler)
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        console.close()


def print_summary(stack: LocalStack, console: TextIO | None = None) -> None:
    """A short banner on the console (about 20 lines); everything else in <state dir>/stack.txt."""
    details = stack.options.state_dir / DETAILS_FILE
    details.write_text(_details(stack), encoding="utf-8")
    print(_banner(stack, details), file=console or sys.stdout, flush=True)


def _banner(stack: LocalStack, details: Path) -> str:
    assert stack.moto and stack.http_api
    options, api_url = stack.options, stack.http_api.url
    tokens_file = options.state_dir / TOKENS_FILE
    if stack.first_start:
        data = "first start" + (", demo data seeded" if options.seed_demo and not stack.demo_error else "")
    else:
        resumed = f", {len(stack.resumed_escalations)} escalation(s) resumed" if stack.resumed_escalations else ""
        republished = f", {stack.republished_events} unpublished event(s) sent" if stack.republished_events else ""
        rerun = f", {stack.resumed_stream_batches} interrupted stream batch(es) run again" if stack.resumed_stream_batches else ""
        restarted = len(stack.restarted_time_rule_waits)
        waits = f", {restarted} time rule wait(s) started again" if restarted else ""
        data = f"restored{resumed}{republished}{rerun}{waits} (--fresh starts over)"
    throttle = stack.throttle
    limits = f"{throttle.bucket.rate:g} req/s, burst {throttle.bucket.burst} (429 + Retry-After)" if throttle else "off"
    users = ", ".join(user.label for user in stack.demo_users) or "none"
    lines = [
        "",
        "Helpdesk local stack",
        f"  API         {api_url}   (reference: {api_url}/docs)",
        f"  AWS (moto)  {stack.moto.endpoint_url}   (AWS_ENDPOINT_URL for aws cli / boto3)",
        "  Mail in     " + (f"smtp://{stack.smtp.address}" if stack.smtp else "not listening"),
        f"  Mail sent   {mail_sent.sent_dir(options.state_dir)}",
        f"  Throttle    {limits}",
        f"  State       {options.state_dir}   ({data})",
        f"  Demo users  {users}",
        f"  Tokens      {tokens_file}   (TOKEN_ADMIN, TOKEN_AGENT_ALL, ...)",
        f"  Log         {options.state_dir / LOG_FILE}   (requests, the functions' log lines and metrics)",
        f"  Details     {details}   (resources, event sources, every token, minting more)",
    ]
    if stack.demo_error:
        lines.append(f"  Demo data NOT seeded: {stack.demo_error} (see {details})")
    lines += [
        "Try",
        f"  source {tokens_file}",
        f'  curl -H "Authorization: Bearer $TOKEN_ADMIN" {api_url}/v1/tickets',
        "",
    ]
    return "\n".join(lines)


def _details(stack: LocalStack) -> str:
    """What is running where, and tokens to call the API with."""
    assert stack.moto and stack.http_api and stack.provisioned
    options, provisioned = stack.options, stack.provisioned
    api_url = stack.http_api.url
    tokens_file = options.state_dir / TOKENS_FILE
    if stack.first_start:
        demo = "seeded" if options.seed_demo and not stack.demo_error else "not seeded"
        data = f"first start: empty tables, demo data {demo}"
    else:
        restored = ", ".join(f"{lid} {count}" for lid, count in stack.restored.items())
        data = f"restored {restored or 'an empty snapshot'} (--fresh starts over)"
    default_secret = stack.jwt_secret == environment.DEFAULT_JWT_SECRET
    lines = [
        "",
        "Helpdesk local stack",
        f"  API         {api_url}",
        f"  AWS (moto)  {stack.moto.endpoint_url}  (AWS_ENDPOINT_URL for aws cli / boto3)",
        f"  State dir   {options.state_dir}  (snapshot every {options.snapshot_interval:g} s when changed, and on exit)",
        f"  Data        {data}",
        f"  Mail sent   {mail_sent.sent_dir(options.state_dir)}  (one .eml per message the help desk sends)",
        "  Mail in     " + _smtp_line(stack.smtp),
        "  JWT secret  "
        + (
            f"{stack.jwt_secret}  (set HELPDESK_JWT_SECRET to choose another)"
            if default_secret
            else "HELPDESK_JWT_SECRET from your environment"
        ),
        "Resources",
        *_table((logical_id, provisioned.types[logical_id], physical) for logical_id, physical in provisioned.physical.items()),
    ]
    if provisioned.skipped:
        lines += ["Template entries not created", *(f"  {skipped}" for skipped in provisioned.skipped)]
    if provisioned.notes:
        lines += ["Notes", *(f"  {note}" for note in provisioned.notes)]
    if stack.event_sources:
        lines += ["Event sources", *(f"  {line}" for line in stack.event_sources)]
    if stack.demo_error:
        lines += [
            "Demo data NOT seeded (the stack keeps running):",
            f"  {stack.demo_error}",
            f"  retry: .venv/bin/python -m devstack.demo --api-url {api_url}"
            f" --state-dir {options.state_dir}   (or restart with --fresh)",
        ]

    exports = []
    lines.append(f"Tokens (valid 24 h, also in {tokens_file})")
    sub_width = max(len(user.sub) for user in stack.demo_users)
    for user in stack.demo_users:
        variable = "TOKEN_" + user.label.upper().replace("-", "_")
        token = user.token(stack.jwt_secret)
        exports.append(f"export {variable}={token}")
        lines.append(f"  {user.label:<16} {user.name:<14} {user.sub:<{sub_width}}  {user.describe()}")
        lines.append(f"    {variable}={token}")
    tokens_file.write_text("\n".join(exports) + "\n", encoding="utf-8")
    secret = stack.jwt_secret if default_secret else "$HELPDESK_JWT_SECRET"
    lines += [
        "Try",
        f"  source {tokens_file}",
        f'  curl -H "Authorization: Bearer $TOKEN_ADMIN" {api_url}/v1/tickets',
        "Mint another token",
        f"  HELPDESK_JWT_SECRET={secret} .venv/bin/python -m chalicelib.cli token --sub demo-admin --role admin",
        "  (agents: --role agent --teams T1,T2 --access all|team|assigned; customers: --role customer --org ORG [--org-admin])",
        "",
    ]
    return "\n".join(lines)


def _smtp_line(smtp: smtp_receiver.SmtpReceiver | None) -> str:
    if smtp is None:
        return "not listening (the template has no enabled receipt rule with an S3 action)"
    route = smtp.route
    return (
        f"smtp://{smtp.address}  (to <anyone>@{route.support_domain}; stored in {route.bucket}"
        f" under {route.prefix}, notified on {route.topic_arn or 'no topic'})"
    )


def _table(rows: Iterable[tuple[str, ...]]) -> list[str]:
    rows = list(rows)
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))] if rows else []
    return ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip() for row in rows]


def configure_output() -> None:
    # Line-buffered even when piped, so the readiness line reaches a waiting test at once.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("devstack").setLevel(logging.INFO)
