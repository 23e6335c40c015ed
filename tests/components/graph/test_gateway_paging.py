"""Paging: a link seen before ends the listing, links stay on Graph's origin, a listing counts
against the operation's budget and holds a bounded number of pages and bytes."""

from __future__ import annotations

from typing import Any

import pytest

from components.graph import permissions
from components.graph.gateway import MAX_LISTING_BYTES, MAX_PAGES, MAX_REPLY_BYTES, GraphError, GraphGateway
from tests.doubles.clock import VirtualClock
from tests.doubles.scripted_graph import Reply, ScriptedGraph

CONNECTORS = "v1.0/identity/apiConnectors"


@pytest.fixture
def graph() -> Any:
    with ScriptedGraph() as double:
        yield double


def page(items: list[Any], next_link: str | None = None) -> dict[str, Any]:
    return {"value": items, **({"@odata.nextLink": next_link} if next_link else {})}


async def listing(gateway: GraphGateway) -> list[dict[str, Any]]:
    return await gateway.pages("listing API connectors", permissions.CONNECTORS, CONNECTORS)


def test_pages_are_followed_and_joined(graph: ScriptedGraph) -> None:
    graph.script(
        "GET", f"/{CONNECTORS}$", Reply(200, page([{"id": "1"}], f"{graph.origin}/{CONNECTORS}?$skiptoken=2"))
    )
    graph.script("GET", r"skiptoken=2$", Reply(200, page([{"id": "2"}], f"/{CONNECTORS}?$skiptoken=3")))
    graph.script("GET", r"skiptoken=3$", Reply(200, page([{"id": "3"}])))
    assert graph.run(listing) == [{"id": "1"}, {"id": "2"}, {"id": "3"}]


def test_a_page_that_links_to_itself_ends_the_listing(graph: ScriptedGraph) -> None:
    graph.script(
        "GET", f"/{CONNECTORS}$", Reply(200, page([{"id": "1"}], f"{graph.origin}/{CONNECTORS}")), repeat=True
    )
    with pytest.raises(GraphError, match=r"listing API connectors.*leads back to a page already read"):
        graph.run(listing)
    assert len(graph.requests("GET")) == 1


def test_pages_that_link_in_a_circle_end_the_listing(graph: ScriptedGraph) -> None:
    first, second = f"{graph.origin}/{CONNECTORS}", f"{graph.origin}/{CONNECTORS}?$skiptoken=B"
    graph.script("GET", f"/{CONNECTORS}$", Reply(200, page([{"id": "a"}], second)), repeat=True)
    graph.script("GET", r"skiptoken=B$", Reply(200, page([{"id": "b"}], first)), repeat=True)
    with pytest.raises(GraphError, match=r"listing API connectors.*leads back to a page already read"):
        graph.run(listing)
    assert len(graph.requests("GET")) == 2


def test_a_paging_link_to_another_origin_is_not_followed(graph: ScriptedGraph) -> None:
    with ScriptedGraph() as stranger:
        stranger.script("GET", "", Reply(200, page([])), repeat=True)
        graph.script(
            "GET", f"/{CONNECTORS}$", Reply(200, page([{"id": "1"}], f"{stranger.origin}/{CONNECTORS}?p=2"))
        )
        with pytest.raises(GraphError, match=rf"listing API connectors.*{stranger.origin}.*not followed"):
            graph.run(listing)
        assert stranger.seen == []


def test_a_listing_that_never_ends_stops_at_the_page_limit(graph: ScriptedGraph) -> None:
    counter = {"n": 0}

    def next_page() -> None:
        counter["n"] += 1

    # Every page links to a new one (the link differs each time), as a broken server might.
    replies = [
        Reply(200, page([{"id": str(n)}], f"{graph.origin}/{CONNECTORS}?$skiptoken={n + 1}"), then=next_page)
        for n in range(MAX_PAGES + 5)
    ]
    graph.script("GET", f"/{CONNECTORS}", *replies)
    with pytest.raises(GraphError, match=rf"listing API connectors.*more than {MAX_PAGES} pages"):
        graph.run(listing)
    assert counter["n"] == MAX_PAGES


def test_a_listing_holds_a_bounded_number_of_bytes(graph: ScriptedGraph) -> None:
    big = [{"id": "x" * (MAX_REPLY_BYTES // 4)}] * 3  # three quarters of the reply cap per page
    pages_needed = MAX_LISTING_BYTES // (3 * MAX_REPLY_BYTES // 4) + 1
    replies = [
        Reply(200, page(big, f"{graph.origin}/{CONNECTORS}?$skiptoken={n + 1}"))
        for n in range(pages_needed + 3)
    ]
    graph.script("GET", f"/{CONNECTORS}", *replies)
    with pytest.raises(
        GraphError, match=rf"listing API connectors.*more than {MAX_LISTING_BYTES // 2**20} MiB"
    ):
        graph.run(listing)
    assert len(graph.requests("GET")) == pages_needed


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ({"value": {"id": "1"}}, r"value.*expected a list.*an object"),
        ({"value": ["1", "2"]}, r"item.*expected a JSON object.*a string"),
        ({"value": [], "@odata.nextLink": ["x"]}, r"@odata.nextLink.*expected a link.*a list"),
        ({"items": []}, r"value.*expected a list.*nothing"),
        ([{"id": "1"}], r"expected a JSON object.*a list"),
    ],
)
def test_a_page_of_the_wrong_shape_is_explained(graph: ScriptedGraph, body: Any, what: str) -> None:
    graph.script("GET", f"/{CONNECTORS}$", Reply(200, body))
    with pytest.raises(GraphError, match=rf"listing API connectors.*{what}"):
        graph.run(listing)


def test_paging_counts_against_the_operations_budget(graph: ScriptedGraph) -> None:
    clock = VirtualClock()
    # The first page takes the whole budget (the clock stands for the time it took).
    graph.script(
        "GET",
        f"/{CONNECTORS}$",
        Reply(
            200,
            page([{"id": "1"}], f"{graph.origin}/{CONNECTORS}?$skiptoken=2"),
            then=lambda: clock.advance(30),
        ),
    )
    graph.script("GET", r"skiptoken=2$", Reply(200, page([{"id": "2"}])))
    with pytest.raises(GraphError, match=r"Gave up listing API connectors.*20 s budget"):
        graph.run(listing, clock=clock, max_wait=20)
    assert len(graph.requests("GET")) == 1


def test_throttled_pages_share_one_budget(graph: ScriptedGraph) -> None:
    clock = VirtualClock()
    throttled = Reply(429, {"error": {"code": "TooManyRequests"}}, headers={"Retry-After": "4"})
    for n in range(20):
        graph.script(
            "GET",
            rf"skiptoken={n}$",
            throttled,
            Reply(200, page([], f"{graph.origin}/{CONNECTORS}?$skiptoken={n + 1}")),
        )
    graph.script("GET", f"/{CONNECTORS}$", Reply(200, page([], f"{graph.origin}/{CONNECTORS}?$skiptoken=0")))
    with pytest.raises(GraphError, match=r"Gave up listing API connectors"):
        graph.run(listing, clock=clock, max_wait=20)
    assert clock.time - 1000.0 <= 20
