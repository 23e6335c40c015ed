"""Property tests: no JSON value and no byte string makes the function leave the B2C contract."""

from __future__ import annotations

import base64
import json

import azure.functions as func
import b2c_connector
import function_app
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.simulate_signup import interpret

SETTINGS = b2c_connector.load_settings(
    {
        "ALLOWED_EMAIL_DOMAINS": "contoso.com,*.fabrikam.com",
        "BASIC_AUTH_USERNAME": "u",
        "BASIC_AUTH_PASSWORD": "p",
    }
)
AUTH = "Basic " + base64.b64encode(b"u:p").decode()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
steps = st.sampled_from(["PostAttributeCollection", "PostFederationSignup", "PreTokenIssuance", "", None])
emails = st.one_of(st.emails(), st.text(max_size=40), json_values)
claim_objects = st.fixed_dictionaries(
    {},
    optional={
        "step": steps | json_values,
        "email": emails,
        "identities": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "signInType": st.sampled_from(["emailAddress", "federated"]) | json_values,
                    "issuerAssignedId": emails,
                },
            )
            | json_values,
            max_size=3,
        ),
        "client_id": json_values,
    },
)


def call(body: bytes) -> func.HttpResponse:
    request = func.HttpRequest(
        method="POST", url="http://localhost/api/validate-signup", headers={"Authorization": AUTH}, body=body
    )
    return function_app.handle(request, SETTINGS)


def assert_within_contract(response: func.HttpResponse, step: object) -> None:
    assert response.status_code < 500
    assert response.mimetype == "application/json"
    verdict = interpret(
        response.status_code, "application/json", response.get_body(), step if isinstance(step, str) else ""
    )
    assert verdict.exit_code in (0, 1), verdict.text
    reply = json.loads(response.get_body())
    if step != "PostAttributeCollection":
        assert reply["action"] != "ValidationError"
    if reply["action"] == "Continue":
        assert step in ("PostAttributeCollection", "PostFederationSignup")


@settings(max_examples=400, deadline=None)
@given(claim_objects)
def test_any_claims_object_gets_a_contract_reply(claims: dict[str, object]) -> None:
    assert_within_contract(call(json.dumps(claims).encode()), claims.get("step"))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_gets_a_contract_reply(value: object) -> None:
    assert_within_contract(
        call(json.dumps(value).encode()), value.get("step") if isinstance(value, dict) else None
    )


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_get_a_contract_reply(raw: bytes) -> None:
    response = call(raw)
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    assert_within_contract(response, parsed.get("step") if isinstance(parsed, dict) else None)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_any_authorization_header_is_401_or_accepted(header: str) -> None:
    request = func.HttpRequest(
        method="POST",
        url="http://localhost/api/validate-signup",
        headers={"Authorization": header},
        body=b"{}",
    )
    response = function_app.handle(request, SETTINGS)
    assert response.status_code in (200, 401)
    assert response.status_code == 200 or "WWW-Authenticate" in response.headers


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120) | st.binary(max_size=120).map(lambda b: b.decode("latin-1")))
def test_any_basic_token_is_401_or_accepted(token: str) -> None:
    # Random headers rarely start with "Basic ": this one always does.
    request = func.HttpRequest(
        method="POST",
        url="http://localhost/api/validate-signup",
        headers={"Authorization": f"Basic {token}"},
        body=b"{}",
    )
    response = function_app.handle(request, SETTINGS)
    assert response.status_code in (200, 401)
