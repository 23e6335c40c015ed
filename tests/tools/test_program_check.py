"""tools.program_check: the offline check fork pull requests run instead of a preview."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import program_check


def test_the_repository_stacks_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert program_check.main(["--stack", "dev", "--stack", "prod", "--stack", "externalid"]) == 0
    out = capsys.readouterr().out
    assert "dev: 38 resources to create" in out and "prod: 38 resources to create" in out
    assert "externalid: " in out
    # As a preview lists them: type, name and what identifies the real object, secrets hidden.
    assert '  +    azure-native:web:WebApp  signup-app  name="func-signupdev-k3x9q2mz"' in out
    assert (
        "  +    pulumi-python:dynamic/externalid:CustomExtension  signup-flow-extension  "
        'display_name="signupext sign-up gate (dev)"' in out
    )
    assert "    connectorPassword: [secret]" in out and "    flowClientSecret: [secret]" in out
    assert "Mock-Passw0rd" not in out and "Mock-Client-Secret" not in out
    assert '    userFlowId: "B2C_1_signupsignin"' in out


def test_the_preview_nests_children_under_their_component(capsys: pytest.CaptureFixture[str]) -> None:
    assert program_check.main(["--stack", "dev"]) == 0
    lines = capsys.readouterr().out.splitlines()
    component = lines.index("  + b2c-signup:b2c:SignupUserFlow  userflow")
    assert lines[component + 1].startswith(
        "  +    pulumi-python:dynamic/b2c:ApiConnector  userflow-connector"
    )


def test_a_config_mistake_fails_the_check_with_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.pr.yaml").write_text(
        "config:\n"
        "  b2c-signup:tenantName: contosob2c\n"
        "  b2c-signup:tenantId: not-a-guid\n"
        "  b2c-signup:b2cClientId: 0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e\n"
        "  b2c-signup:b2cClientSecret:\n"
        "    secure: v1:abc:def\n"
        "  b2c-signup:allowedDomains: [contoso.com]\n"
    )
    assert program_check.main(["--stack", "pr", "--stack-dir", str(tmp_path)]) == 1
    assert "b2c-signup:tenantId 'not-a-guid' is not a GUID" in capsys.readouterr().err


def test_encrypted_values_stand_in_as_secrets(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  b2c-signup:b2cClientSecret:\n    secure: v1:abc\n  b2c-signup:tenantName: t\n"
    )
    config, secrets = program_check.stack_file_config("x", tmp_path)
    assert secrets == ("b2c-signup:b2cClientSecret",) and config["b2c-signup:tenantName"] == "t"
    assert "v1:abc" not in str(config)


def test_a_missing_stack_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="pulumi stack init qa"):
        program_check.stack_file_config("qa", tmp_path)


def test_a_stack_pulumi_would_refuse_fails_with_pulumis_own_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.pr.yaml").write_text(
        "config:\n  b2c-signup:tenantId: 4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90\n  b2c-signup:maximumInstances: lots\n"
    )
    assert program_check.main(["--stack", "pr", "--stack-dir", str(tmp_path)]) == 1
    assert (
        "Pulumi would not run the program: Stack 'pr' is missing configuration values 'allowedDomains' and "
        "'tenantName'" in capsys.readouterr().err
    )
