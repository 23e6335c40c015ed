"""SignUpFlow: the lifecycle a user relies on, against the Graph double, through the real SDK stack:
create, no-op, drift, update, replace and delete, one flow per app, adopt, and faults that must
leave neither a duplicate nor an orphan."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.graph.custom_extension import CustomExtensionProvider
from components.graph.gateway import GraphError
from components.graph.signup_flow import SignUpFlow, SignUpFlowProvider
from tests.components.graph.conftest import configured
from tests.doubles.clock import VirtualClock
from tools.graph_double import GraphDouble

TEST_APP = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
FLOW_APP = "2b3c4d5e-6f7a-4b9c-8d1e-2f3a4b5c6d7e"
RESOURCE_APP = "5f2e8c1a-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
PLAN = "extension_7c6b5a4f3e2d4c1b9a8f7e6d5c4b3a29_plan"
ATTRIBUTES = [
    {"attribute_id": "email"},
    {"attribute_id": "givenName"},
    {"attribute_id": "city", "is_optional": True},
    {
        "attribute_id": PLAN,
        "input_type": "radioSingleSelect",
        "user_attribute_values": ["Basic", {"name": "Pro", "value": "pro", "is_default": True}],
    },
]
INPUTS = {
    "display_name": "Sign up with an approved domain",
    "attributes": ATTRIBUTES,
    "client_app_ids": [TEST_APP, FLOW_APP],
}


def checked(provider: SignUpFlowProvider, news: dict[str, Any]) -> dict[str, Any]:
    result = provider.check({}, news)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return result.inputs


def make_extension(graph: GraphDouble, name: str = "Sign-up check") -> str:
    extensions = configured(CustomExtensionProvider(), graph.endpoint)
    host = "func-signup-x1.azurewebsites.net"
    made = extensions.create(
        extensions.check(
            {},
            {
                "display_name": name,
                "target_url": f"https://{host}/api/validate-signup",
                "resource_id": f"api://{host}/{RESOURCE_APP}",
            },
        ).inputs
    )
    return made.id


@pytest.fixture
def tenant(graph: GraphDouble) -> GraphDouble:
    """The double with what the rest of the stack makes first: the custom attribute, the resource app."""
    graph.add_custom_attribute(PLAN)
    graph.add_service_principal(RESOURCE_APP)
    return graph


def converged(
    provider: SignUpFlowProvider, flow_id: str, outs: dict[str, Any], wanted: dict[str, Any]
) -> bool:
    read = provider.read(flow_id, outs)
    return read.outs is not None and provider.diff(flow_id, read.outs, wanted).changes is False


def test_create_sends_the_documented_shapes_and_reads_back_as_created(tenant: GraphDouble) -> None:
    graph = tenant
    extension = make_extension(graph)
    provider = configured(SignUpFlowProvider(), graph.endpoint)
    wanted = checked(provider, {**INPUTS, "extension_id": extension})
    with graph.recording() as calls:
        created = provider.create(wanted)
    assert [(c.method, c.path.split("/")[1], c.status) for c in calls] == [
        ("GET", "v1.0", 200),  # look before create
        ("GET", "v1.0", 200),  # which flow holds the test app
        ("GET", "v1.0", 200),  # ... and the Flow client
        ("POST", "v1.0", 201),
        ("PUT", "beta", 204),  # attach at OnAttributeCollectionSubmit
    ]
    assert "$filter" in calls[1].query and TEST_APP in calls[1].query
    body = calls[3].body
    assert body["@odata.type"] == "#microsoft.graph.externalUsersSelfServiceSignUpEventsFlow"
    assert body["conditions"] == {
        "applications": {"includeApplications": [{"appId": TEST_APP}, {"appId": FLOW_APP}]}
    }
    assert body["onAuthenticationMethodLoadStart"]["identityProviders"] == [
        {"@odata.type": "#microsoft.graph.builtInIdentityProvider", "id": "EmailPassword-OAUTH"}
    ]
    assert body["onInteractiveAuthFlowStart"]["isSignUpAllowed"] is True
    assert "priority" not in body  # beta only
    collection = body["onAttributeCollection"]
    assert collection["attributes"] == [{"id": a["attribute_id"]} for a in ATTRIBUTES]
    email, given, city, plan = collection["attributeCollectionPage"]["views"][0]["inputs"]
    assert email == {
        "attribute": "email", "label": "Email Address", "inputType": "text", "hidden": True, "editable": False,
        "writeToDirectory": True, "required": True, "options": [],
    }  # fmt: skip
    assert (given["label"], given["required"], city["required"]) == ("Given Name", True, False)
    assert plan["options"] == [{"label": "Basic", "value": "Basic"}, {"label": "Pro", "value": "pro"}]
    assert plan["defaultValue"] == "pro" and plan["inputType"] == "radioSingleSelect"
    assert calls[4].body == {
        "@odata.id": f"{graph.endpoint}/beta/identity/customAuthenticationExtensions/{extension}"
    }

    flow = graph.state.signup_flows[created.id]
    assert flow["extension"] == extension and flow["apps"] == [TEST_APP, FLOW_APP]
    assert created.outs is not None and created.outs["flow_id"] == created.id
    with graph.recording() as calls:
        assert converged(provider, created.id, created.outs, wanted)
    assert [c.method for c in calls] == ["GET", "GET"]  # the flow, its apps


@pytest.mark.parametrize("shown", [True, False])
def test_the_attached_extension_is_read_back_when_graph_shows_it_and_kept_when_not(
    tenant: GraphDouble, shown: bool
) -> None:
    graph = tenant
    graph.shows_attached_extension = shown
    first, second = make_extension(graph, "first"), make_extension(graph, "second")
    provider = configured(SignUpFlowProvider(), graph.endpoint)
    wanted = checked(provider, {**INPUTS, "extension_id": first})
    created = provider.create(wanted)
    assert created.outs is not None
    graph.state.signup_flows[created.id]["extension"] = second  # swapped in the portal
    read = provider.read(created.id, created.outs)
    assert read.outs is not None
    assert read.outs["extension_id"] == (second if shown else first)
    # Detached in the portal: the handler is gone, whether Graph shows extensions or not.
    graph.state.signup_flows[created.id].update(extension=None, handler=False)
    read = provider.read(created.id, created.outs)
    assert read.outs is not None and read.outs["extension_id"] is None
    provider.update(created.id, read.outs, wanted)
    assert graph.state.signup_flows[created.id]["extension"] == first


def test_updates_change_only_what_changed_and_converge(tenant: GraphDouble) -> None:
    graph = tenant
    first, second = make_extension(graph, "first"), make_extension(graph, "second")
    provider = configured(SignUpFlowProvider(), graph.endpoint)
    olds = provider.create(checked(provider, {**INPUTS, "extension_id": first})).outs
    assert olds is not None
    flow_id = olds["flow_id"]

    # Attributes: country in, city out, givenName relabelled; the page is written whole, in order.
    attributes = [
        ATTRIBUTES[0],
        {"attribute_id": "country", "is_optional": True},
        {**ATTRIBUTES[1], "display_name": "First name"},
        ATTRIBUTES[3],
    ]
    news = checked(provider, {**INPUTS, "attributes": attributes, "extension_id": first})
    with graph.recording() as calls:
        olds = provider.update(flow_id, olds, news).outs
    assert [(c.method, c.path.rsplit("/", 2)[-2:]) for c in calls] == [
        ("GET", ["authenticationEventsFlows", flow_id]),
        ("POST", ["attributes", "$ref"]),
        ("DELETE", ["city", "$ref"]),
        ("PATCH", ["authenticationEventsFlows", flow_id]),
    ]
    assert calls[1].body == {"@odata.id": f"{graph.endpoint}/v1.0/identity/userFlowAttributes/country"}
    patch = calls[3].body
    assert patch["@odata.type"] == "#microsoft.graph.externalUsersSelfServiceSignUpEventsFlow"
    assert "attributes" not in patch["onAttributeCollection"]
    assert [i["attribute"] for i in patch["onAttributeCollection"]["attributeCollectionPage"]["views"][0]["inputs"]] == [
        "email", "country", "givenName", PLAN,
    ]  # fmt: skip
    assert graph.state.signup_flows[flow_id]["attributes"] == ["email", "givenName", PLAN, "country"]
    assert olds is not None and converged(provider, flow_id, olds, news)

    # Rename, move the Flow client out, and the extension to another.
    news = checked(
        provider, {**news, "display_name": "Partners", "client_app_ids": [TEST_APP], "extension_id": second}
    )
    with graph.recording() as calls:
        olds = provider.update(flow_id, olds, news).outs
    assert [c.method for c in calls] == ["PATCH", "GET", "DELETE", "PUT"]
    assert calls[0].body == {
        "@odata.type": "#microsoft.graph.externalUsersSelfServiceSignUpEventsFlow",
        "displayName": "Partners",
    }
    flow = graph.state.signup_flows[flow_id]
    assert (flow["displayName"], flow["apps"], flow["extension"]) == ("Partners", [TEST_APP], second)

    # No extension: detached.
    news = checked(provider, {**news, "extension_id": None})
    assert olds is not None
    with graph.recording() as calls:
        olds = provider.update(flow_id, olds, news).outs
    assert [(c.method, c.body) for c in calls] == [
        (
            "PATCH",
            {
                "@odata.type": "#microsoft.graph.externalUsersSelfServiceSignUpEventsFlow",
                "onAttributeCollectionSubmit": None,
            },
        )
    ]
    assert graph.state.signup_flows[flow_id]["extension"] is None
    assert olds is not None and converged(provider, flow_id, olds, news)
    assert provider.diff(flow_id, olds, {**news, "client_app_ids": [TEST_APP.upper()]}).changes is False


def test_portal_edits_show_as_drift_and_the_next_up_reverts_them(tenant: GraphDouble) -> None:
    graph = tenant
    provider = configured(SignUpFlowProvider(), graph.endpoint)
    wanted = checked(provider, INPUTS)
    created = provider.create(wanted)
    assert created.outs is not None
    flow = graph.state.signup_flows[created.id]
    flow["inputs"][1].update(label="Your name", required=False)  # relabelled, made optional
    flow["inputs"].reverse()  # reordered
    flow["apps"].remove(FLOW_APP)  # unlinked
    read = provider.read(created.id, created.outs)
    assert read.outs is not None and read.inputs is not None
    assert read.inputs["client_app_ids"] == [TEST_APP]
    assert read.inputs["attributes"][-1] == {
        "attribute_id": "email",
        "input_type": "text",
        "is_optional": False,
        "display_name": "Email Address",
    }
    assert {
        "attribute_id": "givenName",
        "input_type": "text",
        "is_optional": True,
        "display_name": "Your name",
    } in read.inputs["attributes"]
    diff = provider.diff(created.id, read.outs, wanted)
    assert diff.changes is True and diff.replaces == []
    provider.update(created.id, read.outs, wanted)
    assert converged(provider, created.id, created.outs, wanted)
    # Deleted in the portal: reads as gone, so the next `up` creates it again.
    del graph.state.signup_flows[created.id]
    assert provider.read(created.id, created.outs).id == ""


def test_an_app_another_flow_holds_is_refused_with_that_flows_name(tenant: GraphDouble) -> None:
    graph = tenant
    graph.add_signup_flow("Employees' sign-up", apps=(FLOW_APP,))
    provider = configured(SignUpFlowProvider(), graph.endpoint)
    with pytest.raises(
        GraphError,
        match=rf"{FLOW_APP} is already linked to the sign-up flow \"Employees' sign-up\".*one sign-up flow only",
    ):
        provider.create(checked(provider, INPUTS))
    assert [c for c in graph.log if c.write] == [] and len(graph.state.signup_flows) == 1
    # Linking it in an update is refused the same way, before any change.
    created = provider.create(checked(provider, {**INPUTS, "client_app_ids": [TEST_APP]}))
    assert created.outs is not None
    with pytest.raises(GraphError, match="Employees' sign-up"):
        provider.update(created.id, created.outs, checked(provider, INPUTS))
    assert graph.state.signup_flows[created.id]["apps"] == [TEST_APP]


def test_an_existing_flow_of_that_name_is_adopted_only_when_asked(tenant: GraphDouble) -> None:
    graph = tenant
    extension = make_extension(graph)
    portal = graph.add_signup_flow(
        INPUTS["display_name"], attributes=("email", "displayName"), apps=(TEST_APP,)
    )
    provider = configured(SignUpFlowProvider(), graph.endpoint)
    wanted = checked(provider, {**INPUTS, "extension_id": extension})
    with pytest.raises(GraphError, match=rf"already exists.*{portal}.*adopt=True"):
        provider.create(wanted)
    adopted = provider.create({**wanted, "adopt": True})
    assert adopted.id == portal and adopted.outs is not None
    flow = graph.state.signup_flows[portal]
    assert flow["attributes"] == ["email", "givenName", "city", PLAN] and flow["apps"] == [TEST_APP, FLOW_APP]
    assert flow["extension"] == extension
    assert converged(provider, portal, adopted.outs, {**wanted, "adopt": True})


def test_a_flow_made_without_attribute_collection_cannot_be_adopted(tenant: GraphDouble) -> None:
    tenant.add_signup_flow(INPUTS["display_name"], collects=False)
    provider = configured(SignUpFlowProvider(), tenant.endpoint)
    with pytest.raises(GraphError, match="only when a flow is created"):
        provider.create(checked(provider, {**INPUTS, "adopt": True}))


def test_a_create_whose_answer_was_lost_counts_as_created(tenant: GraphDouble) -> None:
    tenant.lose_answer("POST", r"/authenticationEventsFlows$", status=504)
    provider = configured(SignUpFlowProvider(), tenant.endpoint)
    wanted = checked(provider, INPUTS)
    created = provider.create(wanted)
    assert list(tenant.state.signup_flows) == [created.id]
    assert created.outs is not None and converged(provider, created.id, created.outs, wanted)


def test_a_retried_create_that_meets_its_first_attempt_takes_it(tenant: GraphDouble) -> None:
    # The look after the lost answer misses the new flow (replication); the retry meets its name.
    tenant.lose_answer("POST", r"/authenticationEventsFlows$", status=503)
    tenant.replication_lag = 1
    provider = configured(SignUpFlowProvider(), tenant.endpoint)
    created = provider.create(checked(provider, INPUTS))
    assert list(tenant.state.signup_flows) == [created.id]
    posts = [
        c.status for c in tenant.log if c.method == "POST" and c.path.endswith("/authenticationEventsFlows")
    ]
    assert posts == [503, 409]


def test_writes_whose_answers_were_lost_still_converge(tenant: GraphDouble) -> None:
    provider = configured(SignUpFlowProvider(), tenant.endpoint)
    olds = provider.create(checked(provider, {**INPUTS, "client_app_ids": [TEST_APP]})).outs
    assert olds is not None
    tenant.lose_answer("POST", r"/attributes/\$ref$", status=504)
    tenant.lose_answer("POST", r"/includeApplications$", status=502)
    news = checked(provider, {**INPUTS, "attributes": [*ATTRIBUTES, {"attribute_id": "country"}]})
    outs = provider.update(olds["flow_id"], olds, news).outs
    assert outs is not None and converged(provider, olds["flow_id"], outs, news)
    assert not [c for c in tenant.log if c.status == 409]


def test_a_failed_attach_removes_the_new_flow_even_when_throttled(tenant: GraphDouble) -> None:
    tenant.fail("PUT", r"/\$ref$", status=400, code="BadRequest", message="Simulated refusal.")
    tenant.fail(
        "DELETE",
        r"/authenticationEventsFlows/[^/]+$",
        status=429,
        retry_after="5",
        times=2,
        code="TooManyRequests",
    )
    clock = VirtualClock()
    provider = configured(SignUpFlowProvider(), tenant.endpoint, clock=clock)
    with pytest.raises(GraphError, match="Simulated refusal"):
        provider.create(checked(provider, {**INPUTS, "extension_id": "7d3c9a8e-2b1f-4c6d-9e0a-5f4b3c2d1e0f"}))
    assert tenant.state.signup_flows == {}
    assert clock.slept.count(5.0) == 2


def test_an_extension_still_replicating_is_waited_for(tenant: GraphDouble) -> None:
    extension = make_extension(tenant)
    tenant.state.lagging[extension] = 2
    provider = configured(SignUpFlowProvider(), tenant.endpoint)
    created = provider.create(checked(provider, {**INPUTS, "extension_id": extension}))
    assert tenant.state.signup_flows[created.id]["extension"] == extension
    assert [c.status for c in tenant.log if c.method == "PUT"] == [404, 404, 204]


def test_a_refused_create_makes_nothing_and_names_the_field(tenant: GraphDouble) -> None:
    provider = configured(SignUpFlowProvider(), tenant.endpoint)
    unknown = "extension_7c6b5a4f3e2d4c1b9a8f7e6d5c4b3a29_tier"  # never created in this tenant
    with pytest.raises(GraphError, match=rf"{unknown}.*does not exist"):
        provider.create(checked(provider, {**INPUTS, "attributes": [*ATTRIBUTES, {"attribute_id": unknown}]}))
    assert tenant.state.signup_flows == {}
    assert [c.method for c in tenant.log if c.write] == ["POST"]  # refused outright: nothing to roll back


def test_a_missing_permission_is_named(tenant: GraphDouble) -> None:
    tenant.denied.add("/v1.0/identity/authenticationEventsFlows")
    provider = configured(SignUpFlowProvider(), tenant.endpoint)
    with pytest.raises(GraphError, match=r"EventListener\.ReadWrite\.All"):
        provider.create(checked(provider, INPUTS))


def test_a_half_applied_update_converges_when_run_again(tenant: GraphDouble) -> None:
    extension = make_extension(tenant)
    provider = configured(SignUpFlowProvider(), tenant.endpoint)
    olds = provider.create(checked(provider, INPUTS)).outs
    assert olds is not None
    news = checked(
        provider,
        {**INPUTS, "attributes": [*ATTRIBUTES, {"attribute_id": "country"}], "extension_id": extension},
    )
    tenant.fail("PUT", r"/\$ref$", status=400, code="BadRequest", message="Simulated refusal.")
    with pytest.raises(GraphError, match=r"run `pulumi up` again to finish"):
        provider.update(olds["flow_id"], olds, news)
    assert "country" in tenant.state.signup_flows[olds["flow_id"]]["attributes"]  # half applied
    outs = provider.update(olds["flow_id"], olds, news).outs  # the engine kept the old outputs
    assert outs is not None and converged(provider, olds["flow_id"], outs, news)


def test_a_replacement_deletes_the_old_flow_first_and_delete_is_idempotent(tenant: GraphDouble) -> None:
    graph = tenant
    extension = make_extension(graph)
    provider = configured(SignUpFlowProvider(), graph.endpoint)
    wanted = checked(provider, {**INPUTS, "extension_id": extension})
    old = provider.create(wanted)
    assert old.outs is not None
    assert provider.diff(old.id, old.outs, wanted).delete_before_replace is True
    # Made beside the old one, the new flow could have neither the name nor the apps.
    with pytest.raises(GraphError, match="already exists"):
        provider.create(wanted)
    provider.delete(old.id, old.outs)
    new = provider.create(wanted)
    assert list(graph.state.signup_flows) == [new.id] and graph.state.signup_flows[new.id]["apps"] == [
        TEST_APP,
        FLOW_APP,
    ]
    provider.delete(old.id, old.outs)  # already gone: still a success
    # Destroy: the flow (which detaches) before its extension, even where Graph refuses to delete
    # an extension in use.
    graph.deletes_attached_extension = False
    assert new.outs is not None
    provider.delete(new.id, new.outs)
    configured(CustomExtensionProvider(), graph.endpoint).delete(extension, {})
    assert graph.state.signup_flows == {} and graph.state.extensions == {}


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        return f"{args.name}-id", {**args.inputs, "flow_id": f"{args.name}-id"}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def test_the_resource_declares_its_type_inputs_and_replacement_order(monkeypatch: pytest.MonkeyPatch) -> None:
    options: list[pulumi.ResourceOptions | None] = []
    declare = pulumi.dynamic.Resource.__init__

    def recording(
        self: Any, provider: Any, name: str, props: Any, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        options.append(opts)
        declare(self, provider, name, props, opts)

    monkeypatch.setattr(pulumi.dynamic.Resource, "__init__", recording)
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, preview=False)

    @pulumi.runtime.test
    def declared() -> Any:
        flow = SignUpFlow("signup", display_name="Sign up", attributes=ATTRIBUTES, client_app_ids=[TEST_APP])

        def check(flow_id: str) -> None:
            (resource,) = mocks.resources
            assert resource.typ == "pulumi-python:dynamic/externalid:SignUpFlow"
            assert (
                resource.inputs["client_app_ids"] == [TEST_APP]
                and resource.inputs["attributes"] == ATTRIBUTES
            )
            assert resource.inputs.get("extension_id") is None and flow_id == "signup-id"

        return flow.flow_id.apply(check)

    declared()
    (opts,) = options
    assert opts is not None and opts.delete_before_replace is True
