"""Against a deployed stack and its real B2C tenant: the token rules the stack exports match what
B2C publishes, and the deployed web API serves a real access token and refuses a forged one.

Skipped unless B2C_TEST_STACK_OUTPUTS names a file written by `pulumi stack output --json` of a
deployed stack. With B2C_TEST_ACCESS_TOKEN (an access token for the web API's scope, obtained by
signing in through the user flow with the Flow client, e.g. in Power Automate's connector test or
Postman) the calls to /api/me run too. Run with `./tools/test.sh -m azure`.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

OUTPUTS = os.environ.get("B2C_TEST_STACK_OUTPUTS", "")
TOKEN = os.environ.get("B2C_TEST_ACCESS_TOKEN", "")
pytestmark = [
    pytest.mark.azure,
    pytest.mark.skipif(not OUTPUTS, reason="needs B2C_TEST_STACK_OUTPUTS (pulumi stack output --json)"),
]


def get(url: str, token: str | None = None) -> tuple[int, Any, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.fixture(scope="module")
def outputs() -> dict[str, Any]:
    return dict(json.loads(Path(OUTPUTS).read_text(encoding="utf-8")))


def test_the_exported_token_rules_match_b2cs_published_metadata(outputs: dict[str, Any]) -> None:
    validation = outputs["tokenValidation"]
    status, _, body = get(validation["metadataUrl"])
    assert status == 200, body[:200]
    metadata = json.loads(body)
    assert metadata["issuer"] == validation["issuer"]
    assert metadata["jwks_uri"] == validation["jwksUri"]
    status, _, keys = get(validation["jwksUri"])
    assert status == 200 and json.loads(keys)["keys"]


def test_the_deployed_web_api_refuses_no_token_and_a_forged_one(outputs: dict[str, Any]) -> None:
    url = f"{outputs['webApiBaseUrl']}/me"
    status, headers, _ = get(url)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    forged = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0."
    status, headers, _ = get(url, forged)
    assert status == 401 and 'error="invalid_token"' in headers["WWW-Authenticate"]


@pytest.mark.skipif(not TOKEN, reason="needs B2C_TEST_ACCESS_TOKEN for the web API's scope")
def test_the_deployed_web_api_serves_a_real_access_token(outputs: dict[str, Any]) -> None:
    status, _, body = get(f"{outputs['webApiBaseUrl']}/me", TOKEN)
    assert status == 200, body[:200]
    me = json.loads(body)
    assert me["objectId"] and me["userFlow"].lower() == outputs["userFlowId"].lower()
