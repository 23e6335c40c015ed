"""The providers as the engine runs them: serialized with pulumi.dynamic.serialize_provider into
state, then unpickled, configured and called in another process."""

from __future__ import annotations

import base64

from pulumi.dynamic.dynamic import serialize_provider

from components.graph.api_connector import ApiConnectorProvider
from components.graph.custom_extension import CustomExtensionProvider
from components.graph.signup_flow import SignUpFlowProvider
from components.graph.user_flow import UserFlowProvider
from tests.components.graph.conftest import CLIENT_SECRET, configured, stack_config
from tests.doubles.engine import run_in_engine
from tools.graph_double import TOKEN, GraphDouble

PASSWORD = "Connector-Passw0rd-7f3a"


def test_serialized_providers_carry_no_credentials_or_passwords(graph: GraphDouble) -> None:
    # Even a provider configured in this process, holding the client secret, leaves it out of the
    # blob: the engine stores the blob in state as it is.
    for provider in (
        ApiConnectorProvider(),
        UserFlowProvider(),
        CustomExtensionProvider(),
        SignUpFlowProvider(),
    ):
        configured(provider, graph.endpoint)
        raw = base64.b64decode(serialize_provider(provider))
        for secret in (CLIENT_SECRET, PASSWORD, TOKEN, "b2cClientSecret"):
            assert secret.encode() not in raw, (type(provider).__name__, secret)


def test_a_configured_provider_after_the_round_trip_needs_configuring_again(graph: GraphDouble) -> None:
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    blob = serialize_provider(provider)
    inputs = {
        "display_name": "gate",
        "target_url": "https://f.example/api/validate-signup",
        "username": "b2c",
        "password": PASSWORD,
    }
    connector = run_in_engine(blob, stack_config(graph.endpoint), inputs)
    assert connector["read"]["connector_id"] == connector["id"]


def test_both_providers_work_after_the_round_trip(graph: GraphDouble) -> None:
    connector_blob = serialize_provider(ApiConnectorProvider())
    connector_inputs = {
        "display_name": "gate",
        "target_url": "https://f.example/api/validate-signup",
        "username": "b2c",
        "password": PASSWORD,
    }
    connector = run_in_engine(connector_blob, stack_config(graph.endpoint), connector_inputs, delete=False)
    assert connector["read"]["connector_id"] == connector["id"] in graph.state.connectors

    flow_blob = serialize_provider(UserFlowProvider())
    flow_inputs = {
        "name": "signupsignin",
        "attributes": [{"attribute_id": "email"}],
        "post_attribute_collection": connector["id"],
    }
    flow = run_in_engine(flow_blob, stack_config(graph.endpoint), flow_inputs)
    assert flow["id"] == "B2C_1_signupsignin"
    assert flow["read"]["post_attribute_collection"] == connector["id"]
    assert graph.state.flows == {}  # deleted in the other process

    run_in_engine(
        connector_blob, stack_config(graph.endpoint), {**connector_inputs, "display_name": "gate 2"}
    )
    assert list(graph.state.connectors) == [connector["id"]]


def test_the_external_id_providers_work_after_the_round_trip(graph: GraphDouble) -> None:
    app = "5f2e8c1a-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
    graph.add_service_principal(app)
    # Providers configured in this process hold the client secret; the blobs must still not.
    configured(CustomExtensionProvider(), graph.endpoint)
    configured(SignUpFlowProvider(), graph.endpoint)
    for provider in (CustomExtensionProvider(), SignUpFlowProvider()):
        raw = base64.b64decode(serialize_provider(provider))
        assert b"components.graph." in raw
        for secret in (CLIENT_SECRET, TOKEN, "b2cClientSecret"):
            assert secret.encode() not in raw

    host = "func-signup-x1.azurewebsites.net"
    extension = run_in_engine(
        serialize_provider(CustomExtensionProvider()),
        stack_config(graph.endpoint),
        {
            "display_name": "check",
            "target_url": f"https://{host}/api/validate-signup",
            "resource_id": f"api://{host}/{app}",
        },
        delete=False,
    )
    assert extension["read"]["extension_id"] == extension["id"] in graph.state.extensions

    flow = run_in_engine(
        serialize_provider(SignUpFlowProvider()),
        stack_config(graph.endpoint),
        {
            "display_name": "Sign up",
            "attributes": [{"attribute_id": "email"}, {"attribute_id": "givenName"}],
            "client_app_ids": ["1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"],
            "extension_id": extension["id"],
        },
    )
    assert flow["read"]["extension_id"] == extension["id"] and flow["read"]["client_app_ids"] == [
        "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
    ]
    assert graph.state.signup_flows == {}  # deleted in the other process
