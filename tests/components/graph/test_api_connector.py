"""ApiConnector: the lifecycle a user relies on, against the Graph double."""

from __future__ import annotations

from typing import Any

import pytest

from components.graph.api_connector import ApiConnectorProvider
from components.graph.gateway import GraphError
from tests.components.graph.conftest import configured, make_pfx
from tools.graph_double import GraphDouble

PASSWORD = "Connector-Passw0rd-7f3a"
INPUTS = {
    "display_name": "Sign-up domain gate",
    "target_url": "https://func-signup-x1.azurewebsites.net/api/validate-signup",
    "auth_type": "basic",
    "username": "b2c-connector",
    "password": PASSWORD,
    "adopt": False,
}


def checked(
    provider: ApiConnectorProvider, news: dict[str, Any], olds: dict[str, Any] | None = None
) -> dict[str, Any]:
    result = provider.check(olds or {}, news)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return result.inputs


def test_create_read_update_delete(graph: GraphDouble) -> None:
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    props = checked(provider, INPUTS)
    with graph.recording() as calls:
        created = provider.create(props)
    assert [(c.method, c.status) for c in calls if c.write] == [("POST", 201)]
    assert created.outs is not None
    live = graph.state.connectors[created.id]
    assert live["auth"] == {"type": "basic", "username": "b2c-connector", "password": PASSWORD}
    assert created.outs["connector_id"] == created.id

    read = provider.read(created.id, created.outs)
    assert read.id == created.id and read.outs is not None
    # The password reads back as ****** and must not replace the one applied.
    assert read.outs["password"] == PASSWORD
    assert read.outs["target_url"] == INPUTS["target_url"]
    assert provider.diff(created.id, read.outs, checked(provider, INPUTS)).changes is False

    news = checked(
        provider, {**INPUTS, "target_url": "https://func-signup-x2.azurewebsites.net/api/validate-signup"}
    )
    diff = provider.diff(created.id, created.outs, news)
    assert diff.changes is True and diff.replaces == []
    with graph.recording() as calls:
        updated = provider.update(created.id, created.outs, news)
    assert [(c.method, c.body) for c in calls] == [("PATCH", {"targetUrl": news["target_url"]})]
    assert updated.outs is not None and live["targetUrl"] == news["target_url"]

    with graph.recording() as calls:
        provider.delete(created.id, updated.outs)
    assert [(c.method, c.status) for c in calls] == [("DELETE", 204)]
    assert graph.state.connectors == {}
    provider.delete(created.id, updated.outs)  # already gone: still a success
    assert provider.read(created.id, updated.outs).id == ""


def test_password_change_is_seen_from_inputs_and_sent_whole(graph: GraphDouble) -> None:
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    created = provider.create(checked(provider, INPUTS))
    assert created.outs is not None
    news = checked(provider, {**INPUTS, "password": "Rotated-Passw0rd-99"})
    assert provider.diff(created.id, created.outs, news).changes is True
    with graph.recording() as calls:
        provider.update(created.id, created.outs, news)
    (patch,) = calls
    assert patch.body == {
        "authenticationConfiguration": {
            "@odata.type": "#microsoft.graph.basicAuthentication",
            "username": "b2c-connector",
            "password": "Rotated-Passw0rd-99",
        }
    }
    assert graph.state.connectors[created.id]["auth"]["password"] == "Rotated-Passw0rd-99"


def test_certificate_auth_reads_back_as_thumbprints(graph: GraphDouble) -> None:
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    pfx, thumbprint = make_pfx("pfx-pass")
    inputs = {**INPUTS, "auth_type": "certificate", "username": None, "password": None}
    props = checked(provider, {**inputs, "pkcs12_value": pfx, "certificate_password": "pfx-pass"})
    created = provider.create(props)
    assert created.outs is not None and created.outs["certificate_thumbprints"] == [thumbprint]
    read = provider.read(created.id, created.outs)
    assert read.outs is not None
    assert read.outs["auth_type"] == "certificate" and read.outs["certificate_thumbprints"] == [thumbprint]
    assert read.outs["pkcs12_value"] == pfx  # write-only: kept from the inputs

    new_pfx, new_thumbprint = make_pfx("")
    news = checked(provider, {**inputs, "pkcs12_value": new_pfx, "certificate_password": None})
    updated = provider.update(created.id, created.outs, news)
    assert updated.outs is not None and updated.outs["certificate_thumbprints"] == [new_thumbprint]
    assert graph.state.connectors[created.id]["auth"]["thumbprint"] == new_thumbprint


def test_refresh_shows_a_portal_edit_as_drift(graph: GraphDouble) -> None:
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    created = provider.create(checked(provider, INPUTS))
    assert created.outs is not None
    graph.state.connectors[created.id]["targetUrl"] = "https://attacker.example/api"
    graph.state.connectors[created.id]["auth"]["username"] = "someone-else"
    read = provider.read(created.id, created.outs)
    assert read.outs is not None and read.inputs is not None
    assert read.outs["target_url"] == "https://attacker.example/api"
    diff = provider.diff(created.id, read.outs, checked(provider, INPUTS))
    assert diff.changes is True
    provider.update(created.id, read.outs, checked(provider, INPUTS))
    live = graph.state.connectors[created.id]
    assert live["targetUrl"] == INPUTS["target_url"] and live["auth"]["username"] == "b2c-connector"


def test_existing_display_name_is_an_error_that_explains_adopt(graph: GraphDouble) -> None:
    existing = graph.add_connector("Sign-up domain gate")
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    with pytest.raises(GraphError, match=r"already exists.*id " + existing + r".*adopt=True") as raised:
        provider.create(checked(provider, INPUTS))
    assert PASSWORD not in str(raised.value)
    assert [c.method for c in graph.log] == ["GET"]  # looked, wrote nothing


def test_adopt_takes_over_and_converges(graph: GraphDouble) -> None:
    existing = graph.add_connector("Sign-up domain gate")
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    created = provider.create(checked(provider, {**INPUTS, "adopt": True}))
    assert created.id == existing and len(graph.state.connectors) == 1
    live = graph.state.connectors[existing]
    assert live["targetUrl"] == INPUTS["target_url"]
    assert live["auth"] == {"type": "basic", "username": "b2c-connector", "password": PASSWORD}


def test_adopt_refuses_an_ambiguous_name(graph: GraphDouble) -> None:
    graph.add_connector("Sign-up domain gate")
    graph.add_connector("sign-up DOMAIN gate")
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    with pytest.raises(GraphError, match="2 API connectors are named"):
        provider.create(checked(provider, {**INPUTS, "adopt": True}))


def test_lookup_follows_paging(graph: GraphDouble) -> None:
    for index in range(5):
        graph.add_connector(f"other {index}")
    target = graph.add_connector("Sign-up domain gate")
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    created = provider.create(checked(provider, {**INPUTS, "adopt": True}))
    assert created.id == target
    assert sum(1 for c in graph.log if c.method == "GET") == 3  # 6 connectors, pages of 2


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"target_url": "http://func.example/api"}, "target_url", "must be an https URL"),
        ({"target_url": "https://user:pw@func.example/api"}, "target_url", "must not carry credentials"),
        ({"display_name": "  "}, "display_name", "display_name is required"),
        ({"username": "a:b"}, "username", "must not contain ':'"),
        ({"password": None}, "password", "password is required"),
        ({"auth_type": "none"}, "auth_type", "use 'basic' or 'certificate'"),
        ({"auth_type": "certificate", "pkcs12_value": "not base64!"}, "pkcs12_value", "not base64"),
    ],
)
def test_check_names_the_field_and_the_fix(change: dict[str, Any], field: str, fragment: str) -> None:
    result = ApiConnectorProvider().check({}, {**INPUTS, **change})
    assert [(f.property, fragment in f.reason) for f in result.failures] == [(field, True)]


def test_check_rejects_a_certificate_with_the_wrong_password() -> None:
    pfx, _ = make_pfx("right")
    result = ApiConnectorProvider().check(
        {}, {**INPUTS, "auth_type": "certificate", "pkcs12_value": pfx, "certificate_password": "wrong"}
    )
    assert [f.property for f in result.failures] == ["certificate_password"]
    assert "wrong" not in result.failures[0].reason


def test_check_and_diff_pass_unknown_values_through() -> None:
    from components.graph.model import UNKNOWN

    provider = ApiConnectorProvider()  # not configured: check and diff never need Graph
    result = provider.check({}, {**INPUTS, "target_url": UNKNOWN})
    assert result.failures == [] and result.inputs["target_url"] == UNKNOWN
    assert provider.diff("id", {**INPUTS}, result.inputs).changes is True
