"""Redirects: a write is never sent again anywhere (its body may carry the connector password),
a read follows only within Graph's origin and never carries the token off it."""

from __future__ import annotations

from typing import Any

import pytest

from components.graph import permissions
from components.graph.api_connector import ApiConnectorProvider
from components.graph.gateway import MAX_REDIRECTS, GraphError, GraphGateway
from tests.components.graph.conftest import configured
from tests.doubles.scripted_graph import Reply, ScriptedGraph

PASSWORD = "Connector-Passw0rd-7f3a"
CONNECTORS = "v1.0/identity/apiConnectors"


def moved(status: int, location: str) -> Reply:
    return Reply(status, headers={"Location": location})


@pytest.fixture
def graph() -> Any:
    with ScriptedGraph() as double:
        yield double


@pytest.fixture
def stranger() -> Any:
    """Another origin, answering whatever it is sent, and keeping it."""
    with ScriptedGraph() as double:
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            double.script(method, "", Reply(201, {"id": "stolen"}), repeat=True)
        yield double


def test_a_connector_create_redirected_elsewhere_never_sends_the_password_there(
    graph: ScriptedGraph, stranger: ScriptedGraph
) -> None:
    graph.script("GET", f"/{CONNECTORS}$", Reply(200, {"value": []}))
    graph.script("POST", f"/{CONNECTORS}$", moved(307, f"{stranger.origin}/{CONNECTORS}"))
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    inputs = provider.check(
        {},
        {
            "display_name": "gate",
            "target_url": "https://f.example/api/x",
            "username": "b2c",
            "password": PASSWORD,
        },
    ).inputs
    with pytest.raises(GraphError, match=r"creating API connector 'gate'.*307") as raised:
        provider.create(inputs)
    assert stranger.seen == []
    assert len(graph.requests("POST")) == 1  # not re-sent to Graph either
    assert PASSWORD not in str(raised.value)


@pytest.mark.parametrize(
    ("method", "status"),
    [
        ("POST", 307),
        ("POST", 308),
        ("POST", 301),
        ("POST", 302),
        ("PATCH", 308),
        ("PUT", 307),
        ("DELETE", 303),
    ],
)
def test_a_write_answered_with_a_redirect_is_not_followed(
    graph: ScriptedGraph, stranger: ScriptedGraph, method: str, status: int
) -> None:
    graph.script(method, f"/{CONNECTORS}/1$", moved(status, f"{stranger.origin}/{CONNECTORS}/1"))

    async def write(gateway: GraphGateway) -> Any:
        return await gateway.call(
            "updating API connector 1",
            permissions.CONNECTORS,
            lambda: gateway.send(method, f"{CONNECTORS}/1", {"password": PASSWORD}),
        )

    with pytest.raises(GraphError, match=rf"updating API connector 1.*{status}.*{stranger.origin}") as raised:
        graph.run(write, secrets=(PASSWORD,))
    assert raised.value.status == status
    assert stranger.seen == [] and len(graph.requests(method)) == 1


def test_a_write_is_not_followed_within_graph_either(graph: ScriptedGraph) -> None:
    graph.script("POST", f"/{CONNECTORS}$", moved(308, f"{graph.origin}/beta/identity/apiConnectors"))
    graph.script("POST", "/beta/identity/apiConnectors$", Reply(201, {"id": "1"}))

    async def create(gateway: GraphGateway) -> Any:
        return await gateway.call(
            "creating API connector 'gate'",
            permissions.CONNECTORS,
            lambda: gateway.send("POST", CONNECTORS, {}),
        )

    with pytest.raises(GraphError, match="redirect"):
        graph.run(create)
    assert [s.path for s in graph.requests("POST")] == [f"/{CONNECTORS}"]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_read_follows_a_redirect_within_graph_with_its_token(graph: ScriptedGraph, status: int) -> None:
    graph.script("GET", f"/{CONNECTORS}/1$", moved(status, "/beta/identity/apiConnectors/1"))
    graph.script("GET", "/beta/identity/apiConnectors/1$", Reply(200, {"id": "1"}))

    async def read(gateway: GraphGateway) -> Any:
        return await gateway.call(
            "reading API connector 1", permissions.CONNECTORS, lambda: gateway.send("GET", f"{CONNECTORS}/1")
        )

    assert graph.run(read) == {"id": "1"}
    first, second = graph.requests("GET")
    assert second.headers["authorization"] == first.headers["authorization"]
    assert second.headers["authorization"].startswith("Bearer ")


def test_a_read_redirected_to_another_origin_is_not_followed(
    graph: ScriptedGraph, stranger: ScriptedGraph
) -> None:
    graph.script("GET", f"/{CONNECTORS}/1$", moved(302, f"{stranger.origin}/{CONNECTORS}/1"))

    async def read(gateway: GraphGateway) -> Any:
        return await gateway.call(
            "reading API connector 1", permissions.CONNECTORS, lambda: gateway.send("GET", f"{CONNECTORS}/1")
        )

    with pytest.raises(GraphError, match=rf"reading API connector 1.*302.*{stranger.origin}.*not followed"):
        graph.run(read)
    assert stranger.seen == []


def test_a_read_redirected_to_another_scheme_or_port_of_the_same_host_is_not_followed(
    graph: ScriptedGraph, stranger: ScriptedGraph
) -> None:
    # Same host (127.0.0.1), another port: another origin all the same.
    graph.script("GET", f"/{CONNECTORS}/1$", moved(307, f"{stranger.origin}/x"))
    graph.script("GET", f"/{CONNECTORS}/2$", moved(307, graph.origin.replace("http://", "https://") + "/x"))

    async def read(gateway: GraphGateway, item: int) -> Any:
        return await gateway.call(
            f"reading API connector {item}",
            permissions.CONNECTORS,
            lambda: gateway.send("GET", f"{CONNECTORS}/{item}"),
        )

    for item in (1, 2):
        with pytest.raises(GraphError, match="not followed"):
            graph.run(lambda gateway, item=item: read(gateway, item))  # type: ignore[misc]
    assert stranger.seen == []
    assert len(graph.requests("GET")) == 2


def test_a_redirect_loop_within_graph_ends_after_a_few_hops(graph: ScriptedGraph) -> None:
    graph.script("GET", f"/{CONNECTORS}/1$", moved(302, f"/{CONNECTORS}/1"), repeat=True)

    async def read(gateway: GraphGateway) -> Any:
        return await gateway.call(
            "reading API connector 1", permissions.CONNECTORS, lambda: gateway.send("GET", f"{CONNECTORS}/1")
        )

    with pytest.raises(GraphError, match=rf"reading API connector 1.*more than {MAX_REDIRECTS} redirects"):
        graph.run(read)
    assert len(graph.requests("GET")) == MAX_REDIRECTS + 1


def test_a_redirect_without_a_location_is_explained(graph: ScriptedGraph) -> None:
    graph.script("GET", f"/{CONNECTORS}/1$", Reply(302))

    async def read(gateway: GraphGateway) -> Any:
        return await gateway.call(
            "reading API connector 1", permissions.CONNECTORS, lambda: gateway.send("GET", f"{CONNECTORS}/1")
        )

    with pytest.raises(GraphError, match=r"reading API connector 1.*302.*no Location"):
        graph.run(read)
