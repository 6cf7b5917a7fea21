"""Helpdesk: the HTTP API and the Lambda functions, registered without importing what serves them.

Chalice (and `chalice package`) sees every route and function here; a route's module and an event
handler load on their first request or invocation, so a cold start pays only for what it uses
(docs/decisions.md, "Cold start: lazy routes").
"""

from chalice import Chalice

from chalicelib import handlers
from chalicelib.api import auth, manifest

app = Chalice(app_name="helpdesk", configure_logs=False)  # Powertools Logger owns logging
app.register_blueprint(auth.auth_blueprint)
app.register_blueprint(manifest.blueprint)  # every route of chalicelib/api/routes.txt
app.register_blueprint(handlers.blueprint)  # Cognito trigger, stream handlers
