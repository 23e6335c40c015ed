"""The smoke test of .github/workflows/up-stack.yml, run as the workflow runs it: its script from
the workflow file, a fake `pulumi` that answers the stack's outputs and config, and no-op `sleep`.
On B2C it reads the connector password from the secret output, masks it before anything else, and
calls the real function (tools.serve) as the API connector does; on External ID it wants 401 from
both routes without a token."""

from __future__ import annotations

import json
import os
import subprocess
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_DIR, SERVER_ENV, LocalServer
from tools.loopback import JsonHandler, serve

FAKE_PULUMI = """#!/bin/sh
case "$*" in
  "stack output validateSignupUrl --stack dev") echo "{url}" ;;
  "stack output webApiBaseUrl --stack dev") echo "{api}" ;;
  "stack output connectorPassword --show-secrets --stack dev") echo "{password}" ;;
  "config get b2c-signup:platform --stack dev") {platform} ;;
  "config get b2c-signup:connectorUsername --stack dev") echo "{username}" ;;
  "config get b2c-signup:allowedDomains --stack dev") echo '{domains}' ;;
  *) echo "unexpected: pulumi $*" >&2; exit 3 ;;
esac
"""


def smoke_script() -> str:
    workflow = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "up-stack.yml").read_text())
    (step,) = [s for s in workflow["jobs"]["up"]["steps"] if str(s.get("name", "")).startswith("Smoke test")]
    assert step["env"] == {"STACK": "${{ inputs.stack }}"}
    return str(step["run"])


def run_smoke(tmp_path: Path, *, platform: str | None, **answers: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    values = {"url": "", "api": "", "password": "", "username": "", "domains": "[]", **answers}
    absent = "echo 'error: configuration key not found' >&2; exit 1"
    fake = FAKE_PULUMI.format(platform=f"echo {platform}" if platform else absent, **values)
    (bin_dir / "pulumi").write_text(fake)
    (bin_dir / "sleep").write_text("#!/bin/sh\nexit 0\n")  # the minute of patience costs no time here
    for tool in ("pulumi", "sleep"):
        (bin_dir / tool).chmod(0o755)
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", smoke_script()],
        cwd=PROJECT_DIR,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STACK": "dev"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_on_b2c_it_masks_the_password_output_and_checks_both_answers(
    server: LocalServer, tmp_path: Path
) -> None:
    password = SERVER_ENV["BASIC_AUTH_PASSWORD"]
    ran = run_smoke(
        tmp_path,
        platform=None,  # absent: b2c
        url=server.url,
        password=password,
        username=SERVER_ENV["BASIC_AUTH_USERNAME"],
        domains=json.dumps(["*.fabrikam.com", "contoso.com"]),
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == f"::add-mask::{password}"
    assert password not in "\n".join(lines[1:]) + ran.stderr


def test_on_b2c_a_wrong_password_fails_the_smoke_test(server: LocalServer, tmp_path: Path) -> None:
    ran = run_smoke(
        tmp_path,
        platform="b2c",
        url=server.url,
        password="not-the-password",
        username=SERVER_ENV["BASIC_AUTH_USERNAME"],
        domains=json.dumps(["contoso.com"]),
    )
    assert ran.returncode == 1
    assert "::error::an allowlisted address (contoso.com) did not continue" in ran.stdout


class Refusing(JsonHandler):
    """A deployed External ID function app: every route wants Entra's bearer token."""

    status = 401

    def do_GET(self) -> None:  # noqa: N802 - http.server's method name
        self.answer(self.status if self.path == "/api/me" else 404, {"error": "unauthorized"})

    def do_POST(self) -> None:  # noqa: N802 - http.server's method name
        self.answer(self.status if self.path == "/api/validate-signup" else 404, {"error": "unauthorized"})


@pytest.mark.parametrize(("status", "code"), [(401, 0), (200, 1)])
def test_on_external_id_both_routes_must_refuse_a_call_without_a_token(
    tmp_path: Path, status: int, code: int
) -> None:
    handler: type[BaseHTTPRequestHandler] = type("Answering", (Refusing,), {"status": status})
    app = serve(handler)
    try:
        ran = run_smoke(
            tmp_path,
            platform="externalId",
            url=f"{app.origin}/api/validate-signup",
            api=f"{app.origin}/api",
        )
    finally:
        app.stop()
    assert ran.returncode == code, ran.stdout + ran.stderr
    if code:
        assert "::error::validate-signup answered 200 to a call without a token, not 401" in ran.stdout
    assert "::add-mask::" not in ran.stdout  # no password on this platform
