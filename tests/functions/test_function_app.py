"""The HTTP handler in process: authentication, limits, fail-closed behaviour and what reaches the logs."""

from __future__ import annotations

import base64
import json
import logging

import azure.functions as func
import b2c_connector
import function_app
import pytest
import signup_rules

from tests.conftest import registered_functions

ENV = {
    "ALLOWED_EMAIL_DOMAINS": "contoso.com",
    "BASIC_AUTH_USERNAME": "b2c-connector",
    "BASIC_AUTH_PASSWORD": "pässwörd:with-colon",
}
SETTINGS = b2c_connector.load_settings(ENV)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


GOOD_AUTH = basic(ENV["BASIC_AUTH_USERNAME"], ENV["BASIC_AUTH_PASSWORD"])


def request(
    body: object = None, *, auth: str | None = GOOD_AUTH, method: str = "POST", raw: bytes | None = None
) -> func.HttpRequest:
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    payload = raw if raw is not None else json.dumps(body).encode()
    return func.HttpRequest(
        method=method, url="http://localhost/api/validate-signup", headers=headers, body=payload
    )


def reply(response: func.HttpResponse) -> dict[str, object]:
    assert response.mimetype == "application/json"
    parsed = json.loads(response.get_body())
    assert isinstance(parsed, dict)
    return parsed


ADMITTED_BODY = {"step": "PostAttributeCollection", "email": "jane@contoso.com"}


def test_admitted_with_good_credentials() -> None:
    response = function_app.handle(request(ADMITTED_BODY), SETTINGS)
    assert response.status_code == 200
    assert reply(response) == {"version": "1.0.0", "action": "Continue"}


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic ",
        "Bearer " + base64.b64encode(b"b2c-connector:x").decode(),
        "Digest username=b2c-connector",
        "Basic not*base64!",
        "Basic " + base64.b64encode(b"b2c-connector:x").decode()[:-1],  # bad padding
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),  # not UTF-8
        basic("b2c-connector", "wrong"),
        basic("someone-else", ENV["BASIC_AUTH_PASSWORD"]),
        basic("b2c-connector", ENV["BASIC_AUTH_PASSWORD"] + " "),
        basic("", ""),
    ],
)
def test_malformed_or_wrong_credentials_get_401_before_parsing(header: str | None) -> None:
    # The body is not JSON: a 401 proves it was never parsed.
    response = function_app.handle(request(auth=header, raw=b"{not json"), SETTINGS)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="b2c-signup"')
    assert reply(response)["status"] == 401


def test_scheme_is_case_insensitive() -> None:
    header = GOOD_AUTH.replace("Basic", "bAsIc")
    assert function_app.handle(request(ADMITTED_BODY, auth=header), SETTINGS).status_code == 200


def test_password_may_contain_colons() -> None:
    assert b2c_connector.is_authorized(GOOD_AUTH, SETTINGS.credentials)


def test_without_configured_credentials_everything_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    settings = b2c_connector.load_settings({"ALLOWED_EMAIL_DOMAINS": "contoso.com"})
    for header in (None, basic("", ""), basic("b2c-connector", "")):
        assert function_app.handle(request(ADMITTED_BODY, auth=header), settings).status_code == 401


def test_configuration_errors_are_logged_once_at_load(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("os.environ", {"ALLOWED_EMAIL_DOMAINS": "contoso.com,bad entry"})
    with caplog.at_level(logging.ERROR, logger="b2c_signup"):
        settings = function_app._load_settings()
        function_app.handle(request(ADMITTED_BODY), settings)
        function_app.handle(request(ADMITTED_BODY), settings)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2  # one per broken setting, none per request
    assert any("'bad entry'" in e for e in errors)
    assert any("BASIC_AUTH_USERNAME and BASIC_AUTH_PASSWORD not set" in e for e in errors)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_get_405(method: str) -> None:
    response = function_app.handle(request(ADMITTED_BODY, method=method), SETTINGS)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_oversized_body_gets_413_without_parsing() -> None:
    huge = b"{" + b" " * (function_app.MAX_BODY_BYTES) + b"}"
    response = function_app.handle(request(raw=huge), SETTINGS)
    assert response.status_code == 413
    exact = json.dumps({**ADMITTED_BODY, "pad": ""}).encode()
    padded = exact[:-2] + b" " * (function_app.MAX_BODY_BYTES - len(exact)) + exact[-2:]
    assert len(padded) == function_app.MAX_BODY_BYTES
    assert function_app.handle(request(raw=padded), SETTINGS).status_code == 200


@pytest.mark.parametrize(
    "raw", [b"", b"not json", b"\xff\xfe\x00", b"[" * 30000 + b"]" * 30000, b"null", b'"text"']
)
def test_unparseable_bodies_fail_closed_with_block_page(raw: bytes) -> None:
    response = function_app.handle(request(raw=raw), SETTINGS)
    assert response.status_code == 200
    assert reply(response)["action"] == "ShowBlockPage"


def test_internal_failure_fails_closed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*_: object) -> None:
        raise RuntimeError("jane@contoso.com broke something")

    monkeypatch.setattr(signup_rules, "judge", explode)
    with caplog.at_level(logging.DEBUG, logger="b2c_signup"):
        response = function_app.handle(request(ADMITTED_BODY), SETTINGS)
    assert response.status_code == 200
    assert reply(response)["action"] == "ShowBlockPage"
    assert "jane" not in caplog.text
    assert "RuntimeError" in caplog.text


def test_logs_carry_decision_but_never_address_or_secret(caplog: pytest.LogCaptureFixture) -> None:
    bodies = [
        {"step": "PostAttributeCollection", "email": "jane.doe@contoso.com", "client_id": "app-123"},
        {"step": "PostFederationSignup", "email": "john.smith@other.org"},
        {
            "step": "PostAttributeCollection",
            "identities": [{"signInType": "emailAddress", "issuerAssignedId": "mary.major@contoso.com"}],
        },
        {"step": "PostAttributeCollection", "email": "broken-address@"},
    ]
    with caplog.at_level(logging.DEBUG):
        for body in bodies:
            function_app.handle(request(body), SETTINGS)
        function_app.handle(request(bodies[0], auth=basic("b2c-connector", "guess-password")), SETTINGS)
    text = caplog.text
    for secret in (
        "jane.doe",
        "john.smith",
        "mary.major",
        "broken-address",
        ENV["BASIC_AUTH_PASSWORD"],
        "guess-password",
        GOOD_AUTH.split()[1],
    ):
        assert secret not in text
    assert "decision=admitted step=PostAttributeCollection domain=contoso.com client_id=app-123" in text
    assert "decision=refused-domain step=PostFederationSignup domain=other.org" in text
    assert "decision=no-valid-email" in text
    # %-style arguments, so handlers that structure logs (App Insights) see the fields.
    decision_records = [r for r in caplog.records if r.getMessage().startswith("signup decision=")]
    assert decision_records and all(r.args for r in decision_records)


def test_route_is_registered_anonymous_for_every_method() -> None:
    functions = registered_functions(function_app.app)
    trigger = functions["validate_signup"].get_trigger()
    assert trigger.route == "validate-signup"
    assert str(trigger.auth_level) in ("ANONYMOUS", "AuthLevel.ANONYMOUS", "anonymous")


@pytest.mark.parametrize(
    "header",
    ["Basic é", "Basic \xff\xfe", "Basic dXNlcjpw\u00e9", "basic \u0660\u0661", "Basic " + "é" * 500],
)
def test_a_non_ascii_basic_token_is_401_not_a_traceback(header: str) -> None:
    response = function_app.handle(request(ADMITTED_BODY, auth=header), SETTINGS)
    assert response.status_code == 401 and "WWW-Authenticate" in response.headers


FORGED = "x\nsignup decision=admitted step=PostAttributeCollection domain=contoso.com"


@pytest.mark.parametrize(
    "body",
    [
        {"step": FORGED, "email": "eve@evil.example"},
        {"step": "PostAttributeCollection", "email": "eve@evil.example", "client_id": FORGED},
        {"step": "PostAttributeCollection", "email": "eve@evil.example", "client_id": "a decision=admitted"},
    ],
)
def test_claims_cannot_forge_a_log_line(body: dict[str, object], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="b2c_signup"):
        function_app.handle(request(body), SETTINGS)
    lines = [line for record in caplog.records for line in record.getMessage().splitlines()]
    assert sum("decision=" in line for line in lines) == 1
    assert not any(line.startswith("signup decision=admitted") for line in lines)


def test_logged_claim_values_are_bounded(caplog: pytest.LogCaptureFixture) -> None:
    huge = "A" * 60 * 1024
    body = {"step": "PostAttributeCollection", "email": "jane@contoso.com", "client_id": huge}
    with caplog.at_level(logging.DEBUG, logger="b2c_signup"):
        response = function_app.handle(request(body), SETTINGS)
        function_app.handle(
            func.HttpRequest(
                method="POST",
                url="http://localhost/api/validate-signup",
                headers={"Authorization": GOOD_AUTH, "traceparent": "\n" + huge},
                body=json.dumps(ADMITTED_BODY).encode(),
            ),
            SETTINGS,
        )
    assert reply(response)["action"] == "Continue"
    assert all(len(record.getMessage()) < 600 for record in caplog.records)
    assert all("\n" not in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"step":"PostAttributeCollection","email":"eve@evil.example","email":"jane@contoso.com"}',
        b'{"email":"jane@contoso.com","step":"PostFederationSignup","step":"PostAttributeCollection"}',
        b'{"step":"PostAttributeCollection","identities":[{"signInType":"emailAddress",'
        b'"issuerAssignedId":"eve@evil.example","issuerAssignedId":"jane@contoso.com"}]}',
        b'{"step":"PostAttributeCollection","identities":[],"identities":[{"signInType":"emailAddress",'
        b'"issuerAssignedId":"jane@contoso.com"}]}',
    ],
)
def test_a_duplicated_decision_claim_is_never_admitted(raw: bytes, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="b2c_signup"):
        response = function_app.handle(request(raw=raw), SETTINGS)
    assert reply(response)["action"] == "ShowBlockPage" and response.status_code == 200
    assert "duplicate" in caplog.text


def test_duplicates_of_other_claims_do_not_matter() -> None:
    raw = b'{"step":"PostAttributeCollection","email":"jane@contoso.com","ui_locales":"en","ui_locales":"fr"}'
    assert reply(function_app.handle(request(raw=raw), SETTINGS))["action"] == "Continue"


def test_the_gates_start_up_does_not_load_the_web_api() -> None:
    import subprocess
    import sys

    from tests.conftest import FUNCTIONS_DIR

    probe = "import sys, function_app; print(sorted(m for m in ('jwt', 'web_api', 'cryptography') if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=FUNCTIONS_DIR, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
