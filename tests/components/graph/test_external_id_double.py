"""The External ID half of the Graph double refuses what Graph refuses, in Graph's error envelope:
the providers' tests are only as strict as it is."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tools.graph_double import TOKEN, GraphDouble

EXTENSIONS = "/v1.0/identity/customAuthenticationExtensions"
FLOWS = "/v1.0/identity/authenticationEventsFlows"
APP = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
EXTENSION = {
    "@odata.type": "#microsoft.graph.onAttributeCollectionSubmitCustomExtension",
    "displayName": "check",
    "endpointConfiguration": {
        "@odata.type": "#microsoft.graph.httpRequestEndpoint",
        "targetUrl": "https://f.example/api",
    },
    "authenticationConfiguration": {
        "@odata.type": "#microsoft.graph.azureAdTokenAuthentication",
        "resourceId": f"api://f.example/{APP}",
    },
    "clientConfiguration": {"timeoutInMilliseconds": 2000, "maximumRetries": 1},
}
FLOW = {
    "@odata.type": "#microsoft.graph.externalUsersSelfServiceSignUpEventsFlow",
    "displayName": "Sign up",
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
    "onAttributeCollection": {
        "@odata.type": "#microsoft.graph.onAttributeCollectionExternalUsersSelfServiceSignUp",
        "attributes": [{"id": "email"}],
        "attributeCollectionPage": {
            "views": [{"inputs": [{"attribute": "email", "label": "Email", "inputType": "text"}]}]
        },
    },
}


# One client for the module: httpx.request() makes a client, and loads the trust store, per call.
_CLIENT = httpx.Client()


def send(graph: GraphDouble, method: str, path: str, body: Any = None) -> httpx.Response:
    return _CLIENT.request(
        method,
        f"{graph.endpoint}{path}",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}-test"},
        timeout=5,
    )


def refused(reply: httpx.Response, status: int, fragment: str) -> None:
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert {"code", "message", "innerError"} <= set(error) and fragment in error["message"], error


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"@odata.type": None}, "Specify the @odata.type"),
        ({"authenticationConfiguration": None}, "authenticationConfiguration is required"),
        ({"clientConfiguration": {"timeoutInMilliseconds": 199}}, "between 200 and 2000"),
        ({"clientConfiguration": {"timeoutInMilliseconds": 2001}}, "between 200 and 2000"),
        ({"clientConfiguration": {"maximumRetries": 2}}, "0 or 1"),
        ({"endpointConfiguration": {"targetUrl": "https://f.example/api"}}, "needs @odata.type"),
        ({"displayname": "typo"}, "Invalid property 'displayname'"),
    ],
)
def test_extensions_graph_would_refuse_are_refused(
    graph: GraphDouble, change: dict[str, Any], fragment: str
) -> None:
    body = {k: v for k, v in {**EXTENSION, **change}.items() if v is not None}
    refused(send(graph, "POST", EXTENSIONS, body), 400, fragment)
    assert graph.state.extensions == {}


def test_an_extensions_type_cannot_change(graph: GraphDouble) -> None:
    made = send(graph, "POST", EXTENSIONS, EXTENSION).json()
    patch = {"@odata.type": "#microsoft.graph.onTokenIssuanceStartCustomExtension"}
    refused(send(graph, "PATCH", f"{EXTENSIONS}/{made['id']}", patch), 400, "cannot be changed")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"@odata.type": None}, "abstract"),
        ({"onInteractiveAuthFlowStart": None}, "onInteractiveAuthFlowStart is required"),
        ({"onAuthenticationMethodLoadStart": None}, "at least one identity provider"),
        ({"priority": 500}, "Invalid property 'priority'"),  # beta only
        ({"conditions": {"applications": {"includeAllApplications": False}}}, "includeAllApplications"),
        (
            {
                "onAttributeCollection": {
                    **FLOW["onAttributeCollection"],
                    "attributes": [{"id": "favouriteColour"}],
                }
            },
            "does not exist",
        ),
        ({"onAttributeCollectionSubmit": {"customExtension": {"id": APP}}}, "by its $ref"),
    ],
)
def test_flows_graph_would_refuse_are_refused(
    graph: GraphDouble, change: dict[str, Any], fragment: str
) -> None:
    body = {k: v for k, v in {**FLOW, **change}.items() if v is not None}
    refused(send(graph, "POST", FLOWS, body), 400, fragment)
    assert graph.state.signup_flows == {}


def test_names_are_unique_and_an_app_links_to_one_flow(graph: GraphDouble) -> None:
    first = send(
        graph,
        "POST",
        FLOWS,
        {**FLOW, "conditions": {"applications": {"includeApplications": [{"appId": APP}]}}},
    )
    assert first.status_code == 201
    refused(send(graph, "POST", FLOWS, {**FLOW, "displayName": "SIGN UP"}), 409, "already exists")
    second = send(graph, "POST", FLOWS, {**FLOW, "displayName": "Partners"}).json()
    links = f"{FLOWS}/{second['id']}/conditions/applications/includeApplications"
    refused(send(graph, "POST", links, {"appId": APP}), 400, "can only be linked to one user flow")
    own = f"{FLOWS}/{first.json()['id']}/conditions/applications/includeApplications"
    refused(send(graph, "POST", own, {"appId": APP}), 409, "already linked")


def test_the_page_and_the_attached_extension_follow_graphs_rules(graph: GraphDouble) -> None:
    flow = send(graph, "POST", FLOWS, FLOW).json()
    cast = f"{FLOWS}/{flow['id']}/microsoft.graph.externalUsersSelfServiceSignUpEventsFlow"
    refs = f"{cast}/onAttributeCollection/microsoft.graph.onAttributeCollectionExternalUsersSelfServiceSignUp/attributes"
    refused(send(graph, "DELETE", f"{refs}/email/$ref"), 400, "last attribute")
    refused(
        send(
            graph,
            "POST",
            f"{refs}/$ref",
            {"@odata.id": f"{graph.endpoint}/v1.0/identity/userFlowAttributes/nope"},
        ),
        404,
        "does not exist",
    )
    page = {"views": [{"inputs": [{"attribute": "city", "label": "City", "inputType": "text"}]}]}
    collection = {
        "@odata.type": FLOW["onAttributeCollection"]["@odata.type"],
        "attributeCollectionPage": page,
    }
    refused(
        send(graph, "PATCH", f"{FLOWS}/{flow['id']}", {"onAttributeCollection": collection}),
        400,
        "@odata.type",
    )
    patch = {"@odata.type": FLOW["@odata.type"], "onAttributeCollection": collection}
    refused(send(graph, "PATCH", f"{FLOWS}/{flow['id']}", patch), 400, "does not collect")
    attach = f"{cast}/onAttributeCollectionSubmit/microsoft.graph.onAttributeCollectionSubmitCustomExtensionHandler/customExtension/$ref"
    extension = send(graph, "POST", EXTENSIONS, EXTENSION).json()
    ref = {"@odata.id": f"{graph.endpoint}/beta/identity/customAuthenticationExtensions/{extension['id']}"}
    refused(send(graph, "PUT", attach, ref), 400, "Resource not found")  # documented for beta only
    assert send(graph, "PUT", attach.replace("/v1.0/", "/beta/"), ref).status_code == 204
    bare = send(
        graph,
        "POST",
        FLOWS,
        {k: v for k, v in {**FLOW, "displayName": "bare"}.items() if k != "onAttributeCollection"},
    ).json()
    refused(send(graph, "PATCH", f"{FLOWS}/{bare['id']}", patch), 400, "set at creation")


def test_validation_reports_graphs_findings(graph: GraphDouble) -> None:
    made = send(graph, "POST", EXTENSIONS, EXTENSION).json()
    validate = f"{EXTENSIONS}/{made['id']}/microsoft.graph.validateAuthenticationConfiguration"
    assert [e["code"] for e in send(graph, "POST", validate).json()["errors"]] == ["ServicePrincipalNotFound"]
    graph.add_service_principal(APP, replicating=1, granted=False)
    assert [e["code"] for e in send(graph, "POST", validate).json()["errors"]] == ["ServicePrincipalNotFound"]
    found = send(graph, "POST", validate.replace("microsoft.graph.", "")).json()  # the docs' bare name
    assert found["errors"] == [] and [w["code"] for w in found["warnings"]] == [
        "PermissionNotGrantedToServicePrincipal"
    ]
    other = {
        **EXTENSION,
        "authenticationConfiguration": {
            **EXTENSION["authenticationConfiguration"],
            "resourceId": f"api://other.example/{APP}",
        },
    }
    moved = send(graph, "POST", EXTENSIONS, other).json()
    codes = [
        e["code"]
        for e in send(
            graph, "POST", f"{EXTENSIONS}/{moved['id']}/validateAuthenticationConfiguration"
        ).json()["errors"]
    ]
    assert codes == ["DomainNameDoesNotMatch"]
    refused(send(graph, "POST", validate, {"x": 1}), 400, "Don't supply a request body")


def test_a_filter_other_than_the_documented_one_is_refused(graph: GraphDouble) -> None:
    refused(send(graph, "GET", f"{FLOWS}?$filter=displayName eq 'x'"), 400, "Invalid filter clause")
