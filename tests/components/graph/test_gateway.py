"""Faults, errors and configuration: what a user sees when Graph or the setup misbehaves."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError

from components.credentials import B2CSettings, IdentityConfigError
from components.graph.api_connector import ApiConnectorProvider
from components.graph.gateway import GraphError
from components.graph.user_flow import UserFlowProvider
from tests.components.graph.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_ID,
    configured,
    connect,
    stack_config,
)
from tools.graph_double import GraphDouble

PASSWORD = "Connector-Passw0rd-7f3a"
CONNECTOR = {
    "display_name": "gate",
    "target_url": "https://f.example/api/validate-signup",
    "username": "b2c",
    "password": PASSWORD,
}


def connector_props(provider: ApiConnectorProvider) -> dict[str, Any]:
    return provider.check({}, CONNECTOR).inputs


def flow_props(provider: UserFlowProvider, **extra: Any) -> dict[str, Any]:
    return provider.check(
        {}, {"name": "signupsignin", "attributes": [{"attribute_id": "email"}], **extra}
    ).inputs


def test_throttling_is_waited_out_honouring_retry_after(graph: GraphDouble) -> None:
    graph.fail("POST", r"/apiConnectors$", status=429, retry_after="1", code="TooManyRequests")
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    created = provider.create(connector_props(provider))
    assert [c.status for c in graph.log if c.method == "POST"] == [429, 201]
    assert list(graph.state.connectors) == [created.id]


@pytest.mark.parametrize("status", [503, 504])
def test_unavailable_is_retried(graph: GraphDouble, status: int) -> None:
    graph.fail("GET", r"/b2cUserFlows/B2C_1_signupsignin$", status=status)
    provider = configured(UserFlowProvider(), graph.endpoint)
    provider.create(flow_props(provider))
    assert "B2C_1_signupsignin" in graph.state.flows


def test_endless_throttling_stops_at_the_budget_and_says_so(graph: GraphDouble) -> None:
    graph.fail("GET", r"/apiConnectors$", status=503, times=100)
    provider = configured(ApiConnectorProvider(), graph.endpoint, max_wait=2)
    with pytest.raises(GraphError, match=r"Gave up listing API connectors after \d+ attempts in 2 s: .*503"):
        provider.create(connector_props(provider))
    assert graph.state.connectors == {}


def test_a_dropped_read_is_retried(graph: GraphDouble) -> None:
    graph.drop("GET", r"/apiConnectors$")
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    provider.create(connector_props(provider))
    assert len(graph.state.connectors) == 1


def test_a_dropped_create_that_landed_is_not_sent_twice(graph: GraphDouble) -> None:
    graph.drop("POST", r"/apiConnectors$", after_apply=True)
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    created = provider.create(connector_props(provider))
    assert list(graph.state.connectors) == [created.id]
    assert [c.method for c in graph.log].count("POST") == 1


def test_a_dropped_create_that_did_not_land_is_sent_again(graph: GraphDouble) -> None:
    graph.drop("POST", r"/b2cUserFlows$")
    provider = configured(UserFlowProvider(), graph.endpoint)
    created = provider.create(flow_props(provider))
    assert list(graph.state.flows) == [created.id]


def test_replication_lag_after_create_is_waited_out(graph: GraphDouble) -> None:
    graph.replication_lag = 2
    connectors = configured(ApiConnectorProvider(), graph.endpoint)
    gate = connectors.create(connector_props(connectors)).id
    provider = configured(UserFlowProvider(), graph.endpoint, max_lag=10)
    created = provider.create(flow_props(provider, post_attribute_collection=gate))
    assert graph.state.flows[created.id]["steps"]["postAttributeCollection"] == gate
    assert [c.status for c in graph.log].count(404) >= 2


def test_permission_denied_names_the_permission_and_admin_consent(graph: GraphDouble) -> None:
    graph.denied.add("/beta/identity/b2cUserFlows")
    provider = configured(UserFlowProvider(), graph.endpoint)
    with pytest.raises(GraphError) as raised:
        provider.create(flow_props(provider))
    message = str(raised.value)
    assert "403" in message and "IdentityUserFlow.ReadWrite.All" in message and "admin consent" in message
    assert TENANT_ID in message and CLIENT_SECRET not in message


def test_connector_permission_denied_names_its_permission(graph: GraphDouble) -> None:
    graph.denied.add("/v1.0/identity/apiConnectors")
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    with pytest.raises(GraphError, match=r"APIConnectors\.ReadWrite\.All"):
        provider.create(connector_props(provider))


def test_a_refused_token_explains_which_credential(
    graph: GraphDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    class WrongToken:
        async def get_token(self, *_: str, **__: Any) -> Any:
            from azure.core.credentials import AccessToken

            return AccessToken("expired", 2**31)

        async def close(self) -> None:
            pass

    provider = configured(
        ApiConnectorProvider(), graph.endpoint, gateway=connect(credentials=lambda _settings: WrongToken())
    )
    with pytest.raises(
        GraphError, match=r"refused the credential of client id .* b2c-signup:b2cClientSecret"
    ) as raised:
        provider.create(connector_props(provider))
    assert CLIENT_SECRET not in str(raised.value) and PASSWORD not in str(raised.value)


def test_a_token_failure_names_the_config_keys_and_hides_the_secret(
    graph: GraphDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Failing:
        async def get_token(self, *_: str, **__: Any) -> Any:
            raise ClientAuthenticationError(f"AADSTS7000215: Invalid client secret provided: {CLIENT_SECRET}")

        async def close(self) -> None:
            pass

    provider = configured(
        ApiConnectorProvider(), graph.endpoint, gateway=connect(credentials=lambda _settings: Failing())
    )
    with pytest.raises(GraphError, match=r"AADSTS7000215.*b2c-signup:b2cClientSecret") as raised:
        provider.create(connector_props(provider))
    assert CLIENT_SECRET not in str(raised.value)


def test_bad_request_reports_graph_code_message_and_field_without_secrets(graph: GraphDouble) -> None:
    graph.fail(
        "POST",
        r"/apiConnectors$",
        status=400,
        code="Request_BadRequest",
        message=f"Password '{PASSWORD}' is too weak.",
        target="authenticationConfiguration",
    )
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    with pytest.raises(GraphError) as raised:
        provider.create(connector_props(provider))
    message = str(raised.value)
    assert "400 Request_BadRequest" in message and "(field: authenticationConfiguration)" in message
    assert PASSWORD not in message and "***" in message


def test_errors_reach_the_engine_without_a_chained_traceback(graph: GraphDouble) -> None:
    graph.denied.add("/v1.0")
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    with pytest.raises(GraphError) as raised:
        provider.create(connector_props(provider))
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"b2c-signup:tenantId": ""}, "b2c-signup:tenantId is not set"),
        ({"b2c-signup:b2cClientSecret": ""}, "b2c-signup:b2cClientSecret is not set"),
        ({"b2c-signup:b2cClientId": ""}, "b2c-signup:b2cClientId is required"),
        ({"b2c-signup:b2cCredential": "password"}, "b2c-signup:b2cCredential 'password' must be one of"),
        ({"b2c-signup:graphEndpoint": "http://graph.example.com"}, "must be https"),
        ({"b2c-signup:graphEndpoint": "https://graph.microsoft.com/v1.0"}, "must be an origin only"),
    ],
)
def test_configuration_errors_name_the_key(config: dict[str, str], fragment: str) -> None:
    values = {**stack_config("https://graph.microsoft.com"), **config}
    with pytest.raises(IdentityConfigError, match=fragment):
        B2CSettings.from_config(values.get)


def test_configuration_never_comes_from_arm_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"ARM_TENANT_ID": TENANT_ID, "ARM_CLIENT_ID": "x", "ARM_CLIENT_SECRET": "y"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(IdentityConfigError, match="tenantId is not set"):
        B2CSettings.from_config({}.get)


def test_cli_and_oidc_need_no_client_secret() -> None:
    base = {"b2c-signup:tenantId": TENANT_ID}
    assert B2CSettings.from_config({**base, "b2c-signup:b2cCredential": "azureCli"}.get).client_secret is None
    oidc = {**base, "b2c-signup:b2cCredential": "githubOidc", "b2c-signup:b2cClientId": CLIENT_ID}
    assert B2CSettings.from_config(oidc.get).credential == "githubOidc"
    settings = B2CSettings.from_config(stack_config("https://graph.microsoft.com").get)
    assert CLIENT_SECRET not in repr(settings)


def test_an_unconfigured_provider_fails_with_the_config_message() -> None:
    provider = ApiConnectorProvider()
    from pulumi.dynamic import Config, ConfigureRequest

    provider.configure(ConfigureRequest(Config({}, "b2c-signup")))
    with pytest.raises(GraphError, match="b2c-signup:tenantId is not set"):
        provider.create(connector_props(provider))
