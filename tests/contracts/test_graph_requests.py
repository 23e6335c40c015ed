"""Every request the Graph resources send in a full lifecycle, held against Microsoft's published
OpenAPI description of Graph rather than our own double."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from components.graph.api_connector import ApiConnectorProvider
from components.graph.user_flow import UserFlowProvider
from tests.components.graph.conftest import configured, make_pfx
from tests.contracts.graph_openapi import GraphDescription, Request
from tools.graph_double import GraphDouble

PLAN = {
    "attribute_id": "extension_0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e_plan",
    "input_type": "checkboxMultiSelect",
    "user_attribute_values": [{"name": "Newsletter", "value": "news", "is_default": True}, "Offers"],
}


@pytest.fixture(scope="module")
def description(external_json: Callable[[str], Any]) -> GraphDescription:
    return GraphDescription(external_json("graph-openapi-b2c.json"))


def lifecycle(graph: GraphDouble) -> None:
    """Create, read, update, adopt, attach, detach and delete, with basic and certificate auth."""
    connectors = configured(ApiConnectorProvider(), graph.endpoint)
    basic = connectors.check(
        {},
        {
            "display_name": "gate",
            "target_url": "https://f.example/api",
            "username": "b2c",
            "password": "pw-1234567",
        },
    ).inputs
    gate = connectors.create(basic)
    assert gate.outs is not None
    connectors.read(gate.id, gate.outs)
    rotated = {
        **basic,
        "password": "pw-rotated-1",
        "target_url": "https://g.example/api",
        "display_name": "gate 2",
    }
    connectors.update(gate.id, gate.outs, rotated)

    pfx, _ = make_pfx("cert-pass")
    certificate = connectors.check(
        {},
        {
            "display_name": "cert gate",
            "target_url": "https://f.example/cert",
            "auth_type": "certificate",
            "pkcs12_value": pfx,
            "certificate_password": "cert-pass",
        },
    ).inputs
    cert = connectors.create(certificate)
    assert cert.outs is not None
    connectors.read(cert.id, cert.outs)
    renewed, _ = make_pfx("")
    connectors.update(
        cert.id, cert.outs, {**certificate, "pkcs12_value": renewed, "certificate_password": ""}
    )

    graph.add_connector("portal gate")
    adopted = connectors.create(
        connectors.check({}, {**basic, "display_name": "portal gate", "adopt": True}).inputs
    )

    flows = configured(UserFlowProvider(), graph.endpoint)
    wanted = flows.check(
        {},
        {
            "name": "signupsignin",
            "attributes": [
                {"attribute_id": "email", "requires_verification": True},
                {"attribute_id": "city", "is_optional": True},
                PLAN,
            ],
            "post_attribute_collection": gate.id,
            "pre_token_issuance": cert.id,
        },
    ).inputs
    flow = flows.create(wanted)
    assert flow.outs is not None
    read = flows.read(flow.id, flow.outs)
    assert read.outs is not None
    moved = {
        **wanted,
        "default_language_tag": "de",
        "is_language_customization_enabled": True,
        "attributes": [
            wanted["attributes"][0],
            {**wanted["attributes"][1], "is_optional": False},
            {
                "attribute_id": "country",
                "input_type": "dropdownSingleSelect",
                "user_attribute_values": ["NL", "BE"],
            },
        ],
        "post_attribute_collection": None,
        "post_federation_signup": gate.id,
        "pre_token_issuance": None,
    }
    flows.update(flow.id, read.outs, flows.check({}, moved).inputs)

    graph.add_flow("partners", defaultLanguageTag="fr")
    partners = flows.create(
        flows.check(
            {},
            {
                "name": "partners",
                "attributes": [{"attribute_id": "email"}],
                "adopt": True,
                "post_attribute_collection": adopted.id,
            },
        ).inputs
    )

    for created in (flow, partners):
        assert created.outs is not None
        flows.delete(created.id, created.outs)
    for created in (gate, cert, adopted):
        assert created.outs is not None
        connectors.delete(created.id, created.outs)
    assert graph.state.flows == {} and graph.state.connectors == {}


@pytest.fixture(scope="module")
def requests_sent() -> Iterator[list[Request]]:
    with GraphDouble() as graph:
        lifecycle(graph)
        yield [Request(entry.method, entry.path, entry.query, entry.body) for entry in graph.log]


def test_the_lifecycle_covers_every_kind_of_request(requests_sent: list[Request]) -> None:
    kinds = {
        (r.method, r.path.split("/")[1], r.path.rsplit("/", 1)[-1] if r.path.endswith("$ref") else "")
        for r in requests_sent
    }
    assert {
        ("PUT", "beta", "$ref"),
        ("POST", "v1.0", ""),
        ("PATCH", "v1.0", ""),
        ("DELETE", "beta", ""),
    } <= kinds
    methods = {(r.method, "userAttributeAssignments" in r.path) for r in requests_sent}
    assert {("POST", True), ("PATCH", True), ("DELETE", True), ("GET", True)} <= methods
    bodies = [r.body for r in requests_sent if r.method == "PUT"]
    assert {} in bodies and any("@odata.id" in body for body in bodies)  # attach and detach
    assert len(requests_sent) >= 40


def test_every_request_follows_the_published_description(
    requests_sent: list[Request], description: GraphDescription
) -> None:
    violations = [problem for request in requests_sent for problem in description.violations(request)]
    assert violations == [], "\n".join(violations)


@pytest.mark.parametrize(
    ("request_", "fragment"),
    [
        (
            Request(
                "POST",
                "/v1.0/identity/apiConnectors",
                "",
                {
                    "displayName": "x",
                    "targetUrl": "https://x",
                    "authenticationConfiguration": {
                        "@odata.type": "#microsoft.graph.basicAuthentication",
                        "username": "u",
                        "pasword": "p",
                    },
                },
            ),
            "/authenticationConfiguration/pasword: not a property",
        ),
        (
            Request(
                "POST",
                "/v1.0/identity/apiConnectors",
                "",
                {
                    "displayName": "x",
                    "targetUrl": "https://x",
                    "authenticationConfiguration": {
                        "@odata.type": "#microsoft.graph.clientCertificateAuthentication"
                    },
                },
            ),
            "writes take",
        ),
        (
            Request(
                "POST",
                "/v1.0/identity/apiConnectors",
                "",
                {
                    "displayName": "x",
                    "authenticationConfiguration": {"@odata.type": "#microsoft.graph.digestAuthentication"},
                },
            ),
            "is not one of",
        ),
        (
            Request(
                "POST", "/v1.0/identity/apiConnectors", "", {"displayName": "x", "targetUrl": "https://x"}
            ),
            "/authenticationConfiguration: required by the docs",
        ),
        (Request("PATCH", "/v1.0/identity/apiConnectors/abc", "", {"id": "abc"}), "/id: read-only"),
        (
            Request(
                "POST",
                "/beta/identity/b2cUserFlows",
                "",
                {"id": "x", "userFlowType": "signUpOrSignInOrWhatever", "userFlowTypeVersion": 3},
            ),
            "is not one of",
        ),
        (
            Request(
                "POST",
                "/beta/identity/b2cUserFlows/B2C_1_x/userAttributeAssignments",
                "",
                {"userAttribute": {"id": "city"}, "userInputType": "slider"},
            ),
            "'slider' is not one of",
        ),
        (
            Request(
                "POST",
                "/beta/identity/b2cUserFlows/B2C_1_x/userAttributeAssignments",
                "",
                {"userAttribute": {"id": "city"}, "userAttributeValues": [{"label": "a"}]},
            ),
            "/userAttributeValues/0/label: not a property",
        ),
        (
            Request(
                "PUT",
                "/beta/identity/b2cUserFlows/B2C_1_x/apiConnectorConfiguration/postAttributeCollection/$ref",
                "",
                {"@odata.id": "https://graph.microsoft.com/beta/identity/b2cUserFlows/B2C_1_y"},
            ),
            "does not point at",
        ),
        (
            Request(
                "PUT", "/beta/identity/b2cUserFlows/B2C_1_x/apiConnectorConfiguration/preSignIn/$ref", "", {}
            ),
            "no such path and method",
        ),
        (
            Request(
                "GET",
                "/beta/identity/b2cUserFlows/B2C_1_x/apiConnectorConfiguration",
                "$expand=postSignIn",
                None,
            ),
            "$expand 'postSignIn' is not one of",
        ),
        (
            Request("GET", "/v1.0/identity/b2cUserFlows/B2C_1_x", "", None),
            "no such path and method in Graph v1.0",
        ),
    ],
)
def test_the_check_finds_what_graph_would_refuse(
    request_: Request, fragment: str, description: GraphDescription
) -> None:
    violations = description.violations(request_)
    assert any(fragment in problem for problem in violations), violations
