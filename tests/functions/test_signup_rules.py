"""The pure decision rules: allowlist parsing, domain matching, email extraction, reply shapes."""

from __future__ import annotations

import pytest
import signup_rules
from signup_rules import ConfigError, Messages, Outcome, decide, load_settings, parse_allowlist

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
        parse_allowlist(f"contoso.com,{entry}")
    assert repr(entry.strip()) in str(raised.value)
    assert "ALLOWED_EMAIL_DOMAINS" in str(raised.value)


@pytest.mark.parametrize("raw", [None, "", " , ,"])
def test_empty_allowlist_is_a_configuration_error(raw: str | None) -> None:
    with pytest.raises(ConfigError, match="ALLOWED_EMAIL_DOMAINS is empty"):
        parse_allowlist(raw)


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
