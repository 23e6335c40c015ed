"""Each policy, passing and failing, called with constructed resource arguments as CrossGuard does."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

from tests.conftest import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "policy"))
import policies

OPTIONS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
SECURE_APP: dict[str, Any] = {
    "kind": "functionapp,linux",
    "name": "func-signup-x",
    "httpsOnly": True,
    "siteConfig": {
        "minTlsVersion": "1.2",
        "scmMinTlsVersion": "1.2",
        "appSettings": [
            {"name": "AzureWebJobsStorage__accountName", "value": "stsignupx"},
            {
                "name": "APPLICATIONINSIGHTS_CONNECTION_STRING",
                "value": "InstrumentationKey=abc;IngestionEndpoint=https://x",
            },
            {"name": "BASIC_AUTH_USERNAME", "value": "b2c-connector"},
            {
                "name": "BASIC_AUTH_PASSWORD",
                "value": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/p/)",
            },
        ],
    },
}


def violations(policy_name: str, resource_type: str, props: dict[str, Any]) -> list[str]:
    policy = next(p for p in policies.POLICIES if p.name == policy_name)
    found: list[str] = []
    args = ResourceValidationArgs(
        resource_type, props, f"urn:pulumi:dev::b2c-signup::{resource_type}::x", "x", OPTIONS, None
    )
    policy.validate(args, lambda message, urn: found.append(message))  # type: ignore[misc,operator]
    return found


def stack_violations(resources: list[tuple[str, dict[str, Any]]]) -> list[str]:
    policy = next(p for p in policies.POLICIES if p.name == "function-apps-disable-basic-auth-publishing")
    found: list[str] = []
    items = [
        PolicyResource(typ, props, f"urn:{index}", f"r{index}", OPTIONS, None, None, [], {})
        for index, (typ, props) in enumerate(resources)
    ]
    policy.validate(StackValidationArgs(items), lambda message, urn: found.append(message))  # type: ignore[misc,operator]
    return found


def test_every_policy_is_mandatory() -> None:
    assert all(str(p.enforcement_level.value) == "mandatory" for p in policies.POLICIES)


def test_storage_without_keys_passes_and_with_keys_fails() -> None:
    assert (
        violations(
            "storage-identity-only",
            policies.STORAGE,
            {"allowSharedKeyAccess": False, "allowBlobPublicAccess": False},
        )
        == []
    )
    found = violations("storage-identity-only", policies.STORAGE, {"allowBlobPublicAccess": True})
    assert len(found) == 2 and "allowSharedKeyAccess" in found[0] and "allowBlobPublicAccess" in found[1]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"httpsOnly": False}, "httpsOnly must be true"),
        ({"siteConfig": {**SECURE_APP["siteConfig"], "minTlsVersion": "1.0"}}, "minTlsVersion is '1.0'"),
        ({"siteConfig": {**SECURE_APP["siteConfig"], "scmMinTlsVersion": None}}, "scmMinTlsVersion"),
    ],
)
def test_function_apps_need_https_and_tls12(change: dict[str, Any], fragment: str) -> None:
    assert violations("function-app-https-tls12", policies.WEB_APP, SECURE_APP) == []
    (found,) = violations("function-app-https-tls12", policies.WEB_APP, {**SECURE_APP, **change})
    assert fragment in found


def test_a_web_app_that_is_not_a_function_app_is_not_judged() -> None:
    assert violations("function-app-https-tls12", policies.WEB_APP, {"kind": "app", "httpsOnly": False}) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BASIC_AUTH_PASSWORD", "hunter2-literal"),
        ("AzureWebJobsStorage", "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc=="),
        ("PAYMENT_API_KEY", "sk_live_123"),
        ("EXPORT_URL", "https://st.blob.core.windows.net/c?sv=2024&sig=abc"),
    ],
)
def test_literal_secrets_in_app_settings_fail(name: str, value: str) -> None:
    assert violations("no-literal-secrets-in-app-settings", policies.WEB_APP, SECURE_APP) == []
    props = {
        **SECURE_APP,
        "siteConfig": {**SECURE_APP["siteConfig"], "appSettings": [{"name": name, "value": value}]},
    }
    (found,) = violations("no-literal-secrets-in-app-settings", policies.WEB_APP, props)
    assert name in found and "Key Vault" in found and value not in found


def test_basic_auth_publishing_must_be_off() -> None:
    for typ in (policies.FTP_ALLOWED, policies.SCM_ALLOWED):
        assert violations("basic-auth-publishing-off", typ, {"allow": False, "name": "func"}) == []
        assert violations("basic-auth-publishing-off", typ, {"allow": True, "name": "func"}) != []


def test_every_function_app_has_both_publishing_switches_off() -> None:
    app = (policies.WEB_APP, SECURE_APP)
    ftp = (policies.FTP_ALLOWED, {"name": "func-signup-x", "allow": False})
    scm = (policies.SCM_ALLOWED, {"name": "func-signup-x", "allow": False})
    assert stack_violations([app, ftp, scm]) == []
    (found,) = stack_violations([app, ftp])
    assert "func-signup-x has no WebAppScmAllowed" in found


@pytest.mark.parametrize(
    ("props", "ok"),
    [
        ({"auth_type": "basic", "username": "u", "password": "p"}, True),
        ({"auth_type": "certificate", "pkcs12_value": "MIIK..."}, True),
        ({"auth_type": "basic", "username": "u", "password": None}, False),
        ({"auth_type": "certificate"}, False),
        ({}, False),
    ],
)
def test_api_connectors_always_authenticate(props: dict[str, Any], ok: bool) -> None:
    assert (violations("api-connector-authenticated", policies.API_CONNECTOR, props) == []) is ok


@pytest.mark.parametrize(
    ("uris", "ok"),
    [
        (["https://global.consent.azure-apim.net/redirect", "https://jwt.ms"], True),
        (["http://localhost:5000/callback"], True),
        (["http://app.contoso.com/callback"], False),
        (["http://localhost.evil.com/cb"], False),
        (["ms-app://s-1-15"], False),
    ],
)
def test_redirect_uris_are_https_except_localhost(uris: list[str], ok: bool) -> None:
    for section in ("web", "singlePageApplication", "publicClient"):
        found = violations("redirect-uris-https", policies.APPLICATION, {section: {"redirectUris": uris}})
        assert (found == []) is ok, (section, found)


def test_client_secrets_must_expire_within_two_years() -> None:
    soon = (datetime.now(UTC) + timedelta(days=180)).strftime("%Y-%m-%dT%H:%M:%SZ")
    late = (datetime.now(UTC) + timedelta(days=3650)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert violations("client-secrets-expire", policies.APPLICATION_PASSWORD, {"endDate": soon}) == []
    assert "must expire" in violations("client-secrets-expire", policies.APPLICATION_PASSWORD, {})[0]
    assert (
        "more than 730 days"
        in violations("client-secrets-expire", policies.APPLICATION_PASSWORD, {"endDate": late})[0]
    )


def test_the_stack_this_project_builds_passes_every_policy() -> None:
    from tools.program_check import check_stack

    stack = check_stack("dev")
    resources = [(r.type, r.inputs) for r in stack.resources]
    for typ, props in resources:
        for policy in policies.POLICIES:
            if isinstance(policy, policies.ResourceValidationPolicy):
                assert violations(policy.name, typ, props) == [], (policy.name, typ)
    assert stack_violations(resources) == []


GOOD_EXTENSION = {
    "display_name": "signup sign-up gate (dev)",
    "target_url": "https://func-signup-x.azurewebsites.net/api/validate-signup",
    "resource_id": "api://func-signup-x.azurewebsites.net/7c6b5a49-3827-4615-a0b9-c8d7e6f50413",
    "timeout_ms": 2000,
    "maximum_retries": 1,
}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({}, None),
        ({"resource_id": None}, "must authenticate to its API"),
        ({"resource_id": "https://func-signup-x.azurewebsites.net"}, "must be api://<host of target_url>"),
        (
            {"resource_id": "api://elsewhere.example/7c6b5a49-3827-4615-a0b9-c8d7e6f50413"},
            "must be target_url's host",
        ),
        ({"timeout_ms": 2500}, "timeout_ms 2500 must be from 200 to 2000"),
        ({"timeout_ms": 100}, "timeout_ms 100 must be from 200 to 2000"),
        ({"maximum_retries": 3}, "maximum_retries 3 must be from 0 to 1"),
    ],
)
def test_custom_extensions_authenticate_and_answer_within_two_seconds(
    change: dict[str, Any], fragment: str | None
) -> None:
    found = violations(
        "custom-extension-authenticated", policies.CUSTOM_EXTENSION, {**GOOD_EXTENSION, **change}
    )
    if fragment is None:
        assert found == []
    else:
        assert len(found) == 1 and fragment in found[0], found


def test_the_external_id_stack_passes_every_policy() -> None:
    from tools.program_check import check_stack

    stack = check_stack("externalid")
    resources = [(r.type, r.inputs) for r in stack.resources]
    assert policies.CUSTOM_EXTENSION in {typ for typ, _ in resources}
    for typ, props in resources:
        for policy in policies.POLICIES:
            if isinstance(policy, policies.ResourceValidationPolicy):
                assert violations(policy.name, typ, props) == [], (policy.name, typ)
    assert stack_violations(resources) == []


def test_the_pack_imports_only_what_its_own_virtualenv_holds() -> None:
    """policy/venv has pulumi and pulumi-policy alone (policy/requirements.txt): the rules the pack
    shares with the program must come from modules that need nothing else."""
    import subprocess

    probe = (
        "import sys\n"
        "import pulumi, pulumi_policy\n"  # and whatever they bring: all in the pack's virtualenv
        "before = set(sys.modules)\n"
        "import policies\n"
        "ours = ('components', 'functions', 'policies')\n"
        "extra = {m.split('.')[0] for m in set(sys.modules) - before} - set(sys.stdlib_module_names)\n"
        "print(','.join(sorted(m for m in extra if m not in ours and not m.startswith('_'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR / "policy", capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"the pack needs modules its virtualenv lacks: {result.stdout}"
