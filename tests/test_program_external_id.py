"""The whole program under Pulumi mocks with `platform: externalId`: every object of the External ID
contract note (../shared/reference/external-id-contract.md §1, §3, §4, §7), with its shape, order,
secrets and outputs."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.test_program import program
from tools.program_check import Registered, Run, guid, plaintext

TENANT_ID = "2b8e4f61-9d3c-4a7b-8e15-6c0f9a2d7b34"
CLIENT_SECRET = "ext-deployer-Secret~5678"
CONFIG: dict[str, Any] = {
    "b2c-signup:platform": "externalId",
    "b2c-signup:tenantName": "fabrikamext",
    "b2c-signup:tenantId": TENANT_ID,
    "b2c-signup:b2cClientId": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
    "b2c-signup:b2cClientSecret": CLIENT_SECRET,
    "b2c-signup:userAttributes": ["email", "givenName", "city?", "plan"],
    "b2c-signup:customAttributes": {"plan": {"dataType": "string", "description": "Your plan"}},
    "b2c-signup:attributeInputs": {
        "plan": {"input_type": "radioSingleSelect", "user_attribute_values": ["Basic", "Pro"]}
    },
}
AUTHORITY = f"https://fabrikamext.ciamlogin.com/{TENANT_ID}"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
RECEIVE_PAYLOAD = "214e810f-fda8-4fd7-a475-29461495eb00"
ENTRA_CALLOUT_CLIENT = "99045fe1-7639-4a75-9d4a-577b6ca3810f"


@pytest.fixture(scope="module")
def stack() -> Run:
    return program(**CONFIG)


def apps(stack: Run) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in stack.of_type("azuread:index/application:Application")}


def named(stack: Run, name: str) -> Registered:
    return next(r for r in stack.resources if r.name == name)


def settings(stack: Run) -> dict[str, Any]:
    app = stack.one("azure-native:web:WebApp").inputs
    return {s["name"]: s["value"] for s in app["siteConfig"]["appSettings"]}


def test_no_b2c_object_is_declared(stack: Run) -> None:
    types = {r.type for r in stack.resources}
    assert not {t for t in types if ":b2c:" in t or "/b2c:" in t}
    assert "random:index/randomPassword:RandomPassword" not in types
    # No secret for the function to hold: no vault, no Secrets User grant.
    assert "azure-native:keyvault:Vault" not in types and "azure-native:keyvault:Secret" not in types
    roles = {
        r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        for r in stack.of_type("azure-native:authorization:RoleAssignment")
    }
    assert roles == {"b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "3913510d-42f4-4e42-8a64-420c390055eb"}


def test_apps_are_the_external_tenants_own(stack: Run) -> None:
    registered = apps(stack)
    assert set(registered) == {
        "externalid-web-api",
        "externalid-flow-client",
        "externalid-test",
        "externalid-callout",
    }
    for app in registered.values():
        assert app["signInAudience"] == "AzureADMyOrg"
    web = registered["externalid-web-api"]
    assert web["api"]["requestedAccessTokenVersion"] == 2 and "identifierUris" not in web
    (scope,) = web["api"]["oauth2PermissionScopes"]
    assert scope["value"] == "access" and scope["type"] == "Admin" and scope["enabled"] is True
    # Set by its own resource: the app itself must not write (and so remove) it on a later update.
    assert named(stack, "externalid-web-api").ignore_changes == ["identifierUris"]
    assert named(stack, "externalid-callout").ignore_changes == ["identifierUris"]
    assert named(stack, "externalid-flow-client").ignore_changes == []
    uri = named(stack, "externalid-web-api-uri").inputs
    web_client = stack.outputs["webApiAppId"]
    assert uri["identifierUri"] == f"api://{web_client}"
    assert stack.outputs["webApiScope"] == f"api://{web_client}/access"


def test_the_flow_client_and_the_test_app_get_consent(stack: Run) -> None:
    registered = apps(stack)
    flow = registered["externalid-flow-client"]
    assert flow["web"]["redirectUris"] == ["https://global.consent.azure-apim.net/redirect"]
    granted = {
        access["resourceAppId"]: access["resourceAccesses"] for access in flow["requiredResourceAccesses"]
    }
    assert {a["id"] for a in granted[GRAPH_APP_ID]} == {
        "37f7f235-527c-4136-accd-4a02d197296e",  # openid
        "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",  # offline_access
    }
    assert registered["externalid-test"]["web"]["redirectUris"] == ["https://jwt.ms"]
    grants = stack.of_type(
        "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"
    )
    assert sorted(tuple(g.inputs["claimValues"]) for g in grants) == [
        ("access",),
        ("access",),
        ("openid", "offline_access"),
        ("openid", "offline_access"),
    ]
    secret = stack.one("azuread:index/applicationPassword:ApplicationPassword")
    assert "value" in secret.additional_secret_outputs and "flowClientSecret" in stack.secret_outputs


def test_the_extensions_resource_app_may_receive_the_payload(stack: Run) -> None:
    callout = apps(stack)["externalid-callout"]
    assert callout["api"]["requestedAccessTokenVersion"] == 2
    (access,) = callout["requiredResourceAccesses"]
    assert access == {
        "resourceAppId": GRAPH_APP_ID,
        "resourceAccesses": [{"id": RECEIVE_PAYLOAD, "type": "Role"}],
    }
    grant = stack.one("azuread:index/appRoleAssignment:AppRoleAssignment")
    assert grant.inputs["appRoleId"] == RECEIVE_PAYLOAD
    # The mocks give each principal the object id guid(type, name): the callout app's, not another's.
    assert grant.inputs["principalObjectId"] == guid(
        "azuread:index/servicePrincipal:ServicePrincipal", "externalid-callout-sp"
    )
    assert grant.inputs["resourceObjectId"] == guid("graph-sp")  # Microsoft Graph's principal


def test_the_extension_calls_the_function_with_a_token_for_the_resource_app(stack: Run) -> None:
    extension = stack.one("pulumi-python:dynamic/externalid:CustomExtension")
    function_url = stack.outputs["validateSignupUrl"]
    host = urlsplit(function_url).hostname
    uri = named(stack, "signup-flow-callout-uri")
    callout_client = settings(stack)["ENTRA_CALLOUT_AUDIENCE"]
    assert uri.inputs["identifierUri"] == f"api://{host}/{callout_client}"
    assert extension.inputs["target_url"] == function_url
    assert extension.inputs["resource_id"] == uri.inputs["identifierUri"]
    assert extension.inputs["timeout_ms"] == 2000 and extension.inputs["maximum_retries"] == 1
    # Validation asks Entra for a token to the URI: the URI and the role assignment come first.
    assert uri.urn in extension.dependencies
    assert stack.one("azuread:index/appRoleAssignment:AppRoleAssignment").urn in extension.dependencies


def test_the_function_checks_entras_token(stack: Run) -> None:
    found = settings(stack)
    assert found["SIGNUP_PLATFORM"] == "externalId"
    assert found["ENTRA_TENANT_ID"] == TENANT_ID
    assert found["ENTRA_JWKS_URL"] == f"https://fabrikamext.ciamlogin.com/{TENANT_ID}/discovery/v2.0/keys"
    callout = next(
        r for r in stack.of_type("azuread:index/application:Application") if r.name == "externalid-callout"
    )
    assert found["ENTRA_CALLOUT_AUDIENCE"] != ENTRA_CALLOUT_CLIENT and found["ENTRA_CALLOUT_AUDIENCE"]
    assert callout  # the audience is the resource app's client id, as the mocks name it
    assert not {name for name in found if name.startswith("BASIC_AUTH")}


def test_the_sign_up_flow_collects_links_and_attaches(stack: Run) -> None:
    flow = stack.one("pulumi-python:dynamic/externalid:SignUpFlow")
    extension = stack.one("pulumi-python:dynamic/externalid:CustomExtension")
    assert flow.inputs["display_name"] == "signupsignin"
    attribute = stack.one("azuread:index/userFlowAttribute:UserFlowAttribute")
    assert attribute.inputs == {"displayName": "plan", "dataType": "string", "description": "Your plan"}
    assert attribute.retain_on_delete  # the tenant's, with every user's value of it
    ids = [a["attribute_id"] for a in flow.inputs["attributes"]]
    assert (
        ids[:3] == ["email", "givenName", "city"]
        and ids[3].startswith("extension_")
        and ids[3].endswith("_plan")
    )
    assert flow.inputs["attributes"][2]["is_optional"] is True
    plan = flow.inputs["attributes"][3]
    assert plan["input_type"] == "radioSingleSelect" and [
        c["value"] for c in plan["user_attribute_values"]
    ] == [
        "Basic",
        "Pro",
    ]
    registered = {r.name: r for r in stack.of_type("azuread:index/application:Application")}
    assert flow.inputs["client_app_ids"] == [
        stack.outputs["runUserFlowUrl"]
        and parse_qs(urlsplit(stack.outputs["runUserFlowUrl"]).query)["client_id"][0],
        stack.outputs["flowClientId"],
    ]
    assert (
        registered["externalid-test"].urn in flow.dependencies
        or stack.one("b2c-signup:externalid:Applications").urn in flow.dependencies
    )
    assert flow.inputs["extension_id"] == stack.outputs["customExtensionId"]
    assert extension.urn in flow.dependencies  # so destroy detaches (deletes the flow) first
    # Live only once the function's code is published: before, every sign-up would fail closed.
    code = stack.one("pulumi-python:dynamic/azure:FunctionCodeDeployment")
    assert code.urn in flow.dependencies and code.urn in extension.dependencies


def test_outputs_point_at_the_external_tenant(stack: Run) -> None:
    assert set(stack.outputs) == {
        "validateSignupUrl",
        "userFlowId",
        "customExtensionId",
        "runUserFlowUrl",
        "webApiAppId",
        "webApiBaseUrl",
        "webApiScope",
        "tokenValidation",
        "flowClientId",
        "flowClientSecret",
        "flowConnector",
    }
    assert stack.secret_outputs == {"flowClientSecret"}
    audience = stack.outputs["webApiAppId"]
    assert stack.outputs["tokenValidation"] == {
        "issuer": f"https://{TENANT_ID}.ciamlogin.com/{TENANT_ID}/v2.0",
        "audience": audience,
        "scope": "access",
        "jwksUri": f"https://fabrikamext.ciamlogin.com/{TENANT_ID}/discovery/v2.0/keys",
        "metadataUrl": f"{AUTHORITY}/v2.0/.well-known/openid-configuration",
    }
    assert stack.outputs["flowConnector"] == {
        "authorizationUrl": f"{AUTHORITY}/oauth2/v2.0/authorize",
        "tokenUrl": f"{AUTHORITY}/oauth2/v2.0/token",
        "refreshUrl": f"{AUTHORITY}/oauth2/v2.0/token",
        "scope": f"api://{audience}/access offline_access openid",
        "clientId": stack.outputs["flowClientId"],
        "redirectUris": ["https://global.consent.azure-apim.net/redirect"],
        "identityPlatform": "Entra External ID",
    }
    run = urlsplit(stack.outputs["runUserFlowUrl"])
    assert f"{run.scheme}://{run.netloc}{run.path}" == f"{AUTHORITY}/oauth2/v2.0/authorize"
    query = {key: value[0] for key, value in parse_qs(run.query).items()}
    assert (
        "p" not in query
        and query["redirect_uri"] == "https://jwt.ms"
        and query["response_type"] == "id_token"
    )


def test_the_web_api_checks_external_id_tokens_without_a_user_flow(stack: Run) -> None:
    found = settings(stack)
    validation = stack.outputs["tokenValidation"]
    assert found["B2C_TOKEN_ISSUER"] == validation["issuer"]
    assert found["B2C_TOKEN_AUDIENCE"] == validation["audience"]
    assert found["B2C_JWKS_URL"] == validation["jwksUri"]
    assert found["B2C_TOKEN_POLICY"] == ""


def test_a_custom_login_domain_moves_the_authority_not_the_issuer() -> None:
    stack = program(**{**CONFIG, "b2c-signup:loginHost": "login.fabrikam.com"})
    connector = stack.outputs["flowConnector"]
    assert connector["authorizationUrl"] == f"https://login.fabrikam.com/{TENANT_ID}/oauth2/v2.0/authorize"
    assert stack.outputs["tokenValidation"]["issuer"] == f"https://{TENANT_ID}.ciamlogin.com/{TENANT_ID}/v2.0"


def test_no_secret_appears_in_plaintext(stack: Run) -> None:
    secret = stack.outputs["flowClientSecret"]
    for resource in stack.resources:
        leaves = [str(value) for value in plaintext(resource.raw)]
        assert CLIENT_SECRET not in leaves and secret not in leaves, resource.urn
    public = {k: v for k, v in stack.outputs.items() if k not in stack.secret_outputs}
    assert CLIENT_SECRET not in str(stack.outputs) and secret not in str(public)
