"""The function over real HTTP on 127.0.0.1, served by tools.serve, driven by tools.simulate_signup."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR, SERVER_ENV, LocalServer

USER, PASSWORD = SERVER_ENV["BASIC_AUTH_USERNAME"], SERVER_ENV["BASIC_AUTH_PASSWORD"]


def post(
    url: str, body: bytes, auth: tuple[str, str] | None = (USER, PASSWORD), method: str = "POST"
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    request = urllib.request.Request(
        url, data=body if method != "GET" else None, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def simulate(
    url: str, *args: str, username: str = USER, password: str = PASSWORD
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "tools.simulate_signup",
        "--url",
        url,
        "--username",
        username,
        "--password",
        password,
        *args,
    ]
    return subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30, check=False)


def test_admitted_over_http(server: LocalServer) -> None:
    status, headers, body = post(
        server.url, json.dumps({"step": "PostAttributeCollection", "email": "a@contoso.com"}).encode()
    )
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"version": "1.0.0", "action": "Continue"}


def test_unauthenticated_over_http(server: LocalServer) -> None:
    status, headers, _ = post(server.url, b"{}", auth=None)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic realm=")
    assert headers["Content-Type"].startswith("application/json")


def test_get_is_405_over_http(server: LocalServer) -> None:
    status, headers, _ = post(server.url, b"", method="GET")
    assert (status, headers["Allow"]) == (405, "POST")


def test_oversized_body_is_413_over_http(server: LocalServer) -> None:
    status, _, _ = post(server.url, b"{" + b" " * 70000 + b"}")
    assert status == 413


@pytest.mark.parametrize(
    ("email", "step", "code", "text"),
    [
        ("jane@contoso.com", "PostAttributeCollection", 0, "continue"),
        ("jane@shop.fabrikam.com", "PostFederationSignup", 0, "continue"),
        ("jane@xn--bcher-kva.example", "PostAttributeCollection", 0, "continue"),
        (
            "jane@evil.com",
            "PostAttributeCollection",
            1,
            "validation error (shown on the sign-up page): Sign-up is limited",
        ),
        ("jane@evil.com", "PostFederationSignup", 1, "blocked: Sign-up is limited"),
        (
            "not-an-address",
            "PostAttributeCollection",
            1,
            "validation error (shown on the sign-up page): Please enter a valid",
        ),
    ],
)
def test_simulator_shows_what_the_user_sees(
    server: LocalServer, email: str, step: str, code: int, text: str
) -> None:
    result = simulate(server.url, "--email", email, "--step", step)
    assert result.returncode == code, result
    assert result.stdout.startswith(text)


def test_simulator_reports_wrong_credentials_as_contract_error(server: LocalServer) -> None:
    result = simulate(server.url, "--email", "jane@contoso.com", password="wrong")
    assert result.returncode == 2
    assert "401" in result.stderr


def test_simulator_reports_transport_error() -> None:
    result = simulate("http://127.0.0.1:9/api/validate-signup", "--email", "jane@contoso.com")
    assert result.returncode == 2
    assert "transport error" in result.stderr


def test_server_reads_local_settings_file_and_environment_wins(
    tmp_path: Path, server_factory: type[LocalServer]
) -> None:
    # A copy of the app with its own local.settings.json: a developer's own file is never touched,
    # and this test never skips because one exists.
    functions = tmp_path / "functions"
    shutil.copytree(
        PROJECT_DIR / "functions",
        functions,
        ignore=shutil.ignore_patterns("__pycache__", "local.settings.json"),
    )
    (functions / "local.settings.json").write_text(
        json.dumps(
            {
                "Values": {
                    "ALLOWED_EMAIL_DOMAINS": "fromfile.com",
                    "BASIC_AUTH_USERNAME": "file-user",
                    "BASIC_AUTH_PASSWORD": "file-pass",
                }
            }
        )
    )
    running = server_factory({"BASIC_AUTH_PASSWORD": "env-pass"}, "--functions-dir", str(functions))
    ok = simulate(running.url, "--email", "a@fromfile.com", username="file-user", password="env-pass")
    refused = simulate(running.url, "--email", "a@fromfile.com", username="file-user", password="file-pass")
    assert ok.returncode == 0, ok
    assert refused.returncode == 2


def test_misconfigured_server_refuses_and_logs_once(server_factory: type[LocalServer]) -> None:
    running = server_factory(
        {
            "ALLOWED_EMAIL_DOMAINS": "contoso.com,*bad*",
            "BASIC_AUTH_USERNAME": USER,
            "BASIC_AUTH_PASSWORD": PASSWORD,
        }
    )
    for _ in range(3):
        result = simulate(running.url, "--email", "jane@contoso.com")
        assert result.returncode == 1
        assert result.stdout.startswith("blocked: Sign-up is not available")
    stderr = running.stop()
    assert stderr.count("configuration error") == 1
    assert "'*bad*'" in stderr


def _raw_exchange(url: str, head: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes; return what comes back up to the end of the reply's headers, or until the
    server closes the connection."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head)
        received = b""
        while b"\r\n\r\n" not in received and (chunk := sock.recv(65536)):
            received += chunk
        return received


def test_a_huge_unauthenticated_body_is_refused_before_it_is_read(server: LocalServer) -> None:
    path = "/" + server.url.split("/", 3)[3]
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * 1024 * 1024}\r\n\r\n"
    ).encode() + b"{" * 1024
    reply = _raw_exchange(server.url, head)
    assert reply.startswith(b"HTTP/1.1 413")


def test_a_silent_client_is_dropped_after_the_read_timeout(server_factory: type[LocalServer]) -> None:
    import time

    quick = server_factory(SERVER_ENV, "--read-timeout", "0.3")
    started = time.monotonic()
    reply = _raw_exchange(quick.url, b"POST /api/validate-signup HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert reply == b"" and time.monotonic() - started < 5


def test_simulator_takes_the_step_as_stack_config_spells_it(server: LocalServer) -> None:
    result = simulate(server.url, "--email", "eve@example.org", "--step", "postFederationSignup")
    assert result.returncode == 1 and result.stdout.startswith("blocked:")
    wrong = simulate(server.url, "--email", "eve@example.org", "--step", "preTokenIssuance")
    assert (
        wrong.returncode == 2
        and "is not a sign-up step: postAttributeCollection or postFederationSignup" in wrong.stderr
    )


def test_the_401_hint_covers_a_server_without_credentials(server_factory: type[LocalServer]) -> None:
    bare = server_factory(
        {"ALLOWED_EMAIL_DOMAINS": "contoso.com", "BASIC_AUTH_USERNAME": "", "BASIC_AUTH_PASSWORD": ""}
    )
    result = simulate(bare.url, "--email", "jane@contoso.com")
    assert result.returncode == 2 and "the function has none configured" in result.stderr


def test_the_local_server_logs_admitted_sign_ups(server_factory: type[LocalServer]) -> None:
    running = server_factory(SERVER_ENV)
    assert simulate(running.url, "--email", "jane@contoso.com").returncode == 0
    assert "signup decision=admitted" in running.stop()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_the_simulator_never_follows_a_redirect_with_the_credentials(status: int) -> None:
    """The smoke test sends the deployed connector password: a reply that points elsewhere gets
    nothing, and the simulator says where it pointed (origin only)."""
    from tools import simulate_signup
    from tools.loopback import JsonHandler, serve

    seen: list[str | None] = []

    class Stranger(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server method name
            seen.append(self.headers.get("Authorization"))
            self.answer(200, {"version": "1.0.0", "action": "Continue"})

        do_POST = do_GET  # noqa: N815

    class Redirecting(JsonHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.answer(status, None, {"Location": f"{stranger.origin}/steal?sas=secret-sig"})

    stranger, redirecting = serve(Stranger), serve(Redirecting)
    try:
        verdict = simulate_signup.simulate(
            f"{redirecting.origin}/api/validate-signup",
            simulate_signup.signup_claims("jane@contoso.com", "PostAttributeCollection", "c"),
            "b2c-connector",
            "Sm0ke-Passw0rd",
        )
    finally:
        redirecting.stop()
        stranger.stop()
    assert seen == []
    assert verdict.exit_code == 2 and f"redirect ({status}) to {stranger.origin}" in verdict.text
    assert "secret-sig" not in verdict.text
