"""HTTP entry points: the sign-up gate the tenant calls during sign-up (B2C's API connector, or
Entra External ID's custom extension, by SIGNUP_PLATFORM), and the web API routes, served by
functions/web_api.py. Each route parses, asks the rules, and responds; the protocols live in
b2c_connector.py and entra_callout.py, the verdict in signup_rules.py."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import app_settings
import azure.functions as func
import b2c_connector
import request_body
import web_api_spec
from b2c_connector import Settings
from signup_rules import Outcome

if TYPE_CHECKING:
    import entra_callout

MAX_BODY_BYTES = request_body.MAX_BODY_BYTES
# Logged claim values are caller-controlled: anything but a short plain token is logged quoted
# and escaped (no second line can be forged), and cut to a bound.
MAX_LOGGED_CHARS = 100
_PLAIN_LOG_VALUE = re.compile(rf"[A-Za-z0-9._:/-]{{1,{MAX_LOGGED_CHARS}}}")
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

logger = logging.getLogger("b2c_signup")

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _log_errors(errors: tuple[str, ...], closed: bool) -> None:
    for error in errors:
        logger.error(
            "configuration error%s: %s", ", refusing every sign-up until fixed" if closed else "", error
        )


def _load_settings() -> Settings:
    """The B2C gate's settings; only the allowlist and the credentials close the gate."""
    settings = b2c_connector.load_settings(os.environ)
    _log_errors(settings.errors, settings.rules is None or settings.credentials is None)
    return settings


def _load_callout_settings() -> entra_callout.Settings:
    import entra_callout

    settings = entra_callout.load_settings(os.environ)
    _log_errors(settings.errors, settings.rules is None or settings.caller is None)
    return settings


def _json(status: int, body: dict[str, object], headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers=headers,
        mimetype="application/json",
        charset="utf-8",
    )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return _json(status, b2c_connector.error(status, message), headers)


def loggable(value: object) -> str | None:
    """A caller-controlled value as it may appear in a log line: plain tokens as they are, anything
    else JSON-quoted (newlines and quotes escaped) and cut to MAX_LOGGED_CHARS."""
    if not isinstance(value, str):
        return None
    if _PLAIN_LOG_VALUE.fullmatch(value):
        return value
    cut = f"...(+{len(value) - MAX_LOGGED_CHARS} chars)" if len(value) > MAX_LOGGED_CHARS else ""
    return json.dumps(value[:MAX_LOGGED_CHARS]) + cut


def _log_decision(
    outcome: Outcome,
    step: object,
    domain: str | None,
    client_id: object,
    req: func.HttpRequest,
    correlation_id: object = None,
) -> None:
    level = logging.INFO if outcome is Outcome.ADMITTED else logging.WARNING
    line = "signup decision=%s step=%s domain=%s client_id=%s traceparent=%s"
    fields = [
        outcome.value,
        loggable(step),
        domain,
        loggable(client_id),
        loggable(req.headers.get("traceparent")),
    ]
    if correlation_id is not None:  # External ID's, appended so B2C's line stays as it was
        line, fields = line + " correlation_id=%s", [*fields, loggable(correlation_id)]
    logger.log(level, line, *fields)


def handle(req: func.HttpRequest, settings: Settings) -> func.HttpResponse:
    """B2C's API connector call, the whole pipeline; `settings` is a parameter so tests can vary it."""
    if req.method.upper() != "POST":
        return _error(405, "Use POST.", {"Allow": "POST"})
    if not b2c_connector.is_authorized(req.headers.get("Authorization"), settings.credentials):
        logger.warning("signup request refused: missing or wrong basic-auth credentials")
        return _error(401, "Authentication required.", b2c_connector.authentication_challenge())
    body = req.get_body()
    if len(body) > MAX_BODY_BYTES:
        logger.warning("signup request refused: body of %d bytes exceeds the limit", len(body))
        return _error(413, f"Request body exceeds {MAX_BODY_BYTES} bytes.")
    claims: object = None
    messages = settings.messages.default
    try:
        claims = b2c_connector.parse_claims(body)
        if isinstance(claims, dict):
            messages = settings.messages.pick(claims.get("ui_locales"))
        decision = b2c_connector.decide(claims, settings.rules, messages)
    except request_body.BodyError as exc:
        logger.warning("signup request refused: %s", exc)
        decision = b2c_connector.bad_request(messages)
    except Exception as exc:  # noqa: BLE001 - fail closed: B2C must never see a 5xx or a trace
        logger.error("signup request could not be decided: %s", type(exc).__name__)
        decision = b2c_connector.bad_request(messages)
    client_id = claims.get("client_id") if isinstance(claims, dict) else None
    _log_decision(decision.outcome, decision.step, decision.domain, client_id, req)
    return _json(decision.status, decision.body)


def handle_callout(req: func.HttpRequest, settings: entra_callout.Settings) -> func.HttpResponse:
    """External ID's OnAttributeCollectionSubmit callout: an authenticated call always gets HTTP
    200 with exactly one action; only a caller that cannot be authenticated gets anything else."""
    import entra_callout
    import token_check

    if req.method.upper() != "POST":
        return _json(405, {"error": "use POST"}, {"Allow": "POST"})
    try:
        if settings.caller is None:
            raise token_check.RefusedError(503, None, "the ENTRA_* settings are not configured")
        settings.caller.claims(req.headers.get("Authorization"))
    except token_check.RefusedError as refusal:
        logger.warning("signup request refused: %s (%d)", refusal, refusal.status)
        return _json(*refusal.reply())
    body = req.get_body()
    tenant_id = settings.caller.settings.tenant_id
    try:
        if len(body) > MAX_BODY_BYTES:
            raise request_body.BodyError(f"body of {len(body)} bytes exceeds the limit")
        decision = entra_callout.decide(
            entra_callout.parse_event(body), settings.rules, settings.messages, tenant_id
        )
    except request_body.BodyError as exc:
        logger.warning("signup request refused: %s", exc)
        decision = entra_callout.bad_request(settings.messages.default)
    except Exception as exc:  # noqa: BLE001 - fail closed: one action, never a 5xx or a trace
        logger.error("signup request could not be decided: %s", type(exc).__name__)
        decision = entra_callout.bad_request(settings.messages.default)
    _log_decision(
        decision.outcome,
        entra_callout.STEP,
        decision.domain,
        decision.client_id,
        req,
        decision.correlation_id,
    )
    return _json(200, decision.body)


def _unknown_platform(_: func.HttpRequest) -> func.HttpResponse:
    return _json(503, {"error": "unavailable"})


def _gate() -> tuple[Callable[[func.HttpRequest], func.HttpResponse], Any]:
    """The platform's pipeline and settings, read once per process: app settings only change
    with a restart of the host. Only the chosen platform's modules are imported."""
    platform = os.environ.get(app_settings.SIGNUP_PLATFORM) or app_settings.PLATFORM_B2C
    if platform == app_settings.PLATFORM_B2C:
        b2c = _load_settings()
        return (lambda req: handle(req, b2c)), b2c
    if platform == app_settings.PLATFORM_EXTERNAL_ID:
        callout = _load_callout_settings()
        return (lambda req: handle_callout(req, callout)), callout
    _log_errors(
        (
            f"{app_settings.SIGNUP_PLATFORM} {platform[:40]!r} is not one of {', '.join(app_settings.PLATFORMS)}",
        ),
        closed=True,
    )
    return _unknown_platform, None


GATE, SETTINGS = _gate()


@app.route(route=app_settings.GATE_ROUTE, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def validate_signup(req: func.HttpRequest) -> func.HttpResponse:
    # Every method is routed here so that a wrong one gets a clear 405, not the host's 404.
    return GATE(req)


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


def _allowlist() -> Any:
    return getattr(SETTINGS, "rules", None)


@app.route(route=web_api_spec.ME["route"], methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_me(req: func.HttpRequest) -> func.HttpResponse:
    module, validator = _web_api_handler()
    return module.handle(req, validator, _allowlist(), "me")  # type: ignore[no-any-return]


@app.route(route=web_api_spec.CHECK_EMAIL["route"], methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def check_email(req: func.HttpRequest) -> func.HttpResponse:
    module, validator = _web_api_handler()
    return module.handle(req, validator, _allowlist(), "check-email")  # type: ignore[no-any-return]
