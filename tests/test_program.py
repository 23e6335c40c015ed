"""The whole program (__main__.py) under Pulumi mocks, from a sample stack config."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tools.program_check import Run, plaintext, run_main, stand_in_package

CLIENT_SECRET = "b2c-deployer-Secret~1234"
CONFIG = {
    "b2c-signup:tenantName": "contosob2c",
    "b2c-signup:tenantId": "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90",
    "b2c-signup:allowedDomains": ["contoso.com", "*.fabrikam.com"],
    "b2c-signup:b2cClientId": "0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e",
    "b2c-signup:b2cClientSecret": CLIENT_SECRET,
}
SECRETS = ("b2c-signup:b2cClientSecret",)
FUNCTION_URL = "https://func-signup-k3x9q2mz.azurewebsites.net/api/validate-signup"
LOGIN = "https://contosob2c.b2clogin.com/contosob2c.onmicrosoft.com"


@pytest.fixture(scope="module")
def stack() -> Run:
    return program()


def program(**config: Any) -> Run:
    # The package build (pip against PyPI) has its own tests; here a stand-in zip is deployed.
    with stand_in_package() as package:
        run = run_main({**CONFIG, **config}, secrets=SECRETS)
        deployed = run.of_type("pulumi-python:dynamic/azure:FunctionCodeDeployment")
        assert (
            not deployed
            or deployed[0].inputs["package_sha256"] == hashlib.sha256(package.read_bytes()).hexdigest()
        )
    return run


def test_every_part_is_present(stack: Run) -> None:
    counts = {typ: len(stack.of_type(typ)) for typ in {r.type for r in stack.resources}}
    assert counts["azuread:index/application:Application"] == 3
    assert counts["azuread:index/servicePrincipal:ServicePrincipal"] == 3
    assert (
        counts[
            "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"
        ]
        == 4
    )
    for typ in (
        "b2c-signup:azure:SignupFunction",
        "b2c-signup:b2c:Applications",
        "b2c-signup:b2c:SignupUserFlow",
        "pulumi:providers:azuread",
        "azuread:index/applicationPassword:ApplicationPassword",
        "azure-native:web:WebApp",
        "pulumi-python:dynamic/b2c:ApiConnector",
        "pulumi-python:dynamic/b2c:UserFlow",
        "pulumi-python:dynamic/azure:FunctionCodeDeployment",
    ):
        assert counts.get(typ) == 1, typ
    # The connector's password and the next one, in place before any rotation sends it.
    assert counts["random:index/randomPassword:RandomPassword"] == 2
    assert counts["azure-native:keyvault:Secret"] == 2


def test_the_user_flow_calls_the_function_through_the_connector(stack: Run) -> None:
    connector = stack.one("pulumi-python:dynamic/b2c:ApiConnector")
    flow = stack.one("pulumi-python:dynamic/b2c:UserFlow")
    assert connector.inputs["target_url"] == FUNCTION_URL
    assert connector.inputs["username"] == "b2c-connector"
    assert flow.inputs["name"] == "signupsignin"
    assert flow.inputs["post_attribute_collection"] and flow.inputs.get("post_federation_signup") is None
    assert connector.urn in flow.dependencies  # so destroy removes the flow before the connector
    assert stack.one("azure-native:web:WebApp").urn in connector.dependencies
    attributes = flow.inputs["attributes"]
    assert [a["attribute_id"] for a in attributes] == ["email", "givenName", "surname", "displayName"]
    assert attributes[0]["requires_verification"] is True and attributes[1]["display_name"] == "Given name"


def test_function_and_connector_share_one_generated_password(stack: Run) -> None:
    connector = stack.one("pulumi-python:dynamic/b2c:ApiConnector")
    secrets = {s.inputs["secretName"]: s for s in stack.of_type("azure-native:keyvault:Secret")}
    assert connector.is_secret("password")
    # The password the connector sends is the function's current one; the next waits for a rotation.
    assert connector.inputs["password"] == secrets["basic-auth-password"].inputs["properties"]["value"]
    assert connector.inputs["password"] != secrets["basic-auth-password-2"].inputs["properties"]["value"]
    assert connector.inputs["password"].startswith("Mock-Passw0rd-")
    assert set(connector.additional_secret_outputs) >= {"password", "pkcs12_value", "certificate_password"}
    assert stack.outputs["connectorPassword"] == connector.inputs["password"]
    assert "connectorPassword" in stack.secret_outputs


def test_a_password_rotation_is_one_key_and_keeps_both_sides_overlapping() -> None:
    rotated = program(**{"b2c-signup:connectorPasswordGeneration": "2"})
    passwords = {r.name: r for r in rotated.of_type("random:index/randomPassword:RandomPassword")}
    # Generation 1 keeps the name it had before rotation existed: nothing of it is replaced.
    assert set(passwords) == {"connector-password", "connector-password-2", "connector-password-3"}
    settings = {
        s["name"]: s["value"]
        for s in rotated.one("azure-native:web:WebApp").inputs["siteConfig"]["appSettings"]
    }
    assert "/secrets/basic-auth-password/" in settings["BASIC_AUTH_PREVIOUS_PASSWORD"]
    assert "/secrets/basic-auth-password-2/" in settings["BASIC_AUTH_PASSWORD"]
    assert "/secrets/basic-auth-password-3/" in settings["BASIC_AUTH_NEXT_PASSWORD"]
    secrets = {s.inputs["secretName"]: s for s in rotated.of_type("azure-native:keyvault:Secret")}
    connector = rotated.one("pulumi-python:dynamic/b2c:ApiConnector")
    assert connector.inputs["password"] == secrets["basic-auth-password-2"].inputs["properties"]["value"]


def test_no_secret_appears_in_plaintext(stack: Run) -> None:
    password = stack.one("pulumi-python:dynamic/b2c:ApiConnector").inputs["password"]
    for resource in stack.resources:
        leaves = [str(value) for value in plaintext(resource.raw)]
        assert password not in leaves and CLIENT_SECRET not in leaves, resource.urn
    assert stack.one("pulumi:providers:azuread").is_secret("clientSecret")
    public = {key: value for key, value in stack.outputs.items() if key not in stack.secret_outputs}
    assert CLIENT_SECRET not in str(stack.outputs) and password not in str(public)


def test_b2c_resources_use_the_b2c_tenant_provider(stack: Run) -> None:
    provider = stack.one("pulumi:providers:azuread")
    assert provider.inputs["tenantId"] == CONFIG["b2c-signup:tenantId"]
    assert provider.inputs["clientId"] == CONFIG["b2c-signup:b2cClientId"]
    for resource in stack.resources:
        if resource.type.startswith("azuread:"):
            assert resource.provider.startswith(provider.urn), resource.urn


def test_app_registrations_as_b2c_needs_them(stack: Run) -> None:
    apps = {r.name: r.inputs for r in stack.of_type("azuread:index/application:Application")}
    web = apps["b2c-web-api"]
    # On B2C the app holds its App ID URI itself, so refresh and update see it.
    assert next(r for r in stack.resources if r.name == "b2c-web-api").ignore_changes == []
    assert web["signInAudience"] == "AzureADandPersonalMicrosoftAccount"
    assert web["identifierUris"] == ["https://contosob2c.onmicrosoft.com/api"]
    assert web["api"]["requestedAccessTokenVersion"] == 2
    (scope,) = web["api"]["oauth2PermissionScopes"]
    assert scope["value"] == "access" and scope["enabled"] is True
    flow = apps["b2c-flow-client"]
    assert flow["web"]["redirectUris"] == ["https://global.consent.azure-apim.net/redirect"]
    granted = {
        access["resourceAppId"]: access["resourceAccesses"] for access in flow["requiredResourceAccesses"]
    }
    assert {a["id"] for a in granted["00000003-0000-0000-c000-000000000000"]} == {
        "37f7f235-527c-4136-accd-4a02d197296e",
        "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
    }
    assert [
        a["id"] for a in next(v for k, v in granted.items() if k != "00000003-0000-0000-c000-000000000000")
    ] == [scope["id"]]
    test = apps["b2c-test"]
    assert test["web"]["redirectUris"] == ["https://jwt.ms"]
    assert test["web"]["implicitGrant"] == {
        "idTokenIssuanceEnabled": True,
        "accessTokenIssuanceEnabled": True,
    }
    secret = stack.one("azuread:index/applicationPassword:ApplicationPassword")
    assert secret.inputs["endDate"].endswith("Z") and "value" in secret.additional_secret_outputs
    grants = stack.of_type(
        "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"
    )
    assert sorted(tuple(g.inputs["claimValues"]) for g in grants) == [
        ("access",),
        ("access",),
        ("openid", "offline_access"),
        ("openid", "offline_access"),
    ]


def test_outputs_are_exactly_as_specified(stack: Run) -> None:
    assert set(stack.outputs) == {
        "validateSignupUrl",
        "userFlowId",
        "runUserFlowUrl",
        "webApiAppId",
        "webApiBaseUrl",
        "webApiScope",
        "tokenValidation",
        "flowClientId",
        "flowClientSecret",
        "flowConnector",
        "connectorPassword",
    }
    assert stack.secret_outputs == {"flowClientSecret", "connectorPassword"}
    assert stack.outputs["webApiBaseUrl"] == FUNCTION_URL.removesuffix("/validate-signup")
    assert stack.outputs["tokenValidation"] == {
        "issuer": f"https://contosob2c.b2clogin.com/{CONFIG['b2c-signup:tenantId']}/v2.0/",
        "audience": stack.outputs["webApiAppId"],
        "scope": "access",
        "jwksUri": f"{LOGIN}/B2C_1_signupsignin/discovery/v2.0/keys",
        "metadataUrl": f"{LOGIN}/B2C_1_signupsignin/v2.0/.well-known/openid-configuration",
    }
    assert stack.outputs["validateSignupUrl"] == FUNCTION_URL
    assert stack.outputs["userFlowId"] == "B2C_1_signupsignin"
    assert stack.outputs["webApiScope"] == "https://contosob2c.onmicrosoft.com/api/access"
    assert stack.outputs["flowClientSecret"].startswith("Mock-Client-Secret-")
    run = urlsplit(stack.outputs["runUserFlowUrl"])
    assert f"{run.scheme}://{run.netloc}{run.path}" == f"{LOGIN}/oauth2/v2.0/authorize"
    query = {key: value[0] for key, value in parse_qs(run.query).items()}
    test_app = next(r for r in stack.resources if r.name == "b2c-test")
    assert query["p"] == "B2C_1_signupsignin" and query["redirect_uri"] == "https://jwt.ms"
    assert query["response_type"] == "id_token" and query["scope"] == "openid" and test_app
    connector = stack.outputs["flowConnector"]
    assert connector == {
        "authorizationUrl": f"{LOGIN}/B2C_1_signupsignin/oauth2/v2.0/authorize",
        "tokenUrl": f"{LOGIN}/B2C_1_signupsignin/oauth2/v2.0/token",
        "refreshUrl": f"{LOGIN}/B2C_1_signupsignin/oauth2/v2.0/token",
        "scope": "https://contosob2c.onmicrosoft.com/api/access offline_access openid",
        "clientId": stack.outputs["flowClientId"],
        "redirectUris": ["https://global.consent.azure-apim.net/redirect"],
    }


def test_the_web_api_checks_tokens_against_what_the_stack_exports(stack: Run) -> None:
    app = stack.one("azure-native:web:WebApp").inputs
    settings = {s["name"]: s["value"] for s in app["siteConfig"]["appSettings"]}
    validation = stack.outputs["tokenValidation"]
    assert {name: settings[name] for name in settings if name.startswith(("B2C_TOKEN_", "B2C_JWKS"))} == {
        "B2C_TOKEN_ISSUER": validation["issuer"],
        "B2C_TOKEN_AUDIENCE": validation["audience"],
        "B2C_TOKEN_SCOPE": validation["scope"],
        "B2C_TOKEN_POLICY": "B2C_1_signupsignin",
        "B2C_JWKS_URL": validation["jwksUri"],
    }


def test_config_choices_reach_the_resources() -> None:
    stack = program(
        **{
            "b2c-signup:connectorStep": "postFederationSignup",
            "b2c-signup:userFlowName": "B2C_1_partners",
            "b2c-signup:userAttributes": ["email", "city?", "country"],
            "b2c-signup:attributeInputs": {
                "country": {"input_type": "dropdownSingleSelect", "user_attribute_values": ["NL", "BE"]}
            },
            "b2c-signup:alwaysReadyInstances": "1",
            "b2c-signup:adoptExisting": "true",
            "b2c-signup:signupMessages": {"fr": {"denied": "Inscription réservée."}},
        }
    )
    flow = stack.one("pulumi-python:dynamic/b2c:UserFlow").inputs
    assert (
        flow["name"] == "partners"
        and flow["post_federation_signup"]
        and flow.get("post_attribute_collection") is None
    )
    assert flow["attributes"][1] == {
        "attribute_id": "city",
        "is_optional": True,
        "requires_verification": False,
        "display_name": "City",
    }
    assert flow["attributes"][2]["input_type"] == "dropdownSingleSelect"
    assert [c["value"] for c in flow["attributes"][2]["user_attribute_values"]] == ["NL", "BE"]
    assert (
        flow["adopt"] is True and stack.one("pulumi-python:dynamic/b2c:ApiConnector").inputs["adopt"] is True
    )
    assert stack.outputs["userFlowId"] == "B2C_1_partners"
    app = stack.one("azure-native:web:WebApp").inputs
    settings = {s["name"]: s["value"] for s in app["siteConfig"]["appSettings"]}
    assert json.loads(settings["SIGNUP_MESSAGES"]) == {"fr": {"denied": "Inscription réservée."}}
    scale = app["functionAppConfig"]["scaleAndConcurrency"]
    assert scale["alwaysReady"] == [{"name": "http", "instanceCount": 1}]


def test_a_bad_key_stops_the_program_before_any_resource() -> None:
    with pytest.raises(
        Exception, match=r"b2c-signup:tenantName 'contosob2c.onmicrosoft.com' is not a tenant name"
    ) as raised:
        program(
            **{
                "b2c-signup:tenantName": "contosob2c.onmicrosoft.com",
                "b2c-signup:b2cClientSecret": CLIENT_SECRET,
            }
        )
    assert CLIENT_SECRET not in str(raised.value)
