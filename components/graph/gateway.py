"""The only module that talks to Microsoft Graph: credentials, one request path for v1.0 and beta,
the retry and ambiguity policy, errors worded for the person running `pulumi up`.

Requests go through msgraph-core's request adapter (Entra token, redirect and telemetry
middleware, the same pipeline the Graph SDKs use) as raw JSON, with small typed shapes of our own
for the few fields we read: B2C user flows exist only in beta, and the beta SDK (676 MB installed)
would carry thousands of models for six endpoints; the v1.0 SDK's typed builders add nothing
the small shapes each platform's calls module reads (b2c_calls.py, external_id_calls.py).

The retry policy is ours, not the SDK's: a write that is not idempotent (POST) is never sent again
blindly. When its answer is lost (a 5xx, a 504 from a gateway, a dropped connection) the gateway
first looks whether it landed and, if so, takes that as the answer. Every wait is bounded by the
operation's budget, and clock and sleep are injectable so tests never wait in real time.

Providers build a gateway inside every call: the provider object is pickled into state and runs
in another process, so it holds settings, never a client or credential.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import functools
import json
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError
from kiota_abstractions.method import Method
from kiota_abstractions.native_response_handler import NativeResponseHandler
from kiota_abstractions.request_information import RequestInformation
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import ResponseHandlerOption, RetryHandlerOption
from msgraph_core import BaseGraphRequestAdapter, GraphClientFactory

from components.credentials import B2CSettings, IdentityConfigError, make_b2c_credential
from components.graph import permissions

# Throttled, or failed in a way that may pass: worth another try within the budget.
TRANSIENT_STATUSES = (429, 500, 502, 503, 504)

T = TypeVar("T")


class GraphError(Exception):
    """A Graph failure, worded for the person running `pulumi up`."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GraphCancelledError(GraphError):
    """The engine is shutting the provider down; no further request is sent."""


# The B2C-tenant identity lives in components.credentials; these names stay for their callers.
GraphSettings = B2CSettings
GraphConfigError = IdentityConfigError
make_credential = make_b2c_credential


def host_is_stopping() -> bool:
    """True once the process is shutting down. The dynamic provider host runs each call on a
    worker thread and its main thread only waits; on Ctrl-C or engine cancellation the main thread
    returns and the interpreter waits for the calls in progress before exiting. CPython marks that
    moment only in threading's private _SHUTTING_DOWN (the main thread counts as alive until the
    workers are joined); a call in progress then stops before its next request and cleans up."""
    return bool(getattr(threading, "_SHUTTING_DOWN", False)) or not threading.main_thread().is_alive()


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


# -- the request path ---------------------------------------------------------------------------


class _GraphReplyError(Exception):
    """A Graph error reply: status, the error envelope's code, message and target, Retry-After."""

    def __init__(self, status: int, code: str, message: str, target: str, retry_after: float | None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.target, self.retry_after = (
            status,
            code,
            message,
            target,
            retry_after,
        )

    @classmethod
    def of(cls, reply: httpx.Response) -> _GraphReplyError:
        try:
            error = reply.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        details: list[Any] = error["details"] if isinstance(error.get("details"), list) else []
        target = error.get("target") or next(
            (d.get("target") for d in details if isinstance(d, dict) and d.get("target")), ""
        )
        return cls(
            reply.status_code, str(error.get("code") or ""), str(error.get("message") or ""), str(target or ""),
            _retry_after(reply.headers.get("Retry-After")),
        )  # fmt: skip


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, from delta-seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _never() -> bool:
    return False


class GraphGateway:
    """One session against Graph for one provider call: `async with GraphGateway(settings) as graph:`.

    `credentials` builds the B2C-tenant credential; `clock` and `sleep` measure and spend the
    budget; `cancelled` says when to stop sending. All default to the real ones; tests pass
    doubles here, the one seam for them.
    """

    def __init__(
        self,
        settings: B2CSettings,
        *,
        credentials: Callable[[B2CSettings], AsyncTokenCredential] = make_b2c_credential,
        secrets: tuple[str, ...] = (),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        cancelled: Callable[[], bool] = host_is_stopping,
    ) -> None:
        self.settings = settings
        self._credentials, self._clock, self._sleep, self._cancelled = credentials, clock, sleep, cancelled
        self._secrets = (*secrets, settings.client_secret or "")
        self._deadline = 0.0

    def session(self, budget: float) -> GraphGateway:
        """A fresh session (a new credential, so a new token) with a budget of its own, that sends
        even while the host stops: for cleaning up after a failed or cancelled operation."""
        return GraphGateway(
            dataclasses.replace(self.settings, max_wait_seconds=budget),
            credentials=self._credentials,
            secrets=self._secrets,
            clock=self._clock,
            sleep=self._sleep,
            cancelled=_never,
        )

    async def __aenter__(self) -> GraphGateway:
        self._credential = self._credentials(self.settings)
        host = urlsplit(self.settings.endpoint).hostname or ""
        auth = AzureIdentityAuthenticationProvider(
            self._credential, scopes=[f"{self.settings.endpoint}/.default"], allowed_hosts=[host]
        )
        # The SDK's retry handler would send a POST again after a lost answer: retries are ours.
        no_retries = {RetryHandlerOption.get_key(): RetryHandlerOption(max_retries=0)}
        self._http = GraphClientFactory.create_with_default_middleware(options=no_retries)
        self._adapter = BaseGraphRequestAdapter(auth, http_client=self._http)
        self._deadline = self._clock() + self.settings.max_wait_seconds
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._http.aclose()
        close = getattr(self._credential, "close", None)
        if close is not None:
            await close()

    async def send(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One request; the JSON reply (None when empty). `path` is relative to the endpoint
        (v1.0/..., beta/...) or a paging link Graph gave on the same origin."""
        if self._cancelled():
            raise GraphCancelledError("the operation was cancelled (the engine is stopping the provider)")
        url = path if path.startswith(self.settings.endpoint + "/") else f"{self.settings.endpoint}/{path}"
        request = RequestInformation(Method[method])
        request.url = url
        request.headers.try_add("Accept", "application/json")
        if body is not None:
            request.headers.try_add("Content-Type", "application/json")
            request.content = json.dumps(body).encode()
        request.add_request_options([ResponseHandlerOption(NativeResponseHandler())])
        reply: httpx.Response = await self._adapter.send_primitive_async(request, "bytes", None)
        if reply.status_code >= 400:
            raise _GraphReplyError.of(reply)
        return reply.json() if reply.content else None

    # -- the retry and error policy every call goes through ------------------------------------

    async def call(
        self,
        describe: str,
        permission: str,
        operation: Callable[[], Awaitable[T]],
        *,
        lag_tolerant: bool = False,
        recover: Callable[[], Awaitable[T | None]] | None = None,
    ) -> T:
        """Run one Graph operation under the gateway's policy.

        Throttling (429, honouring Retry-After), 5xx and dropped connections are retried. For a
        write that is not idempotent, `recover` looks whether the attempt landed before another is
        sent, and a 409 after such an attempt is that attempt meeting itself. When `lag_tolerant`,
        a 404 right after a create is waited out: Entra replicates new objects with a delay. All
        within the gateway's budget.
        """
        attempt, started, ambiguous = 0, self._clock(), False
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                # A guard in real time too, should an answer never come.
                remaining = max(self._deadline - self._clock(), 1.0)
                return await asyncio.wait_for(operation(), timeout=remaining)
            except TimeoutError:
                raise GraphError(
                    f"Gave up {describe}: no answer within the {self.settings.max_wait_seconds:.0f} s budget. "
                    "Run the command again later.",
                ) from None
            except httpx.TransportError as exc:
                reason = f"the connection failed ({type(exc).__name__})"
            except _GraphReplyError as failure:
                if (
                    failure.status == 409
                    and ambiguous
                    and recover is not None
                    and (landed := await self.look(describe, permission, recover)) is not None
                ):
                    return landed
                if failure.status == 404 and lag_tolerant:
                    if not self._may_wait_for_lag(started, attempt):
                        waited = self._clock() - started
                        raise GraphError(
                            f"{self._error(describe, permission, failure)} (still absent after waiting {waited:.0f} s "
                            "for replication)",
                            404,
                        ) from None
                    await self._sleep(self._backoff(attempt))
                    continue
                if failure.status not in TRANSIENT_STATUSES:
                    raise self._error(describe, permission, failure) from None
                reason, retry_after = (
                    f"Microsoft Graph answered {failure.status} {failure.code}".strip(),
                    failure.retry_after,
                )
            except ClientAuthenticationError as exc:
                raise GraphError(
                    f"Could not get a Microsoft Graph token for {self.settings.describe_identity()} while {describe}: "
                    f"{_redact(str(exc.message or exc).splitlines()[0], self._secrets)}. Check b2c-signup:tenantId, "
                    "b2c-signup:b2cClientId and b2c-signup:b2cClientSecret.",
                    401,
                ) from None
            if recover is not None:
                # The write's answer was lost, not its effect: look before sending it again.
                ambiguous = True
                if (landed := await self.look(describe, permission, recover)) is not None:
                    return landed
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            if self._clock() + delay > self._deadline:
                raise GraphError(
                    f"Gave up {describe} after {attempt} attempts in {self.settings.max_wait_seconds:.0f} s: {reason}. "
                    "Run the command again; if it persists, check the Graph endpoint and the network.",
                    503,
                )
            await self._sleep(delay)

    @staticmethod
    def _backoff(attempt: int) -> float:
        return float(min(0.25 * 2**attempt, 8.0) * (0.75 + random.random() / 2))  # noqa: S311 - jitter

    def _may_wait_for_lag(self, started: float, attempt: int) -> bool:
        resume = self._clock() + min(0.25 * 2**attempt, 8.0)
        return bool(resume - started <= self.settings.max_lag_seconds and resume <= self._deadline)

    async def look(
        self, describe: str, permission: str, recover: Callable[[], Awaitable[T | None]]
    ) -> T | None:
        return await self.absent_is_none(f"checking whether {describe} landed", permission, recover)

    def _error(self, describe: str, permission: str, failure: _GraphReplyError) -> GraphError:
        status, code = failure.status, failure.code
        message = _redact(failure.message, self._secrets)
        if status == 401:
            return GraphError(
                f"Microsoft Graph refused the credential of {self.settings.describe_identity()} while {describe} "
                f"(401 {code}). Check b2c-signup:b2cClientId and b2c-signup:b2cClientSecret (pulumi config set "
                "--secret b2c-signup:b2cClientSecret ...), and that the app is registered in the B2C tenant.",
                401,
            )
        if status == 403:
            return GraphError(
                f"Microsoft Graph denied {describe} (403 {code}): the app {self.settings.client_id or ''} needs the "
                f"Microsoft Graph application permission {permission}, with admin consent granted in the B2C tenant "
                f"{self.settings.tenant_id} (App registrations > API permissions > Grant admin consent).",
                403,
            )
        field_note = f" (field: {failure.target})" if failure.target else ""
        return GraphError(
            f"Microsoft Graph rejected {describe} ({status} {code}): {message}{field_note}", status
        )

    async def absent_is_none(
        self, describe: str, permission: str, operation: Callable[[], Awaitable[T]]
    ) -> T | None:
        try:
            return await self.call(describe, permission, operation)
        except GraphError as exc:
            if exc.status == 404:
                return None
            raise

    async def pages(
        self, describe: str, permission: str, path: str, *, lag_tolerant: bool = False
    ) -> list[Any]:
        """Every item of a collection, following Graph's paging links."""
        items: list[Any] = []
        link: str | None = path
        while link is not None:
            page = await self.call(
                describe, permission, functools.partial(self.send, "GET", link), lag_tolerant=lag_tolerant
            )
            items += (page or {}).get("value") or []
            link = (page or {}).get("@odata.nextLink")
        return items

    # -- deleted directory objects (teardown) ------------------------------------------------

    async def purge_deleted_application(self, object_id: str) -> bool:
        """Permanently delete a soft-deleted app registration; False when it is not in the bin.

        Deleted apps wait 30 days in directory/deletedItems, keeping their identifier URIs taken
        and counting against the directory quota."""
        try:
            await self.call(
                f"purging deleted app registration {object_id}",
                permissions.APPLICATIONS,
                lambda: self.send("DELETE", f"v1.0/directory/deletedItems/{object_id}"),
            )
        except GraphError as exc:
            if exc.status == 404:
                return False
            raise
        return True
