"""A Graph stand-in on 127.0.0.1 that answers exactly what a test scripts: bytes that trickle,
redirects, replies that are not JSON or not the expected shape, paging links that lead back,
Retry-After values. It records every request (headers and body), so a second instance serves as
the stranger a redirect points to, proving what it was sent.

The Graph double (tools/graph_double.py) models Graph's behaviour; this one models none, so a
gateway fault is reproduced byte for byte whatever Graph would do.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar

from components.credentials import B2CSettings
from components.graph.gateway import GraphGateway
from tests.doubles.clock import VirtualClock
from tools.graph_double import FakeCredential
from tools.loopback import JsonHandler, serve

T = TypeVar("T")
TENANT_ID = "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90"
CLIENT_ID = "0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e"
CLIENT_SECRET = "b2c-deployer-Secret~1234"


@dataclass
class Reply:
    """One scripted answer. `json` is sent as application/json, `raw` as it is (text/html)."""

    status: int = 200
    json: Any = None
    _: KW_ONLY
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False  # no Content-Length: the body comes in chunks of unannounced length
    trickle: float = 0.0  # seconds between single bytes of the body
    then: Callable[[], None] | None = None  # run when the reply is taken (e.g. advance a clock)

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return b"" if self.json is None else json.dumps(self.json).encode()


@dataclass
class Seen:
    method: str
    path: str  # with the query
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class _Rule:
    method: str
    pattern: re.Pattern[str]
    replies: list[Reply]
    repeat: bool


def error(status: int, code: str = "", message: str = "", **extra: Any) -> Reply:
    """A reply in Graph's error envelope."""
    return Reply(status, {"error": {"code": code, "message": message, **extra}})


class ScriptedGraph:
    """`with ScriptedGraph() as graph: graph.script("GET", r"/v1.0/x$", Reply(...)); ...`"""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.trickled: list[int] = []  # per trickled reply: the bytes sent before the client left
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._trickles = threading.Condition()
        self._server = serve(self._handler())

    @property
    def origin(self) -> str:
        return self._server.origin

    endpoint = origin

    def __enter__(self) -> ScriptedGraph:
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        self._server.stop()

    def script(self, method: str, path: str, *replies: Reply, repeat: bool = False) -> None:
        """Answer requests whose path (with query) matches the regex `path` with `replies` in
        order; with `repeat`, the last one answers every further request."""
        with self._lock:
            self._rules.append(_Rule(method, re.compile(path), list(replies), repeat))

    def wait_for_trickles(self, count: int, timeout: float = 5.0) -> bool:
        """Whether `count` trickled replies have ended (the server sees a client leave only at
        its next write)."""
        with self._trickles:
            return self._trickles.wait_for(lambda: len(self.trickled) >= count, timeout)

    def requests(self, method: str | None = None) -> list[Seen]:
        return [s for s in self.seen if method in (None, s.method)]

    def _take(self, method: str, path: str) -> Reply | None:
        with self._lock:
            for rule in self._rules:
                if rule.method == method and rule.pattern.search(path) and rule.replies:
                    return rule.replies[0] if rule.repeat and len(rule.replies) == 1 else rule.replies.pop(0)
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(JsonHandler):
            # Headers and body go out in two writes: with Nagle's algorithm the body waits for
            # the client's delayed ACK, 40 ms a request.
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with double._lock:
                    double.seen.append(
                        Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                reply = double._take(self.command, self.path)
                if reply is None:
                    message = f"nothing scripted for {self.command} {self.path}"
                    return self.answer(418, {"error": {"code": "Unscripted", "message": message}})
                if reply.then is not None:
                    reply.then()
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                data = reply.body()
                self.send_response(reply.status)
                if reply.raw is not None:
                    self.send_header("Content-Type", "text/html")
                elif reply.json is not None:
                    self.send_header("Content-Type", "application/json")
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if reply.trickle:
                    return self._trickle(data, reply.trickle)
                if not reply.chunked:
                    self.wfile.write(data)
                    return
                step = 64 * 1024
                for start in range(0, len(data), step):
                    chunk = data[start : start + step]
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")

            def _trickle(self, data: bytes, interval: float) -> None:
                sent = 0
                try:
                    for byte in data:
                        if double._stopping.wait(interval):
                            break
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        sent += 1
                except OSError:  # the client hung up: how far it let the trickle go is the finding
                    pass
                with double._trickles:
                    double.trickled.append(sent)
                    double._trickles.notify_all()
                self.close_connection = True

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle  # noqa: N815

        return Handler

    # -- a gateway on this server ------------------------------------------------------------

    def settings(self, *, max_wait: float = 20, max_lag: float = 2) -> B2CSettings:
        config = {
            "b2c-signup:tenantId": TENANT_ID,
            "b2c-signup:b2cClientId": CLIENT_ID,
            "b2c-signup:b2cClientSecret": CLIENT_SECRET,
            "b2c-signup:graphEndpoint": self.endpoint,
        }
        settings = B2CSettings.from_config(config.get)
        return dataclasses.replace(settings, max_wait_seconds=max_wait, max_lag_seconds=max_lag)

    def run(
        self,
        work: Callable[[GraphGateway], Awaitable[T]],
        *,
        clock: VirtualClock | None = None,
        real_time: bool = False,
        secrets: tuple[str, ...] = (),
        max_wait: float = 20,
        max_lag: float = 2,
    ) -> T:
        """Run `work` in one gateway session against this server: the double's token, a virtual
        clock (or, with `real_time`, the real one, for what only real time can show)."""
        clock = clock or VirtualClock()
        timing: dict[str, Any] = {} if real_time else {"clock": clock.now, "sleep": clock.sleep}

        async def main() -> T:
            async with GraphGateway(
                self.settings(max_wait=max_wait, max_lag=max_lag),
                credentials=lambda _settings: FakeCredential(),
                secrets=secrets,
                cancelled=lambda: False,
                **timing,
            ) as graph:
                return await work(graph)

        return asyncio.run(main())
