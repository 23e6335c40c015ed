"""The External ID callout in process: only Entra's custom-extension app, with a token of this
tenant for the extension's resource app, is let in (every token case of the web API, plus wrong
azp, both issuers, Basic refused); every authenticated call gets HTTP 200 with exactly one action
of the right type; the same verdict as on B2C decides."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import app_settings
import azure.functions as func
import entra_callout
import function_app
import pytest
import signup_rules
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import registered_functions
from tests.functions.jwks_double import JwksDouble
from tools.simulate_signup import callout_event, interpret_callout

TENANT = "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90"
AUDIENCE = "7c6b5a49-3827-4615-a0b9-c8d7e6f50413"  # the extension's resource app
CIAM_ISSUER = f"https://{TENANT}.ciamlogin.com/{TENANT}/v2.0"
LOGIN_ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
ACTION = "microsoft.graph.attributeCollectionSubmit."
MESSAGES = '{"en": {"denied": "Partners only."}, "fr": {"denied": "Réservé aux partenaires."}}'


@pytest.fixture(scope="module")
def jwks() -> Iterator[JwksDouble]:
    double = JwksDouble()
    yield double
    double.close()


def environ(jwks: JwksDouble, **changes: str) -> dict[str, str]:
    return {
        "SIGNUP_PLATFORM": "externalId",
        "ALLOWED_EMAIL_DOMAINS": "contoso.com,*.fabrikam.com",
        "SIGNUP_MESSAGES": MESSAGES,
        "ENTRA_TENANT_ID": TENANT,
        "ENTRA_CALLOUT_AUDIENCE": AUDIENCE,
        "ENTRA_JWKS_URL": jwks.url,
        **changes,
    }


@pytest.fixture
def callout(jwks: JwksDouble) -> entra_callout.Settings:
    loaded = entra_callout.load_settings(environ(jwks))
    assert loaded.caller is not None and loaded.rules is not None, loaded.errors
    return loaded


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": CIAM_ISSUER,
        "aud": AUDIENCE,
        "azp": entra_callout.ENTRA_EXTENSIONS_APP_ID,
        "tid": TENANT,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "ver": "2.0",
        **overrides,
    }


def event(email: object = "jane@contoso.com", locale: str = "en-us") -> dict[str, Any]:
    body = callout_event("placeholder@contoso.com", locale, TENANT, "client-app-id")
    body["data"]["userSignUpInfo"]["attributes"]["email"]["value"] = email
    body["data"]["userSignUpInfo"]["identities"][0]["issuerAssignedId"] = email
    return body


def post(
    settings_: entra_callout.Settings,
    token: str | None,
    body: object = None,
    *,
    raw: bytes | None = None,
    authorization: str | None = None,
    method: str = "POST",
    url: str = "http://localhost/api/validate-signup",
) -> func.HttpResponse:
    headers = {"Content-Type": "application/json", "traceparent": "00-trace-01"}
    if authorization is not None:
        headers["Authorization"] = authorization
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    payload = raw if raw is not None else json.dumps(event() if body is None else body).encode()
    request = func.HttpRequest(method=method, url=url, headers=headers, body=payload)
    return function_app.handle_callout(request, settings_)


def action(response: func.HttpResponse) -> dict[str, Any]:
    """The one action of an HTTP 200 reply, checked the way Entra reads it."""
    assert response.status_code == 200 and response.mimetype == "application/json"
    verdict = interpret_callout(200, "application/json", response.get_body())
    assert verdict.exit_code in (0, 1), verdict.text
    (only,) = json.loads(response.get_body())["data"]["actions"]
    return dict(only)


def kind(response: func.HttpResponse) -> str:
    return str(action(response)["@odata.type"]).removeprefix(ACTION)


# -- who may call ---------------------------------------------------------------------------------


@pytest.mark.parametrize("issuer", [CIAM_ISSUER, LOGIN_ISSUER])
def test_both_issuers_of_this_tenant_are_accepted(
    issuer: str, jwks: JwksDouble, callout: entra_callout.Settings
) -> None:
    assert kind(post(callout, jwks.mint(claims(iss=issuer)))) == "continueWithDefaultBehavior"


def test_a_v1_token_naming_the_caller_in_appid_is_accepted(
    jwks: JwksDouble, callout: entra_callout.Settings
) -> None:
    v1 = {k: v for k, v in claims().items() if k != "azp"} | {"appid": entra_callout.ENTRA_EXTENSIONS_APP_ID}
    assert kind(post(callout, jwks.mint(v1))) == "continueWithDefaultBehavior"


def _hs256_with_the_public_key(jwks: JwksDouble) -> str:
    # The classic confusion attack: the public key (PEM) used as an HMAC secret.
    pem = (
        jwks.keys[jwks.kid]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    segments = [
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=")
        for part in ({"alg": "HS256", "typ": "JWT", "kid": jwks.kid}, claims())
    ]
    signature = hmac.new(pem, b".".join(segments), hashlib.sha256).digest()
    return b".".join([*segments, base64.urlsafe_b64encode(signature).rstrip(b"=")]).decode()


def _alg_none(jwks: JwksDouble) -> str:
    segments = [
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
        for part in ({"alg": "none", "typ": "JWT", "kid": jwks.kid}, claims())
    ]
    return ".".join([*segments, ""])


def _tampered(jwks: JwksDouble) -> str:
    header, payload, signature = jwks.mint(claims(azp="someone-else")).split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["azp"] = entra_callout.ENTRA_EXTENSIONS_APP_ID
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    return ".".join([header, body, signature])


OTHER_TENANT = "0b9e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.mark.parametrize(
    ("case", "token"),
    [
        ("expired", lambda j: j.mint(claims(exp=int(time.time()) - 3600, nbf=int(time.time()) - 7200))),
        ("not yet valid", lambda j: j.mint(claims(nbf=int(time.time()) + 3600))),
        (
            "another tenant's issuer",
            lambda j: j.mint(claims(iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0")),
        ),
        ("a v1 issuer", lambda j: j.mint(claims(iss=f"https://sts.windows.net/{TENANT}/"))),
        ("a B2C issuer", lambda j: j.mint(claims(iss=f"https://contosob2c.b2clogin.com/{TENANT}/v2.0/"))),
        ("wrong audience", lambda j: j.mint(claims(aud="another-api"))),
        ("wrong azp", lambda j: j.mint(claims(azp="2f1e0d9c-8b7a-4654-3210-fedcba987654"))),
        ("no azp nor appid", lambda j: j.mint({k: v for k, v in claims().items() if k != "azp"})),
        ("alg none", _alg_none),
        ("HS256 signed with the public key", _hs256_with_the_public_key),
        ("unknown kid", lambda j: j.mint(claims(), kid="not-a-key")),
        (
            "another key",
            lambda j: j.mint(claims(), key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ),
        ("tampered signature", _tampered),
        ("malformed", lambda j: "not.a.jwt"),
        ("no exp", lambda j: j.mint({k: v for k, v in claims().items() if k != "exp"})),
    ],
)
def test_invalid_tokens_get_401_and_the_reason_only_in_the_log(
    case: str, token: Any, jwks: JwksDouble, callout: entra_callout.Settings, caplog: pytest.LogCaptureFixture
) -> None:
    minted = token(jwks)
    with caplog.at_level(logging.WARNING, logger="b2c_signup"):
        reply = post(callout, minted)
    assert reply.status_code == 401, case
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="b2c-signup", error="invalid_token"'
    assert json.loads(reply.get_body()) == {"error": "unauthorized"}
    assert "signup request refused" in caplog.text and minted not in caplog.text


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + base64.b64encode(b"b2c-connector:password").decode(),  # B2C's way: not here
        "",
        "Bearer",
        "Bearer   ",
        "Digest username=entra",
    ],
)
def test_basic_auth_and_malformed_headers_are_401(
    authorization: str, callout: entra_callout.Settings
) -> None:
    reply = post(callout, None, authorization=authorization)
    assert reply.status_code == 401 and reply.headers["WWW-Authenticate"].startswith(
        'Bearer realm="b2c-signup"'
    )


def test_a_token_in_the_query_string_is_ignored(jwks: JwksDouble, callout: entra_callout.Settings) -> None:
    token = jwks.mint(claims())
    assert post(callout, None, url=f"http://h/api/validate-signup?access_token={token}").status_code == 401


def test_unreachable_keys_are_503_with_retry_after(jwks: JwksDouble) -> None:
    down = entra_callout.load_settings(environ(jwks, ENTRA_JWKS_URL="http://127.0.0.1:9/keys"))
    reply = post(down, jwks.mint(claims()))
    assert reply.status_code == 503 and int(reply.headers["Retry-After"]) >= 1


def test_an_unknown_kid_refreshes_the_keys_once(jwks: JwksDouble, callout: entra_callout.Settings) -> None:
    assert kind(post(callout, jwks.mint(claims()))) == "continueWithDefaultBehavior"
    before = jwks.fetches
    for index in range(5):
        assert post(callout, jwks.mint(claims(), kid=f"unknown-{index}")).status_code == 401
    assert jwks.fetches - before <= 1


def test_other_methods_get_405(callout: entra_callout.Settings) -> None:
    reply = post(callout, None, method="GET")
    assert (reply.status_code, reply.headers["Allow"]) == (405, "POST")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"ENTRA_TENANT_ID": ""}, "ENTRA_TENANT_ID is not set"),
        ({"ENTRA_TENANT_ID": "contoso.onmicrosoft.com"}, "is not a tenant id"),
        ({"ENTRA_CALLOUT_AUDIENCE": ""}, "ENTRA_CALLOUT_AUDIENCE is not set"),
        ({"ENTRA_JWKS_URL": "http://login.example/keys"}, "ENTRA_JWKS_URL must be https"),
    ],
)
def test_unusable_settings_are_named_and_every_callout_is_refused(
    change: dict[str, str], fragment: str, jwks: JwksDouble
) -> None:
    broken = entra_callout.load_settings(environ(jwks, **change))
    assert broken.caller is None and any(fragment in error for error in broken.errors), broken.errors
    assert post(broken, jwks.mint(claims())).status_code == 503


# -- what it answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "locale", "expected", "message"),
    [
        ("jane@contoso.com", "en-us", "continueWithDefaultBehavior", None),
        ("jane@sales.fabrikam.com", "en-us", "continueWithDefaultBehavior", None),
        ("eve@evil.example", "en-us", "showBlockPage", "Partners only."),
        ("eve@evil.example", "fr-fr", "showBlockPage", "Réservé aux partenaires."),
        ("eve@evil.example", "de-de", "showBlockPage", "Partners only."),  # the first language
        ("not-an-address", "en-us", "showValidationError", signup_rules.DEFAULT_INVALID_EMAIL_MESSAGE),
        ("jane@contoso.com\n", "en-us", "showValidationError", signup_rules.DEFAULT_INVALID_EMAIL_MESSAGE),
        (
            "a@ｃｏｎｔｏｓｏ.ｃｏｍ",
            "en-us",
            "showValidationError",
            signup_rules.DEFAULT_INVALID_EMAIL_MESSAGE,
        ),
    ],
)
def test_the_verdict_becomes_one_action_in_the_pages_language(
    email: str,
    locale: str,
    expected: str,
    message: str | None,
    jwks: JwksDouble,
    callout: entra_callout.Settings,
) -> None:
    reply = action(post(callout, jwks.mint(claims()), event(email, locale)))
    assert reply["@odata.type"] == ACTION + expected
    assert reply.get("message") == message
    if expected == "showValidationError":
        assert reply["attributeErrors"] == {"email": message}
    # The very verdict B2C's gate and check-email give for the same address.
    verdict = signup_rules.judge(email, callout.rules)
    assert (verdict.outcome is signup_rules.Outcome.ADMITTED) is (expected == "continueWithDefaultBehavior")


def test_the_email_identity_counts_when_the_attribute_is_absent(
    jwks: JwksDouble, callout: entra_callout.Settings
) -> None:
    body = event("eve@evil.example")
    del body["data"]["userSignUpInfo"]["attributes"]["email"]
    body["data"]["userSignUpInfo"]["identities"] = [
        {"signInType": "federated", "issuer": "google.com", "issuerAssignedId": "jane@contoso.com"},
        {"signInType": "email", "issuer": "contoso.onmicrosoft.com", "issuerAssignedId": "jane@contoso.com"},
    ]
    assert kind(post(callout, jwks.mint(claims()), body)) == "continueWithDefaultBehavior"
    # A present attribute wins over the identity, even when the identity would be admitted.
    body["data"]["userSignUpInfo"]["attributes"]["email"] = {"value": "eve@evil.example"}
    assert kind(post(callout, jwks.mint(claims()), body)) == "showBlockPage"


def test_no_address_at_all_is_a_block_page(jwks: JwksDouble, callout: entra_callout.Settings) -> None:
    body = event()
    del body["data"]["userSignUpInfo"]["attributes"]["email"]
    body["data"]["userSignUpInfo"]["identities"] = []
    reply = action(post(callout, jwks.mint(claims()), body))
    assert reply["@odata.type"] == ACTION + "showBlockPage"
    assert reply["message"] == signup_rules.DEFAULT_INVALID_EMAIL_MESSAGE


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[" * 30000 + b"]" * 30000,
        b"null",
        b'{"data": {"@odata.type": "microsoft.graph.onAttributeCollectionStartCalloutData"}}',
        json.dumps({**event(), "data": {**event()["data"], "tenantId": OTHER_TENANT}}).encode(),
        b'{"data": {"@odata.type": "microsoft.graph.onAttributeCollectionSubmitCalloutData", "tenantId": "'
        + TENANT.encode()
        + b'", "userSignUpInfo": {"attributes": {"email": {"value": "eve@evil.example", "value": "jane@contoso.com"}}}}}',
        b"{" + b" " * function_app.MAX_BODY_BYTES + b"}",
    ],
)
def test_a_body_that_cannot_be_decided_on_is_a_block_page_never_a_failure(
    raw: bytes, jwks: JwksDouble, callout: entra_callout.Settings
) -> None:
    reply = action(post(callout, jwks.mint(claims()), raw=raw))
    assert reply["@odata.type"] == ACTION + "showBlockPage"
    assert reply["message"] == signup_rules.DEFAULT_UNAVAILABLE_MESSAGE


def test_a_misconfigured_allowlist_blocks_every_sign_up(jwks: JwksDouble) -> None:
    broken = entra_callout.load_settings(environ(jwks, ALLOWED_EMAIL_DOMAINS="contoso.com,not a domain"))
    reply = action(post(broken, jwks.mint(claims())))
    assert reply == {
        "@odata.type": ACTION + "showBlockPage",
        "message": signup_rules.DEFAULT_UNAVAILABLE_MESSAGE,
    }


def test_an_internal_failure_is_a_block_page(
    jwks: JwksDouble,
    callout: entra_callout.Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(*_: object) -> None:
        raise RuntimeError("jane@contoso.com broke something")

    monkeypatch.setattr(signup_rules, "judge", explode)
    with caplog.at_level(logging.DEBUG, logger="b2c_signup"):
        assert kind(post(callout, jwks.mint(claims()))) == "showBlockPage"
    assert "jane" not in caplog.text and "RuntimeError" in caplog.text


def test_the_decision_log_line_is_b2cs_with_the_correlation_id(
    jwks: JwksDouble, callout: entra_callout.Settings, caplog: pytest.LogCaptureFixture
) -> None:
    body = event("jane.doe@contoso.com")
    body["data"]["authenticationContext"]["correlationId"] = "c0ffee00-0000-4000-8000-000000000001"
    with caplog.at_level(logging.DEBUG, logger="b2c_signup"):
        post(callout, jwks.mint(claims()), body)
        post(callout, jwks.mint(claims()), event("eve\nsignup decision=admitted@evil.example"))
    assert (
        "signup decision=admitted step=OnAttributeCollectionSubmit domain=contoso.com client_id=client-app-id "
        "traceparent=00-trace-01 correlation_id=c0ffee00-0000-4000-8000-000000000001"
    ) in caplog.text
    assert "jane.doe" not in caplog.text
    lines = [line for record in caplog.records for line in record.getMessage().splitlines()]
    assert sum(line.startswith("signup decision=admitted") for line in lines) == 1
    assert all(r.args for r in caplog.records if r.getMessage().startswith("signup decision="))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(email=st.one_of(st.emails(), st.text(max_size=40), json_values), data=json_values)
def test_any_event_gets_http_200_with_one_action(
    email: object, data: object, jwks: JwksDouble, callout: entra_callout.Settings
) -> None:
    token = jwks.mint(claims())
    assert kind(post(callout, token, event(email))) in (
        "continueWithDefaultBehavior",
        "showBlockPage",
        "showValidationError",
    )
    assert kind(post(callout, token, {"data": data})) == "showBlockPage"


# -- which platform the gate speaks ---------------------------------------------------------------


def test_the_platform_setting_chooses_the_protocol(
    jwks: JwksDouble, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("os.environ", environ(jwks))
    gate, loaded = function_app._gate()
    assert isinstance(loaded, entra_callout.Settings)
    request = func.HttpRequest(
        method="POST",
        url="http://localhost/api/validate-signup",
        headers={"Authorization": f"Bearer {jwks.mint(claims())}"},
        body=json.dumps(event()).encode(),
    )
    assert kind(gate(request)) == "continueWithDefaultBehavior"
    monkeypatch.setattr("os.environ", {**environ(jwks), "SIGNUP_PLATFORM": "ExternalID"})
    with caplog.at_level(logging.ERROR, logger="b2c_signup"):
        gate, loaded = function_app._gate()
    assert loaded is None and gate(request).status_code == 503
    assert "SIGNUP_PLATFORM 'ExternalID' is not one of b2c, externalId" in caplog.text


def test_the_route_and_settings_are_named_once() -> None:
    from tests.conftest import FUNCTIONS_DIR

    functions = registered_functions(function_app.app)
    assert functions["validate_signup"].get_trigger().route == app_settings.GATE_ROUTE
    host = json.loads((FUNCTIONS_DIR / "host.json").read_text())
    # host.json cannot import Python: this holds the two spellings of the prefix together.
    assert host["extensions"]["http"]["routePrefix"] == app_settings.ROUTE_PREFIX
    assert app_settings.GATE_PATH == "api/validate-signup"


def test_the_external_id_start_up_loads_the_token_check_and_b2cs_does_not() -> None:
    import subprocess
    import sys

    from tests.conftest import FUNCTIONS_DIR

    probe = (
        "import sys, function_app; print(sorted(m for m in ('jwt', 'token_check', 'entra_callout', "
        "'web_api', 'cryptography', 'publicsuffixlist') if m in sys.modules))"
    )
    base = {"PATH": "/usr/bin:/bin", "ALLOWED_EMAIL_DOMAINS": "contoso.com,*.fabrikam.com"}
    b2c = subprocess.run(
        [sys.executable, "-c", probe], cwd=FUNCTIONS_DIR, env=base, capture_output=True, text=True, check=True
    )
    assert b2c.stdout.strip() == "[]"
    entra_env = {
        **base,
        "SIGNUP_PLATFORM": "externalId",
        "ENTRA_TENANT_ID": TENANT,
        "ENTRA_CALLOUT_AUDIENCE": AUDIENCE,
    }
    entra_env["ENTRA_JWKS_URL"] = "https://login.example/keys"
    entra = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=FUNCTIONS_DIR,
        env=entra_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert entra.stdout.strip() == "['cryptography', 'entra_callout', 'jwt', 'token_check']"
