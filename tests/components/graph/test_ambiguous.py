"""Writes whose outcome is unknown, and clean-ups that meet trouble themselves: whatever the network
or the engine does, nothing is left behind and running again converges."""

from __future__ import annotations

from typing import Any

import pytest

from components.graph.api_connector import ApiConnectorProvider
from components.graph.gateway import GraphCancelledError, GraphError
from components.graph.user_flow import UserFlowProvider
from tests.components.graph.conftest import configured, connect
from tests.doubles.clock import VirtualClock
from tools.graph_double import GraphDouble

CONNECTOR = {
    "display_name": "gate",
    "target_url": "https://f.example/api/validate-signup",
    "username": "b2c",
    "password": "Connector-Passw0rd-7f3a",
}
ATTRIBUTES = [{"attribute_id": "email"}, {"attribute_id": "givenName"}, {"attribute_id": "city"}]


def flow_inputs(provider: UserFlowProvider, **extra: Any) -> dict[str, Any]:
    return provider.check({}, {"name": "signupsignin", "attributes": ATTRIBUTES, **extra}).inputs


def converged(graph: GraphDouble, provider: UserFlowProvider, flow_id: str, wanted: dict[str, Any]) -> bool:
    outs = {**wanted, "flow_id": flow_id}
    read = provider.read(flow_id, outs)
    return read.outs is not None and provider.diff(flow_id, read.outs, wanted).changes is False


def test_a_connector_created_whose_answer_was_lost_is_not_created_twice(graph: GraphDouble) -> None:
    graph.lose_answer("POST", r"/apiConnectors$", status=504)
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    created = provider.create(provider.check({}, CONNECTOR).inputs)
    assert list(graph.state.connectors) == [created.id]
    assert [c.method for c in graph.log].count("POST") == 1


def test_a_dropped_connector_create_that_landed_is_not_sent_again_either(graph: GraphDouble) -> None:
    graph.drop("POST", r"/apiConnectors$", after_apply=True)
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    created = provider.create(provider.check({}, CONNECTOR).inputs)
    assert list(graph.state.connectors) == [created.id]


def test_a_user_flow_created_whose_answer_was_lost_counts_as_created(graph: GraphDouble) -> None:
    graph.lose_answer("POST", r"/b2cUserFlows$", status=504)
    provider = configured(UserFlowProvider(), graph.endpoint)
    wanted = flow_inputs(provider)
    created = provider.create(wanted)
    assert list(graph.state.flows) == [created.id]
    assert [c.method for c in graph.log if c.path.endswith("/b2cUserFlows")].count("POST") == 1
    assert converged(graph, provider, created.id, wanted)


def test_a_retried_flow_create_that_meets_its_first_attempt_takes_it(graph: GraphDouble) -> None:
    # The look after the lost answer sees nothing yet (replication), the retry gets 409.
    graph.lose_answer("POST", r"/b2cUserFlows$", status=503)
    graph.fail("GET", r"/b2cUserFlows/B2C_1_signupsignin$", status=404, times=2)  # the initial look, then lag
    provider = configured(UserFlowProvider(), graph.endpoint)
    created = provider.create(flow_inputs(provider))
    assert list(graph.state.flows) == [created.id]
    assert [c.status for c in graph.log if c.method == "POST" and c.path.endswith("/b2cUserFlows")] == [
        503,
        409,
    ]


def test_an_attribute_added_whose_answer_was_lost_does_not_fail_the_create(graph: GraphDouble) -> None:
    graph.lose_answer("POST", r"/userAttributeAssignments$", status=504)
    provider = configured(UserFlowProvider(), graph.endpoint)
    wanted = flow_inputs(provider)
    created = provider.create(wanted)
    assert set(graph.state.flows[created.id]["attributes"]) == {"email", "givenName", "city"}
    assert converged(graph, provider, created.id, wanted)


def test_a_half_applied_update_converges_when_run_again(graph: GraphDouble) -> None:
    connectors = configured(ApiConnectorProvider(), graph.endpoint)
    gate = connectors.create(connectors.check({}, CONNECTOR).inputs).id
    provider = configured(UserFlowProvider(), graph.endpoint)
    olds = provider.create(flow_inputs(provider)).outs
    assert olds is not None
    news = flow_inputs(
        provider, attributes=[*ATTRIBUTES, {"attribute_id": "country"}], post_attribute_collection=gate
    )
    graph.fail("PUT", r"/\$ref$", status=400, code="AADB2C", message="Simulated refusal.")
    with pytest.raises(GraphError, match=r"run `pulumi up` again to finish"):
        provider.update("B2C_1_signupsignin", olds, news)
    assert "country" in graph.state.flows["B2C_1_signupsignin"]["attributes"]  # half applied
    # The engine keeps the old outputs after a failed update: the next `up` plans from them.
    provider.update("B2C_1_signupsignin", olds, news)
    assert converged(graph, provider, "B2C_1_signupsignin", news)
    assert not [c for c in graph.log if c.status == 409]


def test_a_throttled_rollback_still_removes_the_half_made_flow(graph: GraphDouble) -> None:
    graph.fail("PUT", r"/\$ref$", status=400, code="AADB2C", message="Simulated refusal.")
    graph.fail(
        "DELETE",
        r"/b2cUserFlows/B2C_1_signupsignin$",
        status=429,
        retry_after="5",
        times=2,
        code="TooManyRequests",
    )
    clock = VirtualClock()
    provider = configured(UserFlowProvider(), graph.endpoint, clock=clock)
    missing = "7d3c9a8e-2b1f-4c6d-9e0a-5f4b3c2d1e0f"
    with pytest.raises(GraphError, match="Simulated refusal"):
        provider.create(flow_inputs(provider, post_attribute_collection=missing))
    assert graph.state.flows == {}
    assert clock.slept.count(5.0) == 2  # Retry-After honoured, in virtual time


def test_a_rollback_has_a_budget_of_its_own(graph: GraphDouble) -> None:
    # The create spends its whole budget on an attach that never succeeds; the rollback still runs.
    graph.fail("PUT", r"/\$ref$", status=503, times=1000)
    graph.fail("DELETE", r"/b2cUserFlows/", status=503, times=1)
    provider = configured(UserFlowProvider(), graph.endpoint, max_wait=5)
    with pytest.raises(GraphError, match=r"Gave up attaching .* in 5 s"):
        provider.create(
            flow_inputs(provider, post_attribute_collection="7d3c9a8e-2b1f-4c6d-9e0a-5f4b3c2d1e0f")
        )
    assert graph.state.flows == {}


def test_a_token_revoked_mid_create_does_not_leave_the_flow(graph: GraphDouble) -> None:
    graph.revoke_token("POST", r"/userAttributeAssignments$")
    provider = configured(UserFlowProvider(), graph.endpoint)
    with pytest.raises(GraphError, match="refused the credential"):
        provider.create(flow_inputs(provider))
    assert graph.state.flows == {}  # the rollback signed in afresh
    again = provider.create(flow_inputs(provider))  # and the next run converges
    assert list(graph.state.flows) == [again.id]


def test_a_create_cancelled_by_the_engine_rolls_back(graph: GraphDouble) -> None:
    stopping = {"now": False}
    graph.fail("GET", r"/userAttributeAssignments$", status=503, then=lambda: stopping.update(now=True))
    provider = configured(
        UserFlowProvider(), graph.endpoint, gateway=connect(cancelled=lambda: stopping["now"])
    )
    with pytest.raises(GraphCancelledError, match="cancelled"):
        provider.create(flow_inputs(provider))
    assert graph.state.flows == {}
    assert graph.log[-1].method == "DELETE"


def test_ctrl_c_in_the_provider_host_rolls_back_the_create_in_progress(graph: GraphDouble) -> None:
    import json
    import os
    import signal
    import subprocess
    import sys

    from pulumi.dynamic.dynamic import serialize_provider

    from tests.components.graph.conftest import stack_config
    from tests.conftest import PROJECT_DIR

    child = subprocess.Popen(
        [sys.executable, "-m", "tests.doubles.host_child"],
        cwd=PROJECT_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Ctrl-C arrives while the first attribute is being added.
    graph.fail(
        "POST", r"/userAttributeAssignments$", status=503, then=lambda: os.kill(child.pid, signal.SIGINT)
    )
    job = {
        "provider": serialize_provider(UserFlowProvider()),
        "config": stack_config(graph.endpoint),
        "inputs": {"name": "signupsignin", "attributes": ATTRIBUTES},
    }
    out, err = child.communicate(json.dumps(job), timeout=60)
    assert "started" in out and "failed: GraphCancelledError" in out, (out, err)
    assert graph.state.flows == {}
    assert graph.log[-1].method == "DELETE"
