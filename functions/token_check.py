"""Bearer tokens signed with a tenant's published keys: the header, the signing-key cache, the
signature and the standard claims (RS256 only, issuer, audience, expiry with a small leeway).
Shared by the web API (B2C access tokens) and the External ID callout (the tokens Entra mints for
its custom extension); each applies its own claim rules on top.

The key cache is written here rather than taken from PyJWT's PyJWKClient, whose policy does not
hold what a tenant's keys need: its per-kid cache never expires (a key the tenant withdrew stays
accepted), it holds a lock across a fetch (one hanging fetch queues every request behind it, each
then fetching again), it remembers no failure (a burst of requests during an outage is a burst of
fetches), an answer that is not a key set escapes as an unexpected error, and its timeout bounds
each socket read, not the fetch. PyJWT still parses the keys (PyJWKSet) and verifies the tokens.
"""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.request
from collections.abc import Callable, Collection, Sequence
from typing import Any

import app_settings
import jwt

ALGORITHM = "RS256"
# Clock skew allowed on exp and nbf.
LEEWAY_SECONDS = 60
# A fetched key set is trusted this long; then it is fetched again, so a key the tenant withdrew
# (rolled, perhaps because it leaked) stops being accepted within the hour.
KEY_LIFETIME_SECONDS = 3600.0
# An unknown kid (a key just rolled in, or a forged header) refreshes the set at most this often.
REFRESH_COOLDOWN_SECONDS = 60.0
# A failed fetch is remembered this long: requests meanwhile get 503 with Retry-After at once,
# so a burst during an outage is one fetch, not one per request.
FAILURE_COOLDOWN_SECONDS = 30.0
# The longest one fetch may take (connect, answer, body), whoever waits for it. Key sets are a
# few KB; an endpoint answering more is not serving keys.
FETCH_BUDGET_SECONDS = 5.0
MAX_KEY_SET_BYTES = 256 * 1024

Clock = Callable[[], float]
Fetch = Callable[[str, float, Clock], bytes]


class RefusedError(Exception):
    """Why a request is not served: the reply's status, its challenge (401), a Retry-After (503)
    and a reason for the log, never for the caller."""

    def __init__(
        self, status: int, challenge: str | None, reason: str, retry_after: int | None = None
    ) -> None:
        super().__init__(reason)
        self.status, self.challenge, self.retry_after = status, challenge, retry_after

    def reply(self) -> tuple[int, dict[str, object], dict[str, str]]:
        """Status, body and headers of the reply (RFC 6750): no reason, which is for the log."""
        headers = {"WWW-Authenticate": self.challenge} if self.challenge else {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return self.status, {"error": "unavailable" if self.status == 503 else "unauthorized"}, headers


class KeysUnavailableError(Exception):
    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def invalid_token() -> str:
    return f'Bearer realm="{app_settings.REALM}", error="invalid_token"'


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer` header; never from anywhere else (query string, body)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise RefusedError(401, f'Bearer realm="{app_settings.REALM}"', "no bearer token")
    return token.strip()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None  # a key endpoint that redirects is not followed: the 3xx is a failure


def http_get(url: str, budget: float, clock: Clock) -> bytes:
    """GET `url` within `budget` seconds in all: each socket operation is bounded, and so is the
    whole body, read as it arrives, however slowly it trickles."""
    deadline = clock() + budget
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - origins.url_problem admitted it
    with urllib.request.build_opener(_NoRedirect).open(request, timeout=budget) as response:
        body = b""
        while chunk := response.read1(65536):
            body += chunk
            if len(body) > MAX_KEY_SET_BYTES:
                raise ValueError(f"the key set exceeds {MAX_KEY_SET_BYTES} bytes")
            if clock() > deadline:
                raise TimeoutError(f"the key set took longer than {budget:g} s")
    return body


def parse_key_set(body: bytes) -> dict[str, Any]:
    """kid -> public key of every RSA signing key of a JWKS, or ValueError when it has none."""
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    try:
        key_set = jwt.PyJWKSet.from_dict(data)
    except jwt.PyJWTError as exc:
        raise ValueError(str(exc)) from None
    keys = {
        key.key_id: key.key
        for key in key_set.keys
        if key.key_id and key.key_type == "RSA" and key.public_key_use in ("sig", None)
    }
    if not keys:
        raise ValueError("no RSA signing key with a kid")
    return keys


class SigningKeys:
    """A tenant's signing keys, fetched from its JWKS and cached by the rules above. At most one
    fetch is in flight, on a thread of its own: a request waits for it no longer than the wait it
    is given, and the fetch goes on, so the next request finds its keys (or its failure)."""

    def __init__(
        self,
        url: str,
        *,
        lifetime: float = KEY_LIFETIME_SECONDS,
        refresh_cooldown: float = REFRESH_COOLDOWN_SECONDS,
        failure_cooldown: float = FAILURE_COOLDOWN_SECONDS,
        fetch_budget: float = FETCH_BUDGET_SECONDS,
        clock: Clock = time.monotonic,
        fetch: Fetch = http_get,
    ) -> None:
        self.url, self.clock, self._fetch = url, clock, fetch
        self.lifetime, self.refresh_cooldown = lifetime, refresh_cooldown
        self.failure_cooldown, self.fetch_budget = failure_cooldown, fetch_budget
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._failed_at: float | None = None
        self._failure = ""
        self._in_flight: threading.Event | None = None

    def key(self, kid: str, wait: float) -> Any | None:
        """The public key for `kid`, or None when the tenant does not publish it. Raises
        KeysUnavailableError when the keys cannot be had within `wait` seconds."""
        with self._lock:
            if self._fresh() and kid in self._keys:
                return self._keys[kid]
            self._give_up_an_overdue_fetch()
            event = self._in_flight or self._start_fetch()
            if event is None:  # a fresh set without it, refreshed too recently to ask again
                return None
        if not event.wait(wait):
            raise KeysUnavailableError(
                f"the signing keys did not arrive within {wait:g} s", math.ceil(self.fetch_budget)
            )
        with self._lock:
            if self._fresh() and kid in self._keys:
                return self._keys[kid]
            if self._failing() or not self._fresh():
                raise KeysUnavailableError(self._failure, self._retry_after())
            return None

    def _failing(self) -> bool:
        return self._failed_at is not None and self.clock() - self._failed_at < self.failure_cooldown

    def _fresh(self) -> bool:
        return self._fetched_at is not None and self.clock() - self._fetched_at < self.lifetime

    def _retry_after(self) -> int:
        elapsed = self.clock() - (self._failed_at or self.clock())
        return max(1, math.ceil(self.failure_cooldown - elapsed))

    def _give_up_an_overdue_fetch(self) -> None:
        """A fetch past its budget counts as failed: its thread may still wait on a peer that
        trickles its status line or headers (a per-read timeout restarts with every byte), and
        while it is in flight no other fetch would start. Called with the lock held."""
        event, started = self._in_flight, self._attempted_at
        if event is None or started is None or self.clock() - started <= self.fetch_budget:
            return
        self._failed_at = self.clock()
        self._failure = (
            f"the signing keys did not arrive within the fetch's {self.fetch_budget:g} s: given up"
        )
        self._in_flight = None
        event.set()

    def _start_fetch(self) -> threading.Event | None:
        """A new fetch (its event), None when the set is fresh and may not be refreshed yet, or
        KeysUnavailableError while a failure is remembered. Called with the lock held."""
        now = self.clock()
        if self._failing():
            raise KeysUnavailableError(self._failure, self._retry_after())
        fresh = self._fresh()
        if fresh and self._attempted_at is not None and now - self._attempted_at < self.refresh_cooldown:
            return None
        self._attempted_at = now
        event = self._in_flight = threading.Event()
        threading.Thread(target=self._run_fetch, args=(event,), name="signing-keys", daemon=True).start()
        return event

    def _run_fetch(self, event: threading.Event) -> None:
        try:
            keys = parse_key_set(self._fetch(self.url, self.fetch_budget, self.clock))
        except Exception as exc:  # noqa: BLE001 - any failure to get keys is the same 503
            with self._lock:
                if self._in_flight is event:  # not a fetch already given up on
                    self._failed_at = self.clock()
                    self._failure = f"the signing keys could not be fetched ({type(exc).__name__})"
        else:
            with self._lock:
                # Replaced, not merged: a key the tenant no longer publishes is gone.
                self._keys, self._fetched_at, self._failed_at = keys, self.clock(), None
        finally:
            with self._lock:
                if self._in_flight is event:
                    self._in_flight = None
            event.set()


class TokenCheck:
    """The checks every bearer token of a tenant passes; `claims` returns its claims or raises
    RefusedError (401 invalid_token, 503 when the keys cannot be had)."""

    def __init__(
        self,
        keys: SigningKeys,
        *,
        issuers: Collection[str],
        audience: str,
        key_wait: float,
        required: Sequence[str] = ("exp", "nbf", "iss", "aud"),
    ) -> None:
        self.keys, self.issuers, self.audience = keys, issuers, audience
        self.key_wait, self.required = key_wait, list(required)

    def claims(self, authorization: str | None) -> dict[str, Any]:
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise RefusedError(401, invalid_token(), f"malformed token ({type(exc).__name__})") from None
        if header.get("alg") != ALGORITHM:
            raise RefusedError(
                401, invalid_token(), f"algorithm {str(header.get('alg'))[:20]!r} is not RS256"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise RefusedError(401, invalid_token(), "no kid")
        try:
            key = self.keys.key(kid, self.key_wait)
        except KeysUnavailableError as exc:
            raise RefusedError(503, None, str(exc), exc.retry_after) from None
        if key is None:
            raise RefusedError(401, invalid_token(), "unknown signing key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuers,
                leeway=LEEWAY_SECONDS,
                options={"require": self.required},
            )
        except jwt.InvalidTokenError as exc:
            raise RefusedError(401, invalid_token(), f"token refused ({type(exc).__name__})") from None
        return claims
