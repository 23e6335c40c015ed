"""The sign-up verdict, for any platform and for the web API's check-email: the allowlist, email
validation and normalisation, and the texts a refused user sees. No wire format and no app-setting
names: the protocol adapters (b2c_connector, entra_callout) read requests and write replies, and
gate_settings reads the app settings."""

from __future__ import annotations

import enum
import importlib.util
import json
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import idna
from email_validator import EmailNotValidError, validate_email

DEFAULT_DENIED_MESSAGE = "Sign-up is limited to approved organisations. Please use your work email address."
DEFAULT_INVALID_EMAIL_MESSAGE = "Please enter a valid email address."
DEFAULT_UNAVAILABLE_MESSAGE = (
    "Sign-up is not available right now. Please try again later or contact your administrator."
)

# Label separators that UTS-46 maps to "." but IDNA2008 does not have.
_COMPATIBILITY_DOTS = ("\u3002", "\uff0e", "\uff61")


class Outcome(enum.Enum):
    """What happened to a sign-up, as logged."""

    ADMITTED = "admitted"
    REFUSED_DOMAIN = "refused-domain"
    NO_VALID_EMAIL = "no-valid-email"  # malformed, or no address at all
    BAD_REQUEST = "bad-request"  # a protocol adapter could not read the request
    MISCONFIGURED = "misconfigured"  # the allowlist is unusable: the gate cannot decide


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the entry and the fix."""


class PublicSuffixWildcardError(ConfigError):
    """A wildcard allowlist entry on a public suffix (`*.co.uk`): it would admit every organisation
    registered under it."""

    def __init__(self, entry: str, suffix: str, source: str = "allowlist") -> None:
        super().__init__(
            f"{source} entry {entry!r} is a wildcard on the public suffix {suffix!r}: it would admit "
            f"every domain registered under {suffix} (Public Suffix List). Name your organisation's "
            f"own domain instead, e.g. '*.contoso.{suffix}'."
        )
        self.entry, self.suffix = entry, suffix


# NamedTuples rather than dataclasses: defining a dataclass costs about a millisecond at import,
# and import time is part of every cold start the tenant waits through.
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


class Messages(NamedTuple):
    denied: str = DEFAULT_DENIED_MESSAGE
    invalid_email: str = DEFAULT_INVALID_EMAIL_MESSAGE
    unavailable: str = DEFAULT_UNAVAILABLE_MESSAGE


# signupMessages / SIGNUP_MESSAGES field -> Messages field.
MESSAGE_FIELDS = {"denied": "denied", "invalidEmail": "invalid_email", "unavailable": "unavailable"}
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class MessageCatalog(NamedTuple):
    """The texts a user sees, by language: the tenant sends the page's language (B2C `ui_locales`,
    Entra `authenticationContext.client.locale`)."""

    default: Messages
    by_language: Mapping[str, Messages] = {}

    def pick(self, locales: object) -> Messages:
        """The texts for the first language of `locales` the catalog has (fr-CA falls back to fr)."""
        if isinstance(locales, str):
            for tag in locales.replace(",", " ").lower().split():
                for candidate in (tag, tag.split("-")[0]):
                    if candidate in self.by_language:
                        return self.by_language[candidate]
        return self.default


def parse_messages(raw: str | None, default: Messages = Messages()) -> MessageCatalog:  # noqa: B008 - immutable
    """SIGNUP_MESSAGES: a JSON object of language tag -> {denied, invalidEmail, unavailable}. A
    language names only the texts it changes; the first language is also the default when the
    user's language matches none. Raises ConfigError naming the field at fault."""
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
            unknown = sorted(set(texts) - set(MESSAGE_FIELDS)) if isinstance(texts, dict) else []
            raise ConfigError(
                f"signup messages.{tag} must be an object with {', '.join(MESSAGE_FIELDS)} (one or more)"
                + (f": {tag}.{unknown[0]} is not a text a refused user sees" if unknown else "")
            )
        for field_name, text in texts.items():
            if not isinstance(text, str) or not text.strip() or len(text) > 1024:
                raise ConfigError(
                    f"signup messages.{tag}.{field_name} must be a text of 1 to 1024 characters"
                )
        languages[tag.lower()] = default._replace(**{MESSAGE_FIELDS[k]: v.strip() for k, v in texts.items()})
    first = next(iter(languages.values()), default)
    return MessageCatalog(first, languages)


def _as_typed(domain: str) -> str | None:
    """The A-label form of a domain as the user typed it: ASCII lowercased, or a U-label under
    IDNA2008 without UTS-46's compatibility mapping. None when only that mapping would make it a
    domain (fullwidth letters, `。`, long s, the Kelvin sign): the tenant stores the address as typed."""
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


class Address(NamedTuple):
    normalized: str  # as email-validator normalises it: NFC, the domain lowercased
    ascii_domain: str


def validate_address(address: object) -> Address | None:
    """The normalised form and lowercase ASCII domain of a valid address, or None.

    Judged exactly as sent, never stripped: the tenant stores what it sent, so an address with
    surrounding whitespace or a control character is not valid here (email-validator refuses them).
    Unicode is composed (NFC) first, so a decomposed spelling of an allowed internationalised
    domain (`u` + U+0308 for `ü`) is that domain; a character NFC replaces on its own (the Kelvin
    sign, which becomes `K`) is a lookalike, not a spelling, and the address is not valid. email-validator does the RFC and IDNA work (`bücher.example` and
    `xn--bcher-kva.example` are one domain); it also applies UTS-46 mapping, which turns lookalikes
    such as fullwidth `contoso.com` into `contoso.com`, so the domain as typed must say the same.
    Deliverability (DNS) is not checked: the tenant has verified the mailbox, and a DNS lookup would
    eat into its wait.
    """
    if not isinstance(address, str) or not address:
        return None
    typed_domain = address.rpartition("@")[2]
    if not typed_domain.isascii() and not all(unicodedata.is_normalized("NFC", c) for c in typed_domain):
        return None
    composed = unicodedata.normalize("NFC", address)
    try:
        result = validate_email(composed, check_deliverability=False)
    except EmailNotValidError:
        return None
    domain = result.ascii_domain.lower()
    if _as_typed(composed.rpartition("@")[2]) != domain:
        return None
    return Address(result.normalized, domain)


def email_domain(address: object) -> str | None:
    """The lowercase ASCII domain of a valid address (validate_address), or None."""
    valid = validate_address(address)
    return valid.ascii_domain if valid else None


_public_suffix_list: bytes | None = None


def _listed_rules() -> bytes:
    """The publicsuffixlist package's copy of the list, found without importing the package."""
    global _public_suffix_list
    if _public_suffix_list is None:
        spec = importlib.util.find_spec("publicsuffixlist")
        if spec is None or spec.origin is None:
            raise ConfigError("the publicsuffixlist package is not installed")
        with open(os.path.join(os.path.dirname(spec.origin), "public_suffix_list.dat"), "rb") as listed:
            _public_suffix_list = listed.read()
    return _public_suffix_list


def public_suffix(domain: str) -> str | None:
    """`domain` itself when the Public Suffix List (the publicsuffixlist package's copy) makes it
    a public suffix, else None. Read only for a wildcard entry, on its first use.

    Parsing all ~10,000 rules costs ~40 ms, on every cold start the tenant waits through. For a
    domain the library consults exactly the rules s, *.s and !s of each label-suffix s, so it is
    handed those lines of its own list (found as the list spells them, ASCII or Unicode, and given
    in A-labels, which spares it Python's IDNA 2003 codec) and decides as it would with all of them.
    With no wildcard or exception among them, its answer is plain (the domain is itself a rule, or
    a single label: the list's implicit `*`) and the package, ~2 ms to compile, is not imported.
    A test holds this to the package's answer with the whole list, for every rule of the list.
    """
    listed = _listed_rules()
    labels = domain.split(".")
    lines = []
    # From the top-level domain down: a suffix no line ends with has no rule, nor has any longer one.
    for start in reversed(range(len(labels))):
        suffix = ".".join(labels[start:])
        spellings = [suffix]
        try:  # noqa: SIM105 - contextlib.suppress would load contextlib: ~0.4 ms of every cold start
            spellings.append(idna.decode(suffix))
        except (idna.IDNAError, UnicodeError):
            pass
        spellings = [spelling for spelling in dict.fromkeys(spellings) if f"{spelling}\n".encode() in listed]
        if not spellings:
            break
        for prefix in ("", "*.", "!"):
            if any(f"\n{prefix}{spelling}\n".encode() in listed for spelling in spellings):
                lines.append(prefix + suffix)
    if not any(line[0] in "*!" for line in lines):
        return domain if domain in lines or len(labels) == 1 else None
    import publicsuffixlist

    return (
        domain
        if publicsuffixlist.PublicSuffixList(lines, accept_encoded_idn=False).is_public(domain)
        else None
    )


def parse_domain_rule(entry: str, source: str = "allowlist") -> DomainRule:
    """One allowlist entry (`contoso.com` or `*.contoso.com`), or ConfigError: the entry is not a
    domain, or (PublicSuffixWildcardError) it is a wildcard on a public suffix. Errors name the
    list as `source` (the caller's name for it: an app setting, a stack config key)."""
    text = entry.strip()
    wildcard = text.startswith("*.")
    bare = text[2:] if wildcard else text
    # A wildcard's base is the parent of the domains it admits (`*.com` admits `a.com`): valid as one.
    probe = "a." + bare if wildcard else bare
    domain = email_domain("postmaster@" + probe) if bare and "@" not in bare else None
    if domain is not None and wildcard:
        domain = domain[2:]
    if domain is None:
        raise ConfigError(
            f"{source} entry {entry!r} is not a domain. Use a plain domain "
            "such as 'contoso.com' or a subdomain wildcard such as '*.contoso.com'."
        )
    if wildcard and public_suffix(domain):
        raise PublicSuffixWildcardError(text, domain, source)
    return DomainRule(domain=domain, wildcard=wildcard)


class Allowlist(NamedTuple):
    rules: tuple[DomainRule, ...]
    ignored: tuple[PublicSuffixWildcardError, ...]  # wildcards on public suffixes, left out


def read_allowlist(raw: str | None, source: str = "allowlist") -> Allowlist:
    """The comma-separated allowlist as the function applies it: a wildcard on a public suffix is
    left out (and reported), any other bad entry fails the whole list (ConfigError), and so does a
    list with nothing left to admit."""
    entries = [part for part in (raw or "").split(",") if part.strip()]
    if not entries:
        raise ConfigError(
            f"{source} is empty. Set it to a comma-separated list such as 'contoso.com,*.fabrikam.com'."
        )
    rules: list[DomainRule] = []
    ignored: list[PublicSuffixWildcardError] = []
    for entry in entries:
        try:
            rules.append(parse_domain_rule(entry, source))
        except PublicSuffixWildcardError as exc:
            ignored.append(exc)
    if not rules:
        raise ConfigError(f"{source} has no usable entry: {'; '.join(map(str, ignored))}")
    return Allowlist(tuple(rules), tuple(ignored))


def parse_allowlist(raw: str | None, source: str = "allowlist") -> tuple[DomainRule, ...]:
    """Every entry of the comma-separated allowlist, all valid (ConfigError otherwise)."""
    allowlist = read_allowlist(raw, source)
    if allowlist.ignored:
        raise allowlist.ignored[0]
    return allowlist.rules


def admits(domain: str, rules: Sequence[DomainRule]) -> bool:
    """Whether the allowlist admits an email_domain() result."""
    return any(rule.matches(domain) for rule in rules)


class Verdict(NamedTuple):
    """What the rule says about one address, in no platform's words: the outcome, the domain and
    normalised address when valid (the logs carry the domain, never the address), and the
    Messages field to show when refused."""

    outcome: Outcome
    domain: str | None
    address: str | None
    message: str | None  # "denied", "invalid_email" or "unavailable"; None when admitted


def judge(address: object, rules: Sequence[DomainRule] | None) -> Verdict:
    """The verdict on an address as the tenant sent it (any JSON value). `rules` None: the
    allowlist is unusable, and the gate cannot decide. Never raises."""
    if rules is None:
        return Verdict(Outcome.MISCONFIGURED, None, None, "unavailable")
    valid = validate_address(address)
    if valid is None:
        return Verdict(Outcome.NO_VALID_EMAIL, None, None, "invalid_email")
    if admits(valid.ascii_domain, rules):
        return Verdict(Outcome.ADMITTED, valid.ascii_domain, valid.normalized, None)
    return Verdict(Outcome.REFUSED_DOMAIN, valid.ascii_domain, valid.normalized, "denied")
