"""CustomExtension: the lifecycle a user relies on, against the Graph double, through the real SDK
stack; validation waits out replication within its bound and names what is missing otherwise."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components import deadline
from components.graph.custom_extension import CustomExtension, CustomExtensionProvider
from components.graph.external_id_calls import VALIDATION_SECONDS
from components.graph.gateway import GraphError
from tests.components.graph.conftest import configured, connect
from tests.doubles.clock import VirtualClock
from tools.graph_double import GraphDouble

APP = "5f2e8c1a-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
HOST = "func-signup-x1.azurewebsites.net"
INPUTS = {
    "display_name": "Sign-up domain check",
    "target_url": f"https://{HOST}/api/validate-signup",
    "resource_id": f"api://{HOST}/{APP}",
}


def checked(provider: CustomExtensionProvider, news: dict[str, Any]) -> dict[str, Any]:
    result = provider.check({}, news)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return result.inputs


def provider_for(
    graph: GraphDouble, clock: VirtualClock | None = None, **kwargs: Any
) -> CustomExtensionProvider:
    return configured(CustomExtensionProvider(), graph.endpoint, clock=clock, max_wait=90, **kwargs)


@pytest.fixture
def ready(graph: GraphDouble) -> GraphDouble:
    """The double with the resource app's service principal in place and granted its role."""
    graph.add_service_principal(APP)
    return graph


def test_create_validate_read_update_delete(ready: GraphDouble) -> None:
    graph = ready
    provider = provider_for(graph)
    props = checked(provider, INPUTS)
    with graph.recording() as calls:
        created = provider.create(props)
    assert [(c.method, c.path.rsplit("/", 1)[-1], c.status) for c in calls] == [
        ("GET", "customAuthenticationExtensions", 200),  # look before create
        ("POST", "customAuthenticationExtensions", 201),
        ("POST", "microsoft.graph.validateAuthenticationConfiguration", 200),
    ]
    assert calls[1].body == {
        "@odata.type": "#microsoft.graph.onAttributeCollectionSubmitCustomExtension",
        "displayName": "Sign-up domain check",
        "endpointConfiguration": {
            "@odata.type": "#microsoft.graph.httpRequestEndpoint",
            "targetUrl": INPUTS["target_url"],
        },
        "authenticationConfiguration": {
            "@odata.type": "#microsoft.graph.azureAdTokenAuthentication",
            "resourceId": INPUTS["resource_id"],
        },
        "clientConfiguration": {"timeoutInMilliseconds": 2000, "maximumRetries": 1},
    }
    assert created.outs is not None and created.outs["extension_id"] == created.id in graph.state.extensions

    read = provider.read(created.id, created.outs)
    assert read.outs is not None and read.inputs is not None
    assert provider.diff(created.id, read.outs, checked(provider, INPUTS)).changes is False

    # A timeout is not authentication: patched alone, not validated again.
    news = checked(provider, {**INPUTS, "timeout_ms": 1500})
    with graph.recording() as calls:
        outs = provider.update(created.id, read.outs, news).outs
    assert [(c.method, c.body) for c in calls] == [
        (
            "PATCH",
            {
                "@odata.type": "#microsoft.graph.onAttributeCollectionSubmitCustomExtension",
                "clientConfiguration": {"timeoutInMilliseconds": 1500, "maximumRetries": 1},
            },
        )
    ]
    # A new resource app is: validated after the PATCH.
    other = "6a3f9d2b-4c5e-4f70-9bac-1d2e3f4a5b6c"
    graph.add_service_principal(other)
    moved = checked(provider, {**news, "resource_id": f"api://{HOST}/{other}"})
    assert outs is not None
    with graph.recording() as calls:
        outs = provider.update(created.id, outs, moved).outs
    assert [c.method for c in calls] == ["PATCH", "POST"]
    assert (
        graph.state.extensions[created.id]["authenticationConfiguration"]["resourceId"]
        == moved["resource_id"]
    )

    assert outs is not None
    with graph.recording() as calls:
        provider.delete(created.id, outs)
    assert [(c.method, c.status) for c in calls] == [("DELETE", 204)]
    provider.delete(created.id, outs)  # already gone: still a success
    assert graph.state.extensions == {} and provider.read(created.id, outs).id == ""


def test_validation_waits_out_a_service_principal_that_is_replicating(graph: GraphDouble) -> None:
    graph.add_service_principal(APP, replicating=4)
    clock = VirtualClock()
    provider = provider_for(graph, clock)
    created = provider.create(checked(provider, INPUTS))
    assert created.id in graph.state.extensions
    validations = [c for c in graph.log if c.path.endswith("validateAuthenticationConfiguration")]
    assert len(validations) == 5
    assert len(clock.slept) == 4 and min(clock.slept) >= deadline.MIN_PAUSE_SECONDS


def test_an_extension_that_never_validates_fails_within_the_bound_naming_the_error_and_leaves_nothing(
    graph: GraphDouble,
) -> None:
    clock = VirtualClock()
    provider = provider_for(graph, clock)
    with pytest.raises(GraphError) as failure:
        provider.create(checked(provider, INPUTS))
    message = str(failure.value)
    assert "ServicePrincipalNotFound" in message and "real service principal" in message
    assert "azuread.ServicePrincipal" in message and "after waiting" in message
    assert sum(clock.slept) <= VALIDATION_SECONDS
    assert graph.state.extensions == {}  # rolled back


def test_a_resource_app_without_the_role_is_refused_naming_the_role(graph: GraphDouble) -> None:
    graph.add_service_principal(APP, granted=False)
    provider = provider_for(graph)
    with pytest.raises(
        GraphError, match=r"PermissionNotGrantedToServicePrincipal.*214e810f-fda8-4fd7-a475-29461495eb00"
    ):
        provider.create(checked(provider, INPUTS))
    assert graph.state.extensions == {}


def test_a_finding_the_inputs_decide_fails_at_once(ready: GraphDouble) -> None:
    # Our check takes any GUID form; Graph's format rule is its own: no point waiting for it.
    clock = VirtualClock()
    provider = provider_for(ready, clock)
    with pytest.raises(GraphError, match="IncorrectResourceIdFormat") as failure:
        provider.create(checked(provider, {**INPUTS, "resource_id": f"api://{HOST}/{{{APP}}}"}))
    assert clock.slept == [] and "after waiting" not in str(failure.value)
    assert ready.state.extensions == {}


def test_a_create_whose_answer_was_lost_is_not_made_twice(ready: GraphDouble) -> None:
    ready.lose_answer("POST", r"/customAuthenticationExtensions$", status=504)
    provider = provider_for(ready)
    created = provider.create(checked(provider, INPUTS))
    assert list(ready.state.extensions) == [created.id]
    assert [c.method for c in ready.log if c.path.endswith("/customAuthenticationExtensions")].count(
        "POST"
    ) == 1


def test_a_dropped_create_that_landed_under_replication_lag_is_not_made_twice(ready: GraphDouble) -> None:
    # The look after the drop misses the new extension; the retry makes a second one unless the
    # rollback of the failed create finds both by name.
    ready.drop("POST", r"/customAuthenticationExtensions$", after_apply=True)
    ready.replication_lag = 1
    provider = provider_for(ready)
    created = provider.create(checked(provider, INPUTS))
    assert list(ready.state.extensions) == [created.id]


def test_throttling_is_waited_out_as_graph_asks(ready: GraphDouble) -> None:
    ready.fail(
        "POST", r"/customAuthenticationExtensions$", status=429, retry_after="7", code="TooManyRequests"
    )
    clock = VirtualClock()
    provider = provider_for(ready, clock)
    provider.create(checked(provider, INPUTS))
    assert 7.0 in clock.slept and len(ready.state.extensions) == 1


def test_a_missing_permission_is_named(ready: GraphDouble) -> None:
    ready.denied.add("/v1.0/identity/customAuthenticationExtensions")
    provider = provider_for(ready)
    with pytest.raises(GraphError, match=r"CustomAuthenticationExtension\.ReadWrite\.All"):
        provider.create(checked(provider, INPUTS))
    assert ready.state.extensions == {}


def test_a_cancelled_validation_removes_the_extension(graph: GraphDouble) -> None:
    graph.add_service_principal(APP, replicating=100)
    stopping = {"now": False}

    def stop_soon() -> None:
        stopping["now"] = True

    graph.fail("POST", r"validateAuthenticationConfiguration$", status=503, then=stop_soon)
    provider = configured(
        CustomExtensionProvider(),
        graph.endpoint,
        max_wait=90,
        gateway=connect(cancelled=lambda: stopping["now"]),
    )
    with pytest.raises(GraphError, match="cancelled"):
        provider.create(checked(provider, INPUTS))
    assert graph.state.extensions == {}


def test_an_existing_extension_of_that_name_is_adopted_only_when_asked(ready: GraphDouble) -> None:
    portal = ready.add_extension(INPUTS["display_name"].upper())
    provider = provider_for(ready)
    with pytest.raises(GraphError, match=rf"already exists.*{portal}.*adopt=True"):
        provider.create(checked(provider, INPUTS))
    assert list(ready.state.extensions) == [portal]

    adopted = provider.create(checked(provider, {**INPUTS, "adopt": True}))
    assert adopted.id == portal
    live = ready.state.extensions[portal]
    assert live["endpointConfiguration"]["targetUrl"] == INPUTS["target_url"]
    assert live["clientConfiguration"] == {"timeoutInMilliseconds": 2000, "maximumRetries": 1}

    ready.add_extension(INPUTS["display_name"])
    with pytest.raises(GraphError, match="2 custom extensions are named"):
        provider.create(checked(provider, {**INPUTS, "adopt": True}))


def test_an_extension_of_another_event_is_not_adopted(ready: GraphDouble) -> None:
    ready.add_extension(INPUTS["display_name"], kind="#microsoft.graph.onTokenIssuanceStartCustomExtension")
    provider = provider_for(ready)
    with pytest.raises(GraphError, match="cannot change an extension's type"):
        provider.create(checked(provider, {**INPUTS, "adopt": True}))


def test_portal_edits_show_as_drift_and_the_next_up_reverts_them(ready: GraphDouble) -> None:
    provider = provider_for(ready)
    wanted = checked(provider, INPUTS)
    created = provider.create(wanted)
    assert created.outs is not None
    live = ready.state.extensions[created.id]
    live["endpointConfiguration"]["targetUrl"] = "https://elsewhere.example/api"
    live["clientConfiguration"] = {"timeoutInMilliseconds": None, "maximumRetries": None}
    read = provider.read(created.id, created.outs)
    assert read.outs is not None and read.inputs is not None
    assert read.inputs["target_url"] == "https://elsewhere.example/api" and read.inputs["timeout_ms"] is None
    diff = provider.diff(created.id, read.outs, wanted)
    assert diff.changes is True and diff.replaces == []
    provider.update(created.id, read.outs, wanted)
    again = provider.read(created.id, created.outs)
    assert again.outs is not None and provider.diff(created.id, again.outs, wanted).changes is False


def test_a_delete_graph_refuses_says_what_to_do(ready: GraphDouble) -> None:
    provider = provider_for(ready)
    created = provider.create(checked(provider, INPUTS))
    flow = ready.add_signup_flow("someone's flow")
    ready.state.signup_flows[flow].update(extension=created.id, handler=True)
    ready.deletes_attached_extension = False
    assert created.outs is not None
    with pytest.raises(GraphError, match="remove it there first"):
        provider.delete(created.id, created.outs)


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        return f"{args.name}-id", {**args.inputs, "extension_id": f"{args.name}-id"}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


@pulumi.runtime.test
def test_the_resource_declares_its_type_and_inputs() -> Any:
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, preview=False)
    extension = CustomExtension("gate", **INPUTS)

    def check(values: list[Any]) -> None:
        (declared,) = mocks.resources
        assert declared.typ == "pulumi-python:dynamic/externalid:CustomExtension"
        assert {k: declared.inputs[k] for k in ("display_name", "target_url", "resource_id")} == INPUTS
        assert (declared.inputs["timeout_ms"], declared.inputs["maximum_retries"]) == (2000, 1)
        assert values == ["gate-id", INPUTS["resource_id"]]

    return pulumi.Output.all(extension.extension_id, extension.resource_id).apply(check)


def test_a_reply_of_the_wrong_shape_is_an_error_naming_the_part(ready: GraphDouble) -> None:
    provider = provider_for(ready)
    created = provider.create(checked(provider, INPUTS))
    assert created.outs is not None
    ready.state.extensions[created.id]["clientConfiguration"] = "2000 ms"
    with pytest.raises(
        GraphError, match=r"reading custom extension .*clientConfiguration.*expected a JSON object"
    ):
        provider.read(created.id, created.outs)


def test_what_validation_reports_is_redacted_like_any_reply() -> None:
    """Graph's findings are shown in the error: a secret echoed in them is not."""
    from components.graph.external_id_calls import ExternalIdCalls
    from components.graph.gateway import GraphGateway
    from tests.doubles.scripted_graph import Reply, ScriptedGraph

    canary = "Canary-Client-Secret~9f3"
    finding = {
        "code": f"ServicePrincipalNotFound {canary}",
        "message": f"No principal for {canary}.\nsecond line",
    }
    with ScriptedGraph() as scripted:
        scripted.script(
            "POST",
            r"validateAuthenticationConfiguration$",
            Reply(200, {"errors": [finding], "warnings": []}),
            repeat=True,
        )

        async def validate(gateway: GraphGateway) -> None:
            await ExternalIdCalls(gateway).validate_extension("e1", "'gate' (e1)", bound=1)

        with pytest.raises(GraphError) as failure:
            scripted.run(validate, secrets=(canary,), clock=VirtualClock())
    assert canary not in str(failure.value) and "ServicePrincipalNotFound" in str(failure.value)
