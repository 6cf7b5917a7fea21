"""Helpdesk HTTP API: Chalice routes registered from blueprints; all wiring is lazy."""

from chalice import Chalice

from chalicelib.api import auth, directory, escalations, meta, record_actions, sla, templates, tickets, timeline

app = Chalice(app_name="helpdesk", configure_logs=False)  # Powertools Logger owns logging
app.register_blueprint(auth.auth_blueprint)
app.register_blueprint(meta.api.blueprint)
app.register_blueprint(tickets.api.blueprint)
app.register_blueprint(directory.api.blueprint)
app.register_blueprint(timeline.api.blueprint)
app.register_blueprint(templates.api.blueprint)
app.register_blueprint(escalations.api.blueprint)
app.register_blueprint(record_actions.api.blueprint)
app.register_blueprint(sla.api.blueprint)

from chalicelib.handlers import cognito  # noqa: E402  (issue 5: Cognito pre-token-generation trigger)

app.register_blueprint(cognito.cognito_blueprint)

from chalicelib.api import events as events_api  # noqa: E402  (the change feed, GET /v1/events)
from chalicelib.handlers import events as events_publisher  # noqa: E402  (outbox → EventBridge)

app.register_blueprint(events_api.api.blueprint)
app.register_blueprint(events_publisher.events_blueprint)
from chalicelib.handlers import sla_timers  # noqa: E402  (stream → one SLA timer workflow per clock generation)

app.register_blueprint(sla_timers.sla_blueprint)
