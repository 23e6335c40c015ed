"""Every request the External ID Graph resources send in a full lifecycle, held against Microsoft's
published description of Graph (../shared/reference/external/graph-openapi-external-id.json:
the v1.0 and beta OpenAPI with the CSDL, and the documented attach PUT that no OpenAPI has)
rather than our own double."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from components.graph.custom_extension import CustomExtensionProvider
from components.graph.signup_flow import SignUpFlowProvider
from tests.components.graph.conftest import configured
from tests.contracts.graph_openapi import GraphDescription, Request
from tools.graph_double import GraphDouble

HOST = "func-signup-x1.azurewebsites.net"
RESOURCE_APP, OTHER_RESOURCE_APP = (
    "5f2e8c1a-3b4d-4e6f-8a9b-0c1d2e3f4a5b",
    "6a3f9d2b-4c5e-4f70-9bac-1d2e3f4a5b6c",
)
TEST_APP, FLOW_APP = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d", "2b3c4d5e-6f7a-4b9c-8d1e-2f3a4b5c6d7e"
PARTNER_APP = "3c4d5e6f-7a8b-4c0d-9e1f-3a4b5c6d7e8f"
PLAN = "extension_7c6b5a4f3e2d4c1b9a8f7e6d5c4b3a29_plan"
FLOWS = "/v1.0/identity/authenticationEventsFlows"
CAST = "microsoft.graph.externalUsersSelfServiceSignUpEventsFlow"
ATTACH = "onAttributeCollectionSubmit/microsoft.graph.onAttributeCollectionSubmitCustomExtensionHandler/customExtension/$ref"
ATTRIBUTE_REFS = "onAttributeCollection/microsoft.graph.onAttributeCollectionExternalUsersSelfServiceSignUp/attributes/$ref"


@pytest.fixture(scope="module")
def description(external_json: Callable[[str], Any]) -> GraphDescription:
    return GraphDescription(external_json("graph-openapi-external-id.json"))


def lifecycle(graph: GraphDouble) -> None:
    """Create (validated), read, update, adopt, attach, detach, link, unlink, replace and delete."""
    graph.add_service_principal(RESOURCE_APP)
    graph.add_service_principal(OTHER_RESOURCE_APP)
    graph.add_custom_attribute(PLAN)
    extensions = configured(CustomExtensionProvider(), graph.endpoint)
    spec = {
        "display_name": "Sign-up check",
        "target_url": f"https://{HOST}/api/validate-signup",
        "resource_id": f"api://{HOST}/{RESOURCE_APP}",
    }
    gate = extensions.create(extensions.check({}, spec).inputs)
    assert gate.outs is not None
    extensions.read(gate.id, gate.outs)
    moved = extensions.check(
        {}, {**spec, "resource_id": f"api://{HOST}/{OTHER_RESOURCE_APP}", "timeout_ms": 1500}
    ).inputs
    gate_outs = extensions.update(gate.id, gate.outs, moved).outs
    graph.add_extension("portal check")
    adopted = extensions.create(
        extensions.check({}, {**spec, "display_name": "portal check", "adopt": True}).inputs
    )

    flows = configured(SignUpFlowProvider(), graph.endpoint)
    attributes = [
        {"attribute_id": "email"},
        {"attribute_id": "givenName", "display_name": "First name"},
        {"attribute_id": "city", "is_optional": True},
        {
            "attribute_id": PLAN,
            "input_type": "radioSingleSelect",
            "user_attribute_values": ["Basic", {"name": "Pro", "value": "pro", "is_default": True}],
        },
        {"attribute_id": "jobTitle", "input_type": "boolean", "is_optional": True},
    ]
    wanted = flows.check(
        {},
        {
            "display_name": "Sign up",
            "attributes": attributes,
            "client_app_ids": [TEST_APP, FLOW_APP],
            "extension_id": gate.id,
        },
    ).inputs
    flow = flows.create(wanted)
    assert flow.outs is not None
    read = flows.read(flow.id, flow.outs)
    assert read.outs is not None
    changed = flows.check(
        {},
        {
            **wanted,
            "display_name": "Sign up, partners",
            "attributes": [
                attributes[0],
                {
                    "attribute_id": "country",
                    "input_type": "checkboxMultiSelect",
                    "user_attribute_values": ["NL", "BE"],
                },
                *attributes[3:],
            ],
            "client_app_ids": [TEST_APP],
            "extension_id": adopted.id,
        },
    ).inputs
    outs = flows.update(flow.id, read.outs, changed).outs
    assert outs is not None
    detached = flows.check(
        {}, {**changed, "extension_id": None, "client_app_ids": [TEST_APP, FLOW_APP]}
    ).inputs
    outs = flows.update(flow.id, outs, detached).outs

    graph.add_signup_flow("Partners", apps=(PARTNER_APP,))
    partners = flows.create(
        flows.check(
            {},
            {
                "display_name": "Partners",
                "attributes": [{"attribute_id": "email"}],
                "client_app_ids": [PARTNER_APP],
                "extension_id": gate.id,
                "adopt": True,
            },
        ).inputs
    )

    assert outs is not None and partners.outs is not None
    for made in ((flow.id, outs), (partners.id, partners.outs)):
        flows.delete(*made)
    assert gate_outs is not None and adopted.outs is not None
    extensions.delete(gate.id, gate_outs)
    extensions.delete(adopted.id, adopted.outs)
    assert graph.state.signup_flows == {} and graph.state.extensions == {}


@pytest.fixture(scope="module")
def requests_sent() -> Iterator[list[Request]]:
    with GraphDouble() as graph:
        lifecycle(graph)
        yield [Request(entry.method, entry.path, entry.query, entry.body) for entry in graph.log]


def test_the_lifecycle_covers_every_kind_of_request(requests_sent: list[Request]) -> None:
    kinds = {(r.method, r.path.split("/")[1], r.path.rsplit("/", 1)[-1]) for r in requests_sent}
    assert {
        ("POST", "v1.0", "customAuthenticationExtensions"),
        ("POST", "v1.0", "microsoft.graph.validateAuthenticationConfiguration"),
        ("POST", "v1.0", "authenticationEventsFlows"),
        ("POST", "v1.0", "includeApplications"),
        ("PUT", "beta", "$ref"),
        ("POST", "v1.0", "$ref"),
        ("DELETE", "v1.0", "$ref"),
    } <= kinds
    methods = {r.method for r in requests_sent if "/customAuthenticationExtensions/" in r.path}
    assert {"GET", "PATCH", "DELETE", "POST"} <= methods
    patches = [r.body for r in requests_sent if r.method == "PATCH" and r.path.startswith(FLOWS)]
    assert {"onAttributeCollection", "displayName", "onAttributeCollectionSubmit"} <= {
        k for b in patches for k in b
    }
    assert any("$filter" in r.query for r in requests_sent)
    assert any(r.method == "DELETE" and "/includeApplications/" in r.path for r in requests_sent)
    assert len(requests_sent) >= 35


def test_every_request_follows_the_published_description(
    requests_sent: list[Request], description: GraphDescription
) -> None:
    violations = [problem for request in requests_sent for problem in description.violations(request)]
    assert violations == [], "\n".join(violations)


EXTENSION = {
    "@odata.type": "#microsoft.graph.onAttributeCollectionSubmitCustomExtension",
    "displayName": "x",
    "endpointConfiguration": {
        "@odata.type": "#microsoft.graph.httpRequestEndpoint",
        "targetUrl": "https://x",
    },
    "authenticationConfiguration": {
        "@odata.type": "#microsoft.graph.azureAdTokenAuthentication",
        "resourceId": "api://x/y",
    },
}
FLOW = {
    "@odata.type": "#microsoft.graph.externalUsersSelfServiceSignUpEventsFlow",
    "displayName": "x",
    "onInteractiveAuthFlowStart": {
        "@odata.type": "#microsoft.graph.onInteractiveAuthFlowStartExternalUsersSelfServiceSignUp",
        "isSignUpAllowed": True,
    },
    "onAuthenticationMethodLoadStart": {
        "@odata.type": "#microsoft.graph.onAuthenticationMethodLoadStartExternalUsersSelfServiceSignUp",
        "identityProviders": [
            {"@odata.type": "#microsoft.graph.builtInIdentityProvider", "id": "EmailPassword-OAUTH"}
        ],
    },
}
COLLECTION = "#microsoft.graph.onAttributeCollectionExternalUsersSelfServiceSignUp"


def _input(**extra: Any) -> dict[str, Any]:
    page = {"views": [{"inputs": [{"attribute": "email", "label": "Email", "inputType": "text", **extra}]}]}
    return {
        **FLOW,
        "onAttributeCollection": {
            "@odata.type": COLLECTION,
            "attributes": [{"id": "email"}],
            "attributeCollectionPage": page,
        },
    }


@pytest.mark.parametrize(
    ("request_", "fragment"),
    [
        (Request("POST", FLOWS, "", {**FLOW, "priority": 500}), "/priority: not a property"),
        (
            Request(
                "POST", FLOWS, "", {**FLOW, "conditions": {"applications": {"includeAllApplications": False}}}
            ),
            "includeAllApplications: not a property",
        ),
        (
            Request("POST", FLOWS, "", {k: v for k, v in FLOW.items() if k != "onInteractiveAuthFlowStart"}),
            "required by the docs",
        ),
        (Request("POST", FLOWS, "", _input(inputType="dropdown")), "'dropdown' is not one of"),
        (Request("POST", FLOWS, "", _input(lable="Email")), "/lable: not a property"),
        (
            Request(
                "POST",
                FLOWS,
                "",
                {
                    **FLOW,
                    "onAuthenticationMethodLoadStart": {
                        **FLOW["onAuthenticationMethodLoadStart"],
                        "identityProviders": [{"id": "EmailPassword-OAUTH"}],
                    },
                },
            ),
            "an abstract type needs @odata.type",
        ),
        (Request("POST", FLOWS, "", {**FLOW, "displayName": None}), "/displayName: null is not allowed"),
        (Request("PATCH", f"{FLOWS}/f1", "", {"displayName": "y"}), "/@odata.type: required by the docs"),
        (Request("PATCH", f"{FLOWS}/f1", "", {**FLOW, "id": "f2"}), "/id: read-only"),
        (
            Request(
                "POST",
                "/v1.0/identity/customAuthenticationExtensions",
                "",
                {k: v for k, v in EXTENSION.items() if k != "@odata.type"},
            ),
            "/@odata.type: required by the docs",
        ),
        (
            Request(
                "POST",
                "/v1.0/identity/customAuthenticationExtensions",
                "",
                {**EXTENSION, "clientConfiguration": {"timeoutInMiliseconds": 2000}},
            ),
            "timeoutInMiliseconds: not a property",
        ),
        (
            Request(
                "POST",
                "/v1.0/identity/customAuthenticationExtensions/e1/microsoft.graph.validateAuthenticationConfiguration",
                "",
                {"x": 1},
            ),
            "a body the operation does not describe",
        ),
        (
            Request(
                "PUT",
                f"{FLOWS}/f1/{CAST}/{ATTACH}",
                "",
                {"@odata.id": "https://graph.microsoft.com/v1.0/identity/customAuthenticationExtensions/e1"},
            ),
            "no such path and method in Graph v1.0",
        ),
        (
            Request(
                "PUT",
                f"/beta/identity/authenticationEventsFlows/f1/{CAST}/{ATTACH}",
                "",
                {"@odata.id": "https://graph.microsoft.com/beta/identity/authenticationEventsFlows/f2"},
            ),
            "does not point at",
        ),
        (
            Request(
                "POST",
                f"{FLOWS}/f1/{CAST}/{ATTRIBUTE_REFS}",
                "",
                {"@odata.id": "https://graph.microsoft.com/v1.0/identity/customAuthenticationExtensions/e1"},
            ),
            "does not point at /v1.0/identity/userFlowAttributes/",
        ),
        (Request("GET", FLOWS, "$orderBy=displayName", None), "query parameter $orderBy is not declared"),
    ],
)
def test_the_check_finds_what_graph_would_refuse(
    request_: Request, fragment: str, description: GraphDescription
) -> None:
    violations = description.violations(request_)
    assert any(fragment in problem for problem in violations), violations


def test_a_detach_writes_null_only_where_the_csdl_allows_it(description: GraphDescription) -> None:
    detach = {"@odata.type": FLOW["@odata.type"], "onAttributeCollectionSubmit": None}
    assert description.violations(Request("PATCH", f"{FLOWS}/f1", "", detach)) == []
