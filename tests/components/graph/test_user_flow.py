"""B2CUserFlow: the lifecycle a user relies on, against the Graph double."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.graph.api_connector import ApiConnectorProvider
from components.graph.gateway import GraphError
from components.graph.user_flow import UserFlowProvider
from tests.components.graph.conftest import configured
from tools.graph_double import GraphDouble

ATTRIBUTES = [
    {"attribute_id": "email", "requires_verification": True},
    {"attribute_id": "givenName", "display_name": "Given name"},
    {"attribute_id": "surname", "is_optional": True},
]


def connector(graph: GraphDouble, name: str = "gate") -> str:
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    props = provider.check(
        {},
        {
            "display_name": name,
            "target_url": "https://f.example/api",
            "username": "u",
            "password": "pw-123456",
        },
    ).inputs
    return provider.create(props).id


def flow_inputs(provider: UserFlowProvider, **overrides: Any) -> dict[str, Any]:
    news = {"name": "signupsignin", "attributes": ATTRIBUTES, "post_attribute_collection": None, **overrides}
    result = provider.check({}, news)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return result.inputs


def test_create_sends_the_contract_minimum(graph: GraphDouble) -> None:
    gate = connector(graph)
    provider = configured(UserFlowProvider(), graph.endpoint)
    props = flow_inputs(provider, post_attribute_collection=gate)
    with graph.recording() as calls:
        created = provider.create(props)
    assert created.id == "B2C_1_signupsignin"
    writes = [(c.method, c.path.rsplit("/", 2)[-2:]) for c in calls if c.write]
    assert writes == [
        ("POST", ["identity", "b2cUserFlows"]),
        ("POST", ["B2C_1_signupsignin", "userAttributeAssignments"]),
        ("POST", ["B2C_1_signupsignin", "userAttributeAssignments"]),
        ("POST", ["B2C_1_signupsignin", "userAttributeAssignments"]),
        ("PUT", ["postAttributeCollection", "$ref"]),
    ]
    assert calls[1].body == {
        "id": "signupsignin",
        "userFlowType": "signUpOrSignIn",
        "userFlowTypeVersion": 3.0,
        "defaultLanguageTag": "en",
        "isLanguageCustomizationEnabled": False,
    }
    live = graph.state.flows["B2C_1_signupsignin"]
    assert live["steps"]["postAttributeCollection"] == gate and live["steps"]["postFederationSignup"] is None
    assert live["attributes"]["email"]["userInputType"] == "emailBox"
    assert live["attributes"]["givenName"]["displayName"] == "Given name"
    assert live["attributes"]["surname"]["isOptional"] is True


def test_refresh_reads_three_times_and_reports_no_drift(graph: GraphDouble) -> None:
    gate = connector(graph)
    provider = configured(UserFlowProvider(), graph.endpoint)
    props = flow_inputs(provider, post_attribute_collection=gate)
    created = provider.create(props)
    assert created.outs is not None
    with graph.recording() as calls:
        read = provider.read(created.id, created.outs)
    assert [c.method for c in calls] == ["GET", "GET", "GET"]
    assert "$expand=postFederationSignup,postAttributeCollection" in calls[1].query.replace("%2C", ",")
    assert read.outs is not None
    assert (
        provider.diff(created.id, read.outs, flow_inputs(provider, post_attribute_collection=gate)).changes
        is False
    )


def test_refresh_shows_portal_edits_as_drift_and_update_repairs_them(graph: GraphDouble) -> None:
    gate = connector(graph)
    provider = configured(UserFlowProvider(), graph.endpoint)
    wanted = flow_inputs(provider, post_attribute_collection=gate)
    created = provider.create(wanted)
    assert created.outs is not None
    live = graph.state.flows["B2C_1_signupsignin"]
    live["steps"]["postAttributeCollection"] = None  # someone detached the connector in the portal
    del live["attributes"]["surname"]
    live["attributes"]["city"] = {
        "id": "city",
        "isOptional": True,
        "requiresVerification": False,
        "userInputType": "textBox",
        "displayName": "City",
    }
    live["defaultLanguageTag"] = "fr"
    read = provider.read(created.id, created.outs)
    assert read.outs is not None
    assert read.outs["post_attribute_collection"] is None
    assert read.outs["default_language_tag"] == "fr"
    assert {a["attribute_id"] for a in read.outs["attributes"]} == {"email", "givenName", "city"}
    diff = provider.diff(created.id, read.outs, wanted)
    assert diff.changes is True and diff.replaces == []
    with graph.recording() as calls:
        provider.update(created.id, read.outs, wanted)
    assert sorted((c.method, c.path.rsplit("/", 1)[-1]) for c in calls) == [
        ("DELETE", "city"),
        ("GET", "userAttributeAssignments"),  # attributes are planned from what Graph holds
        ("PATCH", "B2C_1_signupsignin"),
        ("POST", "userAttributeAssignments"),
        ("PUT", "$ref"),
    ]
    patch = next(c for c in calls if c.method == "PATCH")
    assert patch.body == {"defaultLanguageTag": "en"}
    again = provider.read(created.id, created.outs)
    assert again.outs is not None and provider.diff(created.id, again.outs, wanted).changes is False


def test_update_attaches_moves_and_detaches_connectors(graph: GraphDouble) -> None:
    first, second = connector(graph, "first"), connector(graph, "second")
    provider = configured(UserFlowProvider(), graph.endpoint)
    olds = provider.create(flow_inputs(provider)).outs
    assert olds is not None
    steps = graph.state.flows["B2C_1_signupsignin"]["steps"]

    news = flow_inputs(provider, post_attribute_collection=first, post_federation_signup=second)
    with graph.recording() as calls:
        olds = provider.update("B2C_1_signupsignin", olds, news).outs
    assert sorted(c.body.get("@odata.id", "").rsplit("/", 1)[-1] for c in calls) == sorted([first, second])
    assert steps["postAttributeCollection"] == first and steps["postFederationSignup"] == second

    assert olds is not None
    news = flow_inputs(provider, post_attribute_collection=second)
    with graph.recording() as calls:
        provider.update("B2C_1_signupsignin", olds, news)
    assert sorted((c.path.split("/")[-2], c.body) for c in calls) == [
        ("postAttributeCollection", {"@odata.id": f"{graph.endpoint}/beta/identity/apiConnectors/{second}"}),
        ("postFederationSignup", {}),
    ]
    assert steps["postAttributeCollection"] == second and steps["postFederationSignup"] is None


def test_attribute_changes_are_patched_in_place(graph: GraphDouble) -> None:
    provider = configured(UserFlowProvider(), graph.endpoint)
    olds = provider.create(flow_inputs(provider)).outs
    assert olds is not None
    changed = [dict(ATTRIBUTES[0]), {**ATTRIBUTES[1], "is_optional": True}, dict(ATTRIBUTES[2])]
    with graph.recording() as calls:
        provider.update("B2C_1_signupsignin", olds, flow_inputs(provider, attributes=changed))
    assert [(c.method, c.path.rsplit("/", 1)[-1], c.body.get("isOptional")) for c in calls] == [
        ("GET", "userAttributeAssignments", None),
        ("PATCH", "givenName", True),
    ]


def test_diff_is_local_and_replaces_on_name_type_or_version(graph: GraphDouble) -> None:
    provider = configured(UserFlowProvider(), graph.endpoint)
    olds = flow_inputs(provider)
    for change in ({"name": "other"}, {"user_flow_type": "signUp"}, {"user_flow_type_version": 1}):
        diff = provider.diff("B2C_1_signupsignin", olds, flow_inputs(provider, **change))
        assert diff.replaces == [next(iter(change))] and diff.delete_before_replace is True
    assert (
        provider.diff("B2C_1_signupsignin", olds, flow_inputs(provider, name="B2C_1_signupsignin")).changes
        is False
    )
    diff = provider.diff("B2C_1_signupsignin", olds, flow_inputs(provider, default_language_tag="de"))
    assert diff.changes is True and diff.replaces == []
    assert graph.log == []


def test_existing_flow_is_an_error_that_explains_adopt(graph: GraphDouble) -> None:
    graph.add_flow("signupsignin")
    provider = configured(UserFlowProvider(), graph.endpoint)
    with pytest.raises(GraphError, match=r"B2C_1_signupsignin already exists.*adopt=True"):
        provider.create(flow_inputs(provider))
    assert [c.method for c in graph.log] == ["GET"]


def test_adopt_converges_an_existing_flow(graph: GraphDouble) -> None:
    gate = connector(graph)
    graph.add_flow("signupsignin", defaultLanguageTag="de")
    graph.state.flows["B2C_1_signupsignin"]["attributes"]["city"] = {
        "id": "city",
        "isOptional": False,
        "requiresVerification": False,
        "userInputType": "textBox",
        "displayName": "City",
    }
    provider = configured(UserFlowProvider(), graph.endpoint)
    created = provider.create(flow_inputs(provider, post_attribute_collection=gate, adopt=True))
    live = graph.state.flows[created.id]
    assert live["defaultLanguageTag"] == "en"
    assert set(live["attributes"]) == {"email", "givenName", "surname"}
    assert live["steps"]["postAttributeCollection"] == gate


def test_adopt_refuses_a_flow_of_another_type(graph: GraphDouble) -> None:
    graph.add_flow("signupsignin", userFlowType="signIn")
    provider = configured(UserFlowProvider(), graph.endpoint)
    with pytest.raises(GraphError, match=r"user_flow_type 'signIn'.*cannot change it"):
        provider.create(flow_inputs(provider, adopt=True))
    assert [c.method for c in graph.log] == ["GET"]


def test_a_failed_create_leaves_no_orphan(graph: GraphDouble) -> None:
    provider = configured(UserFlowProvider(), graph.endpoint)
    missing = "7d3c9a8e-2b1f-4c6d-9e0a-5f4b3c2d1e0f"
    with pytest.raises(GraphError, match="attaching API connector") as raised:
        provider.create(flow_inputs(provider, post_attribute_collection=missing))
    assert "Request_ResourceNotFound" in str(raised.value) or "404" in str(raised.value)
    assert graph.state.flows == {}
    assert graph.log[-1].method == "DELETE"


def test_a_new_flow_with_default_attributes_converges() -> None:
    defaults = (
        {
            "id": "email",
            "isOptional": False,
            "requiresVerification": True,
            "userInputType": "emailBox",
            "displayName": "Email Address",
        },
        {
            "id": "country",
            "isOptional": True,
            "requiresVerification": False,
            "userInputType": "textBox",
            "displayName": "Country",
        },
    )
    with GraphDouble(default_attributes=defaults) as graph:
        provider = configured(UserFlowProvider(), graph.endpoint)
        created = provider.create(flow_inputs(provider))
        assert created.outs is not None
        attributes = graph.state.flows[created.id]["attributes"]
        assert set(attributes) == {"email", "givenName", "surname"}
        assert attributes["email"]["displayName"] == "email"
        read = provider.read(created.id, created.outs)
        assert (
            read.outs is not None
            and provider.diff(created.id, read.outs, flow_inputs(provider)).changes is False
        )


def test_delete_is_idempotent_and_read_of_a_gone_flow_is_empty(graph: GraphDouble) -> None:
    provider = configured(UserFlowProvider(), graph.endpoint)
    created = provider.create(flow_inputs(provider))
    assert created.outs is not None
    provider.delete(created.id, created.outs)
    provider.delete(created.id, created.outs)
    assert graph.state.flows == {}
    read = provider.read(created.id, created.outs)
    assert read.id == "" and read.outs == {}


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"name": "sign up!"}, "name", "letters, digits"),
        ({"name": None}, "name", "name is required"),
        ({"user_flow_type": "signUpOrIn"}, "user_flow_type", "is not one of"),
        ({"user_flow_type_version": 2.5}, "user_flow_type_version", "whole number"),
        ({"default_language_tag": "english!"}, "default_language_tag", "RFC 5646"),
        (
            {"attributes": [{"attribute_id": "email"}, {"attribute_id": "Email"}]},
            "attributes",
            "listed twice",
        ),
        (
            {"attributes": [{"attribute_id": "city", "input_type": "slider"}]},
            "attributes",
            "input_type 'slider'",
        ),
        (
            {"post_attribute_collection": "my-connector"},
            "post_attribute_collection",
            "must be an API connector id",
        ),
    ],
)
def test_check_names_the_field_and_the_fix(change: dict[str, Any], field: str, fragment: str) -> None:
    result = UserFlowProvider().check({}, {"name": "signupsignin", **change})
    assert [(f.property, fragment in f.reason) for f in result.failures] == [(field, True)]


def test_check_accepts_the_name_with_or_without_the_prefix() -> None:
    for name in ("signupsignin", "B2C_1_signupsignin", "b2c_1_signupsignin"):
        inputs = UserFlowProvider().check({}, {"name": name}).inputs
        assert inputs["name"] == "signupsignin" and inputs["flow_id"] == "B2C_1_signupsignin"


PLAN = {
    "attribute_id": "extension_0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e_plan",
    "input_type": "radioSingleSelect",
    "display_name": "Plan",
    "user_attribute_values": [
        {"name": "Basic plan", "value": "basic", "is_default": True},
        {"name": "Pro plan", "value": "pro"},
    ],
}


def test_select_attributes_are_created_with_their_choices_and_converge(graph: GraphDouble) -> None:
    provider = configured(UserFlowProvider(), graph.endpoint)
    wanted = flow_inputs(provider, attributes=[*ATTRIBUTES, PLAN])
    with graph.recording() as calls:
        created = provider.create(wanted)
    post = next(c for c in calls if c.method == "POST" and c.body.get("userInputType") == "radioSingleSelect")
    assert post.body["userAttributeValues"] == [
        {"name": "Basic plan", "value": "basic", "isDefault": True},
        {"name": "Pro plan", "value": "pro", "isDefault": False},
    ]
    assert created.outs is not None
    read = provider.read(created.id, created.outs)
    assert read.outs is not None and provider.diff(created.id, read.outs, wanted).changes is False
    text_attributes = [
        c.body for c in calls if c.method == "POST" and c.body.get("userInputType") == "textBox"
    ]
    assert text_attributes and all("userAttributeValues" not in body for body in text_attributes)


def test_a_portal_edit_of_the_choices_is_drift_that_update_repairs(graph: GraphDouble) -> None:
    provider = configured(UserFlowProvider(), graph.endpoint)
    wanted = flow_inputs(provider, attributes=[*ATTRIBUTES, PLAN])
    created = provider.create(wanted)
    assert created.outs is not None
    live = graph.state.flows[created.id]["attributes"][PLAN["attribute_id"]]
    live["userAttributeValues"] = [{"name": "Gold", "value": "gold", "isDefault": False}]
    read = provider.read(created.id, created.outs)
    assert read.outs is not None and provider.diff(created.id, read.outs, wanted).changes is True
    with graph.recording() as calls:
        provider.update(created.id, read.outs, wanted)
    ((patch,),) = [[c for c in calls if c.method == "PATCH"]]
    assert [v["value"] for v in patch.body["userAttributeValues"]] == ["basic", "pro"]
    assert [v["value"] for v in live["userAttributeValues"]] == ["basic", "pro"]


def test_a_select_attribute_turned_into_a_text_box_loses_its_choices(graph: GraphDouble) -> None:
    provider = configured(UserFlowProvider(), graph.endpoint)
    olds = provider.create(flow_inputs(provider, attributes=[PLAN])).outs
    assert olds is not None
    plain = {"attribute_id": PLAN["attribute_id"], "display_name": "Plan"}
    provider.update("B2C_1_signupsignin", olds, flow_inputs(provider, attributes=[plain]))
    live = graph.state.flows["B2C_1_signupsignin"]["attributes"][PLAN["attribute_id"]]
    assert live["userInputType"] == "textBox" and live["userAttributeValues"] == []


@pytest.mark.parametrize(
    ("attribute", "fragment"),
    [
        ({**PLAN, "user_attribute_values": []}, "user_attribute_values is required for radioSingleSelect"),
        ({"attribute_id": "city", "user_attribute_values": ["a"]}, "textBox takes no choices"),
        ({**PLAN, "user_attribute_values": ["basic", "basic"]}, "repeats the value 'basic'"),
        ({**PLAN, "user_attribute_values": [{"name": "Basic"}]}, r"\[0\] needs a name and a value"),
        (
            {
                **PLAN,
                "user_attribute_values": [
                    {"name": "a", "value": "a", "is_default": True},
                    {"name": "b", "value": "b", "is_default": True},
                ],
            },
            "allows one default choice at most",
        ),
    ],
)
def test_check_names_the_choice_at_fault(attribute: dict[str, Any], fragment: str) -> None:
    result = UserFlowProvider().check({}, {"name": "signupsignin", "attributes": [attribute]})
    assert len(result.failures) == 1 and result.failures[0].property == "attributes"
    assert re.search(fragment, result.failures[0].reason), result.failures[0].reason
    assert "attributes[0]" in result.failures[0].reason


def test_a_connector_attaches_before_sending_the_token_too(graph: GraphDouble) -> None:
    gate = connector(graph)
    provider = configured(UserFlowProvider(), graph.endpoint)
    created = provider.create(flow_inputs(provider, pre_token_issuance=gate))
    assert created.outs is not None
    steps = graph.state.flows[created.id]["steps"]
    assert steps["preTokenIssuance"] == gate and steps["postAttributeCollection"] is None
    read = provider.read(created.id, created.outs)
    assert read.outs is not None and read.outs["pre_token_issuance"] == gate
    with graph.recording() as calls:
        provider.update(created.id, read.outs, flow_inputs(provider))
    assert [(c.method, c.path.split("/")[-2], c.body) for c in calls] == [("PUT", "preTokenIssuance", {})]
    assert steps["preTokenIssuance"] is None
