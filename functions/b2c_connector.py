"""B2C's API connector protocol: HTTP Basic from the connector, the claims B2C posts, and the
replies it reads (`Continue`, `ShowBlockPage`, `ValidationError`). Turns claims into the
verdict's input and the verdict into B2C's reply."""

from __future__ import annotations

import base64
import enum
import hmac
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import app_settings
import gate_settings
import request_body
import signup_rules
from signup_rules import DomainRule, MessageCatalog, Messages, Outcome

API_VERSION = "1.0.0"
# An unresolved Key Vault reference surfaces as its own literal text in the app setting; accepting
# it as a password would let anyone who can read the app configuration authenticate.
_KEY_VAULT_REFERENCE_PREFIX = "@microsoft.keyvault("
# The claims a decision reads: a body that repeats one is never decided on.
DECISION_CLAIMS = frozenset({"step", "email", "identities", "signInType", "issuerAssignedId"})


class Step(enum.Enum):
    """API connector steps this function serves (the `step` claim B2C sends)."""

    POST_FEDERATION_SIGNUP = "PostFederationSignup"
    POST_ATTRIBUTE_COLLECTION = "PostAttributeCollection"


class Credentials(NamedTuple):
    """The connector's username and every password accepted now: during a rotation the previous,
    the current and the next one."""

    username: str
    passwords: tuple[str, ...]

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, passwords='***')"


class Settings(NamedTuple):
    """What the B2C gate reads from app settings, once per process. `rules` or `credentials` is
    None when unusable (`errors` says why): every request is then refused."""

    rules: tuple[DomainRule, ...] | None
    credentials: Credentials | None
    messages: MessageCatalog
    errors: tuple[str, ...]


class Decision(NamedTuple):
    """The reply for B2C plus what the logs may say about it (never the address)."""

    status: int
    body: dict[str, Any]
    outcome: Outcome
    step: str | None
    domain: str | None


def read_credentials(environ: Mapping[str, str]) -> tuple[Credentials | None, list[str]]:
    """The connector's credentials, or None and why every request will be refused. An unresolved
    Key Vault reference is never a password: it is left out, and the gate closes only when no
    password is left."""
    username = environ.get(app_settings.BASIC_AUTH_USERNAME)
    password = environ.get(app_settings.BASIC_AUTH_PASSWORD)
    if not username or not password:
        missing = [
            name
            for name, value in (
                (app_settings.BASIC_AUTH_USERNAME, username),
                (app_settings.BASIC_AUTH_PASSWORD, password),
            )
            if not value
        ]
        return None, [
            f"{' and '.join(missing)} not set: every request is refused until the basic-auth "
            "pair the API connector uses is configured."
        ]
    passwords, problems = [], []
    for name in app_settings.BASIC_AUTH_PASSWORDS:
        value = environ.get(name)
        if value and value.strip().lower().startswith(_KEY_VAULT_REFERENCE_PREFIX):
            problems.append(
                f"{name} is an unresolved Key Vault reference: grant the app's identity "
                "'Key Vault Secrets User' on the vault and set keyVaultReferenceIdentity."
            )
        elif value:
            passwords.append(value)
    return (Credentials(username, tuple(passwords)) if passwords else None), problems


def load_settings(environ: Mapping[str, str]) -> Settings:
    verdict = gate_settings.read(environ)
    credentials, problems = read_credentials(environ)
    return Settings(verdict.rules, credentials, verdict.messages, (*verdict.errors, *problems))


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
    # Every comparison always runs, so timing does not reveal which part was wrong, nor which
    # password of a rotation matched.
    user_ok = hmac.compare_digest(username.encode(), expected.username.encode())
    password_ok = False
    for accepted in expected.passwords:
        password_ok |= hmac.compare_digest(password.encode(), accepted.encode())
    return user_ok & password_ok


def authentication_challenge() -> dict[str, str]:
    return {"WWW-Authenticate": f'Basic realm="{app_settings.REALM}", charset="UTF-8"'}


def error(status: int, message: str) -> dict[str, Any]:
    return {"version": API_VERSION, "status": status, "userMessage": message}


def parse_claims(body: bytes) -> object:
    """The request body as JSON (request_body.parse), refusing one that repeats a decision claim."""
    return request_body.parse(body, DECISION_CLAIMS)


def find_email(claims: Mapping[str, Any]) -> object:
    """The `email` claim, or else the first local-account identity's sign-in name.

    B2C omits claims that have no value, so an absent or null `email` falls through to
    `identities[]`; a present but malformed one does not (it is judged as it is).
    """
    email = claims.get("email")
    if email is not None:
        return email
    identities = claims.get("identities")
    if isinstance(identities, list):
        for identity in identities:
            if isinstance(identity, dict) and identity.get("signInType") == "emailAddress":
                return identity.get("issuerAssignedId")
    return None


def continue_reply() -> dict[str, Any]:
    return {"version": API_VERSION, "action": "Continue"}


def block_page(message: str) -> dict[str, Any]:
    return {"version": API_VERSION, "action": "ShowBlockPage", "userMessage": message}


def validation_error(message: str) -> dict[str, Any]:
    return {"version": API_VERSION, "status": 400, "action": "ValidationError", "userMessage": message}


def bad_request(messages: Messages, step: str | None = None) -> Decision:
    return Decision(200, block_page(messages.unavailable), Outcome.BAD_REQUEST, step, None)


def decide(claims: object, rules: Sequence[DomainRule] | None, messages: Messages) -> Decision:
    """B2C's reply to the parsed request body. Never raises for any JSON value."""
    if not isinstance(claims, dict):
        return bad_request(messages)
    raw_step = claims.get("step")
    step = next((s for s in Step if s.value == raw_step), None)
    if step is None:
        return bad_request(messages, raw_step if isinstance(raw_step, str) else None)
    verdict = signup_rules.judge(find_email(claims), rules)
    if verdict.outcome is Outcome.ADMITTED:
        return Decision(200, continue_reply(), verdict.outcome, step.value, verdict.domain)
    message = getattr(messages, verdict.message or "unavailable")
    # The gate cannot decide: nothing the user could correct on the page.
    if verdict.outcome is Outcome.MISCONFIGURED:
        return Decision(200, block_page(message), verdict.outcome, step.value, None)
    # ValidationError is only allowed before the user is created; after federation B2C accepts
    # Continue or ShowBlockPage alone.
    if step is Step.POST_ATTRIBUTE_COLLECTION:
        return Decision(400, validation_error(message), verdict.outcome, step.value, verdict.domain)
    return Decision(200, block_page(message), verdict.outcome, step.value, verdict.domain)
