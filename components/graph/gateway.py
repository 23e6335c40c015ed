"""The only module that talks to Microsoft Graph: credentials, one request path for v1.0 and beta,
the retry and ambiguity policy, errors worded for the person running `pulumi up`.

Requests go through msgraph-core's request adapter (Entra token and telemetry middleware, the
same pipeline the Graph SDKs use) as raw JSON, with small typed shapes of our own for the few
fields we read: B2C user flows exist only in beta, and the beta SDK (676 MB installed) would carry
thousands of models for six endpoints; the v1.0 SDK's typed builders add nothing the small shapes
each platform's calls module reads (b2c_calls.py, external_id_calls.py).

The retry policy is ours, not the SDK's: a write that is not idempotent (POST) is never sent again
blindly. When its answer is lost (a 5xx, a 504 from a gateway, a dropped connection, a reply that
cannot be read) the gateway first looks whether it landed and, if so, takes that as the answer.
Every operation has one deadline (components/deadline.py) that real time enforces: a reply that
trickles, a retry, a redirect, every page of a listing count against it. Clock and sleep are
injectable so tests never wait in real time.

Nothing secret leaves its origin: a write is never re-sent to where a redirect points (its body may
carry the connector password), a read follows redirects only within Graph's origin, and every
field of a reply shown in an error is redacted before it is cut.

Providers build a gateway inside every call: the provider object is pickled into state and runs
in another process, so it holds settings, never a client or credential.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, NoReturn, TypeVar
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
from kiota_http.kiota_client_factory import (
    DEFAULT_CONNECTION_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    KiotaClientFactory,
)
from kiota_http.middleware.middleware import BaseMiddleware
from kiota_http.middleware.options import RedirectHandlerOption, ResponseHandlerOption, RetryHandlerOption
from msgraph_core import BaseGraphRequestAdapter, GraphClientFactory
from msgraph_core.middleware import GraphTelemetryHandler

from components import deadline, tls
from components.credentials import B2CSettings, make_b2c_credential
from components.graph import permissions
from components.redaction import excerpt, redact

# Throttled, or failed in a way that may pass: worth another try within the budget.
TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)

# Limits, each bounding a loop or the memory a reply may take:
# - Graph does not redirect its API; a proxy or a moved endpoint might, once or twice.
MAX_REDIRECTS = 5
# - One reply body. A page of 100 of the largest objects we read (app registrations, a few KB
#   each) is about 0.5 MB; error envelopes are small. Eight times that is room, not a risk.
MAX_REPLY_BYTES = 4 * 2**20
# - One listing: what its pages may add up to. B2C allows 20 API connectors and 200 user flows a
#   tenant, and a flow has a few dozen attributes: 16 MiB is far beyond any real listing.
MAX_LISTING_BYTES = 16 * 2**20
# - Pages of one listing: ends a server that pages without end through tiny or empty pages.
MAX_PAGES = 100
# - A retry is only worth its pause when at least this much budget is left to send it: less, and
#   the request would be cut before an answer could come.
MIN_ATTEMPT_SECONDS = 1.0

T = TypeVar("T")


class GraphError(Exception):
    """A Graph failure, worded for the person running `pulumi up`."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GraphCancelledError(GraphError):
    """The engine is shutting the provider down; no further request is sent."""


def host_is_stopping() -> bool:
    """True once the process is shutting down. The dynamic provider host runs each call on a
    worker thread and its main thread only waits; on Ctrl-C or engine cancellation the main thread
    returns and the interpreter waits for the calls in progress before exiting. CPython marks that
    moment only in threading's private _SHUTTING_DOWN (the main thread counts as alive until the
    workers are joined); a call in progress then stops before its next request and cleans up."""
    return bool(getattr(threading, "_SHUTTING_DOWN", False)) or not threading.main_thread().is_alive()


# -- what a reply holds ---------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    return "a list" if isinstance(value, list) else "a string"


def _text(value: Any) -> str:
    """A field of an error envelope as text, whatever its JSON type."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


# -- replies that are not what was asked for (internal: `call` words them for the operation) -----


class _GraphReplyError(Exception):
    """A Graph error reply (4xx, 5xx): the envelope's fields as text, or the raw text when the
    envelope is not Graph's; the Retry-After header as sent."""

    def __init__(self, reply: httpx.Response) -> None:
        super().__init__(reply.status_code)
        self.status = reply.status_code
        self.retry_after = reply.headers.get("Retry-After")
        self.code = self.message = self.target = self.raw = ""
        self.details: list[tuple[str, str, str]] = []
        self.trace: list[tuple[str, str]] = []
        try:
            data = json.loads(reply.content) if reply.content else None
        except (ValueError, RecursionError):
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, dict):
            self.raw = reply.text
            return
        self.code, self.message = _text(error.get("code")), _text(error.get("message"))
        details: list[Any] = error["details"] if isinstance(error.get("details"), list) else []
        self.details = [
            (_text(d.get("code")), _text(d.get("message")), _text(d.get("target")))
            for d in details[:5]  # the first few say what is wrong; the rest would only lengthen it
            if isinstance(d, dict)
        ]
        self.target = _text(error.get("target")) or next((t for _, _, t in self.details if t), "")
        inner: dict[str, Any] = error["innerError"] if isinstance(error.get("innerError"), dict) else {}
        # What Microsoft support asks for to find the request (B2C adds correlationId).
        self.trace = [(k, _text(inner[k])) for k in ("request-id", "correlationId", "date") if inner.get(k)]


class _UnreadableReplyError(Exception):
    """A reply we could not read: not JSON, the wrong shape, too large, compressed unasked."""

    def __init__(self, method: str, status: int, problem: str, raw: str = "") -> None:
        super().__init__(problem)
        self.method, self.status, self.problem, self.raw = method, status, problem, raw


class _NotFollowedError(Exception):
    """A redirect or a paging link we do not follow, and why."""

    def __init__(self, status: int, what: str, why: str) -> None:
        super().__init__(what)
        self.status, self.what, self.why = status, what, why


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or {"http": 80, "https": 443}.get(url.scheme)


# -- the reply cap -----------------------------------------------------------------------------


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any, method: str, status: int) -> None:
        self._stream, self._method, self._status = stream, method, status

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._stream:
            size += len(chunk)
            if size > MAX_REPLY_BYTES:
                raise _UnreadableReplyError(
                    self._method, self._status, f"more than {MAX_REPLY_BYTES // 2**20} MiB"
                )
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


class _ReplyCap(BaseMiddleware):
    """Refuses a reply body past MAX_REPLY_BYTES while it arrives, so it never sits whole in
    memory: httpx has no such limit and kiota reads every body whole. The gateway asks for no
    compression, so the bytes counted are the bytes kept (a small gzip could inflate to gigabytes)."""

    async def send(self, request: httpx.Request, transport: httpx.AsyncBaseTransport) -> httpx.Response:
        response = await super().send(request, transport)
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        declared = response.headers.get("Content-Length", "").strip()
        problem = None
        if encoding not in ("", "identity"):
            problem = f"compressed ({encoding}) although none was asked for"
        elif declared.isascii() and declared.isdigit() and int(declared) > MAX_REPLY_BYTES:
            problem = f"more than {MAX_REPLY_BYTES // 2**20} MiB"
        if problem is not None:
            await response.aclose()
            raise _UnreadableReplyError(request.method, response.status_code, problem)
        response.stream = _CappedStream(response.stream, request.method, response.status_code)
        return response


def _never() -> bool:
    return False


@dataclasses.dataclass
class _Page:
    items: list[Any]
    next_link: str | None
    size: int


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
        self._credentials, self._cancelled = credentials, cancelled
        # The session's clock and sleep (virtual ones under test): whatever waits in a call spends them.
        self.clock, self.sleep = clock, sleep
        self._secrets = (*secrets, settings.client_secret or "")
        self._deadline = deadline.Deadline(settings.max_wait_seconds, clock)

    def session(self, budget: float) -> GraphGateway:
        """A fresh session (a new credential, so a new token) with a budget of its own, that sends
        even while the host stops: for cleaning up after a failed or cancelled operation."""
        return GraphGateway(
            dataclasses.replace(self.settings, max_wait_seconds=budget),
            credentials=self._credentials,
            secrets=self._secrets,
            clock=self.clock,
            sleep=self.sleep,
            cancelled=_never,
        )

    async def __aenter__(self) -> GraphGateway:
        self._credential = self._credentials(self.settings)
        host = urlsplit(self.settings.endpoint).hostname or ""
        auth = AzureIdentityAuthenticationProvider(
            self._credential, scopes=[f"{self.settings.endpoint}/.default"], allowed_hosts=[host]
        )
        # Retries and redirects are ours: the SDK's retry handler would send a POST again after a
        # lost answer, and its redirect handler re-sends a write's body wherever a 307 or 308
        # points (dropping only the token) and follows reads to any origin.
        options = {
            RetryHandlerOption.get_key(): RetryHandlerOption(max_retries=0),
            RedirectHandlerOption.get_key(): RedirectHandlerOption(should_redirect=False),
        }
        # msgraph-core's default pipeline (create_with_default_middleware), plus the reply cap.
        middleware = [
            *KiotaClientFactory.get_default_middleware(options),
            GraphTelemetryHandler(),
            _ReplyCap(),
        ]
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(DEFAULT_REQUEST_TIMEOUT, connect=DEFAULT_CONNECTION_TIMEOUT),
            http2=True,
            verify=tls.trust(),
        )
        self._http = GraphClientFactory.create_with_custom_middleware(middleware, client=client)
        self._adapter = BaseGraphRequestAdapter(auth, http_client=self._http)
        self._deadline = deadline.Deadline(self.settings.max_wait_seconds, self.clock)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._http.aclose()
        close = getattr(self._credential, "close", None)
        if close is not None:
            await close()

    # -- the request path ----------------------------------------------------------------------

    async def send(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One request; the JSON reply (None when empty). `path` is relative to the endpoint
        (v1.0/..., beta/...) or a link Graph gave on its own origin."""
        reply = await self._exchange(method, self._url(path), body)
        return self._json(method, reply)

    async def send_object(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One request whose reply must be a JSON object (a read, or a create that returns what it
        made); any other reply is one that could not be read. Typed Any, as `send`, so that a calls
        module takes it as its own TypedDict shape."""
        reply = await self._exchange(method, self._url(path), body)
        found = self._json(method, reply)
        if not isinstance(found, dict):
            raise _UnreadableReplyError(
                method, reply.status_code, f"expected a JSON object, got {_kind(found)}", reply.text
            )
        return found

    def expect_object(self, value: Any, describe: str, what: str) -> dict[str, Any]:
        """`value`, a part of a reply (`what`, e.g. "the step postAttributeCollection"), when it is
        a JSON object; else the error naming the operation, the part and what came back."""
        if isinstance(value, dict):
            return value
        raise self._shape_error(value, describe, what, "a JSON object")

    def expect_list(self, value: Any, describe: str, what: str) -> list[Any]:
        """`value`, a part of a reply, when it is a JSON array; else the error, as expect_object."""
        if isinstance(value, list):
            return value
        raise self._shape_error(value, describe, what, "a list")

    def expect_number(self, value: Any, describe: str, what: str) -> float:
        """`value`, a part of a reply, when it is a JSON number; else the error, as expect_object."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise self._shape_error(value, describe, what, "a number")

    def _url(self, path: str) -> str:
        return path if path.startswith(self.settings.endpoint + "/") else f"{self.settings.endpoint}/{path}"

    def _request(self, method: str, url: str, body: Mapping[str, Any] | None) -> RequestInformation:
        request = RequestInformation(Method[method])
        request.url = url
        request.headers.try_add("Accept", "application/json")
        request.headers.try_add("Accept-Encoding", "identity")  # what the reply cap counts is what is kept
        if body is not None:
            request.headers.try_add("Content-Type", "application/json")
            request.content = json.dumps(body).encode()
        request.add_request_options([ResponseHandlerOption(NativeResponseHandler())])
        return request

    async def _exchange(self, method: str, url: str, body: Mapping[str, Any] | None) -> httpx.Response:
        """Send, following a read's redirects within Graph's origin; the reply, or the internal
        exception `call` words for the operation."""
        if self._cancelled():
            raise GraphCancelledError("the operation was cancelled (the engine is stopping the provider)")
        for _hop in range(MAX_REDIRECTS + 1):
            reply: httpx.Response = await self._adapter.send_primitive_async(
                self._request(method, url, body), "bytes", None
            )
            if reply.status_code not in REDIRECT_STATUSES:
                break
            url = self._redirect(method, url, reply)
        else:
            raise _NotFollowedError(
                reply.status_code,
                f"more than {MAX_REDIRECTS} redirects (the last: {reply.status_code} to {reply.headers['Location']})",
                "Microsoft Graph does not redirect its API: check b2c-signup:graphEndpoint and any proxy between",
            )
        if reply.status_code >= 400:
            raise _GraphReplyError(reply)
        if reply.status_code >= 300:
            raise _UnreadableReplyError(
                method, reply.status_code, f"an unexpected {reply.status_code}", reply.text
            )
        return reply

    def _redirect(self, method: str, url: str, reply: httpx.Response) -> str:
        """Where a read's redirect leads, when it may be followed (within Graph's origin, so the
        token, which goes with every request, never leaves it)."""
        status, location = reply.status_code, reply.headers.get("Location")
        if not location:
            raise _NotFollowedError(
                status, f"a redirect ({status}) with no Location", "there is nowhere to follow it"
            )
        shown = f"a redirect ({status} to {location})"
        if method != "GET":
            raise _NotFollowedError(
                status,
                shown,
                "a write is never sent again elsewhere, since its body may carry a secret (the connector "
                "password). Microsoft Graph does not redirect its API: check b2c-signup:graphEndpoint and any "
                "proxy between",
            )
        try:
            target = httpx.URL(url).join(location)
        except httpx.InvalidURL:
            raise _NotFollowedError(status, shown, "its Location is not a URL") from None
        if _origin(target) != _origin(httpx.URL(self.settings.endpoint)):
            raise _NotFollowedError(
                status, shown, f"it leaves {self.settings.endpoint}, and a read follows only within it"
            )
        return str(target)

    @staticmethod
    def _json(method: str, reply: httpx.Response) -> Any:
        if not reply.content:
            return None
        try:
            return json.loads(reply.content)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            raise _UnreadableReplyError(method, reply.status_code, "not JSON", reply.text) from None

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
        """Run one Graph operation under the gateway's policy, within the session's deadline.

        Throttling (429, honouring Retry-After, never pausing less than deadline's floor), 5xx and
        dropped connections are retried. A write's reply that cannot be read counts as a lost
        answer; a read's is an error. For a write that is not idempotent, `recover` looks whether
        the attempt landed before another is sent, and a 409 after such an attempt is that attempt
        meeting itself. When `lag_tolerant`, a 404 right after a create is waited out: Entra
        replicates new objects with a delay.
        """
        attempt, started, ambiguous = 0, self.clock(), False
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                return await self._deadline.within(operation(), describe)
            except deadline.DeadlineExceededError:
                raise GraphError(
                    f"Gave up {describe}: the {self._deadline.budget:g} s budget ran out before Microsoft Graph "
                    "answered. Run the command again later.",
                ) from None
            except httpx.TransportError as exc:
                reason = f"the connection failed ({type(exc).__name__})"
            except _NotFollowedError as refused:
                raise GraphError(
                    f"While {describe}, Microsoft Graph answered with {self.excerpt(refused.what)}: not followed, "
                    f"because {refused.why}.",
                    refused.status,
                ) from None
            except _UnreadableReplyError as reply:
                transient = reply.status in TRANSIENT_STATUSES
                if (reply.status >= 400 and not transient) or (reply.status < 400 and reply.method == "GET"):
                    # A read has no effect to lose: the same request would get the same reply.
                    raise GraphError(
                        f"While {describe}, {self._unreadable(reply)}.",
                        reply.status if reply.status >= 400 else None,
                    ) from None
                reason = self._unreadable(reply)
            except _GraphReplyError as failure:
                if (
                    failure.status == 409
                    and ambiguous
                    and recover is not None
                    and (landed := await self.look(describe, permission, recover)) is not None
                ):
                    return landed
                if failure.status == 404 and lag_tolerant:
                    await self._wait_for_lag(describe, permission, failure, started, attempt)
                    continue
                if failure.status not in TRANSIENT_STATUSES:
                    raise self._error(describe, permission, failure) from None
                retry_after = deadline.retry_after_seconds(failure.retry_after)
                reason = f"Microsoft Graph answered {self._status(failure)}{self._said(failure, ': ')}"
                if failure.retry_after is not None and retry_after is not None:
                    reason += f" (Retry-After {max(retry_after, 0):.0f} s)"
                elif failure.retry_after is not None:
                    reason += f" (Retry-After {self.excerpt(failure.retry_after)!r} not understood: backed off by itself)"
            except ClientAuthenticationError as exc:
                said = redact(str(exc.message or exc), self._secrets)
                raise GraphError(
                    f"Could not get a Microsoft Graph token for {self.settings.describe_identity()} while {describe}: "
                    f"{self.excerpt(said.splitlines()[0] if said else '')}. Check b2c-signup:tenantId, "
                    "b2c-signup:b2cClientId and b2c-signup:b2cClientSecret.",
                    401,
                ) from None
            if recover is not None:
                # The write's answer was lost, not its effect: look before sending it again.
                ambiguous = True
                if (landed := await self.look(describe, permission, recover)) is not None:
                    return landed
            delay = deadline.pause(attempt, retry_after)
            if not self._deadline.allows(delay + MIN_ATTEMPT_SECONDS):
                raise GraphError(
                    f"Gave up {describe} after {attempt} attempts in {self._deadline.budget:g} s: {reason}. "
                    "Run the command again; if it persists, check the Graph endpoint and the network.",
                    503,
                )
            await self.sleep(delay)

    async def _wait_for_lag(
        self, describe: str, permission: str, failure: _GraphReplyError, started: float, attempt: int
    ) -> None:
        delay = deadline.pause(attempt)
        waited = self.clock() - started
        if waited + delay > self.settings.max_lag_seconds or not self._deadline.allows(
            delay + MIN_ATTEMPT_SECONDS
        ):
            raise GraphError(
                f"{self._error(describe, permission, failure)} (still absent after waiting {waited:.0f} s "
                "for replication)",
                404,
            ) from None
        await self.sleep(delay)

    async def look(
        self, describe: str, permission: str, recover: Callable[[], Awaitable[T | None]]
    ) -> T | None:
        return await self.absent_is_none(f"checking whether {describe} landed", permission, recover)

    # -- errors, worded for the person running `pulumi up`, with nothing secret in them ------------

    def excerpt(self, text: str) -> str:
        """A text Graph sent, as an error may show it: redacted, on one line, cut
        (components/redaction.py). For the calls modules that word errors of their own."""
        return excerpt(text, self._secrets)

    def _status(self, failure: _GraphReplyError) -> str:
        """`400 Code`, with what Microsoft support needs to find the request."""
        trace = ", ".join(f"{name} {self.excerpt(value)}" for name, value in failure.trace)
        return f"{failure.status} {self.excerpt(failure.code)}".strip() + (f"; {trace}" if trace else "")

    def _said(self, failure: _GraphReplyError, lead: str) -> str:
        """What an error reply says: its message, field and details, or its text when it is not
        Graph's envelope."""
        if failure.raw or not (failure.code or failure.message or failure.details):
            return f"{lead}{self.excerpt(failure.raw) or 'an empty reply'}"
        parts = [self.excerpt(failure.message)]
        if failure.target:
            parts.append(f"(field: {self.excerpt(failure.target)})")
        for code, message, target in failure.details:
            if (message, target) in ((failure.message, failure.target), ("", "")) and not code:
                continue
            detail = ": ".join(p for p in (self.excerpt(code), self.excerpt(message)) if p)
            parts.append(f"[{detail}{f' (field: {self.excerpt(target)})' if target else ''}]")
        said = " ".join(p for p in parts if p)
        return f"{lead}{said}" if said else ""

    def _unreadable(self, reply: _UnreadableReplyError) -> str:
        came = self.excerpt(reply.raw)
        return (
            f"Microsoft Graph answered {reply.status} with a reply that could not be read ({self.excerpt(reply.problem)})"
            + (f": {came}" if came else "")
        )

    def _shape_error(self, value: Any, describe: str, what: str, expected: str) -> GraphError:
        return GraphError(
            f"While {describe}, Microsoft Graph answered with {what} that could not be read (expected {expected}, "
            f"got {_kind(value)}): {self.excerpt(json.dumps(value))}."
        )

    def _error(self, describe: str, permission: str, failure: _GraphReplyError) -> GraphError:
        status = self._status(failure)
        if failure.status == 401:
            return GraphError(
                f"Microsoft Graph refused the credential of {self.settings.describe_identity()} while {describe} "
                f"({status}). Check b2c-signup:b2cClientId and b2c-signup:b2cClientSecret (pulumi config set "
                "--secret b2c-signup:b2cClientSecret ...), and that the app is registered in the tenant the stack deploys to.",
                401,
            )
        if failure.status == 403:
            return GraphError(
                f"Microsoft Graph denied {describe} ({status}): the app {self.settings.client_id or ''} needs the "
                f"Microsoft Graph application permission {permission}, with admin consent granted in the tenant "
                f"{self.settings.tenant_id} (App registrations > API permissions > Grant admin consent).",
                403,
            )
        return GraphError(
            f"Microsoft Graph rejected {describe} ({status}){self._said(failure, ': ')}", failure.status
        )

    # -- reads built on `call` -----------------------------------------------------------------

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
        """Every item of a collection (each a JSON object; Any, as `send_object`), following
        Graph's paging links: each page within the operation's deadline, a link seen before ends
        the listing, and a listing holds at most MAX_PAGES pages and MAX_LISTING_BYTES of replies."""
        items: list[Any] = []
        link: str | None = self._url(path)
        seen: set[str] = set()
        held = 0
        while link is not None:
            if link in seen:
                self._stop_listing(
                    describe, f"since its next-page link leads back to a page already read ({link})"
                )
            if len(seen) == MAX_PAGES:
                self._stop_listing(describe, f"since it has more than {MAX_PAGES} pages")
            seen.add(link)
            page = await self.call(
                describe, permission, functools.partial(self._page, link), lag_tolerant=lag_tolerant
            )
            held += page.size
            if held > MAX_LISTING_BYTES:
                self._stop_listing(
                    describe, f"since its pages add up to more than {MAX_LISTING_BYTES // 2**20} MiB"
                )
            items += page.items
            link = page.next_link
        return items

    def _stop_listing(self, describe: str, why: str) -> NoReturn:
        raise GraphError(
            f"Gave up {describe}: Microsoft Graph's listing would not end, {self.excerpt(why)}. Run the command "
            "again; if it persists, check b2c-signup:graphEndpoint and any proxy between."
        )

    async def _page(self, url: str) -> _Page:
        reply = await self._exchange("GET", url, None)
        found = self._json("GET", reply)

        def unreadable(part: str, expected: str, value: Any) -> _UnreadableReplyError:
            return _UnreadableReplyError(
                "GET", reply.status_code, f"{part}expected {expected}, got {_kind(value)}", reply.text
            )

        if not isinstance(found, dict):
            raise unreadable("", "a JSON object", found)
        items = found.get("value")
        if not isinstance(items, list):
            raise unreadable("its value: ", "a list", items)
        if stray := next((item for item in items if not isinstance(item, dict)), None):
            raise unreadable("an item of its value: ", "a JSON object", stray)
        next_link = found.get("@odata.nextLink")
        if next_link is None:
            return _Page(items, None, len(reply.content))
        if not isinstance(next_link, str):
            raise unreadable("its @odata.nextLink: ", "a link", next_link)
        try:
            target = httpx.URL(url).join(next_link)
        except httpx.InvalidURL:
            raise _NotFollowedError(
                reply.status_code, f"a next-page link {next_link!r}", "it is not a URL"
            ) from None
        if _origin(target) != _origin(httpx.URL(self.settings.endpoint)):
            raise _NotFollowedError(
                reply.status_code,
                f"a next-page link to {next_link}",
                f"it leaves {self.settings.endpoint}, and the token goes only there",
            )
        return _Page(items, str(target), len(reply.content))

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
