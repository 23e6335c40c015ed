"""SignupFunction under Pulumi mocks: the security properties a reviewer signs off."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from components.signup_function import BasicAuthCaller, Hosting, SignupFunction, SignupFunctionArgs
from tools.program_check import SUBSCRIPTION_ID, Run, plaintext, run
from tools.program_check import guid as mock_guid

PASSWORD = "Conn3ctor-Secret-Value"
NEXT_PASSWORD = "Next-Conn3ctor-Secret"
SHA = "ab" * 32
IDENTITY_CLIENT_ID = mock_guid("signup-identity", "client")  # what the mocks give the identity
# Settings Flex Consumption rejects or ignores (functions-hosting.md, section 2).
FLEX_REJECTED = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "AzureWebJobsStorage",
}
FLEX_REJECTED_SITE_CONFIG = {
    "alwaysOn",
    "ftpsState",
    "linuxFxVersion",
    "functionAppScaleLimit",
    "preWarmedInstanceCount",
    "use32BitWorkerProcess",
    "netFrameworkVersion",
}


class _Deferred:
    """A caller built inside the mocked run (its Outputs need the run's event loop)."""

    def __init__(self, make: Callable[[], BasicAuthCaller]) -> None:
        self.make = make


def hosting(**overrides: Any) -> Hosting:
    return Hosting(**{"location": "westeurope", "name_prefix": "signup", **overrides})


def build(caller: Any = None, **overrides: Any) -> Run:
    host = {key: overrides.pop(key) for key in list(overrides) if key in Hosting.__dataclass_fields__}
    args: dict[str, Any] = {
        "hosting": hosting(**host),
        "allowed_domains": ["contoso.com", "*.fabrikam.com"],
        "package_path": "dist/released-package.zip",
        "package_sha256": SHA,
        **overrides,
    }

    def program() -> None:
        # Created inside the run, on the mocks' event loop.
        passwords = {1: pulumi.Output.secret(PASSWORD), 2: pulumi.Output.secret(NEXT_PASSWORD)}
        chosen = (
            caller.make()
            if isinstance(caller, _Deferred)
            else caller or BasicAuthCaller("b2c-connector", 1, passwords)
        )
        function = SignupFunction("signup", SignupFunctionArgs(caller=chosen, **args))
        pulumi.export("url", function.validate_signup_url)
        pulumi.export("base", function.function_base_url)
        pulumi.export("app", function.app_name)
        pulumi.export("principal", function.identity_principal_id)
        pulumi.export("vault", function.key_vault_uri)
        pulumi.export("web_api", function.web_api_base_url)

    return run(program)


@pytest.fixture(scope="module")
def stack() -> Run:
    return build()


def settings_of(stack: Run) -> dict[str, Any]:
    app = stack.one("azure-native:web:WebApp")
    return {item["name"]: item["value"] for item in app.inputs["siteConfig"]["appSettings"]}


def test_storage_allows_identities_only(stack: Run) -> None:
    account = stack.one("azure-native:storage:StorageAccount").inputs
    assert account["allowSharedKeyAccess"] is False
    assert account["allowBlobPublicAccess"] is False
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["enableHttpsTrafficOnly"] is True
    assert account["defaultToOAuthAuthentication"] is True
    assert stack.one("azure-native:storage:BlobContainer").inputs["publicAccess"] == "None"


def test_monitoring_uses_entra_auth_only(stack: Run) -> None:
    assert stack.one("azure-native:applicationinsights:Component").inputs["disableLocalAuth"] is True
    settings = settings_of(stack)
    assert (
        settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
        == f"Authorization=AAD;ClientId={IDENTITY_CLIENT_ID}"
    )
    assert "APPINSIGHTS_INSTRUMENTATIONKEY" not in settings
    assert "InstrumentationKey" not in str(stack.outputs)


def test_the_app_is_flex_with_identity_deployment_storage(stack: Run) -> None:
    plan = stack.one("azure-native:web:AppServicePlan").inputs
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"} and plan["reserved"] is True
    app = stack.one("azure-native:web:WebApp").inputs
    config = app["functionAppConfig"]
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer" and storage["value"].endswith(
        ".blob.core.windows.net/app-package"
    )
    assert storage["authentication"]["type"] == "UserAssignedIdentity"
    assert config["runtime"] == {"name": "python", "version": "3.12"}
    assert config["scaleAndConcurrency"]["maximumInstanceCount"] == 40
    assert "alwaysReady" not in config["scaleAndConcurrency"]
    assert app["kind"] == "functionapp,linux" and app["httpsOnly"] is True
    assert app["siteConfig"]["minTlsVersion"] == "1.2" and app["siteConfig"]["scmMinTlsVersion"] == "1.2"
    assert app["identity"]["type"] == "UserAssigned"
    assert app["keyVaultReferenceIdentity"] == storage["authentication"]["userAssignedIdentityResourceId"]


def test_host_storage_is_identity_based(stack: Run) -> None:
    settings = settings_of(stack)
    account = stack.one("azure-native:storage:StorageAccount").inputs["accountName"]
    assert settings["AzureWebJobsStorage__accountName"] == account
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == IDENTITY_CLIENT_ID


def test_no_setting_flex_rejects(stack: Run) -> None:
    app = stack.one("azure-native:web:WebApp").inputs
    assert not FLEX_REJECTED & set(settings_of(stack))
    assert not FLEX_REJECTED_SITE_CONFIG & set(app["siteConfig"])


def test_the_password_is_a_key_vault_reference_resolved_with_the_identity(stack: Run) -> None:
    settings = settings_of(stack)
    vault = stack.one("azure-native:keyvault:Vault").inputs
    assert vault["properties"]["enableRbacAuthorization"] is True
    # Referenced by version: a rotation changes the setting, so the app restarts onto the new value.
    base = f"https://{vault['vaultName']}.vault.azure.net/secrets"
    assert re.fullmatch(
        rf"@Microsoft\.KeyVault\(SecretUri={re.escape(base)}/basic-auth-password/[0-9a-f]{{32}}\)",
        settings["BASIC_AUTH_PASSWORD"],
    )
    assert re.fullmatch(
        rf"@Microsoft\.KeyVault\(SecretUri={re.escape(base)}/basic-auth-password-2/[0-9a-f]{{32}}\)",
        settings["BASIC_AUTH_NEXT_PASSWORD"],
    )
    assert "BASIC_AUTH_PREVIOUS_PASSWORD" not in settings  # nothing was ever sent before the first
    assert settings["BASIC_AUTH_USERNAME"] == "b2c-connector"
    assert settings["ALLOWED_EMAIL_DOMAINS"] == "contoso.com,*.fabrikam.com"
    secrets = {s.inputs["secretName"]: s for s in stack.of_type("azure-native:keyvault:Secret")}
    assert set(secrets) == {"basic-auth-password", "basic-auth-password-2"}
    first = secrets["basic-auth-password"]
    assert first.name == "signup-password"  # the name stacks had before rotation: no replacement
    assert first.raw["properties"]["value"] != PASSWORD and first.inputs["properties"]["value"] == PASSWORD
    assert secrets["basic-auth-password-2"].inputs["properties"]["value"] == NEXT_PASSWORD


def test_a_rotated_generation_keeps_the_one_before_and_after_accepted() -> None:
    passwords = {generation: f"Gen-{generation}-Secret-Value" for generation in (2, 3, 4)}

    def caller() -> BasicAuthCaller:
        return BasicAuthCaller(
            "b2c-connector", 3, {g: pulumi.Output.secret(value) for g, value in passwords.items()}
        )

    stack = build(caller=_Deferred(caller))
    settings = settings_of(stack)
    by_version = {
        s.inputs["secretName"]: s.inputs["properties"]["value"]
        for s in stack.of_type("azure-native:keyvault:Secret")
    }
    assert by_version == {
        "basic-auth-password-2": passwords[2],
        "basic-auth-password-3": passwords[3],
        "basic-auth-password-4": passwords[4],
    }
    for setting, secret in (
        ("BASIC_AUTH_PREVIOUS_PASSWORD", "basic-auth-password-2"),
        ("BASIC_AUTH_PASSWORD", "basic-auth-password-3"),
        ("BASIC_AUTH_NEXT_PASSWORD", "basic-auth-password-4"),
    ):
        assert f"/secrets/{secret}/" in settings[setting], setting


@pytest.mark.parametrize(
    ("generation", "given", "fragment"),
    [(1, (1,), r"exactly \[1, 2\]"), (2, (2, 3), r"exactly \[1, 2, 3\]"), (0, (0, 1), "the first is 1")],
)
def test_a_caller_must_bring_every_accepted_generation(
    generation: int, given: tuple[int, ...], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        BasicAuthCaller("u", generation, dict.fromkeys(given, "p"))


def test_the_password_is_only_ever_a_secret(stack: Run) -> None:
    for resource in stack.resources:
        assert PASSWORD not in [str(value) for value in plaintext(resource.raw)], resource.urn
    assert PASSWORD not in str(stack.outputs)


def test_roles_are_granted_before_the_app_exists(stack: Run) -> None:
    assignments = stack.of_type("azure-native:authorization:RoleAssignment")
    scopes = {a.inputs["roleDefinitionId"].rsplit("/", 1)[-1]: a for a in assignments}
    assert set(scopes) == {
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "3913510d-42f4-4e42-8a64-420c390055eb",
        "4633458b-17de-408a-b874-0445c86b69e6",
    }
    for assignment in assignments:
        assert assignment.inputs["roleDefinitionId"].startswith(
            f"/subscriptions/{SUBSCRIPTION_ID}/providers/"
        )
        assert assignment.inputs["principalType"] == "ServicePrincipal"
    app = stack.one("azure-native:web:WebApp")
    assert {a.urn for a in assignments} <= set(app.dependencies)
    targets = {
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "azure-native:storage:StorageAccount",
        "3913510d-42f4-4e42-8a64-420c390055eb": "azure-native:applicationinsights:Component",
        "4633458b-17de-408a-b874-0445c86b69e6": "azure-native:keyvault:Vault",
    }
    for role, typ in targets.items():
        scope = scopes[role].inputs["scope"]
        assert scope.endswith(stack.one(typ).name), (role, scope)


def test_basic_auth_publishing_is_off(stack: Run) -> None:
    for typ in ("azure-native:web:WebAppFtpAllowed", "azure-native:web:WebAppScmAllowed"):
        assert stack.one(typ).inputs["allow"] is False


def test_code_is_published_after_the_app_and_its_grants(stack: Run) -> None:
    deployment = stack.one("pulumi-python:dynamic/azure:FunctionCodeDeployment")
    app = stack.one("azure-native:web:WebApp")
    assert app.urn in deployment.dependencies
    assert deployment.inputs["scm_url"] == f"https://{app.inputs['name']}.scm.azurewebsites.net"
    assert deployment.inputs["package_sha256"] == SHA


def test_unique_names_share_one_stable_suffix(stack: Run) -> None:
    suffix = "k3x9q2mz"
    assert stack.one("azure-native:storage:StorageAccount").inputs["accountName"] == f"stsignup{suffix}"
    assert stack.one("azure-native:keyvault:Vault").inputs["vaultName"] == f"kv-signup-{suffix}"
    assert stack.one("azure-native:web:WebApp").inputs["name"] == f"func-signup-{suffix}"
    vault = stack.one("azure-native:keyvault:Vault").inputs["properties"]
    assert vault["softDeleteRetentionInDays"] == 7 and "enablePurgeProtection" not in vault


def test_outputs_are_urls_and_ids_without_keys(stack: Run) -> None:
    assert stack.outputs["url"] == "https://func-signup-k3x9q2mz.azurewebsites.net/api/validate-signup"
    assert stack.outputs["base"] == "https://func-signup-k3x9q2mz.azurewebsites.net"
    assert stack.outputs["app"] == "func-signup-k3x9q2mz"
    assert stack.outputs["vault"] == "https://kv-signup-k3x9q2mz.vault.azure.net/"
    assert stack.outputs["principal"]


def test_every_child_is_parented_to_the_component(stack: Run) -> None:
    component = stack.one("b2c-signup:azure:SignupFunction")
    assert all(r.parent == component.urn for r in stack.resources if r is not component)


def test_production_knobs_reach_the_app() -> None:
    stack = build(
        always_ready_instances=1,
        maximum_instances=100,
        instance_memory_mb=4096,
        python_version="3.11",
        resource_group_name="rg-existing",
    )
    scale = stack.one("azure-native:web:WebApp").inputs["functionAppConfig"]["scaleAndConcurrency"]
    assert scale == {
        "maximumInstanceCount": 100,
        "instanceMemoryMB": 4096,
        "alwaysReady": [{"name": "http", "instanceCount": 1}],
    }
    assert stack.of_type("azure-native:resources:ResourceGroup") == []
    assert stack.one("azure-native:storage:StorageAccount").inputs["resourceGroupName"] == "rg-existing"


def test_the_token_rules_become_the_settings_the_web_api_reads() -> None:
    rules = {
        "issuer": "https://contosob2c.b2clogin.com/4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90/v2.0/",
        "audience": "7c6b5a49-3827-4615-a0b9-c8d7e6f50413",
        "scope": "access",
        "policy": "B2C_1_signupsignin",
        "jwks_url": "https://contosob2c.b2clogin.com/contosob2c.onmicrosoft.com/B2C_1_signupsignin/discovery/v2.0/keys",
    }
    stack = build(token_validation=rules)
    from web_api import load_token_settings

    settings, problems = load_token_settings(settings_of(stack))
    assert problems == [] and settings is not None and settings._asdict() == rules
    assert stack.outputs["web_api"] == stack.outputs["base"] + "/api"


def test_without_token_rules_no_token_setting_is_written(stack: Run) -> None:
    assert not [name for name in settings_of(stack) if name.startswith(("B2C_TOKEN", "B2C_JWKS"))]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"python_version": "3.9"}, "python_version '3.9'"),
        ({"instance_memory_mb": 1024}, "instance_memory_mb 1024"),
        ({"maximum_instances": 10}, "maximum_instances 10"),
        ({"always_ready_instances": -1}, "always_ready_instances -1"),
        ({"allowed_domains": []}, "allowed_domains"),
        ({"token_validation": {"issuer": "https://x/v2.0/"}}, "token_validation has \\['issuer'\\]"),
    ],
)
def test_bad_arguments_are_refused_by_name(change: dict[str, Any], fragment: str) -> None:
    host = {key: change.pop(key) for key in list(change) if key in Hosting.__dataclass_fields__}
    base: dict[str, Any] = {
        "hosting": hosting(**host),
        "allowed_domains": ["contoso.com"],
        "caller": BasicAuthCaller("u", 1, {1: "p", 2: "q"}),
        "package_path": "x",
        "package_sha256": SHA,
    }
    with pytest.raises(ValueError, match=fragment):
        SignupFunctionArgs(**{**base, **change})
