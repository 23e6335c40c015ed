"""tools/up.sh, the operator's first command, driven with fakes: a fake Pulumi installer and CLI, and
a virtualenv whose python and uv log their calls (then run the real ones). It installs the pinned
CLI into the project when none is on PATH and says what to do when it cannot, checks a CLI it finds
against the pinned version, gives a laptop its own stack with tenant-unique names, applies the
policy pack as CI does, prints its usage on --help, and shows Pulumi's own error when selecting the
stack fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR
from tools.demos import demo_config

PINNED = "3.272.0"
FAKE_PULUMI = """#!/bin/sh
echo "$@" >> "{log}"
case "$1 $2" in
  "stack select") [ -n "$FAIL_SELECT" ] && {{ echo "error: could not reach the backend" >&2; exit 1; }} ;;
  "version ") echo "${{FAKE_PULUMI_VERSION:-v{pinned}}}" ;;
esac
exit 0
"""
FAKE_INSTALLER = """#!/bin/sh
echo "installer $@" >> "{log}"
[ -n "$OFFLINE" ] && {{ echo "curl: (6) Could not resolve host: get.pulumi.com" >&2; exit 6; }}
while [ $# -gt 0 ]; do case "$1" in --install-root) root=$2; shift;; esac; shift; done
mkdir -p "$root/bin"
cat > "$root/bin/pulumi" <<'PULUMI'
{pulumi}PULUMI
chmod +x "$root/bin/pulumi"
"""
# A virtualenv whose python and uv log each call. python runs this test's own (complete) one; uv
# answers --version (what ensure_venv checks) and installs nothing: installing a lock file into the
# virtualenv the suite runs in would swap packages under the tests running beside this one.
LOGGING_PYTHON = """#!/bin/sh
printf '%s\\n' "{name} $*" | tr '\\n' ' ' >> "{log}" && echo >> "{log}"
exec "{real}" "$@"
"""
LOGGING_UV = """#!/bin/sh
echo "{name} $*" >> "{log}"
[ "$1" = --version ] && exec "{real}" --version
exit 0
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name in (
        "tools/up.sh",
        "tools/venv.sh",
        "requirements.txt",
        "requirements-uv.txt",
        "policy/requirements-lock.txt",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_DIR / name, root / name)
    # What up.sh asks about a stack: tools.demos, and stack_config with the rooms it imports.
    for folder in ("tools", "components", "functions", "platforms"):
        if (PROJECT_DIR / folder).is_dir():
            shutil.copytree(
                PROJECT_DIR / folder,
                root / folder,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "node_modules"),
            )
    for name in ("stack_config.py", "Pulumi.yaml"):
        shutil.copy(PROJECT_DIR / name, root / name)
    logging_venv(root / "policy" / "venv", root / "calls.log")
    logging_venv(root / ".venv", root / "calls.log")
    return root


def logging_venv(where: Path, log: Path) -> Path:
    (where / "bin").mkdir(parents=True)
    real = Path(sys.prefix) / "bin"
    for name, script in (("python", LOGGING_PYTHON), ("uv", LOGGING_UV)):
        tool = where / "bin" / name
        tool.write_text(script.format(name=f"{where.name}/{name}", log=log, real=real / name))
        tool.chmod(0o755)
    return where


def run(
    project: Path, *args: str, path: str = "/usr/bin:/bin", **env: str
) -> subprocess.CompletedProcess[str]:
    log = project / "calls.log"
    installer = project / "fake-installer.sh"
    installer.write_text(FAKE_INSTALLER.format(log=log, pulumi=FAKE_PULUMI.format(log=log, pinned=PINNED)))
    installer.chmod(0o755)
    environ = {
        "PATH": path,  # no Pulumi CLI anywhere unless a test puts one there
        "HOME": str(project),
        "USER": "alice",
        "PULUMI_INSTALLER": str(installer),
        "VENV": str(project / ".venv"),
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


def pulumi_calls(project: Path) -> list[str]:
    """What the fake Pulumi CLI was asked, in order (installer and virtualenv calls left out)."""
    log = project / "calls.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [line for line in lines if not line.startswith(("installer ", "venv/", ".venv/"))]


def test_a_missing_cli_is_installed_into_the_project_and_said_so(project: Path) -> None:
    first = run(project, "dev", "--yes")
    assert first.returncode == 0, first.stderr
    assert f"installing Pulumi {PINNED} into" in first.stderr
    assert "PATH and shell profile unchanged" in first.stderr
    installs = [
        line for line in (project / "calls.log").read_text().splitlines() if line.startswith("installer ")
    ]
    assert installs == [f"installer --no-edit-path --install-root {project}/.pulumi-cli --version {PINNED}"]
    assert pulumi_calls(project) == ["stack select --create dev", "up --stack dev --policy-pack policy --yes"]
    assert (project / ".pulumi-state").is_dir()
    installed = [line for line in (project / "calls.log").read_text().splitlines() if " pip install " in line]
    assert installed == [
        f".venv/uv pip install --quiet --python {project}/.venv/bin/python --require-hashes -r requirements.txt",
        "venv/uv pip install --quiet --python policy/venv/bin/python --require-hashes -r policy/requirements-lock.txt",
    ]

    second = run(project, "qa", "--prepare")  # found in the project now: checked, not installed again
    assert second.returncode == 0 and "installing" not in second.stderr
    assert pulumi_calls(project)[2:] == ["version", "stack select --create qa"]
    assert "Stack qa is ready" in second.stderr


def test_without_a_cli_or_a_way_to_download_it_it_says_what_to_do_after_the_virtualenv(
    project: Path,
) -> None:
    offline = run(project, "--prepare", OFFLINE="1")
    assert offline.returncode != 0
    message = offline.stderr.split("Could not resolve host: get.pulumi.com", 1)[1]
    assert f"Install Pulumi {PINNED} yourself" in message and "put it on PATH" in message
    assert "PULUMI_INSTALLER" in message and f"virtualenv ({project}/.venv) is ready" in message
    log = (project / "calls.log").read_text().splitlines()
    installed_venv = max(i for i, line in enumerate(log) if line.startswith(".venv/uv pip install"))
    assert installed_venv < log.index(
        f"installer --no-edit-path --install-root {project}/.pulumi-cli --version {PINNED}"
    )
    assert pulumi_calls(project) == []


def test_a_cli_on_path_of_another_version_is_used_with_a_warning(project: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cli = bin_dir / "pulumi"
    cli.write_text(FAKE_PULUMI.format(log=project / "calls.log", pinned=PINNED))
    cli.chmod(0o755)
    other = run(project, "dev", "--prepare", path=f"{bin_dir}:/usr/bin:/bin", FAKE_PULUMI_VERSION="v3.180.0")
    assert other.returncode == 0, other.stderr
    assert f"Pulumi 3.180.0 on PATH ({cli}); this project pins {PINNED}" in other.stderr
    assert pulumi_calls(project) == ["version", "stack select --create dev"]
    same = run(project, "dev", "--prepare", path=f"{bin_dir}:/usr/bin:/bin")
    assert same.returncode == 0 and "pins" not in same.stderr
    assert not (project / ".pulumi-cli").exists()


def test_a_project_cli_of_another_version_is_replaced_by_the_pinned_one(project: Path) -> None:
    run(project, "dev", "--prepare")
    stale = run(project, "dev", "--prepare", FAKE_PULUMI_VERSION="v3.100.0")
    assert stale.returncode == 0, stale.stderr
    assert f"is Pulumi 3.100.0, not the pinned {PINNED}: installing Pulumi {PINNED}" in stale.stderr
    installs = [
        line for line in (project / "calls.log").read_text().splitlines() if line.startswith("installer ")
    ]
    assert len(installs) == 2


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_the_usage_instead_of_taking_it_for_a_stack(project: Path, flag: str) -> None:
    shown = run(project, flag)
    assert shown.returncode == 0
    assert shown.stdout.startswith("Usage: ./tools/up.sh [STACK]")
    assert "--prepare" in shown.stdout and "local-alice" in shown.stdout
    assert not (project / "calls.log").exists()


def test_a_laptop_gets_a_stack_of_its_own_with_names_unique_in_the_tenant(project: Path) -> None:
    prepared = run(project, "--prepare")
    assert prepared.returncode == 0, prepared.stderr
    assert pulumi_calls(project)[-1] == "stack select --create local-alice"
    assert "Stack local-alice is ready" in prepared.stderr
    up = run(project, "--yes")
    assert up.returncode == 0, up.stderr
    unique = demo_config("local-alice")
    assert pulumi_calls(project)[-len(unique) - 2 :] == [
        "stack select --create local-alice",
        *(f"config set --stack local-alice {key} {value}" for key, value in unique.items()),
        "up --stack local-alice --policy-pack policy --yes",
    ]


def test_names_the_stack_file_already_sets_are_left_alone(project: Path) -> None:
    (project / "Pulumi.local-alice.yaml").write_text(
        "config:\n  b2c-signup:userFlowName: my_flow\n", encoding="utf-8"
    )
    assert run(project).returncode == 0
    setting = [call for call in pulumi_calls(project) if call.startswith("config set")]
    assert setting == [
        f"config set --stack local-alice b2c-signup:apiIdentifier {demo_config('local-alice')['b2c-signup:apiIdentifier']}"
    ]


def test_keys_the_stacks_platform_does_not_use_are_not_set(project: Path) -> None:
    (project / "Pulumi.local-alice.yaml").write_text(
        "config:\n  b2c-signup:platform: externalId\n", encoding="utf-8"
    )
    assert run(project).returncode == 0
    setting = [call for call in pulumi_calls(project) if call.startswith("config set")]
    flow = demo_config("local-alice")["b2c-signup:userFlowName"]
    assert setting == [
        f"config set --stack local-alice b2c-signup:userFlowName {flow}"
    ]  # apiIdentifier is B2C's


@pytest.mark.parametrize(
    ("user", "stack"),
    [("Jane.Doe@CORP", "local-jane-doe-corp"), ("@@", "local-user"), ("x" * 40, "local-" + "x" * 24)],
)
def test_the_laptop_stack_name_is_a_valid_name_from_the_user(project: Path, user: str, stack: str) -> None:
    assert run(project, "--prepare", USER=user).returncode == 0
    assert pulumi_calls(project)[-1] == f"stack select --create {stack}"


def test_ci_stacks_get_no_unique_names_and_a_warning_with_local_state(project: Path) -> None:
    local = run(project, "prod", "--yes")
    assert local.returncode == 0, local.stderr
    assert "prod is a stack CI deploys" in local.stderr and "local-alice" in local.stderr
    assert not any(call.startswith("config set") for call in pulumi_calls(project))
    shared = run(project, "prod", "--prepare", PULUMI_BACKEND_URL="azblob://pulumi-state?storage_account=st1")
    assert shared.returncode == 0 and "CI deploys" not in shared.stderr


def test_up_applies_the_policy_pack_from_its_own_locked_virtualenv(project: Path) -> None:
    assert run(project, "dev", "--prepare").returncode == 0
    assert not any(line.startswith("venv/") for line in (project / "calls.log").read_text().splitlines())
    assert run(project, "dev").returncode == 0
    policy = [line for line in (project / "calls.log").read_text().splitlines() if line.startswith("venv/")]
    assert (
        "venv/uv pip install --quiet --python policy/venv/bin/python --require-hashes -r policy/requirements-lock.txt"
        in policy
    )
    assert pulumi_calls(project)[-1] == "up --stack dev --policy-pack policy"


def test_a_failing_stack_select_shows_pulumis_error(project: Path) -> None:
    failed = run(project, "dev", FAIL_SELECT="1")
    assert failed.returncode != 0
    assert "could not reach the backend" in failed.stderr
    assert not any(call.startswith("up ") for call in pulumi_calls(project))


def test_the_installed_cli_is_not_put_on_path(project: Path) -> None:
    run(project, "dev", "--prepare")
    assert ".pulumi-cli" not in os.environ.get("PATH", "")
    assert not any((project / name).exists() for name in (".bashrc", ".profile", ".zshrc"))
