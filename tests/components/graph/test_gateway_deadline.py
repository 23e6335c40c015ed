"""The operation's deadline wins: over a reply that trickles, over a request that would start too
late, over Retry-After; and a Retry-After of 0, in the past or unreadable still pauses."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import pytest

from components.deadline import MIN_PAUSE_SECONDS
from components.graph import permissions
from components.graph.gateway import MIN_ATTEMPT_SECONDS, GraphError, GraphGateway
from tests.doubles.clock import VirtualClock
from tests.doubles.scripted_graph import Reply, ScriptedGraph, error

CONNECTOR = "v1.0/identity/apiConnectors/1"
FOUND = Reply(200, {"id": "1"})


@pytest.fixture
def graph() -> Any:
    with ScriptedGraph() as double:
        yield double


async def read(gateway: GraphGateway) -> Any:
    return await gateway.call(
        "reading API connector 1", permissions.CONNECTORS, lambda: gateway.send("GET", CONNECTOR)
    )


def throttled(retry_after: str) -> Reply:
    return Reply(
        429,
        {"error": {"code": "TooManyRequests", "message": "Slow down."}},
        headers={"Retry-After": retry_after},
    )


def test_a_reply_that_trickles_is_cut_at_the_deadline(graph: ScriptedGraph) -> None:
    # A byte every 50 ms keeps any per-read timeout happy for the 100 s the body would take; only
    # the operation's deadline (1 s, in real time: only real time shows it) ends the request.
    body = b'{"id": "1", "padding": "' + b"x" * 2000 + b'"}'
    graph.script("GET", f"/{CONNECTOR}$", Reply(200, raw=body, trickle=0.05))
    with pytest.raises(GraphError, match=r"Gave up reading API connector 1: the 1 s budget ran out"):
        graph.run(read, real_time=True, max_wait=1)
    assert graph.wait_for_trickles(1)
    assert graph.trickled[0] < len(body) // 10  # cut early, not finished


def test_no_request_starts_once_the_budget_is_spent(graph: ScriptedGraph) -> None:
    clock = VirtualClock()
    graph.script("GET", f"/{CONNECTOR}$", FOUND, repeat=True)

    async def two_reads(gateway: GraphGateway) -> Any:
        await read(gateway)
        clock.advance(20)  # the session's budget is spent (by whatever came before)
        return await read(gateway)

    with pytest.raises(GraphError, match=r"Gave up reading API connector 1: the 20 s budget ran out"):
        graph.run(two_reads, clock=clock, max_wait=20)
    assert len(graph.requests("GET")) == 1


@pytest.mark.parametrize(
    "retry_after", ["0", "Wed, 21 Oct 2015 07:28:00 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"]
)
def test_a_retry_after_of_zero_or_in_the_past_still_pauses(graph: ScriptedGraph, retry_after: str) -> None:
    clock = VirtualClock()
    graph.script("GET", f"/{CONNECTOR}$", throttled(retry_after), throttled(retry_after), FOUND)
    assert graph.run(read, clock=clock) == {"id": "1"}
    assert len(clock.slept) == 2 and min(clock.slept) >= MIN_PAUSE_SECONDS


def test_a_retry_after_date_is_honoured(graph: ScriptedGraph) -> None:
    clock = VirtualClock()
    graph.script(
        "GET", f"/{CONNECTOR}$", throttled(email.utils.formatdate(time.time() + 10, usegmt=True)), FOUND
    )
    assert graph.run(read, clock=clock) == {"id": "1"}
    assert 8 <= clock.slept[0] <= 10.5  # an HTTP date has whole seconds


def test_a_retry_after_beyond_the_budget_gives_up_at_once_and_says_so(graph: ScriptedGraph) -> None:
    clock = VirtualClock()
    graph.script("GET", f"/{CONNECTOR}$", throttled("3600"), repeat=True)
    with pytest.raises(
        GraphError, match=r"Gave up reading API connector 1 after 1 attempts.*Retry-After 3600 s"
    ):
        graph.run(read, clock=clock, max_wait=20)
    assert clock.slept == []


@pytest.mark.parametrize("retry_after", ["soon", "-5", "1.5", "²", "Mon, 99 Foo 2020", "x" * 5000])
def test_an_unreadable_retry_after_backs_off_by_itself(graph: ScriptedGraph, retry_after: str) -> None:
    clock = VirtualClock()
    graph.script("GET", f"/{CONNECTOR}$", throttled(retry_after), FOUND)
    assert graph.run(read, clock=clock) == {"id": "1"}
    assert len(clock.slept) == 1 and clock.slept[0] >= MIN_PAUSE_SECONDS


def test_an_unreadable_retry_after_is_named_when_the_budget_runs_out(graph: ScriptedGraph) -> None:
    graph.script("GET", f"/{CONNECTOR}$", throttled("soon"), repeat=True)
    with pytest.raises(
        GraphError, match=r"Gave up reading API connector 1 after \d+ attempts.*429.*Retry-After 'soon'"
    ):
        graph.run(read, max_wait=5)


def test_every_attempt_starts_with_time_to_finish_and_the_waits_keep_the_budget(graph: ScriptedGraph) -> None:
    clock = VirtualClock()
    started: list[float] = []
    graph.script(
        "GET",
        f"/{CONNECTOR}$",
        Reply(503, {"error": {"code": "serviceUnavailable"}}, then=lambda: started.append(clock.now())),
        repeat=True,
    )
    with pytest.raises(GraphError, match=r"Gave up reading API connector 1 after \d+ attempts in 10 s"):
        graph.run(read, clock=clock, max_wait=10)
    end = 1000.0 + 10
    assert len(started) > 2 and all(end - at >= MIN_ATTEMPT_SECONDS for at in started)
    assert clock.now() <= end


def test_replication_lag_is_waited_out_within_its_own_limit(graph: ScriptedGraph) -> None:
    clock = VirtualClock()
    graph.script("PATCH", f"/{CONNECTOR}$", error(404, "Request_ResourceNotFound"), repeat=True)

    async def update(gateway: GraphGateway) -> Any:
        return await gateway.call(
            "updating API connector 1",
            permissions.CONNECTORS,
            lambda: gateway.send("PATCH", CONNECTOR, {}),
            lag_tolerant=True,
        )

    with pytest.raises(GraphError, match=r"still absent after waiting \d+ s"):
        graph.run(update, clock=clock, max_wait=60, max_lag=6)
    assert 0 < sum(clock.slept) <= 6 and min(clock.slept) >= MIN_PAUSE_SECONDS
