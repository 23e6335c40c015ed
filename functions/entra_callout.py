"""Entra External ID's OnAttributeCollectionSubmit callout: the token Entra mints for the custom
extension, the event it posts, and the actions it reads back (always HTTP 200, exactly one
action). Turns the event into the verdict's input and the verdict into Entra's reply.

Loaded at start-up only on the externalId platform, with PyJWT: the first callout should not pay
for imports, since Entra waits at most two seconds for the whole call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import app_settings
import gate_settings
import origins
import request_body
import signup_rules
import token_check
from signup_rules import DomainRule, MessageCatalog, Messages, Outcome
from token_check import RefusedError

# The application Entra's custom authentication extensions call with (azp, or appid in v1 tokens).
ENTRA_EXTENSIONS_APP_ID = "99045fe1-7639-4a75-9d4a-577b6ca3810f"
CALLOUT_DATA_TYPE = "microsoft.graph.onAttributeCollectionSubmitCalloutData"
RESPONSE_DATA_TYPE = "microsoft.graph.onAttributeCollectionSubmitResponseData"
ACTION_TYPE = "microsoft.graph.attributeCollectionSubmit."
STEP = "OnAttributeCollectionSubmit"  # the step the decision log names
# Entra waits at most 2 s for the whole call: half of it may go to waiting for the signing keys
# (only after a start or once an hour), the rest is the network and the reply. A fetch that is
# slower goes on, and Entra's retry finds the keys.
KEY_WAIT_SECONDS = 1.0
# The keys on the path to what the decision reads: a body that repeats one is never decided on.
DECISION_KEYS = frozenset(
    {"data", "@odata.type", "tenantId", "userSignUpInfo", "attributes", "email", "value", "identities",
     "signInType", "issuerAssignedId"}
)  # fmt: skip
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class CalloutSettings(NamedTuple):
    tenant_id: str
    audience: str  # the custom extension's resource app (client id)
    jwks_url: str

    def issuers(self) -> tuple[str, str]:
        """Sources disagree on the issuer of these tokens (the ciamlogin metadata, a sample's
        login.microsoftonline.com): both are accepted, for this tenant only."""
        tenant = self.tenant_id
        return (
            f"https://{tenant}.ciamlogin.com/{tenant}/v2.0",
            f"https://login.microsoftonline.com/{tenant}/v2.0",
        )


def read_callout_settings(environ: Mapping[str, str]) -> tuple[CalloutSettings | None, list[str]]:
    """The three ENTRA_* settings, or the problems that leave every callout refused."""
    names = (app_settings.ENTRA_TENANT_ID, app_settings.ENTRA_CALLOUT_AUDIENCE, app_settings.ENTRA_JWKS_URL)
    tenant_id, audience, jwks_url = ((environ.get(name) or "").strip() for name in names)
    problems = [
        f"{name} is not set"
        for name, value in zip(names, (tenant_id, audience, jwks_url), strict=True)
        if not value
    ]
    if tenant_id and not _GUID.match(tenant_id):
        problems.append(f"{app_settings.ENTRA_TENANT_ID} {tenant_id[:40]!r} is not a tenant id (a GUID)")
    if jwks_url and (problem := origins.url_problem(jwks_url)):
        problems.append(f"{app_settings.ENTRA_JWKS_URL} {problem}")
    if problems:
        return None, problems
    return CalloutSettings(tenant_id.lower(), audience, jwks_url), []


class CallerCheck:
    """Only Entra's custom-extension app, with a token of this tenant for the extension's resource
    app, may call: the shared token check plus `azp`. Basic auth is not accepted here."""

    def __init__(self, settings: CalloutSettings, keys: token_check.SigningKeys | None = None) -> None:
        self.settings = settings
        self.check = token_check.TokenCheck(
            keys or token_check.SigningKeys(settings.jwks_url),
            issuers=settings.issuers(),
            audience=settings.audience,
            key_wait=KEY_WAIT_SECONDS,
        )

    def claims(self, authorization: str | None) -> dict[str, Any]:
        claims = self.check.claims(authorization)
        caller = claims.get("azp") or claims.get("appid")
        if caller != ENTRA_EXTENSIONS_APP_ID:
            raise RefusedError(401, token_check.invalid_token(), "not Entra's custom extension app (azp)")
        return claims


class Settings(NamedTuple):
    """What the External ID gate reads from app settings, once per process. `rules` or `caller`
    is None when unusable (`errors` says why): every callout is then refused."""

    rules: tuple[DomainRule, ...] | None
    caller: CallerCheck | None
    messages: MessageCatalog
    errors: tuple[str, ...]


def load_settings(environ: Mapping[str, str]) -> Settings:
    verdict = gate_settings.read(environ)
    callout, problems = read_callout_settings(environ)
    caller = CallerCheck(callout) if callout else None
    return Settings(verdict.rules, caller, verdict.messages, (*verdict.errors, *problems))


class Decision(NamedTuple):
    """Entra's reply (always HTTP 200) plus what the logs may say about it (never the address)."""

    body: dict[str, Any]
    outcome: Outcome
    domain: str | None
    client_id: object
    correlation_id: object


def reply(action: str, **fields: Any) -> dict[str, Any]:
    return {
        "data": {
            "@odata.type": RESPONSE_DATA_TYPE,
            "actions": [{"@odata.type": ACTION_TYPE + action, **fields}],
        }
    }


def continue_reply() -> dict[str, Any]:
    return reply("continueWithDefaultBehavior")


def block_page(message: str) -> dict[str, Any]:
    return reply("showBlockPage", message=message)


def validation_error(message: str) -> dict[str, Any]:
    return reply("showValidationError", message=message, attributeErrors={"email": message})


def parse_event(body: bytes) -> object:
    """The request body as JSON (request_body.parse), refusing one that repeats a decision key."""
    return request_body.parse(body, DECISION_KEYS)


def _get(value: object, *path: str) -> object:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def find_email(data: Mapping[str, Any]) -> object:
    """`userSignUpInfo.attributes.email.value`, else the email identity's sign-in name, else None."""
    email = _get(data, "userSignUpInfo", "attributes", "email", "value")
    if email is not None:
        return email
    identities = _get(data, "userSignUpInfo", "identities")
    if isinstance(identities, list):
        for identity in identities:
            if isinstance(identity, dict) and identity.get("signInType") == "email":
                return identity.get("issuerAssignedId")
    return None


def bad_request(messages: Messages, data: object = None) -> Decision:
    return Decision(
        block_page(messages.unavailable),
        Outcome.BAD_REQUEST,
        None,
        _get(data, "authenticationContext", "clientServicePrincipal", "appId"),
        _get(data, "authenticationContext", "correlationId"),
    )


def decide(
    event: object, rules: Sequence[DomainRule] | None, catalog: MessageCatalog, tenant_id: str
) -> Decision:
    """Entra's reply to the parsed event, in the page's language. Never raises for any JSON value."""
    data = _get(event, "data")
    if (
        not isinstance(data, dict)
        or data.get("@odata.type") != CALLOUT_DATA_TYPE
        or str(data.get("tenantId", "")).lower() != tenant_id
    ):
        return bad_request(catalog.default, data)
    messages = catalog.pick(_get(data, "authenticationContext", "client", "locale"))
    address = find_email(data)
    verdict = signup_rules.judge(address, rules)
    client_id = _get(data, "authenticationContext", "clientServicePrincipal", "appId")
    correlation_id = _get(data, "authenticationContext", "correlationId")
    if verdict.outcome is Outcome.ADMITTED:
        body = continue_reply()
    elif verdict.outcome is Outcome.NO_VALID_EMAIL and address is not None:
        # The user typed it: said beside the field, where it can be corrected.
        body = validation_error(messages.invalid_email)
    else:
        # Not allowed, no address at all, or the gate cannot decide: nothing to correct.
        body = block_page(getattr(messages, verdict.message or "unavailable"))
    return Decision(body, verdict.outcome, verdict.domain, client_id, correlation_id)
