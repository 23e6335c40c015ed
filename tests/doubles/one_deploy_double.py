"""A One Deploy (Kudu) double on 127.0.0.1: `POST /api/publish`, `GET /api/deployments/latest`
and the deployment log, as az CLI's Flex path uses them (status 4 success, 3 failed), with the
faults a real SCM site shows: 409 with or without a deployment in progress, Retry-After, replies
that trickle, redirects, and error texts that echo the request."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tools.loopback import JsonHandler, serve

# JWT-shaped, so a test can look for any piece of it in an error text.
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJhcm0tY2FuYXJ5In0.c2lnbmF0dXJlLWNhbmFyeQ"


def trickle(handler: BaseHTTPRequestHandler, chunks: int = 200, interval: float = 0.05) -> None:
    """Answer 200 with headers at once, then the body a byte at a time: a per-read timeout never
    fires, only a deadline for the whole request ends it. Stops when the client hangs up."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(chunks + 1000))
    handler.end_headers()
    for _ in range(chunks):
        try:
            handler.wfile.write(b" ")
            handler.wfile.flush()
        except OSError:
            return
        time.sleep(interval)
    handler.close_connection = True


class Eavesdropper:
    """Another origin that keeps every Authorization header and body it is sent."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []
        self.bodies: list[bytes] = []
        eavesdropper = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
                eavesdropper.authorizations.append(self.headers.get("Authorization"))
                self.answer(200, {"status": 4, "complete": True, "id": "x"})

            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                eavesdropper.authorizations.append(self.headers.get("Authorization"))
                eavesdropper.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self.answer(202)

        self._server = serve(Handler)

    @property
    def url(self) -> str:
        return self._server.origin

    def close(self) -> None:
        self._server.stop()


@dataclass
class Publish:
    query: str
    content_type: str
    sha256: str


@dataclass
class OneDeployDouble:
    outcome: str = "success"  # or "failure"
    polls_until_done: int = 1
    status_code: int = 202  # what POST /api/publish answers: 202, or 401/403/400 to refuse
    failure_message: str = "ModuleNotFoundError: No module named 'email_validator'"
    # Faults: links to another origin, status replies that are not a status, a deployment that
    # another client has in progress, a terminal status outside the documented codes.
    foreign_origin: str | None = None  # Location and details_url point here instead
    status_body: Any = None  # raw bytes, or any JSON value, answered instead of the status
    latest_missing: bool = False  # /api/deployments/latest answers 404 (no deployment yet)
    busy_publishes: int = 0  # POSTs answered 409 while "another" deployment runs
    retry_after: str | None = None  # the Retry-After header of a 409
    terminal_status: tuple[int, str] | None = None
    refusal: Any = None  # the body of a refused publish (status_code 4xx): bytes or JSON
    trickle: str | None = None  # "publish" or "status": that reply comes a byte at a time
    redirect: tuple[str, int, str] | None = None  # (method, status, Location) answered instead
    publishes: list[Publish] = field(default_factory=list)
    posts: int = 0  # every POST /api/publish, also those answered 409
    polls: int = 0
    deployment_id: str = ""
    redirected_reads: int = 0  # status reads that arrived at the redirect's target path
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._server = serve(self._handler())

    @property
    def url(self) -> str:
        return self._server.origin

    def close(self) -> None:
        self._server.stop()

    def _status(self) -> dict[str, Any]:
        self.polls += 1
        done = self.polls >= self.polls_until_done
        if done and self.terminal_status is not None:
            code, text = self.terminal_status
            return {"id": self.deployment_id, "status": code, "status_text": text, "complete": True}
        code = (4 if self.outcome == "success" else 3) if done else 1
        return {
            "id": self.deployment_id,
            "status": code,
            "status_text": {1: "Building", 3: "Failed", 4: "Success"}[code],
            "complete": done,
            "deployer": "b2c-signup",
        }

    def _log(self) -> list[dict[str, Any]]:
        return [
            {"id": "1", "message": "Fetching changes.", "type": 0, "details_url": None},
            {
                "id": "2",
                "message": "Deployment failed.",
                "type": 0,
                "details_url": f"{self.foreign_origin or self.url}/api/deployments/{self.deployment_id}/log/2",
            },
        ]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(JsonHandler):
            # Headers and body leave in two writes: with Nagle's algorithm on, the second waits for
            # the client's delayed ACK, 40 ms a request, which a test polling 200 times pays in full.
            disable_nagle_algorithm = True

            def _raw(self, data: bytes, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _redirected(self, method: str) -> bool:
                if double.redirect is None or double.redirect[0] != method:
                    return False
                _, status, location = double.redirect
                self.answer(status, None, {"Location": location})
                return True

            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urlsplit(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self.answer(401)
                if parts.path != "/api/publish":
                    return self.answer(404)
                with double.lock:
                    double.posts += 1
                if self._redirected("POST"):
                    return None
                if double.trickle == "publish":
                    return trickle(self)
                if double.status_code != 202:
                    if isinstance(double.refusal, bytes):
                        return self._raw(double.refusal, double.status_code)
                    return self.answer(double.status_code, double.refusal or {"Message": "refused"})
                with double.lock:
                    if double.busy_publishes > 0:
                        double.busy_publishes -= 1
                        double.polls = 0
                        headers = (
                            {"Retry-After": double.retry_after} if double.retry_after is not None else {}
                        )
                        return self.answer(
                            409, {"Message": "There is a deployment currently in progress."}, headers
                        )
                    double.publishes.append(
                        Publish(
                            parts.query,
                            self.headers.get("Content-Type", ""),
                            hashlib.sha256(body).hexdigest(),
                        )
                    )
                    double.deployment_id, double.polls = uuid.uuid4().hex, 0
                origin = double.foreign_origin or double.url
                return self.answer(
                    202, None, {"Location": f"{origin}/api/deployments/latest?deployer=b2c-signup"}
                )

            def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
                parts = urlsplit(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self.answer(401)
                if parts.path == "/api/deployments/moved":
                    with double.lock:
                        double.redirected_reads += 1
                        return self.answer(200, double._status())
                if parts.path == "/api/deployments/latest" and self._redirected("GET"):
                    return None
                if parts.path == "/api/deployments/latest" and double.trickle == "status":
                    return trickle(self)
                with double.lock:
                    if parts.path == "/api/deployments/latest":
                        if double.latest_missing:
                            return self.answer(404)
                        if isinstance(double.status_body, bytes):
                            return self._raw(double.status_body)
                        if double.status_body is not None:
                            return self.answer(200, double.status_body)
                        return self.answer(200, double._status())
                    if parts.path == f"/api/deployments/{double.deployment_id}/log":
                        return self.answer(200, double._log())
                    if parts.path == f"/api/deployments/{double.deployment_id}/log/2":
                        return self.answer(200, [{"id": "3", "message": double.failure_message, "type": 2}])
                return self.answer(404)

        return Handler
