"""Requests that carry one bearer token to one origin, all within one deadline: One Deploy's
publish and polls on the app's SCM site, and the teardown's Key Vault purge on ARM.

- Each request runs `within` what is left of the deadline (components/deadline.py), and its httpx
  timeouts are what is left: a peer trickling its reply a byte at a time cannot hold it past the
  deadline, as it could a per-read timeout.
- A write answered with a redirect is never sent again, there or here (a 307/308 elsewhere would
  carry the body and the token to a stranger). A read follows a redirect on its own origin only, at
  most MAX_REDIRECTS times, never carrying the token elsewhere.
- Any text a reply brought is shown redacted (components/redaction.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from components import tls
from components.deadline import Deadline, DeadlineExceededError
from components.redaction import EXCERPT_CHARS, excerpt

# A read redirected more often than this on its own origin is going round in circles.
MAX_REDIRECTS = 5
_READS = ("GET", "HEAD")


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _shown(url: str) -> str:
    """A URL's origin as errors name it: never its path, query or user info (a SAS, a password)."""
    scheme, host, port = _origin(url)
    return f"{scheme}://{host}" + (f":{port}" if port else "")


class SessionError(Exception):
    """A TokenSession request that did not get an answer the caller can use."""


class UnreachableError(SessionError):
    """The peer did not answer (connection refused, reset, TLS failure)."""


class TokenSession:
    """Requests that carry one bearer token to one origin, all within one Deadline.

    - Each request runs `within` what is left of the deadline, and its httpx timeouts are what is
      left: a peer trickling its reply a byte at a time cannot hold it past the deadline, as it
      could a per-read timeout.
    - A write answered with a redirect is never sent again, there or here (a 307/308 elsewhere would
      carry the body and the token to a stranger): a SessionError naming the operation. A read
      follows a redirect on the same origin only (at most MAX_REDIRECTS), never carrying the token
      elsewhere.
    - `redact` takes the token and the given secrets out of any text a reply brought.
    """

    def __init__(
        self, origin: str, token: str, deadline: Deadline, *, name: str, secrets: tuple[str, ...] = ()
    ) -> None:
        self.origin, self.deadline, self.name = origin.rstrip("/"), deadline, name
        self._secrets = (token, *secrets)
        # Redirects are handled in `send`, where the method decides whether one may be followed.
        self._client = httpx.AsyncClient(
            base_url=self.origin,
            headers={"Authorization": f"Bearer {token}"},
            follow_redirects=False,
            verify=tls.trust(),
        )

    async def __aenter__(self) -> TokenSession:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.aclose()

    def redact(self, text: str, limit: int = EXCERPT_CHARS) -> str:
        """A text the peer sent, as an error may show it (components/redaction.py)."""
        return excerpt(text, self._secrets, limit)

    def home(self, link: str | None) -> str | None:
        """The path of a link a reply gave, if it is on this origin; None for any other origin.
        The token may manage the app: it is never sent where a reply points elsewhere."""
        if not link:
            return None
        target = urljoin(self.origin + "/", link)
        if _origin(target) != _origin(self.origin):
            return None
        parts = urlsplit(target)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    async def send(self, method: str, target: str, action: str, **kwargs: Any) -> httpx.Response:
        """One request (`action` names it in errors). Raises DeadlineExceededError when the budget
        ends first, UnreachableError when the peer does not answer, SessionError for a redirect
        that must not be followed."""
        for _hop in range(MAX_REDIRECTS + 1):
            reply = await self._once(method, target, action, **kwargs)
            if not reply.has_redirect_location:
                return reply
            location = reply.headers["Location"]
            where = _shown(urljoin(self.origin + "/", location))
            if method not in _READS:
                raise SessionError(
                    f"{self.name} {self.origin} answered {action} with a redirect ({reply.status_code}) to {where}; "
                    "a write is never sent again after a redirect, here or there"
                )
            home = self.home(location)
            if home is None:
                raise SessionError(
                    f"while {action}, {self.name} {self.origin} redirected to another origin ({where}); "
                    "the token is never sent off its origin"
                )
            target = home
            kwargs.pop("params", None)  # the Location carries the query the server wants
        raise SessionError(
            f"{self.name} {self.origin} answered {action} with too many redirects (more than {MAX_REDIRECTS})"
        )

    async def _once(self, method: str, target: str, action: str, **kwargs: Any) -> httpx.Response:
        left = self.deadline.remaining()
        try:
            return await self.deadline.within(
                self._client.request(method, target, timeout=max(left, 0.001), **kwargs), action
            )
        except httpx.TimeoutException:
            # httpx's own timeouts are what was left of the deadline: the deadline it is.
            raise DeadlineExceededError(action, self.deadline.budget) from None
        except httpx.TransportError as exc:
            raise UnreachableError(
                f"Could not reach {self.name} {self.origin} while {action} ({type(exc).__name__})"
            ) from None
