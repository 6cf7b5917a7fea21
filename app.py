"""Helpdesk HTTP API: Chalice routes registered from blueprints; all wiring is lazy."""

from chalice import Chalice

from chalicelib.api import auth, directory, escalations, meta, record_actions, templates, tickets, timeline

app = Chalice(app_name="helpdesk", configure_logs=False)  # Powertools Logger owns logging
app.register_blueprint(auth.auth_blueprint)
app.register_blueprint(meta.api.blueprint)
app.register_blueprint(tickets.api.blueprint)
app.register_blueprint(directory.api.blueprint)
app.register_blueprint(timeline.api.blueprint)
app.register_blueprint(templates.api.blueprint)
app.register_blueprint(escalations.api.blueprint)
app.register_blueprint(record_actions.api.blueprint)

from chalicelib.handlers import cognito  # noqa: E402  (issue 5: Cognito pre-token-generation trigger)

app.register_blueprint(cognito.cognito_blueprint)
