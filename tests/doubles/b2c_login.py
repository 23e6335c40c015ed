"""A B2C login double on 127.0.0.1 for one tenant and user flow: OpenID metadata, JWKS, the
authorize endpoint (signs the user in at once and redirects with a code) and the token endpoint
(authorization code and refresh token grants, the client secret checked), issuing RS256 access
tokens with the claims B2C issues. Written from B2C's documented token shape; `mint` makes any
token a test needs, well-formed or not."""

from __future__ import annotations

import base64
import secrets
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tools.loopback import JsonHandler, serve

TENANT_ID = "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90"
POLICY = "B2C_1_signupsignin"


class B2CLoginDouble:
    def __init__(self, *, client_id: str, client_secret: str, audience: str, scope: str) -> None:
        self.client_id, self.client_secret, self.audience, self.scope = (
            client_id,
            client_secret,
            audience,
            scope,
        )
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        self.codes: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.key_requests = 0
        self.down = False  # the JWKS endpoint unreachable (a 503 from its front door)
        self.lock = threading.Lock()
        self._server = serve(self._handler())

    @property
    def origin(self) -> str:
        return self._server.origin

    @property
    def issuer(self) -> str:
        return f"{self.origin}/{TENANT_ID}/v2.0/"

    def policy_url(self, path: str) -> str:
        return f"{self.origin}/contosob2c.onmicrosoft.com/{POLICY}/{path}"

    def close(self) -> None:
        self._server.stop()

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()

        def b64(value: int) -> str:
            raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        return {
            "keys": [{"kid": self.kid, "use": "sig", "kty": "RSA", "e": b64(numbers.e), "n": b64(numbers.n)}]
        }

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "exp": now + 3600,
            "nbf": now,
            "iat": now,
            "aud": self.audience,
            "sub": "5f1c6a1e-8f7d-4c2b-9a3e-1d2c3b4a5f6e",
            "oid": "5f1c6a1e-8f7d-4c2b-9a3e-1d2c3b4a5f6e",
            "name": "Jane Doe",
            "emails": ["jane@contoso.com"],
            "tfp": POLICY,
            "scp": self.scope,
            "azp": self.client_id,
            "ver": "1.0",
            **overrides,
        }

    def mint(
        self,
        *,
        headers: dict[str, Any] | None = None,
        key: Any = None,
        algorithm: str = "RS256",
        **claims: Any,
    ) -> str:
        return jwt.encode(
            self.claims(**claims),
            key if key is not None else self.key,
            algorithm=algorithm,
            headers={"kid": self.kid, **(headers or {})},
        )

    def _handler(self) -> type[JsonHandler]:
        double = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
                parts = urlsplit(self.path)
                if parts.path.endswith("/discovery/v2.0/keys"):
                    with double.lock:
                        double.key_requests += 1
                    return (
                        self.answer(503, {"error": "down"})
                        if double.down
                        else self.answer(200, double.jwks())
                    )
                if parts.path.endswith("/v2.0/.well-known/openid-configuration"):
                    return self.answer(
                        200,
                        {
                            "issuer": double.issuer,
                            "authorization_endpoint": double.policy_url("oauth2/v2.0/authorize"),
                            "token_endpoint": double.policy_url("oauth2/v2.0/token"),
                            "jwks_uri": double.policy_url("discovery/v2.0/keys"),
                        },
                    )
                if parts.path.endswith("/oauth2/v2.0/authorize"):
                    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                    if query.get("client_id") != double.client_id or query.get("response_type") != "code":
                        return self.answer(400, {"error": "invalid_request"})
                    code = secrets.token_urlsafe(16)
                    with double.lock:
                        double.codes[code] = {
                            "scope": query.get("scope", ""),
                            "redirect_uri": query.get("redirect_uri"),
                        }
                    target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"
                    return self.answer(302, None, {"Location": target})
                return self.answer(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                form = {
                    k: v[0]
                    for k, v in parse_qs(
                        self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                    ).items()
                }
                if not urlsplit(self.path).path.endswith("/oauth2/v2.0/token"):
                    return self.answer(404, {"error": "not_found"})
                if (
                    form.get("client_id") != double.client_id
                    or form.get("client_secret") != double.client_secret
                ):
                    return self.answer(401, {"error": "invalid_client"})
                with double.lock:
                    if form.get("grant_type") == "authorization_code":
                        grant = double.codes.pop(form.get("code", ""), None)
                        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                            return self.answer(400, {"error": "invalid_grant"})
                    elif form.get("grant_type") == "refresh_token":
                        grant = double.refresh_tokens.pop(form.get("refresh_token", ""), None)
                        if grant is None:
                            return self.answer(400, {"error": "invalid_grant"})
                    else:
                        return self.answer(400, {"error": "unsupported_grant_type"})
                    refresh = secrets.token_urlsafe(24)
                    double.refresh_tokens[refresh] = grant
                scopes = grant["scope"].split()
                reply = {
                    "access_token": double.mint(
                        scp=" ".join(s.rsplit("/", 1)[-1] for s in scopes if s.startswith("http"))
                    ),
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "refresh_token": refresh if "offline_access" in scopes else None,
                    "id_token": double.mint(aud=double.client_id),
                }
                return self.answer(200, reply)

        return Handler
