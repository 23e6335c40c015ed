"""A tenant's signing-key endpoint (JWKS) on 127.0.0.1 with its faults: keys that roll and are
withdrawn, an endpoint that answers garbage, fails, hangs or trickles. Counts every fetch, and how
many were in flight at once. Written from RFC 7517 and what B2C and Entra publish (RSA keys with
`kid`, `use: sig`); `mint` signs any token a test needs with one of its keys."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tools.loopback import JsonHandler, serve

# A key costs ~50 ms to generate: the doubles of one test process share a few.
_KEYS = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()

    def b64(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {"kid": kid, "use": "sig", "kty": "RSA", "e": b64(numbers.e), "n": b64(numbers.n)}


class JwksDouble:
    """`fault` is None (serve the published keys) or one of: 'html', 'empty', 'shape', 'not-json',
    '503', 'hang' (accept, then say nothing until closed), 'trickle' (send the body a byte at a
    time, `trickle_gap` seconds apart, calling `on_trickle` after each byte)."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {uuid.uuid4().hex: _KEYS[0]}
        self.fault: str | None = None
        self.fetches = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.trickled = 0
        self.trickle_gap = 0.01
        self.on_trickle: Any = None
        self.lock = threading.Lock()
        self.release = threading.Event()  # set: hanging and trickling requests end
        self._server = serve(self._handler())

    @property
    def url(self) -> str:
        return f"{self._server.origin}/tenant/discovery/v2.0/keys"

    @property
    def kid(self) -> str:
        return next(iter(self.keys))

    def close(self) -> None:
        self.release.set()
        self._server.stop()

    def roll(self) -> str:
        """Publish a new key beside the current ones; returns its kid."""
        kid = uuid.uuid4().hex
        self.keys[kid] = _KEYS[len(self.keys) % len(_KEYS)]
        return kid

    def withdraw(self, kid: str) -> None:
        del self.keys[kid]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(key, kid) for kid, key in self.keys.items()]}

    def mint(self, claims: dict[str, Any], *, kid: str | None = None, key: Any = None) -> str:
        kid = kid or self.kid
        signer = key if key is not None else self.keys.get(kid, _KEYS[0])
        return jwt.encode(claims, signer, algorithm="RS256", headers={"kid": kid})

    def _body(self) -> tuple[int, bytes, str]:
        fault = self.fault
        if fault == "html":
            return 200, b"<html><body>Sign in to continue</body></html>", "text/html"
        if fault == "empty":
            return 200, b'{"keys": []}', "application/json"
        if fault == "shape":
            return 200, b'{"keys": {"kid": "x"}}', "application/json"
        if fault == "not-json":
            return 200, b'["keys"]', "application/json"
        if fault == "503":
            return 503, b'{"error": "down"}', "application/json"
        return 200, json.dumps(self.jwks()).encode(), "application/json"

    def _handler(self) -> type[JsonHandler]:
        double = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
                with double.lock:
                    double.fetches += 1
                    double.in_flight += 1
                    double.most_in_flight = max(double.most_in_flight, double.in_flight)
                try:
                    self._serve()
                finally:
                    with double.lock:
                        double.in_flight -= 1

            def _serve(self) -> None:
                if double.fault == "hang":
                    double.release.wait(30)
                    return
                status, body, content_type = double._body()
                if double.fault == "trickle":
                    body = json.dumps(double.jwks()).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for index in range(len(body)):
                        if double.release.is_set():
                            return
                        try:
                            self.wfile.write(body[index : index + 1])
                            self.wfile.flush()
                        except (TimeoutError, BrokenPipeError, ConnectionResetError):
                            return
                        double.trickled += 1
                        if double.on_trickle is not None:
                            double.on_trickle()
                        time.sleep(double.trickle_gap)
                    return
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
