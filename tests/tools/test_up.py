"""tools/up.sh on a machine without a Pulumi CLI: it installs the pinned CLI into the project with
the official installer's own flags (a fake installer here), leaves PATH alone, says so, and shows
Pulumi's own error when selecting the stack fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR

FAKE_PULUMI = """#!/bin/sh
echo "$@" >> "{log}"
case "$1 $2" in
  "stack select") [ -n "$FAIL_SELECT" ] && {{ echo "error: could not reach the backend" >&2; exit 1; }} ;;
esac
exit 0
"""
FAKE_INSTALLER = """#!/bin/sh
echo "$@" >> "{log}"
while [ $# -gt 0 ]; do case "$1" in --install-root) root=$2; shift;; esac; shift; done
mkdir -p "$root/bin"
cat > "$root/bin/pulumi" <<'PULUMI'
{pulumi}PULUMI
chmod +x "$root/bin/pulumi"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tools").mkdir(parents=True)
    for name in ("tools/up.sh", "tools/venv.sh", "requirements.txt", "requirements-uv.txt"):
        shutil.copy(PROJECT_DIR / name, root / name)
    return root


def run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    log = project / "calls.log"
    installer = project / "fake-installer.sh"
    installer.write_text(FAKE_INSTALLER.format(log=log, pulumi=FAKE_PULUMI.format(log=log)))
    installer.chmod(0o755)
    environ = {
        "PATH": "/usr/bin:/bin",  # no Pulumi CLI anywhere
        "HOME": str(project),
        "PULUMI_INSTALLER": str(installer),
        "VENV": str(Path(sys.prefix)),  # this test's own, complete virtualenv
        # uv's cache and the certificate store as this machine has them
        "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")),
        **{key: os.environ[key] for key in ("SSL_CERT_FILE", "SSL_CERT_DIR") if key in os.environ},
        **env,
    }
    return subprocess.run(
        ["bash", str(project / "tools" / "up.sh"), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_missing_cli_is_installed_into_the_project_and_said_so(project: Path) -> None:
    first = run(project, "dev", "--yes")
    assert first.returncode == 0, first.stderr
    assert (
        "installing Pulumi 3.272.0 into" in first.stderr
        and "PATH and shell profile unchanged" in first.stderr
    )
    calls = (project / "calls.log").read_text().splitlines()
    assert calls[0] == f"--no-edit-path --install-root {project}/.pulumi-cli --version 3.272.0"
    assert calls[1:] == ["stack select --create dev", "up --stack dev --yes"]
    assert (project / ".pulumi-state").is_dir()

    second = run(project, "qa", "--prepare")  # found in the project now: not installed again
    assert second.returncode == 0 and "installing" not in second.stderr
    assert (project / "calls.log").read_text().splitlines()[3:] == ["stack select --create qa"]
    assert "Stack qa is ready" in second.stderr


def test_a_failing_stack_select_shows_pulumis_error(project: Path) -> None:
    failed = run(project, "dev", FAIL_SELECT="1")
    assert failed.returncode != 0
    assert "could not reach the backend" in failed.stderr
    assert "up --stack" not in (project / "calls.log").read_text()


def test_the_installed_cli_is_not_put_on_path(project: Path) -> None:
    run(project, "dev", "--prepare")
    assert ".pulumi-cli" not in os.environ.get("PATH", "")
    assert not any((project / name).exists() for name in (".bashrc", ".profile", ".zshrc"))
