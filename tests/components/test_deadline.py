"""The shared budget rules: a deadline that real time enforces, and a pause with a floor."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from components import deadline
from components.deadline import Deadline, DeadlineExceededError
from tests.doubles.clock import VirtualClock


def test_remaining_and_allows_follow_the_injected_clock() -> None:
    clock = VirtualClock()
    budget = Deadline(10, clock.now)
    assert budget.remaining() == 10 and budget.allows(10) and not budget.allows(10.5)
    clock.advance(4)
    assert budget.remaining() == 6 and budget.elapsed() == 4 and not budget.expired()
    clock.advance(7)
    assert budget.remaining() == 0 and budget.expired()


def test_within_cancels_work_that_outlives_the_budget_in_real_time() -> None:
    cancelled = []

    async def trickle() -> None:
        try:
            while True:  # a peer that keeps the connection busy, one byte at a time
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    started = time.monotonic()
    with pytest.raises(DeadlineExceededError, match="reading the reply: no answer within the 0 s budget"):
        asyncio.run(Deadline(0.2).within(trickle(), "reading the reply"))
    assert time.monotonic() - started < 1.0
    assert cancelled == [True]


def test_a_blocking_call_that_never_returns_is_given_up_at_the_deadline() -> None:
    release = threading.Event()  # an `az account get-access-token` that hangs

    async def run() -> str:
        return await Deadline(0.1).in_thread(lambda: "token" if release.wait(30) else "", "getting a token")

    started = time.monotonic()
    try:
        with pytest.raises(DeadlineExceededError, match="getting a token: no answer within"):
            asyncio.run(run())  # asyncio.run returns: the thread is not waited for at exit
        assert time.monotonic() - started < 1.0
    finally:
        release.set()


def test_a_blocking_call_within_the_budget_gives_its_result_or_its_error() -> None:
    async def run(call: Callable[[], str]) -> str:
        return await Deadline(5).in_thread(call, "getting a token")

    assert asyncio.run(run(lambda: "token")) == "token"

    def refused() -> str:
        raise PermissionError("AADSTS7000215: invalid client secret")

    with pytest.raises(PermissionError, match="AADSTS7000215"):
        asyncio.run(run(refused))


def test_within_refuses_to_start_once_the_budget_is_spent() -> None:
    clock = VirtualClock()
    budget = Deadline(1, clock.now)
    clock.advance(2)

    async def never_started() -> int:
        raise AssertionError("must not run")

    with pytest.raises(DeadlineExceededError):
        asyncio.run(budget.within(never_started(), "publishing"))


def test_a_retry_after_of_zero_or_in_the_past_still_pauses() -> None:
    assert deadline.pause(1, retry_after=0.0) == deadline.MIN_PAUSE_SECONDS
    past = deadline.retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT")
    assert past is not None and past < 0
    assert deadline.pause(1, retry_after=past) == deadline.MIN_PAUSE_SECONDS
    assert deadline.pause(1, retry_after=3.0) == 3.0


@pytest.mark.parametrize(
    "value", ["", "  ", "soon", "²", "-5", "1.5e3", "Thu, 99 Foo 2026 99:99:99 GMT", "Sun, 06 Dec 2026"]
)
def test_an_unreadable_retry_after_is_none(value: str) -> None:
    assert deadline.retry_after_seconds(value) is None


def test_a_retry_after_date_counts_from_now() -> None:
    assert deadline.retry_after_seconds("Sun, 06 Dec 2026 12:00:30 GMT", now=lambda: 1796558400.0) == 30.0
    assert deadline.retry_after_seconds("120") == 120.0


def test_backoff_doubles_to_its_cap_with_jitter() -> None:
    for attempt in range(1, 12):
        expected = min(0.25 * 2**attempt, deadline.MAX_BACKOFF_SECONDS)
        assert 0.75 * expected <= deadline.backoff(attempt) <= 1.25 * expected
