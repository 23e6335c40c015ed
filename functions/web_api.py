"""The web API the Power Automate connector calls, accepting only access tokens our B2C tenant
issued for it. Imported on the first web API request, never by the sign-up gate's start-up.

Tokens are checked with PyJWT and its JWK client (RS256 only, keys from the user flow's JWKS,
issuer, audience, expiry with a small leeway), then the scope (`scp`) and the user flow (`tfp` or
`acr`). Replies follow RFC 6750: 401 `invalid_token` without details (the reason goes to the log),
403 `insufficient_scope`, 503 with Retry-After when the keys cannot be fetched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import azure.functions as func
import jwt
import signup_rules
import web_api_spec

logger = logging.getLogger("b2c_signup.web_api")
REALM = "b2c-signup"
LEEWAY_SECONDS = 60
KEYS_RETRY_AFTER_SECONDS = 30
SETTING_NAMES = tuple(web_api_spec.TOKEN_SETTINGS.values())


class TokenSettings(NamedTuple):
    issuer: str
    audience: str
    scope: str
    policy: str
    jwks_url: str


class RefusedError(Exception):
    """Why a request is not served: the reply's status and challenge, and a reason for the log."""

    def __init__(self, status: int, challenge: str | None, reason: str) -> None:
        super().__init__(reason)
        self.status, self.challenge = status, challenge


def load_token_settings(environ: Mapping[str, str]) -> tuple[TokenSettings | None, list[str]]:
    """The five settings, or the problems that leave the API refusing every request."""
    values = {name: (environ.get(name) or "").strip() for name in SETTING_NAMES}
    problems = [f"{name} is not set" for name, value in values.items() if not value]
    url = urlsplit(values["B2C_JWKS_URL"])
    loopback = url.hostname in ("localhost", "127.0.0.1", "::1")
    if values["B2C_JWKS_URL"] and not (url.scheme == "https" or (url.scheme == "http" and loopback)):
        problems.append("B2C_JWKS_URL must be https (http only on loopback, for local runs)")
    if problems:
        return None, problems
    return TokenSettings(**{field: values[name] for field, name in web_api_spec.TOKEN_SETTINGS.items()}), []


class TokenValidator:
    def __init__(self, settings: TokenSettings) -> None:
        self.settings = settings
        # Keys are cached; a token with an unknown kid refreshes them at most once per cooldown.
        self.keys = jwt.PyJWKClient(
            settings.jwks_url, cache_keys=True, lifespan=3600, timeout=5, cooldown_duration=60
        )

    def claims(self, authorization: str | None) -> dict[str, Any]:
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise RefusedError(401, f'Bearer realm="{REALM}"', "no bearer token")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise RefusedError(401, _invalid(), f"malformed token ({type(exc).__name__})") from None
        if header.get("alg") != "RS256":
            raise RefusedError(401, _invalid(), f"algorithm {str(header.get('alg'))[:20]!r} is not RS256")
        try:
            key = self.keys.get_signing_key(str(header.get("kid")))
        except jwt.PyJWKClientConnectionError as exc:
            raise RefusedError(
                503, None, f"the signing keys could not be fetched ({type(exc).__name__})"
            ) from None
        except jwt.PyJWKClientError:
            raise RefusedError(401, _invalid(), "unknown signing key") from None
        settings = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=settings.audience,
                issuer=settings.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "nbf", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as exc:
            raise RefusedError(401, _invalid(), f"token refused ({type(exc).__name__})") from None
        flow = claims.get("tfp") or claims.get("acr")
        if not isinstance(flow, str) or flow.lower() != settings.policy.lower():
            raise RefusedError(401, _invalid(), "issued by another user flow")
        if settings.scope not in str(claims.get("scp", "")).split():
            raise RefusedError(
                403,
                f'Bearer realm="{REALM}", error="insufficient_scope", scope="{settings.scope}"',
                "scope missing",
            )
        return claims


def _invalid() -> str:
    return f'Bearer realm="{REALM}", error="invalid_token"'


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body), status_code=status, headers=headers, mimetype="application/json"
    )


def me(claims: Mapping[str, Any]) -> dict[str, Any]:
    emails = claims.get("emails")
    return {
        "objectId": claims.get("oid") or claims.get("sub"),
        "displayName": claims.get("name"),
        "emails": [e for e in emails if isinstance(e, str)] if isinstance(emails, list) else [],
        "userFlow": claims.get("tfp") or claims.get("acr"),
    }


def check_email(
    body: object, rules: tuple[signup_rules.DomainRule, ...] | None
) -> tuple[int, dict[str, Any]]:
    """The sign-up gate's own rule, applied to one address."""
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str):
        return 400, {"error": 'send {"email": "<address>"}'}
    if rules is None:
        return 503, {"error": "the allowlist is not configured"}
    domain = signup_rules.email_domain(email)
    if domain is None:
        return 200, {"email": email, "domain": None, "allowed": False, "reason": "invalid-address"}
    allowed = signup_rules.admits(domain, rules)
    return 200, {
        "email": email,
        "domain": domain,
        "allowed": allowed,
        "reason": "allowed-domain" if allowed else "domain-not-allowed",
    }


def handle(
    req: func.HttpRequest,
    validator: TokenValidator | None,
    rules: tuple[signup_rules.DomainRule, ...] | None,
    operation: str,
) -> func.HttpResponse:
    """One web API request: the token first (never from the query string), then the operation."""
    try:
        if validator is None:
            raise RefusedError(503, None, "the token settings are not configured (B2C_TOKEN_*, B2C_JWKS_URL)")
        claims = validator.claims(req.headers.get("Authorization"))
        if operation == "me":
            return _json(200, me(claims))
        try:
            body = json.loads(req.get_body() or b"null")
        except ValueError:
            body = None
        status, reply = check_email(body, rules)
        return _json(status, reply)
    except RefusedError as refusal:
        logger.warning("web api request refused: %s (%d)", refusal, refusal.status)
        headers = {"WWW-Authenticate": refusal.challenge} if refusal.challenge else {}
        if refusal.status == 503:
            headers["Retry-After"] = str(KEYS_RETRY_AFTER_SECONDS)
        return _json(
            refusal.status, {"error": "unavailable" if refusal.status == 503 else "unauthorized"}, headers
        )
    except Exception as exc:  # noqa: BLE001 - never a trace to the caller
        logger.error("web api request failed: %s", type(exc).__name__)
        return _json(500, {"error": "internal"})
