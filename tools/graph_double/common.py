"""What both halves of the Graph double share: the token, faults, the request log, the state, and
Graph's error envelope."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential

TOKEN = "double-access-token"  # noqa: S105 - what the double accepts, no secret
# Graph's enums, written here from the documentation on purpose and not imported from


class FakeCredential(AsyncTokenCredential):
    """Stands in for azure-identity: each credential gets a token of its own, which the double
    accepts until it is revoked (as Entra would, after a secret rotation or a sign-in block)."""

    def __init__(self) -> None:
        self.token = f"{TOKEN}-{uuid.uuid4().hex[:8]}"

    async def get_token(self, *_scopes: str, **_kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        pass

    async def __aexit__(self, *_: object) -> None:
        pass


@dataclass
class Logged:
    method: str
    path: str
    query: str
    body: Any
    status: int

    @property
    def write(self) -> bool:
        return self.method != "GET"

    def __str__(self) -> str:
        return f"{self.method} {self.path}{'?' + self.query if self.query else ''} -> {self.status}"


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    times: int
    status: int = 0  # 0: drop the connection instead of answering
    retry_after: str | None = None
    code: str = "serviceUnavailable"
    message: str = "Simulated fault."
    target: str | None = None
    after_apply: bool = False  # fail only after the request took effect (the response is lost)
    revoke: bool = False  # revoke the request's token, answering 401
    then: Callable[[], None] | None = None  # run when the fault is hit (e.g. stop the host)


@dataclass
class State:
    connectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    flows: dict[str, dict[str, Any]] = field(default_factory=dict)
    # External ID: custom authentication extensions and sign-up flows, by id
    extensions: dict[str, dict[str, Any]] = field(default_factory=dict)
    signup_flows: dict[str, dict[str, Any]] = field(default_factory=dict)
    # object id -> how many more requests see it as absent (replication lag)
    lagging: dict[str, int] = field(default_factory=dict)


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, target: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.target = status, code, message, target


def _envelope(code: str, message: str, target: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "innerError": {
            "date": "2026-11-22T00:00:00",
            "request-id": str(uuid.uuid4()),
            "client-request-id": str(uuid.uuid4()),
        },
    }
    if target:
        error["target"] = target
    return {"error": error}
