"""The web API's token check, case by case, against a B2C login double's keys: only RS256 access
tokens our tenant issued for this API, with its scope, from its user flow, are served."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import b2c_connector
import jwt
import pytest
import request_body
import signup_rules
import token_check
import web_api
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.doubles.b2c_login import POLICY, B2CLoginDouble
from tests.functions.jwks_double import JwksDouble

CLIENT_ID = "2f1e0d9c-8b7a-4654-3210-fedcba987654"
AUDIENCE = "7c6b5a49-3827-4615-a0b9-c8d7e6f50413"  # the web API's client id
RULES = signup_rules.parse_allowlist("contoso.com,*.fabrikam.com")


@pytest.fixture(scope="module")
def b2c() -> Iterator[B2CLoginDouble]:
    double = B2CLoginDouble(client_id=CLIENT_ID, client_secret="s", audience=AUDIENCE, scope="access")
    yield double
    double.close()


@pytest.fixture
def validator(b2c: B2CLoginDouble) -> web_api.TokenValidator:
    settings, problems = web_api.load_token_settings(
        {
            "B2C_TOKEN_ISSUER": b2c.issuer,
            "B2C_TOKEN_AUDIENCE": AUDIENCE,
            "B2C_TOKEN_SCOPE": "access",
            "B2C_TOKEN_POLICY": POLICY.lower(),  # compared case-insensitively
            "B2C_JWKS_URL": b2c.policy_url("discovery/v2.0/keys"),
        }
    )
    assert settings is not None, problems
    return web_api.TokenValidator(settings)


def call(
    validator: web_api.TokenValidator | None,
    token: str | None,
    operation: str = "me",
    body: Any = None,
    url: str = "http://h/api/me",
) -> func.HttpResponse:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    request = func.HttpRequest(
        method="GET" if operation == "me" else "POST",
        url=url,
        headers=headers,
        body=json.dumps(body).encode() if body is not None else b"",
    )
    return web_api.handle(request, validator, RULES, operation)


def test_a_valid_token_is_served(b2c: B2CLoginDouble, validator: web_api.TokenValidator) -> None:
    reply = call(validator, b2c.mint())
    assert reply.status_code == 200
    assert json.loads(reply.get_body()) == {
        "objectId": "5f1c6a1e-8f7d-4c2b-9a3e-1d2c3b4a5f6e",
        "displayName": "Jane Doe",
        "emails": ["jane@contoso.com"],
        "userFlow": POLICY,
    }


def test_acr_names_the_user_flow_as_well(b2c: B2CLoginDouble, validator: web_api.TokenValidator) -> None:
    claims = b2c.claims()
    del claims["tfp"]
    token = jwt.encode(
        {**claims, "acr": POLICY.upper()}, b2c.key, algorithm="RS256", headers={"kid": b2c.kid}
    )
    assert call(validator, token).status_code == 200


def _hs256_with_the_public_key(b2c: B2CLoginDouble) -> str:
    # The classic confusion attack: the public key (PEM) used as an HMAC secret.
    pem = b2c.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    segments = [
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=")
        for part in ({"alg": "HS256", "typ": "JWT", "kid": b2c.kid}, b2c.claims())
    ]
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(hmac.new(pem, b".".join(segments), hashlib.sha256).digest()).rstrip(
        b"="
    )
    return b".".join([*segments, signature]).decode()


def _alg_none(b2c: B2CLoginDouble) -> str:
    segments = [
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
        for part in ({"alg": "none", "typ": "JWT", "kid": b2c.kid}, b2c.claims())
    ]
    return ".".join([*segments, ""])


def _tampered(b2c: B2CLoginDouble) -> str:
    header, payload, signature = b2c.mint().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["oid"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return ".".join([header, forged, signature])


@pytest.mark.parametrize(
    ("case", "token"),
    [
        ("expired", lambda b2c: b2c.mint(exp=int(time.time()) - 3600, nbf=int(time.time()) - 7200)),
        ("not yet valid", lambda b2c: b2c.mint(nbf=int(time.time()) + 3600)),
        ("wrong issuer", lambda b2c: b2c.mint(iss="https://evil.b2clogin.com/other/v2.0/")),
        ("wrong audience", lambda b2c: b2c.mint(aud="another-api")),
        ("wrong policy", lambda b2c: b2c.mint(tfp="B2C_1_other")),
        ("alg none", _alg_none),
        ("HS256 signed with the public key", _hs256_with_the_public_key),
        ("unknown kid", lambda b2c: b2c.mint(headers={"kid": "not-a-key"})),
        (
            "another key",
            lambda b2c: b2c.mint(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ),
        ("tampered signature", _tampered),
        ("malformed", lambda b2c: "not.a.jwt"),
        (
            "no exp",
            lambda b2c: jwt.encode(
                {k: v for k, v in b2c.claims().items() if k != "exp"},
                b2c.key,
                algorithm="RS256",
                headers={"kid": b2c.kid},
            ),
        ),
    ],
)
def test_invalid_tokens_get_401_invalid_token_without_details(
    case: str,
    token: Any,
    b2c: B2CLoginDouble,
    validator: web_api.TokenValidator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    minted = token(b2c)
    with caplog.at_level(logging.WARNING, logger="b2c_signup.web_api"):
        reply = call(validator, minted)
    assert reply.status_code == 401, case
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="b2c-signup", error="invalid_token"'
    assert json.loads(reply.get_body()) == {"error": "unauthorized"}
    assert "web api request refused" in caplog.text and minted not in caplog.text


def test_a_token_without_the_scope_gets_403_insufficient_scope(
    b2c: B2CLoginDouble, validator: web_api.TokenValidator
) -> None:
    reply = call(validator, b2c.mint(scp="read"))
    assert reply.status_code == 403
    assert (
        reply.headers["WWW-Authenticate"]
        == 'Bearer realm="b2c-signup", error="insufficient_scope", scope="access"'
    )


@pytest.mark.parametrize("authorization", [None, "Basic dTpw", "Bearer", "Bearer   ", "bearer"])
def test_a_missing_or_malformed_header_gets_401(
    authorization: str | None, validator: web_api.TokenValidator
) -> None:
    request = func.HttpRequest(
        method="GET",
        url="http://h/api/me",
        headers={"Authorization": authorization} if authorization else {},
        body=b"",
    )
    reply = web_api.handle(request, validator, RULES, "me")
    assert reply.status_code == 401 and reply.headers["WWW-Authenticate"].startswith(
        'Bearer realm="b2c-signup"'
    )


def test_a_token_in_the_query_string_is_ignored(
    b2c: B2CLoginDouble, validator: web_api.TokenValidator
) -> None:
    reply = call(validator, None, url=f"http://h/api/me?access_token={b2c.mint()}")
    assert reply.status_code == 401


def test_unreachable_keys_are_503_with_retry_after(b2c: B2CLoginDouble) -> None:
    settings, _ = web_api.load_token_settings(
        {
            "B2C_TOKEN_ISSUER": b2c.issuer,
            "B2C_TOKEN_AUDIENCE": AUDIENCE,
            "B2C_TOKEN_SCOPE": "access",
            "B2C_TOKEN_POLICY": POLICY,
            "B2C_JWKS_URL": b2c.policy_url("discovery/v2.0/keys"),
        }
    )
    assert settings is not None
    b2c.down = True
    try:
        reply = call(web_api.TokenValidator(settings), b2c.mint())
    finally:
        b2c.down = False
    assert reply.status_code == 503 and reply.headers["Retry-After"] == "30"
    closed = settings._replace(jwks_url="http://127.0.0.1:9/keys")
    assert call(web_api.TokenValidator(closed), b2c.mint()).status_code == 503


def test_unknown_kids_refresh_the_keys_at_most_once_per_cooldown(
    b2c: B2CLoginDouble, validator: web_api.TokenValidator
) -> None:
    assert call(validator, b2c.mint()).status_code == 200
    before = b2c.key_requests
    for index in range(5):
        assert call(validator, b2c.mint(headers={"kid": f"unknown-{index}"})).status_code == 401
    assert b2c.key_requests - before <= 1


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("jane@contoso.com", {"domain": "contoso.com", "allowed": True, "reason": "allowed-domain"}),
        (
            "jane@sales.fabrikam.com",
            {"domain": "sales.fabrikam.com", "allowed": True, "reason": "allowed-domain"},
        ),
        ("eve@evil.example", {"domain": "evil.example", "allowed": False, "reason": "domain-not-allowed"}),
        # Issue 17: the answer names the normalised address, never an echo of an invalid one.
        (
            "a@ｃｏｎｔｏｓｏ.ｃｏｍ",
            {"email": None, "domain": None, "allowed": False, "reason": "invalid-address"},
        ),
    ],
)
def test_check_email_applies_the_sign_up_gates_rule(
    email: str, expected: dict[str, Any], b2c: B2CLoginDouble, validator: web_api.TokenValidator
) -> None:
    reply = call(validator, b2c.mint(), "check-email", {"email": email})
    assert reply.status_code == 200 and json.loads(reply.get_body()) == {"email": email, **expected}
    # The very decision the gate takes on the same address.
    decision = b2c_connector.decide(
        {"step": "PostAttributeCollection", "email": email}, RULES, signup_rules.Messages()
    )
    assert (decision.outcome is signup_rules.Outcome.ADMITTED) is expected["allowed"]


def test_check_email_needs_an_email(b2c: B2CLoginDouble, validator: web_api.TokenValidator) -> None:
    assert call(validator, b2c.mint(), "check-email", {"mail": "x"}).status_code == 400


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"B2C_JWKS_URL": "http://keys.example/jwks"}, "must be https"),
        ({"B2C_TOKEN_SCOPE": ""}, "B2C_TOKEN_SCOPE is not set"),
    ],
)
def test_unusable_settings_are_named_and_refuse_every_request(change: dict[str, str], fragment: str) -> None:
    environ = {
        "B2C_TOKEN_ISSUER": "i",
        "B2C_TOKEN_AUDIENCE": "a",
        "B2C_TOKEN_SCOPE": "s",
        "B2C_TOKEN_POLICY": "p",
        "B2C_JWKS_URL": "https://k/j",
        **change,
    }
    settings, problems = web_api.load_token_settings(environ)
    assert settings is None and any(fragment in problem for problem in problems)
    assert call(None, "x").status_code == 503


# -- issue 17: the web API trusts what its tenant publishes now; check-email reads like the gate --


@pytest.fixture
def jwks() -> Iterator[JwksDouble]:
    double = JwksDouble()
    yield double
    double.close()


def _validator_for(jwks: JwksDouble, b2c: B2CLoginDouble) -> web_api.TokenValidator:
    settings, problems = web_api.load_token_settings(
        {
            "B2C_TOKEN_ISSUER": b2c.issuer,
            "B2C_TOKEN_AUDIENCE": AUDIENCE,
            "B2C_TOKEN_SCOPE": "access",
            "B2C_TOKEN_POLICY": POLICY,
            "B2C_JWKS_URL": jwks.url,
        }
    )
    assert settings is not None, problems
    return web_api.TokenValidator(settings)


@pytest.mark.parametrize("fault", ["html", "empty", "shape", "not-json", "503"])
def test_keys_that_are_garbage_are_503_never_500(
    fault: str, jwks: JwksDouble, b2c: B2CLoginDouble, caplog: pytest.LogCaptureFixture
) -> None:
    jwks.fault = fault
    with caplog.at_level(logging.WARNING, logger="b2c_signup.web_api"):
        reply = call(_validator_for(jwks, b2c), jwks.mint(b2c.claims()))
    assert reply.status_code == 503 and int(reply.headers["Retry-After"]) > 0
    assert "could not be fetched" in caplog.text


def test_a_burst_during_a_key_outage_is_one_fetch(jwks: JwksDouble, b2c: B2CLoginDouble) -> None:
    jwks.fault = "503"
    validator = _validator_for(jwks, b2c)
    assert all(call(validator, jwks.mint(b2c.claims())).status_code == 503 for _ in range(10))
    assert jwks.fetches == 1


def test_a_withdrawn_key_is_refused_once_the_set_is_refreshed(jwks: JwksDouble, b2c: B2CLoginDouble) -> None:
    from tests.doubles.clock import VirtualClock

    clock = VirtualClock()
    settings = _validator_for(jwks, b2c).settings
    validator = web_api.TokenValidator(settings, token_check.SigningKeys(settings.jwks_url, clock=clock.now))
    withdrawn = jwks.kid
    assert call(validator, jwks.mint(b2c.claims())).status_code == 200
    jwks.withdraw(withdrawn)
    current = jwks.roll()
    clock.advance(token_check.KEY_LIFETIME_SECONDS)
    assert call(validator, jwks.mint(b2c.claims(), kid=current)).status_code == 200
    assert call(validator, jwks.mint(b2c.claims(), kid=withdrawn)).status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b'{"email": "' + b"a" * request_body.MAX_BODY_BYTES + b'"}', 413, "exceeds"),
        (b"[" * 5000 + b"]" * 5000, 400, "not JSON"),
        (b"{not json", 400, "not JSON"),
        (b'{"email": "eve@evil.example", "email": "jane@contoso.com"}', 400, "more than once"),
        (b'{"mail": "jane@contoso.com"}', 400, "send"),
    ],
)
def test_check_email_reads_its_body_by_the_gates_rules(
    body: bytes, status: int, error: str, b2c: B2CLoginDouble, validator: web_api.TokenValidator
) -> None:
    request = func.HttpRequest(
        method="POST",
        url="http://h/api/check-email",
        headers={"Authorization": f"Bearer {b2c.mint()}"},
        body=body,
    )
    reply = web_api.handle(request, validator, RULES, "check-email")
    assert reply.status_code == status and error in json.loads(reply.get_body())["error"]


@pytest.mark.parametrize(
    ("email", "normalised"),
    [
        ("Jane@CONTOSO.com", "Jane@contoso.com"),
        ("jane@BÜCHER.example", "jane@bücher.example"),
        ("jane@contoso.com\n", None),
    ],
)
def test_check_email_answers_the_normalised_address(
    email: str, normalised: str | None, b2c: B2CLoginDouble, validator: web_api.TokenValidator
) -> None:
    reply = json.loads(call(validator, b2c.mint(), "check-email", {"email": email}).get_body())
    assert reply["email"] == normalised


# -- issue 18 §5: the web API on External ID ---------------------------------------------------------


def external_id_settings(b2c: B2CLoginDouble, **change: str) -> dict[str, str]:
    return {
        "SIGNUP_PLATFORM": "externalId",
        "B2C_TOKEN_ISSUER": b2c.issuer,
        "B2C_TOKEN_AUDIENCE": AUDIENCE,
        "B2C_TOKEN_SCOPE": "access",
        "B2C_TOKEN_POLICY": "",  # External ID's access tokens name no user flow
        "B2C_JWKS_URL": b2c.policy_url("discovery/v2.0/keys"),
        **change,
    }


def test_on_external_id_a_token_without_a_user_flow_is_served(b2c: B2CLoginDouble) -> None:
    settings, problems = web_api.load_token_settings(external_id_settings(b2c))
    assert settings is not None, problems
    claims = b2c.claims()
    del claims["tfp"]
    token = jwt.encode(claims, b2c.key, algorithm="RS256", headers={"kid": b2c.kid})
    validator = web_api.TokenValidator(settings)
    reply = call(validator, token)
    assert reply.status_code == 200 and json.loads(reply.get_body())["userFlow"] is None
    # The scope still decides: a token for the API without it is refused.
    assert (
        call(
            validator,
            jwt.encode({**claims, "scp": "other"}, b2c.key, algorithm="RS256", headers={"kid": b2c.kid}),
        ).status_code
        == 403
    )


def test_on_b2c_the_user_flow_setting_stays_required(b2c: B2CLoginDouble) -> None:
    settings, problems = web_api.load_token_settings(external_id_settings(b2c, SIGNUP_PLATFORM="b2c"))
    assert settings is None and problems == ["B2C_TOKEN_POLICY is not set"]
    settings, problems = web_api.load_token_settings(
        {k: v for k, v in external_id_settings(b2c).items() if k != "SIGNUP_PLATFORM"}
    )
    assert settings is None and problems == ["B2C_TOKEN_POLICY is not set"]
