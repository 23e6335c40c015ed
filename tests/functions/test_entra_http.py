"""The External ID callout over real HTTP on 127.0.0.1: tools.serve --platform externalId with its
local stand-in for the tenant's keys, driven by tools.simulate_signup --platform externalId, which
mints the token with the local key's private half. Exit codes: 0 continue, 1 refused, 2 error."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR, SERVER_ENV, LocalServer

ENV = {
    "ALLOWED_EMAIL_DOMAINS": "contoso.com, *.fabrikam.com, bücher.example",
    "SIGNUP_MESSAGES": '{"en": {"denied": "Partners only."}, "fr": {"denied": "Réservé aux partenaires."}}',
    # Unset here so the server points them at its local tenant, whatever the developer's shell says.
    "ENTRA_TENANT_ID": "",
    "ENTRA_CALLOUT_AUDIENCE": "",
    "ENTRA_JWKS_URL": "",
}


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-entra") / "signing-key.pem"


@pytest.fixture(scope="module")
def entra(key: Path) -> Iterator[LocalServer]:
    running = LocalServer(ENV, "--platform", "externalId", "--local-key", str(key))
    yield running
    running.stop()


def simulate(url: str, *args: str, key: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tools.simulate_signup", "--url", url, "--platform", "externalId"]
    if key is not None:
        command += ["--local-key", str(key)]
    return subprocess.run(
        [*command, *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.parametrize(
    ("email", "locale", "code", "text"),
    [
        ("jane@contoso.com", "en-US", 0, "continue"),
        ("jane@shop.fabrikam.com", "en-US", 0, "continue"),
        ("jane@bu\u0308cher.example", "en-US", 0, "continue"),
        ("eve@evil.example", "en-US", 1, "blocked: Partners only."),
        ("eve@evil.example", "fr-CA", 1, "blocked: Réservé aux partenaires."),
        ("not-an-address", "en-US", 1, "validation error (shown on the sign-up page): Please enter a valid"),
    ],
)
def test_the_simulator_shows_what_the_user_sees(
    entra: LocalServer, key: Path, email: str, locale: str, code: int, text: str
) -> None:
    result = simulate(entra.url, "--email", email, "--locale", locale, key=key)
    assert result.returncode == code, result
    assert result.stdout.startswith(text)


def test_a_token_signed_with_another_key_is_refused(entra: LocalServer, tmp_path: Path) -> None:
    result = simulate(entra.url, "--email", "jane@contoso.com", key=tmp_path / "another-key.pem")
    assert result.returncode == 2 and "HTTP 401" in result.stderr


def test_basic_auth_is_not_accepted_on_this_platform(entra: LocalServer) -> None:
    command = [
        sys.executable,
        "-m",
        "tools.simulate_signup",
        "--url",
        entra.url,
        "--email",
        "jane@contoso.com",
    ]
    command += [
        "--username",
        SERVER_ENV["BASIC_AUTH_USERNAME"],
        "--password",
        SERVER_ENV["BASIC_AUTH_PASSWORD"],
    ]
    result = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2 and "401" in result.stderr


def test_a_b2c_gate_refuses_an_entra_call(server: LocalServer, key: Path) -> None:
    result = simulate(server.url, "--email", "jane@contoso.com", key=key)
    assert result.returncode == 2 and "HTTP 401" in result.stderr


def test_the_local_tenant_publishes_its_key(entra: LocalServer, key: Path) -> None:
    from tools.local_entra import LOCAL_TENANT_ID, local_kid, local_signing_key

    origin = entra.url.split("/api/")[0]
    url = f"{origin}/.local-entra/{LOCAL_TENANT_ID}/discovery/v2.0/keys"
    with urllib.request.urlopen(url, timeout=10) as reply:
        keys = json.loads(reply.read())["keys"]
    assert [k["kid"] for k in keys] == [local_kid(local_signing_key(key))]
    assert {"n", "e", "kty", "use"} <= set(keys[0]) and "d" not in keys[0]  # the public half only
    assert key.stat().st_mode & 0o077 == 0


def test_every_reply_is_http_200_with_one_action_and_the_log_has_the_correlation_id(
    key: Path,
) -> None:
    running = LocalServer(ENV, "--platform", "externalId", "--local-key", str(key))
    try:
        assert simulate(running.url, "--email", "jane@contoso.com", key=key).returncode == 0
        assert simulate(running.url, "--email", "eve@evil.example", key=key).returncode == 1
    finally:
        log = running.stop()
    assert "signup decision=admitted step=OnAttributeCollectionSubmit domain=contoso.com" in log
    assert "correlation_id=" in log and "jane@" not in log
