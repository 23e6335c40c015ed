"""The verdict through B2C's replies: allowlist parsing, domain matching, email extraction, reply shapes."""

from __future__ import annotations

import app_settings
import pytest
import signup_rules
from b2c_connector import decide, load_settings
from signup_rules import ConfigError, Messages, Outcome, parse_allowlist

RULES = parse_allowlist("contoso.com,*.fabrikam.com,bücher.example")
MESSAGES = Messages()


def claims(email: object = None, step: str = "PostAttributeCollection", **extra: object) -> dict[str, object]:
    body: dict[str, object] = {"step": step, **extra}
    if email is not None:
        body["email"] = email
    return body


@pytest.mark.parametrize(
    ("address", "admitted"),
    [
        ("jane@contoso.com", True),
        ("Jane.Doe@CONTOSO.COM", True),
        ("jane@sub.contoso.com", False),  # a plain entry admits the exact domain only
        ("jane@evilcontoso.com", False),
        ("jane@contoso.com.evil.com", False),
        ("jane@sales.fabrikam.com", True),
        ("jane@a.b.fabrikam.com", True),
        ("jane@fabrikam.com", False),  # a wildcard admits subdomains, not the apex
        ("jane@notfabrikam.com", False),
        ("jane@bücher.example", True),
        ("jane@xn--bcher-kva.example", True),
        ("jane@BÜCHER.example", True),
        ("jane@buecher.example", False),
        ("jane@contoso.org", False),
    ],
)
def test_domain_matching(address: str, admitted: bool) -> None:
    decision = decide(claims(address), RULES, MESSAGES)
    assert (decision.outcome is Outcome.ADMITTED) is admitted, decision


def test_punycode_entry_matches_unicode_address() -> None:
    rules = parse_allowlist("xn--bcher-kva.example, *.XN--BCHER-KVA.example")
    assert decide(claims("a@bücher.example"), rules, MESSAGES).outcome is Outcome.ADMITTED
    assert decide(claims("a@shop.bücher.example"), rules, MESSAGES).outcome is Outcome.ADMITTED


@pytest.mark.parametrize(
    "entry",
    [
        "contoso",
        "*.",
        "*contoso.com",
        "*.*.contoso.com",
        "user@contoso.com",
        "contoso..com",
        "http://contoso.com",
        "contoso.com.",
        "con toso.com",
        "[10.0.0.1]",
        "*",
    ],
)
def test_invalid_allowlist_entry_is_named(entry: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_allowlist(f"contoso.com,{entry}", app_settings.ALLOWED_EMAIL_DOMAINS)
    assert repr(entry.strip()) in str(raised.value)
    assert "ALLOWED_EMAIL_DOMAINS" in str(raised.value)


@pytest.mark.parametrize("raw", [None, "", " , ,"])
def test_empty_allowlist_is_a_configuration_error(raw: str | None) -> None:
    with pytest.raises(ConfigError, match="ALLOWED_EMAIL_DOMAINS is empty"):
        parse_allowlist(raw, app_settings.ALLOWED_EMAIL_DOMAINS)


def test_one_bad_entry_fails_the_whole_list_closed() -> None:
    settings = load_settings(
        {
            "ALLOWED_EMAIL_DOMAINS": "contoso.com,not a domain",
            "BASIC_AUTH_USERNAME": "u",
            "BASIC_AUTH_PASSWORD": "p",
        }
    )
    assert settings.rules is None
    decision = decide(claims("jane@contoso.com"), settings.rules, settings.messages.default)
    assert decision.outcome is Outcome.MISCONFIGURED
    assert decision.body["action"] == "ShowBlockPage"


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"BASIC_AUTH_PASSWORD": "p"}, "BASIC_AUTH_USERNAME not set"),
        ({"BASIC_AUTH_USERNAME": "u"}, "BASIC_AUTH_PASSWORD not set"),
        ({}, "BASIC_AUTH_USERNAME and BASIC_AUTH_PASSWORD not set"),
        (
            {
                "BASIC_AUTH_USERNAME": "u",
                "BASIC_AUTH_PASSWORD": "@Microsoft.KeyVault(SecretUri=https://v/secrets/x/)",
            },
            "unresolved Key Vault reference",
        ),
    ],
)
def test_credential_problems_are_reported(environ: dict[str, str], fragment: str) -> None:
    settings = load_settings({"ALLOWED_EMAIL_DOMAINS": "contoso.com", **environ})
    assert settings.credentials is None
    assert any(fragment in error for error in settings.errors), settings.errors


def test_credentials_repr_hides_the_password() -> None:
    settings = load_settings(
        {
            "ALLOWED_EMAIL_DOMAINS": "contoso.com",
            "BASIC_AUTH_USERNAME": "u",
            "BASIC_AUTH_PASSWORD": "hunter22",
        }
    )
    assert "hunter22" not in repr(settings)


def test_custom_messages_are_used() -> None:
    settings = load_settings(
        {
            "ALLOWED_EMAIL_DOMAINS": "contoso.com",
            "SIGNUP_DENIED_MESSAGE": "Staff only.",
            "SIGNUP_INVALID_EMAIL_MESSAGE": "Bad.",
        }
    )
    assert (
        decide(claims("a@other.com"), settings.rules, settings.messages.default).body["userMessage"]
        == "Staff only."
    )
    assert decide(claims("nope"), settings.rules, settings.messages.default).body["userMessage"] == "Bad."


@pytest.mark.parametrize(
    ("body", "expected_domain"),
    [
        (
            {"identities": [{"signInType": "emailAddress", "issuerAssignedId": "a@contoso.com"}]},
            "contoso.com",
        ),
        (
            {
                "identities": [
                    {"signInType": "federated", "issuer": "google.com", "issuerAssignedId": "a@google.com"},
                    {"signInType": "emailAddress", "issuerAssignedId": "a@contoso.com"},
                    {"signInType": "emailAddress", "issuerAssignedId": "b@other.com"},
                ]
            },
            "contoso.com",
        ),
        (
            {
                "email": None,
                "identities": [{"signInType": "emailAddress", "issuerAssignedId": "a@contoso.com"}],
            },
            "contoso.com",
        ),
        # A present email claim wins over identities, even when identities would be admitted.
        (
            {
                "email": "a@other.com",
                "identities": [{"signInType": "emailAddress", "issuerAssignedId": "a@contoso.com"}],
            },
            "other.com",
        ),
    ],
)
def test_email_source(body: dict[str, object], expected_domain: str) -> None:
    decision = decide({"step": "PostAttributeCollection", **body}, RULES, MESSAGES)
    assert decision.domain == expected_domain


@pytest.mark.parametrize(
    "email",
    [
        "",
        "   ",
        "not-an-address",
        "a@",
        "@contoso.com",
        "a@@contoso.com",
        42,
        ["a@contoso.com"],
        {"x": 1},
        True,
    ],
)
def test_no_valid_email(email: object) -> None:
    decision = decide({"step": "PostAttributeCollection", "email": email}, RULES, MESSAGES)
    assert decision.outcome is Outcome.NO_VALID_EMAIL
    assert decision.status == 400


def test_identities_without_email_entry_is_no_valid_email() -> None:
    body = {
        "step": "PostAttributeCollection",
        "identities": [{"signInType": "federated", "issuerAssignedId": "x"}, "junk"],
    }
    assert decide(body, RULES, MESSAGES).outcome is Outcome.NO_VALID_EMAIL


def test_replies_follow_the_b2c_contract_per_step() -> None:
    admitted = decide(claims("a@contoso.com"), RULES, MESSAGES)
    assert (admitted.status, admitted.body) == (200, {"version": "1.0.0", "action": "Continue"})

    inline = decide(claims("a@other.com"), RULES, MESSAGES)
    assert inline.status == 400
    assert inline.body == {
        "version": "1.0.0",
        "status": 400,
        "action": "ValidationError",
        "userMessage": signup_rules.DEFAULT_DENIED_MESSAGE,
    }

    blocked = decide(claims("a@other.com", step="PostFederationSignup"), RULES, MESSAGES)
    assert blocked.status == 200
    assert blocked.body == {
        "version": "1.0.0",
        "action": "ShowBlockPage",
        "userMessage": signup_rules.DEFAULT_DENIED_MESSAGE,
    }

    no_email = decide(claims(step="PostFederationSignup"), RULES, MESSAGES)
    assert (no_email.status, no_email.body["action"]) == (200, "ShowBlockPage")


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "text",
        1,
        {"email": "a@contoso.com"},
        claims("a@contoso.com", step="PreTokenIssuance"),
        claims("a@contoso.com", step="postattributecollection"),
        {"step": 7},
    ],
)
def test_missing_unknown_step_or_non_object_blocks(body: object) -> None:
    decision = decide(body, RULES, MESSAGES)
    assert (decision.status, decision.body["action"]) == (200, "ShowBlockPage")
    assert decision.outcome is Outcome.BAD_REQUEST


@pytest.mark.parametrize(
    "address",
    [
        "a@ｃｏｎｔｏｓｏ.ｃｏｍ",  # fullwidth letters
        "a@contoso。com",  # ideographic full stop
        "a@contoso．com",  # fullwidth full stop
        "a@contoso｡com",  # halfwidth ideographic full stop
        "a@contoſo.com",  # long s
        "a@\u212a.fabrikam.com",  # Kelvin sign, lowercases to ASCII k
    ],
)
def test_compatibility_lookalikes_are_not_the_allowed_domain(address: str) -> None:
    decision = decide(claims(address), RULES, MESSAGES)
    assert decision.outcome is not Outcome.ADMITTED, decision


@pytest.mark.parametrize(
    "address",
    ["a@CONTOSO.com", "a@bücher.example", "a@BÜCHER.EXAMPLE", "a@xn--bcher-kva.example", "a@X.Fabrikam.com"],
)
def test_case_and_genuine_idn_forms_are_the_allowed_domain(address: str) -> None:
    assert decide(claims(address), RULES, MESSAGES).outcome is Outcome.ADMITTED


def test_a_lookalike_allowlist_entry_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="ｃｏｎｔｏｓｏ"):
        parse_allowlist("ｃｏｎｔｏｓｏ.com")


CATALOG = '{"fr": {"denied": "L\'inscription est réservée.", "invalidEmail": "Adresse invalide."}, "de": {"denied": "Nur für Partner."}}'


@pytest.mark.parametrize(
    ("ui_locales", "expected"),
    [
        ("fr", "L'inscription est réservée."),
        ("fr-CA", "L'inscription est réservée."),
        ("de-DE", "Nur für Partner."),
        ("es en", "L'inscription est réservée."),
        (None, "L'inscription est réservée."),
    ],
)
def test_messages_follow_the_users_language(ui_locales: str | None, expected: str) -> None:
    settings = load_settings({"ALLOWED_EMAIL_DOMAINS": "contoso.com", "SIGNUP_MESSAGES": CATALOG})
    messages = settings.messages.pick(ui_locales)
    assert decide(claims("a@other.com"), settings.rules, messages).body["userMessage"] == expected


def test_a_language_that_names_one_text_keeps_the_others() -> None:
    catalog = signup_rules.parse_messages(CATALOG)
    assert catalog.pick("de").invalid_email == signup_rules.DEFAULT_INVALID_EMAIL_MESSAGE
    assert catalog.pick("fr").unavailable == signup_rules.DEFAULT_UNAVAILABLE_MESSAGE


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ('["fr"]', "must be an object"),
        ('{"français": {"denied": "x"}}', "is not a language tag"),
        ('{"fr": {"refused": "x"}}', "messages.fr must be an object with denied"),
        ('{"fr": {"denied": ""}}', "messages.fr.denied must be a text"),
    ],
)
def test_bad_messages_name_the_field_and_never_close_the_gate(raw: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        signup_rules.parse_messages(raw)
    settings = load_settings(
        {
            "ALLOWED_EMAIL_DOMAINS": "contoso.com",
            "BASIC_AUTH_USERNAME": "u",
            "BASIC_AUTH_PASSWORD": "p",
            "SIGNUP_MESSAGES": raw,
        }
    )
    assert settings.rules is not None and settings.credentials is not None
    assert any("SIGNUP_MESSAGES ignored" in error for error in settings.errors)


# -- issue 17: the gate judges exactly what the tenant will store -------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "jane@contoso.com\n",
        " jane@contoso.com",
        "jane@contoso.com ",
        "\tjane@contoso.com",
        "jane@contoso.com\u0085",
        "jane@contoso.com\u2028",
        "\u3000jane@contoso.com",
        "jane@contoso.com\u001c",
        "ja\u001cne@contoso.com",
        "jane@contoso.com\u200b",
    ],
)
def test_surrounding_whitespace_or_control_characters_are_malformed_not_stripped(address: str) -> None:
    decision = decide(claims(address), RULES, MESSAGES)
    assert decision.outcome is Outcome.NO_VALID_EMAIL, decision
    assert signup_rules.judge(address, RULES).message == "invalid_email"


@pytest.mark.parametrize(
    "address", ["jane@bu\u0308cher.example", "jane@BU\u0308CHER.example", "jane@shop.xn--bcher-kva.example"]
)
def test_a_decomposed_spelling_of_an_allowed_idn_domain_is_admitted(address: str) -> None:
    rules = parse_allowlist("bücher.example,*.bücher.example")
    assert decide(claims(address), rules, MESSAGES).outcome is Outcome.ADMITTED


def test_the_verdict_knows_no_wire_format() -> None:
    assert signup_rules.judge("Jane@CONTOSO.com", RULES) == signup_rules.Verdict(
        Outcome.ADMITTED, "contoso.com", "Jane@contoso.com", None
    )
    assert signup_rules.judge("eve@evil.example", RULES) == signup_rules.Verdict(
        Outcome.REFUSED_DOMAIN, "evil.example", "eve@evil.example", "denied"
    )
    assert signup_rules.judge(None, RULES) == signup_rules.Verdict(
        Outcome.NO_VALID_EMAIL, None, None, "invalid_email"
    )
    assert signup_rules.judge("jane@contoso.com", None).outcome is Outcome.MISCONFIGURED


@pytest.mark.parametrize(
    ("entry", "suffix"),
    [
        ("*.co.uk", "co.uk"),
        ("*.com.au", "com.au"),
        ("*.github.io", "github.io"),
        ("*.com", "com"),
        ("*.kawasaki.jp", "kawasaki.jp"),  # public through its wildcard rule *.kawasaki.jp
        ("*.foo.kawasaki.jp", "foo.kawasaki.jp"),
        ("*.рф", "xn--p1ai"),  # as the list spells it, in Unicode
        ("*.XN--P1AI", "xn--p1ai"),
    ],
)
def test_a_wildcard_on_a_public_suffix_is_a_configuration_error_naming_the_suffix(
    entry: str, suffix: str
) -> None:
    with pytest.raises(signup_rules.PublicSuffixWildcardError) as raised:
        signup_rules.parse_domain_rule(entry)
    assert raised.value.suffix == suffix and repr(suffix) in str(raised.value)
    assert isinstance(raised.value, ConfigError)  # what stack config catches
    # Stack config names its own key: the text names the list as the caller says.
    with pytest.raises(ConfigError) as named:
        signup_rules.parse_domain_rule(entry, "b2c-signup:allowedDomains")
    assert str(named.value).startswith(
        f"b2c-signup:allowedDomains entry {entry!r} is a wildcard on the public suffix {suffix!r}"
    )


@pytest.mark.parametrize(
    "entry",
    [
        "*.contoso.co.uk",
        "*.city.kawasaki.jp",
        "co.uk",
        "*.fabrikam.com",
        "*.corp.internal",
        "*.contoso.github.io",
    ],
)
def test_a_wildcard_below_a_public_suffix_and_a_plain_suffix_are_allowed(entry: str) -> None:
    signup_rules.parse_domain_rule(entry)


def test_the_function_ignores_a_public_suffix_wildcard_and_keeps_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = load_settings(
        {
            "ALLOWED_EMAIL_DOMAINS": "contoso.com,*.co.uk",
            "BASIC_AUTH_USERNAME": "u",
            "BASIC_AUTH_PASSWORD": "p",
        }
    )
    assert settings.rules == (signup_rules.DomainRule("contoso.com", False),)
    assert any("ALLOWED_EMAIL_DOMAINS entry '*.co.uk'" in e and "'co.uk'" in e for e in settings.errors)
    assert decide(claims("eve@anything.co.uk"), settings.rules, MESSAGES).outcome is Outcome.REFUSED_DOMAIN
    assert decide(claims("jane@contoso.com"), settings.rules, MESSAGES).outcome is Outcome.ADMITTED


def test_an_allowlist_of_public_suffix_wildcards_alone_closes_the_gate() -> None:
    settings = load_settings({"ALLOWED_EMAIL_DOMAINS": "*.co.uk,*.github.io"})
    assert settings.rules is None
    assert any("has no usable entry" in e for e in settings.errors)
    assert decide(claims("jane@x.co.uk"), settings.rules, MESSAGES).outcome is Outcome.MISCONFIGURED


def test_the_public_suffix_list_is_read_only_for_a_wildcard_entry() -> None:
    import subprocess
    import sys

    from tests.conftest import FUNCTIONS_DIR

    probe = (
        "import sys, signup_rules; loaded = lambda: (signup_rules._public_suffix_list is not None,"
        " 'publicsuffixlist' in sys.modules);"
        "signup_rules.parse_allowlist('contoso.com,fabrikam.com'); print(*loaded());"
        "signup_rules.parse_allowlist('*.fabrikam.com'); print(*loaded());"  # exact rules decide
        "signup_rules.parse_allowlist('*.city.kawasaki.jp'); print(*loaded())"  # *.kawasaki.jp bears on it
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=FUNCTIONS_DIR, capture_output=True, text=True, check=True
    )
    assert done.stdout.split("\n")[:3] == ["False False", "True False", "True True"]


def test_the_lines_handed_to_the_list_decide_as_the_whole_list_does() -> None:
    """public_suffix() hands the library only the lines it consults, and decides plain cases
    itself; for every wildcard and exception rule of the list, and a sample of the rest (each with a
    label below and above it), the answer is the one the package gives with the whole list."""
    import publicsuffixlist

    full = publicsuffixlist.PublicSuffixList()
    with open(publicsuffixlist.PSLFILE, encoding="utf-8") as listed:
        rules = [line.strip() for line in listed if line.strip() and not line.startswith("//")]
    wildcards_and_exceptions = [rule for rule in rules if rule[0] in "*!"]
    unicode = [rule for rule in rules if not rule.isascii()]
    checked = 0
    unlisted = ["intranet", "corp.intranet", "xn--zckzah", "a.xn--zckzah", "localdomain"]
    for rule in [*wildcards_and_exceptions, *unicode[::10], *rules[::100], *unlisted]:
        bare = rule.lstrip("!").removeprefix("*.")
        try:
            ascii_rule = signup_rules.idna.encode(bare, uts46=True).decode("ascii")
        except signup_rules.idna.IDNAError:
            continue  # not a name IDNA2008 encodes: no allowlist entry can spell it
        for domain in (ascii_rule, f"x.{ascii_rule}", ascii_rule.partition(".")[2]):
            if domain:
                assert (signup_rules.public_suffix(domain) is not None) is full.is_public(domain), domain
                checked += 1
    assert checked > 1000


def test_b2c_accepts_each_password_of_a_rotation() -> None:
    import base64

    environ = {
        "ALLOWED_EMAIL_DOMAINS": "contoso.com",
        "BASIC_AUTH_USERNAME": "u",
        "BASIC_AUTH_PASSWORD": "current",
        "BASIC_AUTH_PREVIOUS_PASSWORD": "previous",
        "BASIC_AUTH_NEXT_PASSWORD": "@Microsoft.KeyVault(SecretUri=https://v/secrets/x/2)",
    }
    settings = load_settings(environ)
    import b2c_connector

    def basic(password: str) -> str:
        return "Basic " + base64.b64encode(f"u:{password}".encode()).decode()

    assert settings.credentials is not None and "previous" not in repr(settings)
    assert b2c_connector.is_authorized(basic("current"), settings.credentials)
    assert b2c_connector.is_authorized(basic("previous"), settings.credentials)
    # An unresolved reference is never a password, and closes the gate only when nothing else is left.
    assert not b2c_connector.is_authorized(basic(environ["BASIC_AUTH_NEXT_PASSWORD"]), settings.credentials)
    assert any("BASIC_AUTH_NEXT_PASSWORD is an unresolved Key Vault reference" in e for e in settings.errors)
