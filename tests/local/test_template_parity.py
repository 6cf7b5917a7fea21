"""One definition, two renderings: the local stack provisions exactly what infra/template.json declares.

Left out, each for a stated reason (and nothing else):
- entries without a `Type` (APIHandler, JwtAuth, RestAPI, ...): overrides deep-merged into the
  resources `chalice package` generates; locally chalice local serves the API and
  devstack.lambda_dispatch runs the functions (created as placeholders, not from the template);
- resources whose `Condition` is false for the default parameters (e.g. the alarm e-mail
  subscription without an address), as CloudFormation would leave them out too;
- ATTACHED_TO_CHALICE_API: resources that attach to the API Gateway stage chalice generates
  (`RestAPIapiStage`), which exists only in AWS.
"""

from __future__ import annotations

from typing import Any

import pytest

from devstack import lambda_dispatch
from devstack.aws import LocalAws
from devstack.cfn import Resolver
from devstack.paths import TEMPLATE_PATH
from devstack.provision import Provisioned, load_template, provision
from devstack.translators import TRANSLATORS

# The web distribution has the chalice API as its API origin; its bucket policy names the distribution.
ATTACHED_TO_CHALICE_API = {"ApiWebAclAssociation": "RestAPI", "WebDistribution": "RestAPI", "WebBucketPolicy": "WebDistribution"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture
def provisioned(aws: LocalAws, template: dict[str, Any]) -> Provisioned:
    from app import app

    functions = {lid: name for lid, (name, _) in lambda_dispatch.chalice_functions(app, "helpdesk", "local").items()}
    functions.update(lambda_dispatch.chalice_authorizers(app, "helpdesk", "local"))
    return provision(template, aws, name_prefix="helpdesk-local-", template_dir=TEMPLATE_PATH.parent, lambda_functions=functions)


def _condition_false(template: dict[str, Any]) -> set[str]:
    resolver = Resolver(template, region="us-east-1", account_id="123456789012", stack_name="helpdesk-local")
    return {
        logical_id
        for logical_id, definition in template["Resources"].items()
        if "Condition" in definition and not resolver.condition(definition["Condition"])
    }


def test_every_resource_type_of_the_template_has_a_translator(template: dict[str, Any]) -> None:
    types = {definition["Type"] for definition in template["Resources"].values() if "Type" in definition}

    assert types - set(TRANSLATORS) == set()


def test_local_stack_provisions_exactly_the_template_resources(template: dict[str, Any], provisioned: Provisioned) -> None:
    resources = template["Resources"]
    overrides = {logical_id for logical_id, definition in resources.items() if "Type" not in definition}
    conditional = _condition_false(template)
    declared = set(resources) - overrides - conditional - set(ATTACHED_TO_CHALICE_API)
    chalice_functions = {
        lid for lid, kind in provisioned.types.items() if kind == "AWS::Lambda::Function" and "Type" not in resources.get(lid, {})
    }

    assert set(provisioned.types) - chalice_functions == declared
    skipped = {entry.logical_id: entry.reason for entry in provisioned.skipped}
    assert set(skipped) == overrides | conditional | set(ATTACHED_TO_CHALICE_API)
    for logical_id, missing in ATTACHED_TO_CHALICE_API.items():
        assert f"depends on {missing}" in skipped[logical_id]
    for logical_id in conditional:
        assert "condition" in skipped[logical_id]


def test_template_environment_reaches_the_local_app_with_secret_arns_not_values(provisioned: Provisioned) -> None:
    assert provisioned.env["HELPDESK_TABLE"] == "helpdesk-local-HelpdeskTable"
    assert provisioned.env["HELPDESK_JWT_AUDIENCE"]  # the local user pool client
    # Secrets are read at run time, locally from moto's Secrets Manager as in AWS.
    assert provisioned.env["HELPDESK_CURSOR_SECRET_ARN"] == provisioned.physical["CursorSecret"]
    assert provisioned.env["HELPDESK_MAIL_SECRET_ARN"] == provisioned.physical["MailSecret"]
    assert "HELPDESK_CURSOR_SECRET" not in provisioned.env and "HELPDESK_MAIL_SECRET" not in provisioned.env
    assert provisioned.deploy_time == {logical_id: [] for logical_id in provisioned.deploy_time}


def test_resources_that_name_a_chalice_function_are_provisioned_when_the_app_is_imported_after(
    aws: LocalAws, template: dict[str, Any]
) -> None:
    # The local stack creates the template's resources before it imports the app (devstack.stack).
    from app import app
    from devstack.provision import Provisioner

    provisioner = Provisioner(template, aws, name_prefix="helpdesk-local-", template_dir=TEMPLATE_PATH.parent)
    provisioner.create_resources()
    functions = {lid: name for lid, (name, _) in lambda_dispatch.chalice_functions(app, "helpdesk", "local").items()}
    functions.update(lambda_dispatch.chalice_authorizers(app, "helpdesk", "local"))
    provisioner.add_lambda_functions(functions)
    provisioned = provisioner.finish()

    assert {"UserPool", "UserPoolClient", "APIHandlerLogGroup", "APIHandlerErrorsAlarm"} <= set(provisioned.types)
    typed = {s.logical_id for s in provisioned.skipped if s.resource_type}
    assert typed == _condition_false(template) | set(ATTACHED_TO_CHALICE_API)


def test_alarms_and_dashboard_exist_on_moto(aws: LocalAws, provisioned: Provisioned) -> None:
    alarms = aws.client("cloudwatch").describe_alarms(MaxRecords=100)["MetricAlarms"]
    declared = set(provisioned.of_type("AWS::CloudWatch::Alarm").values())

    assert declared <= {alarm["AlarmName"] for alarm in alarms}
    assert aws.client("cloudwatch").list_dashboards()["DashboardEntries"]
