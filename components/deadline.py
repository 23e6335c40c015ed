"""Budgets for everything that waits at deploy time: the Graph gateway, One Deploy and the
teardown's Key Vault purge share them, so a fault is bounded once, here, for every caller.

- One overall deadline per operation. Every request runs `within` what is left of it, in real
  time: a peer that trickles its reply (a byte every few seconds) never resets a per-read timeout
  past the operation's end, because the whole request is cancelled when the deadline passes.
- One pause rule for every retry loop: exponential backoff with jitter, or the server's
  Retry-After, never below a floor. A Retry-After of 0, or an HTTP date in the past, would
  otherwise turn a retry loop into a tight one.

Standard library only; the clock is injectable so tests spend budgets without waiting.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import random
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

# The shortest pause between two attempts, whatever Retry-After says: long enough that a server
# answering "retry now" forever costs a few requests a second, not thousands.
MIN_PAUSE_SECONDS = 0.5
# The longest exponential pause: past it, waiting longer only wastes the budget.
MAX_BACKOFF_SECONDS = 8.0


class DeadlineExceededError(TimeoutError):
    """The operation's budget is spent; `what` says which wait ran out."""

    def __init__(self, what: str, budget: float) -> None:
        super().__init__(f"{what}: no answer within the {budget:.0f} s budget")
        self.what, self.budget = what, budget


class Deadline:
    """The end of one operation's budget, on an injectable monotonic clock."""

    def __init__(self, budget: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget, self._clock = budget, clock
        self.end = clock() + budget

    def remaining(self) -> float:
        return max(self.end - self._clock(), 0.0)

    def expired(self) -> bool:
        return self._clock() >= self.end

    def allows(self, pause: float) -> bool:
        """Whether a pause of this length still ends within the budget."""
        return self._clock() + pause <= self.end

    def elapsed(self) -> float:
        return self.budget - (self.end - self._clock())

    async def within(self, work: Awaitable[T], what: str) -> T:
        """Run `work`, cancelled when the budget runs out (in real time too: an answer that never
        comes, or comes a byte at a time, ends here). Raises DeadlineExceededError."""
        left = self.remaining()
        if left <= 0:
            if asyncio.iscoroutine(work):
                work.close()
            raise DeadlineExceededError(what, self.budget)
        try:
            return await asyncio.wait_for(work, timeout=left)
        except TimeoutError:
            raise DeadlineExceededError(what, self.budget) from None

    async def in_thread(self, call: Callable[[], T], what: str) -> T:
        """`within` for a blocking call: a sync credential's get_token (the az CLI, a token endpoint
        over HTTP) has no budget of its own. The call runs on a daemon thread that is given up at
        the deadline, not waited for: asyncio's default executor would hold the process at exit
        until the call ended, however long that is."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = call()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting side as it is
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=run, name=f"deadline: {what}"[:60], daemon=True).start()
        return await self.within(asyncio.wrap_future(future), what)


def backoff(attempt: int, *, base: float = 0.25, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """The pause before attempt `attempt + 1`: doubling from `base`, capped, with ±25 % jitter so
    that many clients throttled together do not retry together."""
    return float(min(base * 2**attempt, cap) * (0.75 + random.random() / 2))  # noqa: S311 - jitter


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date. None when absent or
    unreadable (the caller then backs off by itself)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # "²" is a digit to str.isdigit, not to float()
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return when.timestamp() - now()


def pause(attempt: int, retry_after: float | None = None) -> float:
    """How long to wait before the next attempt: the server's Retry-After when it gave one,
    else backoff; never less than MIN_PAUSE_SECONDS."""
    wanted = retry_after if retry_after is not None else backoff(attempt)
    return max(wanted, MIN_PAUSE_SECONDS)
