"""The web app in the cloud (issue 12): S3 behind CloudFront with OAC, the API under the same
distribution, the security headers the local stack sends, Cognito's hosted sign-in for the page."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any
from urllib.parse import urlsplit

import pytest

from chalicelib.storage.attachments import FileStore
from chalicelib.storage.clients import aws_client
from devstack.cfn import Resolver, ResourceValues, dependency_order
from devstack.paths import TEMPLATE_PATH
from devstack.provision import load_template
from devstack.web_app import content_security_policy


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return dict(load_template(TEMPLATE_PATH)["Resources"])


def _distribution(resources: dict[str, Any]) -> dict[str, Any]:
    return dict(resources["WebDistribution"]["Properties"]["DistributionConfig"])


BUCKET = "helpdesk-attachmentsbucket-1x2y3z4w5v6u"


def _cloud_csp(resources: dict[str, Any]) -> str:
    headers = resources["WebSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    return str(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"])


def test_the_cloud_sends_the_local_csp_with_its_upload_bucket_and_cognitos_endpoints(resources: dict[str, Any]) -> None:
    headers = resources["WebSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = _cloud_csp(resources)

    cognito = " https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com https://cognito-idp.${AWS::Region}.amazonaws.com"
    # Locally the upload origin is moto's; in the cloud it is the attachments bucket's.
    # (the global name is what the API presigns; the regional one is where S3 redirects a new bucket's POSTs)
    buckets = ("https://${AttachmentsBucket.DomainName}", "https://${AttachmentsBucket.RegionalDomainName}")
    assert csp.replace(cognito, "") == content_security_policy(buckets)
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    assert directives["script-src"] == "'self'" and "unsafe" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"]["FrameOption"] == "DENY"


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1"])
def test_the_cloud_csp_lets_the_page_post_to_the_url_the_api_presigns(
    resources: dict[str, Any], region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (("AWS_DEFAULT_REGION", region), ("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    files = FileStore(lambda: aws_client("s3", signature_version="s3v4"), lambda: BUCKET)  # the API's own
    form = files.upload_form("tickets/t/a", "text/plain", 3)
    resolver = Resolver(
        template=load_template(TEMPLATE_PATH),
        region=region,
        account_id="123456789012",
        stack_name="helpdesk",
        # What CloudFormation answers for a bucket: DomainName is its global virtual-hosted name.
        resources={
            "AttachmentsBucket": ResourceValues(
                ref=BUCKET,
                attributes={
                    "DomainName": f"{BUCKET}.s3.amazonaws.com",
                    "RegionalDomainName": f"{BUCKET}.s3.{region}.amazonaws.com",
                },
            ),
            "UserPoolDomain": ResourceValues(ref="helpdesk-123456789012"),
        },
    )
    connect_src = dict(d.split(" ", 1) for d in resolver.resolve({"Fn::Sub": _cloud_csp(resources)}).split("; "))["connect-src"]

    upload = urlsplit(form["url"])
    assert f"{upload.scheme}://{upload.netloc}" in connect_src.split(" ")
    assert "*" not in connect_src  # this stack's bucket only, not every bucket of S3


def test_naming_the_bucket_in_the_csp_makes_no_dependency_cycle(resources: dict[str, Any]) -> None:
    order = dependency_order(resources)  # raises TemplateError on a cycle

    assert order.index("AttachmentsBucket") < order.index("WebSecurityHeaders") < order.index("WebDistribution")


def test_every_behaviour_carries_the_security_headers_and_forces_https(resources: dict[str, Any]) -> None:
    config = _distribution(resources)
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]

    for behaviour in behaviours:
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "WebSecurityHeaders"}
        assert behaviour["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")


def test_an_operators_us_east_1_web_acl_guards_the_distribution_only_when_given(resources: dict[str, Any]) -> None:
    template = load_template(TEMPLATE_PATH)
    parameter = template["Parameters"]["WebAclArn"]
    condition = template["Conditions"]["HasWebAcl"]

    assert parameter["Default"] == "" and ":wafv2:us-east-1:" in parameter["AllowedPattern"]
    assert ":global/webacl/" in parameter["AllowedPattern"]  # CLOUDFRONT scope, not a regional ACL
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WebAclArn"}, ""]}]}
    assert _distribution(resources)["WebACLId"] == {"Fn::If": ["HasWebAcl", {"Ref": "WebAclArn"}, {"Ref": "AWS::NoValue"}]}


def test_the_bucket_is_private_and_read_only_by_this_distribution(resources: dict[str, Any]) -> None:
    config = _distribution(resources)
    web = next(o for o in config["Origins"] if o["Id"] == config["DefaultCacheBehavior"]["TargetOriginId"])
    bucket = resources["WebBucket"]["Properties"]
    allow = [s for s in resources["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]

    assert web["DomainName"] == {"Fn::GetAtt": ["WebBucket", "RegionalDomainName"]}
    assert web["OriginAccessControlId"] == {"Fn::GetAtt": ["WebOriginAccessControl", "Id"]}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert [(s["Principal"], s["Action"]) for s in allow] == [({"Service": "cloudfront.amazonaws.com"}, "s3:GetObject")]
    assert "distribution/${WebDistribution}" in json.dumps(allow[0]["Condition"])


def test_the_api_is_served_uncached_under_the_same_distribution(resources: dict[str, Any]) -> None:
    config = _distribution(resources)
    api = {o["Id"]: o for o in config["Origins"]}["api"]
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}

    assert "${RestAPI}.execute-api" in api["DomainName"]["Fn::Sub"] and api["OriginPath"] == "/api"
    for pattern in ("/v1/*", "/api/v2/*"):
        assert behaviours[pattern]["TargetOriginId"] == "api"
        assert "POST" in behaviours[pattern]["AllowedMethods"] and "PATCH" in behaviours[pattern]["AllowedMethods"]
        assert behaviours[pattern]["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled


def _run_paths_function(resources: dict[str, Any], uri: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: apt-get install -y nodejs (make test does)")
    code = resources["WebPaths"]["Properties"]["FunctionCode"]
    script = code + f"\nconsole.log(JSON.stringify(handler({{request: {{uri: {json.dumps(uri)}, headers: {{}}}}}})));"
    return dict(json.loads(subprocess.run([node, "-e", script], check=True, capture_output=True, text=True).stdout))


def test_the_root_redirects_to_the_app_and_folders_serve_their_index_as_locally(resources: dict[str, Any]) -> None:
    assert _run_paths_function(resources, "/")["headers"]["location"]["value"] == "/app/"
    assert _run_paths_function(resources, "/app")["statusCode"] == 302
    assert _run_paths_function(resources, "/app/")["uri"] == "/app/index.html"
    assert _run_paths_function(resources, "/app/js/main.js")["uri"] == "/app/js/main.js"


def test_the_page_signs_in_with_the_code_flow_and_returns_to_the_web_origin(resources: dict[str, Any]) -> None:
    client = resources["UserPoolClient"]["Properties"]

    assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["GenerateSecret"] is False  # a public client: PKCE, no secret in the page
    assert client["CallbackURLs"] == [{"Fn::Sub": "${WebOrigin}/app/"}]
    assert "ALLOW_USER_PASSWORD_AUTH" not in client["ExplicitAuthFlows"]
    cors = resources["AttachmentsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert [rule["AllowedOrigins"] for rule in cors] == [[{"Ref": "WebOrigin"}]]
