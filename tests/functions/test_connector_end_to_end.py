"""Power Automate's path through the custom connector, played from the files tools.flow_connector
writes: sign in at the user flow's authorize URL, redeem the code at its token URL with the Flow
client's secret, call both actions of the swagger on the function served over real HTTP, refresh
the token and call again. The B2C login double stands in for <tenant>.b2clogin.com."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from components.b2c_tenant import B2CTenant
from components.flow_connector import GLOBAL_REDIRECT, connector_settings
from tests.conftest import SERVER_ENV, LocalServer
from tests.doubles.b2c_login import POLICY, B2CLoginDouble
from tools import flow_connector

FLOW_CLIENT_ID = "2f1e0d9c-8b7a-4654-3210-fedcba987654"
FLOW_SECRET = "Flow-Client-Secret~42"
WEB_API_APP_ID = "7c6b5a49-3827-4615-a0b9-c8d7e6f50413"
LOGIN_ORIGIN = "https://contosob2c.b2clogin.com"
FUNCTION_HOST = "func-signup-k3x9q2mz.azurewebsites.net"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch(
    url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as reply:
            return reply.status, reply.headers, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as exc:
        body = exc.read()
        return exc.code, exc.headers, json.loads(body) if body else None


@pytest.fixture(scope="module")
def b2c() -> Iterator[B2CLoginDouble]:
    double = B2CLoginDouble(
        client_id=FLOW_CLIENT_ID, client_secret=FLOW_SECRET, audience=WEB_API_APP_ID, scope="access"
    )
    yield double
    double.close()


@pytest.fixture
def connector(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    outputs = {
        "flowConnector": connector_settings(
            B2CTenant("contosob2c"),
            POLICY,
            "https://contosob2c.onmicrosoft.com/api/access",
            FLOW_CLIENT_ID,
            [GLOBAL_REDIRECT],
        ),
        "flowClientSecret": FLOW_SECRET,
        "webApiBaseUrl": f"https://{FUNCTION_HOST}/api",
    }
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(outputs)))
    assert flow_connector.main(["--out", str(tmp_path)]) == 0
    return {path.name: json.loads(path.read_text()) for path in tmp_path.glob("*.json")}


def test_power_automate_signs_in_calls_both_actions_and_refreshes(
    b2c: B2CLoginDouble, connector: dict[str, Any], server_factory: type[LocalServer]
) -> None:
    server = server_factory(
        {
            **SERVER_ENV,
            "B2C_TOKEN_ISSUER": b2c.issuer,
            "B2C_TOKEN_AUDIENCE": WEB_API_APP_ID,
            "B2C_TOKEN_SCOPE": "access",
            "B2C_TOKEN_POLICY": POLICY,
            "B2C_JWKS_URL": b2c.policy_url("discovery/v2.0/keys"),
        }
    )
    oauth = connector["apiProperties.json"]["properties"]["connectionParameters"]["token"]["oAuthSettings"]
    urls = {
        name: value["value"].replace(LOGIN_ORIGIN, b2c.origin)
        for name, value in oauth["customParameters"].items()
    }

    # Sign in: the authorize URL answers with a code on the connector's redirect URI.
    status, headers, _ = fetch(
        urls["authorizationUrl"]
        + "?"
        + urlencode(
            {
                "client_id": oauth["clientId"],
                "response_type": "code",
                "redirect_uri": oauth["redirectUrl"],
                "scope": " ".join(oauth["scopes"]),
                "state": "pa-state",
            }
        )
    )
    assert status == 302
    landing = urlsplit(headers["Location"])
    assert f"{landing.scheme}://{landing.netloc}{landing.path}" == GLOBAL_REDIRECT
    code = parse_qs(landing.query)["code"][0]

    def token(**form: str) -> dict[str, Any]:
        body = urlencode({"client_id": oauth["clientId"], "client_secret": FLOW_SECRET, **form}).encode()
        status, _, reply = fetch(
            urls["tokenUrl"], data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert status == 200, reply
        return dict(reply)

    tokens = token(grant_type="authorization_code", code=code, redirect_uri=oauth["redirectUrl"])
    assert tokens["refresh_token"], "offline_access in the connector's scopes gives a refresh token"

    swagger = connector["apiDefinition.swagger.json"]
    assert swagger["host"] == FUNCTION_HOST
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(server.url))
    actions = {
        operation["operationId"]: (verb.upper(), f"{origin}{swagger['basePath']}{path}")
        for path, item in swagger["paths"].items()
        for verb, operation in item.items()
    }

    def act(name: str, access_token: str | None, body: Any = None) -> tuple[int, Any, Any]:
        verb, url = actions[name]
        headers = {"Content-Type": "application/json"}
        if access_token:
            headers["Authorization"] = f"Bearer {access_token}"
        return fetch(url, data=json.dumps(body).encode() if verb == "POST" else None, headers=headers)

    status, _, me = act("GetMe", tokens["access_token"])
    assert status == 200 and me["emails"] == ["jane@contoso.com"] and me["userFlow"].upper() == POLICY.upper()
    status, _, check = act("CheckEmail", tokens["access_token"], {"email": "mallory@evil.example"})
    assert status == 200 and check["allowed"] is False and check["reason"] == "domain-not-allowed"
    status, _, check = act("CheckEmail", tokens["access_token"], {"email": "ann@sales.fabrikam.com"})
    assert status == 200 and check["allowed"] is True

    refreshed = token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert act("GetMe", refreshed["access_token"])[0] == 200

    status, headers, _ = act("GetMe", None)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    # The Flow client's id token is not an access token for the API.
    status, headers, _ = act("GetMe", tokens["id_token"])
    assert status == 401 and 'error="invalid_token"' in headers["WWW-Authenticate"]
