"""The environment each Lambda function runs with locally: what its deployed resource declares.

In AWS a function's environment is `chalice package`'s (.chalice/config.json: global, stage and
per-function `environment_variables`) deep-merged with its override in infra/template.json
(`Properties.Environment.Variables`, the template winning), plus what the Lambda runtime sets
(region, credentials). Locally every function runs in this one process, so
`devstack.lambda_dispatch` runs each invocation inside `chalicelib.config.function_environment`
with exactly this mapping: a variable the function does not declare is missing, as in AWS.

Locally the runtime variables point at moto (AWS_ENDPOINT_URL and the local credentials), a
secret's ARN names the secret provisioned on moto's Secrets Manager (read at run time, as in AWS),
and a variable whose service the local stack replaces brings its local stand-ins (Cognito's JWKS
by the HS256 key HELPDESK_JWT_SECRET, see `local_stand_ins`; likewise any dynamic reference
resolved at deploy time, `{{resolve:...}}`, that the template may declare).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from chalice.app import Chalice
from chalice.config import Config
from chalice.utils import to_cfn_resource_name

from chalicelib.config import FunctionEnvironment
from devstack.provision import Provisioned

# What the Lambda runtime gives every function; locally taken from the process, which
# devstack.environment.point_aws_at_moto (or the tests) aimed at moto.
RUNTIME_VARIABLES = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "TZ",
)


def local_stand_ins(jwt_secret: str) -> dict[str, dict[str, str]]:
    """Template variable → the local variables that come with it."""
    # Locally tokens are HS256 with the stack's secret (auth mode local), not Cognito's RS256
    # keys: the functions that verify tokens (they name the JWKS) get the secret instead.
    return {"HELPDESK_JWKS_URL": {"HELPDESK_JWT_SECRET": jwt_secret}}


def chalice_function_names(app: Chalice) -> dict[str, str]:
    """Logical id → chalice's name of each function (`api_handler`, `ticket_stream`, ...)."""
    names = {"APIHandler": "api_handler"}
    for name in [function.name for function in app.pure_lambda_functions] + [source.name for source in app.event_sources]:
        names[to_cfn_resource_name(name)] = name
    for authorizer in app.builtin_auth_handlers:
        names[to_cfn_resource_name(authorizer.name)] = authorizer.name
    return names


def declared_environments(
    app: Chalice,
    config: Config,
    stage: str,
    provisioned: Provisioned,
    stand_ins: Mapping[str, Mapping[str, str]],
    runtime: Mapping[str, str] | None = None,
) -> dict[str, FunctionEnvironment]:
    """Logical id → the environment the function runs with (see the module)."""
    runtime = os.environ if runtime is None else runtime
    base = {name: runtime[name] for name in RUNTIME_VARIABLES if runtime.get(name)}
    environments = {}
    for logical_id, name in chalice_function_names(app).items():
        variables = {**base, **config.scope(stage, name).environment_variables}
        declared = provisioned.function_env.get(logical_id, {})
        variables.update(declared)
        for name in [*declared, *provisioned.deploy_time.get(logical_id, [])]:
            variables.update(stand_ins.get(name, {}))
        environments[logical_id] = FunctionEnvironment(variables)
    return environments
