"""Create the resources of infra/template.json on moto with plain boto3 calls.

moto's own CloudFormation cannot be used (no SAM, TTL ignored, state machines the executing
backend cannot see), so each supported resource type has one translator in
`devstack.translators` that turns the resolved properties into the equivalent API calls.
Physical names follow `<app>-<stage>-<LogicalId>` (`helpdesk-local-HelpdeskTable`), lowercased
where AWS requires.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.aws import LOCAL_ACCOUNT_ID, LocalAws
from devstack.cfn import Resolver, ResourceValues, TemplateError, Unresolvable, as_text, dependency_order
from devstack.translators import TRANSLATORS, CreateRequest, create_lambda_function, create_local_role

LAMBDA_FUNCTION = "AWS::Lambda::Function"


class ProvisionError(Exception):
    """A supported resource could not be created: the template or moto disagrees."""


@dataclass(frozen=True)
class Skipped:
    """A template entry that was not created locally, and why."""

    logical_id: str
    resource_type: str
    reason: str

    def __str__(self) -> str:
        return f"{self.logical_id} ({self.resource_type or 'no Type'}): {self.reason}"


@dataclass
class Provisioned:
    """What exists on moto after `provision`, keyed by logical id."""

    physical: dict[str, str] = field(default_factory=dict)
    """Logical id → what `Ref` answers: a name, a queue URL (SQS), an ARN (state machines)."""
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    """Logical id → `Fn::GetAtt` values (Arn, StreamArn, QueueUrl, ...)."""
    types: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    """Lambda environment variables of the template, resolved to local physical names (all
    functions' merged: what `make run`'s process, and so the HTTP API, gets)."""
    function_env: dict[str, dict[str, str]] = field(default_factory=dict)
    """Logical id → the template's Environment.Variables of that function alone, resolved."""
    deploy_time: dict[str, list[str]] = field(default_factory=dict)
    """Logical id → its variables that are dynamic references (resolved at deploy time only)."""
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Properties accepted but without local effect (PITR, SSE, ...)."""

    def of_type(self, resource_type: str) -> dict[str, str]:
        """Logical id → Ref value of every provisioned resource of `resource_type`."""
        return {logical_id: self.physical[logical_id] for logical_id, kind in self.types.items() if kind == resource_type}


def provision(
    template: Mapping[str, Any],
    aws: LocalAws,
    *,
    name_prefix: str = "helpdesk-local-",
    template_dir: Path = Path("."),
    lambda_functions: Mapping[str, str] | None = None,
    parameters: Mapping[str, str] | None = None,
) -> Provisioned:
    """Create every supported resource of `template` on the moto server behind `aws`.

    `lambda_functions` maps logical ids of functions that `chalice package` generates (not in the
    template) to local function names; they are created as placeholder Lambda functions first so
    the template can reference them (`Fn::GetAtt [Fn, Arn]`) and invocations can be dispatched.
    Parameters take their Default unless overridden; conditions are evaluated on that basis.
    """
    provisioner = Provisioner(template, aws, name_prefix=name_prefix, template_dir=template_dir, parameters=parameters)
    provisioner.add_lambda_functions(lambda_functions or {})
    provisioner.create_resources()
    return provisioner.finish()


class Provisioner:
    """`provision` in steps, for a stack that imports its app between them.

    `create_resources()` creates what it can and defers resources that reference a logical id
    the template does not define (a function `chalice package` would generate);
    `add_lambda_functions()` creates those functions and then the deferred resources;
    `finish()` reports what is still missing as skipped and resolves the Lambda environment.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        aws: LocalAws,
        *,
        name_prefix: str = "helpdesk-local-",
        template_dir: Path = Path("."),
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self._aws = aws
        self._name_prefix = name_prefix
        self._template_dir = template_dir
        self._resources: Mapping[str, Mapping[str, Any]] = template.get("Resources", {})
        self._resolver = Resolver(
            template=template,
            region=aws.region,
            account_id=LOCAL_ACCOUNT_ID,
            stack_name=name_prefix.rstrip("-"),
            parameter_overrides=dict(parameters or {}),
        )
        self._result = Provisioned()
        self._role_arn: str | None = None
        self._deferred: dict[str, str] = {}
        """Logical id → the missing logical id it waits for."""

    @property
    def role_arn(self) -> str:
        if self._role_arn is None:
            self._role_arn = create_local_role(self._aws, f"{self._name_prefix}execution-role")
        return self._role_arn

    def add_lambda_functions(self, functions: Mapping[str, str]) -> None:
        """Create placeholder functions (logical id → name), then resources that waited for them."""
        for logical_id, function_name in functions.items():
            values = create_lambda_function(self._aws, function_name, self.role_arn)
            self._record(logical_id, LAMBDA_FUNCTION, values)
        if self._deferred:
            waiting = [logical_id for logical_id in self._order() if logical_id in self._deferred]
            self._deferred.clear()
            for logical_id in waiting:
                self._create(logical_id)

    def create_resources(self) -> None:
        for logical_id in self._order():
            self._create(logical_id)

    def environment(self) -> tuple[dict[str, str], list[str]]:
        """Lambda environment variables of the template resolved so far, and what is missing."""
        return _lambda_environment(self._resources, self._resolver)

    def finish(self) -> Provisioned:
        for logical_id, missing in self._deferred.items():
            if missing in self._resources:
                reason = f"depends on {missing}, which only `chalice package` generates (not a function: not provisioned locally)"
            else:
                reason = f"references {missing}, which is neither in the template nor a chalice function"
            self._result.skipped.append(Skipped(logical_id, self._resources[logical_id].get("Type", ""), reason))
        self._deferred.clear()
        self._result.env, notes = self.environment()
        self._result.notes.extend(notes)
        for logical_id, definition in self._resources.items():
            if _is_function(definition):
                variables, deploy_time, _ = _variables_of(logical_id, definition, self._resolver)
                self._result.function_env[logical_id] = variables
                self._result.deploy_time[logical_id] = deploy_time
        return self._result

    def _order(self) -> list[str]:
        return dependency_order(self._resources)

    def _create(self, logical_id: str) -> None:
        definition = self._resources[logical_id]
        resource_type = definition.get("Type", "")
        skip_reason = _skip_reason(definition, self._resolver)
        if skip_reason:
            self._result.skipped.append(Skipped(logical_id, resource_type, skip_reason))
            return
        try:
            properties = self._resolver.resolve(definition.get("Properties", {}))
        except Unresolvable as exc:
            # A function `chalice package` generates is in the template as an override (no Type):
            # what references it waits for `add_lambda_functions` like what references no entry.
            generated = exc.logical_id not in self._resources or "Type" not in self._resources[exc.logical_id]
            if exc.logical_id in self._deferred or generated:
                self._deferred[logical_id] = exc.logical_id
            else:
                self._result.skipped.append(Skipped(logical_id, resource_type, str(exc)))
            return
        except TemplateError as exc:
            raise ProvisionError(f"{logical_id} ({resource_type}): {exc}") from exc
        translator = TRANSLATORS[resource_type]
        request = CreateRequest(
            logical_id=logical_id,
            properties=properties,
            name=f"{self._name_prefix}{logical_id}",
            aws=self._aws,
            template_dir=self._template_dir,
            default_role_arn=self.role_arn,
            notes=self._result.notes,
        )
        try:
            values = translator.create(request)
        except Exception as exc:
            raise ProvisionError(f"{logical_id} ({resource_type}): {exc}") from exc
        for name in sorted(set(properties) - translator.handled):
            why = translator.ignored.get(name, "not translated for the local stack")
            request.note(f"property {name} ignored ({why})")
        self._record(logical_id, resource_type, values)

    def _record(self, logical_id: str, resource_type: str, values: ResourceValues) -> None:
        self._resolver.resources[logical_id] = values
        self._result.physical[logical_id] = values.ref
        self._result.attributes[logical_id] = dict(values.attributes)
        self._result.types[logical_id] = resource_type


def _skip_reason(definition: Mapping[str, Any], resolver: Resolver) -> str | None:
    resource_type = definition.get("Type")
    if not resource_type:
        return "overrides merged into a resource chalice generates; only its Environment is used"
    condition = definition.get("Condition")
    if condition and not resolver.condition(condition):
        return f"condition {condition} is false locally"
    if resource_type not in TRANSLATORS:
        return "resource type not supported by the local stack yet"
    return None


def _lambda_environment(resources: Mapping[str, Mapping[str, Any]], resolver: Resolver) -> tuple[dict[str, str], list[str]]:
    """Environment variables the template gives the app's functions, APIHandler's first.

    The process of the local stack gets all functions' variables merged (chalice's local server
    runs the HTTP API in it); each invocation through moto gets its own function's alone
    (`Provisioned.function_env`, devstack.lambda_env).
    """
    environment: dict[str, str] = {}
    notes: list[str] = []
    ordered = sorted(resources, key=lambda logical_id: logical_id != "APIHandler")
    for logical_id in ordered:
        definition = resources[logical_id]
        if not _is_function(definition):
            continue
        variables, _, function_notes = _variables_of(logical_id, definition, resolver)
        notes.extend(function_notes)
        for name, resolved in variables.items():
            if name in environment and environment[name] != resolved:
                notes.append(
                    f"{logical_id}: environment variable {name} differs from another function's; keeping {environment[name]!r}"
                )
                continue
            environment[name] = resolved
    return environment, notes


def _is_function(definition: Mapping[str, Any]) -> bool:
    return definition.get("Type") in (None, LAMBDA_FUNCTION, "AWS::Serverless::Function") and "Environment" in definition.get(
        "Properties", {}
    )


def _variables_of(
    logical_id: str, definition: Mapping[str, Any], resolver: Resolver
) -> tuple[dict[str, str], list[str], list[str]]:
    """A function's Environment.Variables resolved: (variables, deploy-time ones left out, notes)."""
    resolved_variables: dict[str, str] = {}
    deploy_time: list[str] = []
    notes: list[str] = []
    variables = definition.get("Properties", {}).get("Environment", {}).get("Variables", {})
    for name, value in variables.items():
        try:
            resolved = as_text(resolver.resolve(value))
        except Unresolvable as exc:
            notes.append(f"{logical_id}: environment variable {name} not set ({exc})")
            continue
        if "{{resolve:" in resolved:
            deploy_time.append(name)
            notes.append(f"{logical_id}: environment variable {name} not set (a dynamic reference, resolved at deploy time)")
            continue
        resolved_variables[name] = resolved
    return resolved_variables, deploy_time, notes


def load_template(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return template
