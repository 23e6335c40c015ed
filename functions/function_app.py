"""HTTP entry points: the sign-up gate B2C calls as an API connector (authenticate, parse, ask the
rules, reply), and the web API routes, served by functions/web_api.py."""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import re
from typing import Any

import azure.functions as func
import signup_rules
import web_api_spec
from signup_rules import Credentials, Decision, Outcome, Settings

MAX_BODY_BYTES = 64 * 1024
# Logged claim values are caller-controlled: anything but a short plain token is logged quoted
# and escaped (no second line can be forged), and cut to a bound.
MAX_LOGGED_CHARS = 100
_PLAIN_LOG_VALUE = re.compile(rf"[A-Za-z0-9._:/-]{{1,{MAX_LOGGED_CHARS}}}")
REALM = "b2c-signup"
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

logger = logging.getLogger("b2c_signup")

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _load_settings() -> Settings:
    settings = signup_rules.load_settings(os.environ)
    for error in settings.errors:
        # Only the allowlist and the credentials close the gate; unreadable messages fall back.
        closed = settings.rules is None or settings.credentials is None
        logger.error(
            "configuration error%s: %s", ", refusing every sign-up until fixed" if closed else "", error
        )
    return settings


# Read once per process: app settings only change with a restart of the host.
SETTINGS = _load_settings()


def _json(status: int, body: dict[str, object], headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers=headers,
        mimetype="application/json",
        charset="utf-8",
    )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return _json(
        status, {"version": signup_rules.API_VERSION, "status": status, "userMessage": message}, headers
    )


def is_authorized(header: str | None, expected: Credentials | None) -> bool:
    """Check an `Authorization: Basic` header against the configured pair in constant time.

    Written by hand because werkzeug's parser decodes leniently (it accepts bad padding and
    latin-1), and a gate that B2C alone should pass is better strict.
    """
    if expected is None or not header:
        return False
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return False
    try:
        # ValueError covers binascii.Error and the non-ASCII text b64decode refuses outright.
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except ValueError:
        return False
    username, colon, password = decoded.partition(":")
    if not colon:
        return False
    # Both comparisons always run, so timing does not reveal which half was wrong.
    user_ok = hmac.compare_digest(username.encode(), expected.username.encode())
    password_ok = hmac.compare_digest(password.encode(), expected.password.encode())
    return user_ok & password_ok


def loggable(value: object) -> str | None:
    """A caller-controlled value as it may appear in a log line: plain tokens as they are, anything
    else JSON-quoted (newlines and quotes escaped) and cut to MAX_LOGGED_CHARS."""
    if not isinstance(value, str):
        return None
    if _PLAIN_LOG_VALUE.fullmatch(value):
        return value
    cut = f"...(+{len(value) - MAX_LOGGED_CHARS} chars)" if len(value) > MAX_LOGGED_CHARS else ""
    return json.dumps(value[:MAX_LOGGED_CHARS]) + cut


def _log_decision(decision: Decision, req: func.HttpRequest, client_id: object) -> None:
    level = logging.INFO if decision.outcome is Outcome.ADMITTED else logging.WARNING
    logger.log(
        level,
        "signup decision=%s step=%s domain=%s client_id=%s traceparent=%s",
        decision.outcome.value,
        loggable(decision.step),
        decision.domain,
        loggable(client_id),
        loggable(req.headers.get("traceparent")),
    )


def handle(req: func.HttpRequest, settings: Settings) -> func.HttpResponse:
    """The whole request pipeline; `settings` is a parameter so tests can vary it."""
    if req.method.upper() != "POST":
        return _error(405, "Use POST.", {"Allow": "POST"})
    if not is_authorized(req.headers.get("Authorization"), settings.credentials):
        logger.warning("signup request refused: missing or wrong basic-auth credentials")
        return _error(
            401,
            "Authentication required.",
            {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
        )
    body = req.get_body()
    if len(body) > MAX_BODY_BYTES:
        logger.warning("signup request refused: body of %d bytes exceeds the limit", len(body))
        return _error(413, f"Request body exceeds {MAX_BODY_BYTES} bytes.")
    claims: object = None
    messages = settings.messages.default
    try:
        claims = signup_rules.parse_claims(body)
        if isinstance(claims, dict):
            messages = settings.messages.pick(claims.get("ui_locales"))
        decision = signup_rules.decide(claims, settings.rules, messages)
    except signup_rules.DuplicateClaimError as exc:
        logger.warning("signup request refused: %s", exc)
        decision = Decision(
            200, signup_rules.block_page(messages.unavailable), Outcome.BAD_REQUEST, None, None
        )
    except Exception as exc:  # noqa: BLE001 - fail closed: B2C must never see a 5xx or a trace
        logger.error("signup request could not be decided: %s", type(exc).__name__)
        decision = Decision(
            200, signup_rules.block_page(messages.unavailable), Outcome.BAD_REQUEST, None, None
        )
    _log_decision(decision, req, claims.get("client_id") if isinstance(claims, dict) else None)
    return _json(decision.status, decision.body)


@app.route(route="validate-signup", methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def validate_signup(req: func.HttpRequest) -> func.HttpResponse:
    # Every method is routed here so that a wrong one gets a clear 405, not the host's 404.
    return handle(req, SETTINGS)


# -- the web API the Power Automate connector calls (functions/web_api.py) ----------------------
# Imported on its first request: the sign-up gate's cold start never pays for PyJWT and its keys.
_web_api: Any = None


def _web_api_handler() -> tuple[Any, Any]:
    global _web_api
    if _web_api is None:
        import web_api

        token_settings, problems = web_api.load_token_settings(os.environ)
        for problem in problems:
            logger.error("web api configuration error, refusing every request until fixed: %s", problem)
        _web_api = (web_api, web_api.TokenValidator(token_settings) if token_settings else None)
    return _web_api  # type: ignore[no-any-return]


@app.route(route=web_api_spec.ME["route"], methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_me(req: func.HttpRequest) -> func.HttpResponse:
    module, validator = _web_api_handler()
    return module.handle(req, validator, SETTINGS.rules, "me")  # type: ignore[no-any-return]


@app.route(route=web_api_spec.CHECK_EMAIL["route"], methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def check_email(req: func.HttpRequest) -> func.HttpResponse:
    module, validator = _web_api_handler()
    return module.handle(req, validator, SETTINGS.rules, "check-email")  # type: ignore[no-any-return]
