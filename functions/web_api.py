"""The web API the Power Automate connector calls, accepting only access tokens our tenant (B2C
or External ID) issued for it. Imported on the first web API request, never by the sign-up gate's start-up.

Tokens pass the shared check (token_check: RS256 keys from the user flow's JWKS, issuer,
audience, expiry), then the scope (`scp`) and, on B2C, the user flow (`tfp` or `acr`). Replies follow
RFC 6750: 401 `invalid_token` without details (the reason goes to the log), 403
`insufficient_scope`, 503 with Retry-After when the keys cannot be had.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, NamedTuple

import app_settings
import azure.functions as func
import origins
import request_body
import signup_rules
import token_check
from token_check import RefusedError

logger = logging.getLogger("b2c_signup.web_api")
# Power Automate waits far longer than this for an action; a request never waits longer for keys.
KEY_WAIT_SECONDS = 5.0
NOT_CONFIGURED_RETRY_AFTER_SECONDS = 30
SETTING_NAMES = tuple(app_settings.B2C_TOKEN_SETTINGS.values())
EMAIL_CLAIMS = frozenset({"email"})


class TokenSettings(NamedTuple):
    issuer: str
    audience: str
    scope: str
    policy: str
    jwks_url: str


def load_token_settings(environ: Mapping[str, str]) -> tuple[TokenSettings | None, list[str]]:
    """The five settings, or the problems that leave the API refusing every request. On External
    ID the user flow is left empty: its access tokens name none (the app's link picks the flow)."""
    values = {name: (environ.get(name) or "").strip() for name in SETTING_NAMES}
    optional = (
        {app_settings.B2C_TOKEN_SETTINGS["policy"]}
        if environ.get(app_settings.SIGNUP_PLATFORM) == app_settings.PLATFORM_EXTERNAL_ID
        else set()
    )
    problems = [f"{name} is not set" for name, value in values.items() if not value and name not in optional]
    jwks_setting = app_settings.B2C_TOKEN_SETTINGS["jwks_url"]
    if values[jwks_setting] and (problem := origins.url_problem(values[jwks_setting])):
        problems.append(f"{jwks_setting} {problem}")
    if problems:
        return None, problems
    return TokenSettings(
        **{field: values[name] for field, name in app_settings.B2C_TOKEN_SETTINGS.items()}
    ), []


class TokenValidator:
    """The shared token check for B2C access tokens, plus the user flow and the scope."""

    def __init__(self, settings: TokenSettings, keys: token_check.SigningKeys | None = None) -> None:
        self.settings = settings
        self.check = token_check.TokenCheck(
            keys or token_check.SigningKeys(settings.jwks_url),
            issuers=(settings.issuer,),
            audience=settings.audience,
            key_wait=KEY_WAIT_SECONDS,
        )

    def claims(self, authorization: str | None) -> dict[str, Any]:
        claims = self.check.claims(authorization)
        settings = self.settings
        flow = claims.get("tfp") or claims.get("acr")
        if settings.policy and (not isinstance(flow, str) or flow.lower() != settings.policy.lower()):
            raise RefusedError(401, token_check.invalid_token(), "issued by another user flow")
        if settings.scope not in str(claims.get("scp", "")).split():
            raise RefusedError(
                403,
                f'Bearer realm="{app_settings.REALM}", error="insufficient_scope", scope="{settings.scope}"',
                "scope missing",
            )
        return claims


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


def check_email(body: bytes, rules: tuple[signup_rules.DomainRule, ...] | None) -> tuple[int, dict[str, Any]]:
    """The sign-up gate's own rule applied to one address, read by the gate's own input rules.
    The answer names the address as the rule normalised it, never an echo of what was sent."""
    if len(body) > request_body.MAX_BODY_BYTES:
        return 413, {"error": f"the body exceeds {request_body.MAX_BODY_BYTES} bytes"}
    try:
        parsed = request_body.parse(body, EMAIL_CLAIMS)
    except request_body.DuplicateKeyError:
        return 400, {"error": 'the body names "email" more than once'}
    except request_body.BodyError:
        return 400, {"error": 'the body is not JSON: send {"email": "<address>"}'}
    email = parsed.get("email") if isinstance(parsed, dict) else None
    if not isinstance(email, str):
        return 400, {"error": 'send {"email": "<address>"}'}
    if rules is None:
        return 503, {"error": "the allowlist is not configured"}
    verdict = signup_rules.judge(email, rules)
    reason = {
        signup_rules.Outcome.ADMITTED: "allowed-domain",
        signup_rules.Outcome.REFUSED_DOMAIN: "domain-not-allowed",
    }.get(verdict.outcome, "invalid-address")
    return 200, {
        "email": verdict.address,
        "domain": verdict.domain,
        "allowed": verdict.outcome is signup_rules.Outcome.ADMITTED,
        "reason": reason,
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
            raise RefusedError(
                503,
                None,
                f"the token settings are not configured ({', '.join(SETTING_NAMES)})",
                NOT_CONFIGURED_RETRY_AFTER_SECONDS,
            )
        claims = validator.claims(req.headers.get("Authorization"))
        if operation == "me":
            return _json(200, me(claims))
        status, reply = check_email(req.get_body(), rules)
        return _json(status, reply)
    except RefusedError as refusal:
        logger.warning("web api request refused: %s (%d)", refusal, refusal.status)
        return _json(*refusal.reply())
    except Exception as exc:  # noqa: BLE001 - never a trace to the caller
        logger.error("web api request failed: %s", type(exc).__name__)
        return _json(500, {"error": "internal"})
