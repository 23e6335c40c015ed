"""Pure sign-up rules for the B2C API connector: settings, email extraction, domain matching, replies."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import idna
from email_validator import EmailNotValidError, validate_email

API_VERSION = "1.0.0"

DEFAULT_DENIED_MESSAGE = "Sign-up is limited to approved organisations. Please use your work email address."
DEFAULT_INVALID_EMAIL_MESSAGE = "Please enter a valid email address."
DEFAULT_UNAVAILABLE_MESSAGE = (
    "Sign-up is not available right now. Please try again later or contact your administrator."
)

# An unresolved Key Vault reference surfaces as its own literal text in the app setting; accepting
# it as a password would let anyone who can read the app configuration authenticate.
_KEY_VAULT_REFERENCE_PREFIX = "@microsoft.keyvault("


class Step(enum.Enum):
    """API connector steps this function serves (the `step` claim B2C sends)."""

    POST_FEDERATION_SIGNUP = "PostFederationSignup"
    POST_ATTRIBUTE_COLLECTION = "PostAttributeCollection"


class Outcome(enum.Enum):
    """What happened to a sign-up, as logged."""

    ADMITTED = "admitted"
    REFUSED_DOMAIN = "refused-domain"
    NO_VALID_EMAIL = "no-valid-email"
    BAD_REQUEST = "bad-request"
    MISCONFIGURED = "misconfigured"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the setting and the fix."""


class DuplicateClaimError(ValueError):
    """The body names a claim the decision reads more than once."""


# The claims a decision reads. JSON parsers disagree about a repeated key (Python keeps the last,
# others the first), so a body that repeats one of these is never decided on.
DECISION_CLAIMS = frozenset({"step", "email", "identities", "signInType", "issuerAssignedId"})
# Label separators that UTS-46 maps to "." but IDNA2008 does not have.
_COMPATIBILITY_DOTS = ("\u3002", "\uff0e", "\uff61")


# NamedTuples rather than dataclasses: defining a dataclass costs about a millisecond at import,
# and import time is part of every cold start B2C waits through.
class DomainRule(NamedTuple):
    """One allowlist entry, held as the lowercase ASCII (IDNA) form of its domain."""

    domain: str
    wildcard: bool

    def matches(self, ascii_domain: str) -> bool:
        if self.wildcard:
            # Label boundary: "*.contoso.com" admits "a.contoso.com", never "evilcontoso.com"
            # and never the apex itself.
            return ascii_domain.endswith("." + self.domain)
        return ascii_domain == self.domain

    def __str__(self) -> str:
        return ("*." if self.wildcard else "") + self.domain


class Credentials(NamedTuple):
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"


class Messages(NamedTuple):
    denied: str = DEFAULT_DENIED_MESSAGE
    invalid_email: str = DEFAULT_INVALID_EMAIL_MESSAGE
    unavailable: str = DEFAULT_UNAVAILABLE_MESSAGE


# signupMessages / SIGNUP_MESSAGES field -> Messages field.
MESSAGE_FIELDS = {"denied": "denied", "invalidEmail": "invalid_email", "unavailable": "unavailable"}
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class MessageCatalog(NamedTuple):
    """The texts a user sees, by language: B2C sends the page's language as `ui_locales`."""

    default: Messages
    by_language: Mapping[str, Messages] = {}

    def pick(self, ui_locales: object) -> Messages:
        """The texts for the first language of `ui_locales` the catalog has (fr-CA falls back to fr)."""
        if isinstance(ui_locales, str):
            for tag in ui_locales.replace(",", " ").lower().split():
                for candidate in (tag, tag.split("-")[0]):
                    if candidate in self.by_language:
                        return self.by_language[candidate]
        return self.default


def parse_messages(raw: str | None, default: Messages = Messages()) -> MessageCatalog:  # noqa: B008 - immutable
    """SIGNUP_MESSAGES: a JSON object of language tag -> {denied, invalidEmail, unavailable}. A
    language names only the texts it changes; the first language is also the default when the
    user's ui_locales matches none. Raises ConfigError naming the field at fault."""
    if not raw:
        return MessageCatalog(default)
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ConfigError(
            'signup messages must be an object of language tag -> texts, e.g. {"fr": {"denied": "..."}}'
        )
    languages: dict[str, Messages] = {}
    for tag, texts in data.items():
        if not isinstance(tag, str) or not _LANGUAGE_TAG.match(tag):
            raise ConfigError(f"signup messages: {tag!r} is not a language tag such as en, fr or pt-BR")
        if not isinstance(texts, dict) or not texts or set(texts) - set(MESSAGE_FIELDS):
            raise ConfigError(
                f"signup messages.{tag} must be an object with {', '.join(MESSAGE_FIELDS)} (one or more)"
            )
        for field_name, text in texts.items():
            if not isinstance(text, str) or not text.strip() or len(text) > 1024:
                raise ConfigError(
                    f"signup messages.{tag}.{field_name} must be a text of 1 to 1024 characters"
                )
        languages[tag.lower()] = default._replace(**{MESSAGE_FIELDS[k]: v.strip() for k, v in texts.items()})
    first = next(iter(languages.values()), default)
    return MessageCatalog(first, languages)


class Settings(NamedTuple):
    """Everything the function reads from app settings, validated once per process.

    `rules` or `credentials` is None when its settings are unusable; `errors` says why. The
    function then refuses every request (fail closed) instead of guessing. Messages that cannot
    be read fall back to the built-in texts: a text must not close the gate.
    """

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


def _as_typed(domain: str) -> str | None:
    """The A-label form of a domain as the user typed it: ASCII lowercased, or a U-label under
    IDNA2008 without UTS-46's compatibility mapping. None when only that mapping would make it a
    domain (fullwidth letters, `。`, long s, the Kelvin sign): B2C stores the address as typed."""
    if domain.isascii():
        return domain.lower()
    lowered = domain.lower()
    if (
        any(dot in domain for dot in _COMPATIBILITY_DOTS)
        or len(lowered) != len(domain)
        or any(not a.isascii() and b.isascii() for a, b in zip(domain, lowered, strict=True))
    ):
        return None
    try:
        return idna.encode(lowered, uts46=False).decode("ascii")
    except idna.IDNAError:
        return None


def email_domain(address: object) -> str | None:
    """Return the lowercase ASCII domain of a valid address, or None.

    email-validator does the RFC and IDNA work: `bücher.example` and `xn--bcher-kva.example`
    come back as the same ASCII domain. It also applies UTS-46 mapping, which turns lookalikes
    such as fullwidth `contoso.com` into `contoso.com`; the domain as typed must say the same, or the
    address is not valid here. Deliverability (DNS) is not checked: B2C has already verified the
    mailbox, and a DNS lookup on the hot path would eat into B2C's 20 s budget.
    """
    if not isinstance(address, str) or not address.strip():
        return None
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    domain = result.ascii_domain.lower()
    return domain if _as_typed(address.strip().rpartition("@")[2]) == domain else None


def _refuse_duplicate_claims(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    claims = dict(pairs)
    if len(claims) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen and key in DECISION_CLAIMS:
                raise DuplicateClaimError(f"duplicate claim {key}")
            seen.add(key)
    return claims


def parse_claims(body: bytes) -> object:
    """The request body as JSON, refusing one that repeats a claim the decision reads.
    Raises ValueError (DuplicateClaimError for a repeated claim) for a body that is not JSON."""
    return json.loads(body, object_pairs_hook=_refuse_duplicate_claims)


def parse_domain_rule(entry: str) -> DomainRule:
    """Parse one allowlist entry (`contoso.com` or `*.contoso.com`), or raise ConfigError."""
    text = entry.strip()
    wildcard = text.startswith("*.")
    bare = text[2:] if wildcard else text
    domain = email_domain("postmaster@" + bare) if bare and "@" not in bare else None
    if domain is None:
        raise ConfigError(
            f"ALLOWED_EMAIL_DOMAINS entry {entry!r} is not a domain. Use a plain domain "
            "such as 'contoso.com' or a subdomain wildcard such as '*.contoso.com'."
        )
    return DomainRule(domain=domain, wildcard=wildcard)


def parse_allowlist(raw: str | None) -> tuple[DomainRule, ...]:
    """Parse the comma-separated allowlist; every entry must be valid, none is dropped."""
    entries = [part for part in (raw or "").split(",") if part.strip()]
    if not entries:
        raise ConfigError(
            "ALLOWED_EMAIL_DOMAINS is empty. Set it to a comma-separated list such as "
            "'contoso.com,*.fabrikam.com'."
        )
    return tuple(parse_domain_rule(entry) for entry in entries)


def parse_credentials(username: str | None, password: str | None) -> Credentials:
    if not username or not password:
        missing = [
            name
            for name, value in (("BASIC_AUTH_USERNAME", username), ("BASIC_AUTH_PASSWORD", password))
            if not value
        ]
        raise ConfigError(
            f"{' and '.join(missing)} not set: every request is refused until the basic-auth "
            "pair the API connector uses is configured."
        )
    if password.strip().lower().startswith(_KEY_VAULT_REFERENCE_PREFIX):
        raise ConfigError(
            "BASIC_AUTH_PASSWORD is an unresolved Key Vault reference: grant the app's identity "
            "'Key Vault Secrets User' on the vault and set keyVaultReferenceIdentity."
        )
    return Credentials(username=username, password=password)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and validate the app settings; collect every problem instead of stopping at one."""
    errors: list[str] = []
    rules: tuple[DomainRule, ...] | None
    credentials: Credentials | None
    try:
        rules = parse_allowlist(environ.get("ALLOWED_EMAIL_DOMAINS"))
    except ConfigError as exc:
        rules, errors = None, [*errors, str(exc)]
    try:
        credentials = parse_credentials(
            environ.get("BASIC_AUTH_USERNAME"), environ.get("BASIC_AUTH_PASSWORD")
        )
    except ConfigError as exc:
        credentials, errors = None, [*errors, str(exc)]
    default = Messages(
        denied=environ.get("SIGNUP_DENIED_MESSAGE") or DEFAULT_DENIED_MESSAGE,
        invalid_email=environ.get("SIGNUP_INVALID_EMAIL_MESSAGE") or DEFAULT_INVALID_EMAIL_MESSAGE,
        unavailable=environ.get("SIGNUP_UNAVAILABLE_MESSAGE") or DEFAULT_UNAVAILABLE_MESSAGE,
    )
    try:
        messages = parse_messages(environ.get("SIGNUP_MESSAGES"), default)
    except ConfigError as exc:
        messages, errors = MessageCatalog(default), [*errors, f"SIGNUP_MESSAGES ignored: {exc}"]
    return Settings(rules=rules, credentials=credentials, messages=messages, errors=tuple(errors))


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


def _refusal(step: Step, message: str, outcome: Outcome, domain: str | None) -> Decision:
    # ValidationError is only allowed before the user is created; after federation B2C accepts
    # Continue or ShowBlockPage alone.
    if step is Step.POST_ATTRIBUTE_COLLECTION:
        return Decision(400, validation_error(message), outcome, step.value, domain)
    return Decision(200, block_page(message), outcome, step.value, domain)


def admits(domain: str, rules: Sequence[DomainRule]) -> bool:
    """Whether the allowlist admits an email_domain() result: the sign-up gate and the web API's
    check-email both ask here."""
    return any(rule.matches(domain) for rule in rules)


def decide(claims: object, rules: Sequence[DomainRule] | None, messages: Messages) -> Decision:
    """Decide a sign-up from the parsed request body. Never raises for any JSON value."""
    if not isinstance(claims, dict):
        return Decision(200, block_page(messages.unavailable), Outcome.BAD_REQUEST, None, None)
    raw_step = claims.get("step")
    step = next((s for s in Step if s.value == raw_step), None)
    if step is None:
        shown = raw_step if isinstance(raw_step, str) else None
        return Decision(200, block_page(messages.unavailable), Outcome.BAD_REQUEST, shown, None)
    if rules is None:
        return Decision(200, block_page(messages.unavailable), Outcome.MISCONFIGURED, step.value, None)
    domain = email_domain(find_email(claims))
    if domain is None:
        return _refusal(step, messages.invalid_email, Outcome.NO_VALID_EMAIL, None)
    if admits(domain, rules):
        return Decision(200, continue_reply(), Outcome.ADMITTED, step.value, domain)
    return _refusal(step, messages.denied, Outcome.REFUSED_DOMAIN, domain)
