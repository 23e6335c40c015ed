"""bootstrap/ under Pulumi mocks: identities, federated credentials, least roles, admin consent, per
platform; its state stays local by default."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import mocks, settings
from pulumi.runtime.sync_await import _sync_await

from components import azure_roles
from components.graph import permissions
from tests.conftest import PROJECT_DIR
from tools.program_check import AzureMocks, RecordingMonitor, Run, check_stack, guid

BOOTSTRAP = PROJECT_DIR / "bootstrap"
sys.path.insert(0, str(BOOTSTRAP))
TENANT = "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90"
CONFIG = {
    "b2c-signup-bootstrap:githubRepository": "contoso/b2c-signup",
    "b2c-signup-bootstrap:tenantId": TENANT,
}
GRAPH_PRINCIPAL = "azuread:index/getServicePrincipal:getServicePrincipal"


EVERY_PERMISSION = frozenset(
    {*permissions.PREVIEWER, *(p for group in permissions.DEPLOYER.values() for p in group)}
)


class TenantMocks(AzureMocks):
    """Microsoft Graph's service principal as a tenant has it: by default it offers each
    application permission the project asks for, on either platform."""

    def __init__(self, offered: frozenset[str] = EVERY_PERMISSION) -> None:
        super().__init__()
        self.offered = offered

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == GRAPH_PRINCIPAL:
            return {
                "objectId": guid("graph-sp"),
                "clientId": args.args.get("clientId"),
                "appRoleIds": {role: guid("role", role) for role in sorted(self.offered)},
            }, []
        return super().call(args)


def bootstrap(offered: frozenset[str] = EVERY_PERMISSION, **config: str | None) -> Run:
    """The bootstrap program on the mocks, as tools.program_check runs the main program; a key
    given as None is not set."""
    values = {key: value for key, value in {**CONFIG, **config}.items() if value is not None}
    settings.ROOT.set(None)
    pulumi.runtime.set_all_config(values, [])
    monitor = RecordingMonitor(TenantMocks(offered))
    mocks.set_mocks(TenantMocks(offered), project="b2c-signup-bootstrap", stack="bootstrap", monitor=monitor)
    stack = settings.get_root_resource()
    program = str(BOOTSTRAP / "__main__.py")
    pulumi.runtime.test(lambda: runpy.run_path(program, run_name="__main__"))()  # type: ignore[no-untyped-call]
    outputs = {
        key: _sync_await(pulumi.Output.from_input(value).future())
        for key, value in getattr(stack, "outputs", {}).items()
    }
    return Run(monitor.registered, outputs, set())


def granted(stack: Run, app: str) -> set[str]:
    """The Graph permissions an app asks for, by name, and checks that each is admin-consented."""
    names = {guid("role", p): p for group in permissions.DEPLOYER.values() for p in group}
    names |= {guid("role", p): p for p in permissions.PREVIEWER}
    apps = {r.name: r.inputs for r in stack.of_type("azuread:index/application:Application")}
    asked = {names[a["id"]] for a in apps[app]["requiredResourceAccesses"][0]["resourceAccesses"]}
    consented = {
        names[g.inputs["appRoleId"]]
        for g in stack.of_type("azuread:index/appRoleAssignment:AppRoleAssignment")
        if g.name.startswith(f"{app}-")
    }
    assert consented == asked, f"{app}: asked {sorted(asked)}, consented {sorted(consented)}"
    return asked


@pytest.fixture(scope="module")
def stack() -> Run:
    return bootstrap()


def test_github_oidc_subjects_per_environment_and_for_pull_requests(stack: Run) -> None:
    azure = {
        r.inputs["federatedIdentityCredentialResourceName"]: r.inputs
        for r in stack.of_type("azure-native:managedidentity:FederatedIdentityCredential")
    }
    assert {name: c["subject"] for name, c in azure.items()} == {
        "github-dev": "repo:contoso/b2c-signup:environment:dev",
        "github-prod": "repo:contoso/b2c-signup:environment:prod",
        "github-demos": "repo:contoso/b2c-signup:environment:demos",
        "github-pull-requests": "repo:contoso/b2c-signup:pull_request",
    }
    assert azure["github-pull-requests"]["resourceName"] == "id-b2c-signup-previewer"
    assert all(
        c["issuer"] == "https://token.actions.githubusercontent.com"
        and c["audiences"] == ["api://AzureADTokenExchange"]
        for c in azure.values()
    )
    tenant = {
        r.inputs["displayName"]: r.inputs["subject"]
        for r in stack.of_type(
            "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
        )
    }
    assert set(tenant.values()) == {c["subject"] for c in azure.values()}


def test_the_deployer_gets_the_least_roles_up_needs(stack: Run) -> None:
    roles = {r.name: r.inputs for r in stack.of_type("azure-native:authorization:RoleAssignment")}
    assert set(roles) == {"deployer-contributor", "deployer-role-assignments", "previewer-reader"}
    assert roles["deployer-contributor"]["roleDefinitionId"].endswith("b24988ac-6180-42a0-ab88-20f7382dd24c")
    assert roles["previewer-reader"]["roleDefinitionId"].endswith("acdd72a7-3385-48ef-bd42-f606fba81ae7")
    condition = roles["deployer-role-assignments"]["condition"]
    for role in (
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "3913510d-42f4-4e42-8a64-420c390055eb",
        "4633458b-17de-408a-b874-0445c86b69e6",
    ):
        assert role in condition
    assert roles["deployer-role-assignments"]["conditionVersion"] == "2.0"


def test_the_deployer_may_assign_exactly_the_roles_the_program_assigns(stack: Run) -> None:
    condition = next(
        r.inputs["condition"]
        for r in stack.of_type("azure-native:authorization:RoleAssignment")
        if r.name == "deployer-role-assignments"
    )
    program = check_stack("dev")
    assigned = {
        r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        for r in program.of_type("azure-native:authorization:RoleAssignment")
    }
    allowed = set(condition.split("GuidEquals {", 1)[1].split("}", 1)[0].split(", "))
    assert assigned == allowed == set(azure_roles.FUNCTION_HOSTING)


def test_b2c_apps_get_graph_permissions_with_admin_consent(stack: Run) -> None:
    assert granted(stack, "b2c-deployer") == set(permissions.DEPLOYER["b2c"])
    assert granted(stack, "b2c-previewer") == set(permissions.PREVIEWER)
    provider = stack.one("pulumi:providers:azuread")
    assert provider.inputs["useCli"] == "true" and provider.inputs["tenantId"] == TENANT


def test_an_external_id_tenant_gets_the_external_id_permissions() -> None:
    stack = bootstrap(**{"b2c-signup-bootstrap:platform": "externalId"})
    assert (
        granted(stack, "b2c-deployer")
        == set(permissions.DEPLOYER["externalId"])
        == {
            "CustomAuthenticationExtension.ReadWrite.All",
            "EventListener.ReadWrite.All",
            "IdentityUserFlow.ReadWrite.All",
            "Application.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
            "DelegatedPermissionGrant.ReadWrite.All",
        }
    )
    assert granted(stack, "b2c-previewer") == set(permissions.PREVIEWER)
    text = stack.outputs["instructions"]
    assert "pulumi config set --stack dev b2c-signup:platform externalId" in text


def test_a_permission_graph_does_not_offer_is_named() -> None:
    b2c_only = frozenset({*permissions.PREVIEWER, *permissions.DEPLOYER["b2c"]})
    with pytest.raises(
        pulumi.RunError, match="offers no application permission 'CustomAuthenticationExtension"
    ):
        bootstrap(b2c_only, **{"b2c-signup-bootstrap:platform": "externalId"})


def test_an_existing_stack_keeps_working_with_b2c_tenant_id() -> None:
    stack = bootstrap(**{"b2c-signup-bootstrap:tenantId": None, "b2c-signup-bootstrap:b2cTenantId": TENANT})
    provider = stack.one("pulumi:providers:azuread")
    assert provider.inputs["tenantId"] == TENANT
    assert granted(stack, "b2c-deployer") == set(permissions.DEPLOYER["b2c"])


def test_it_prints_the_variables_and_config_to_set(stack: Run) -> None:
    variables = stack.outputs["githubVariables"]
    assert set(variables) == {
        "AZURE_CLIENT_ID",
        "AZURE_PREVIEW_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_SUBSCRIPTION_ID",
        "B2C_CLIENT_ID",
        "B2C_PREVIEW_CLIENT_ID",
    }
    text = stack.outputs["instructions"]
    assert (
        f"gh variable set B2C_CLIENT_ID --repo contoso/b2c-signup --body '{variables['B2C_CLIENT_ID']}'"
        in text
    )
    assert "pulumi config set --stack prod b2c-signup:b2cCredential githubOidc" in text
    assert f"pulumi config set --stack prod b2c-signup:tenantId {TENANT}" in text
    assert "pulumi config set --stack prod b2c-signup:platform b2c" in text


def test_the_team_backend_and_secrets_provider_are_identity_only() -> None:
    stack = bootstrap(
        **{"b2c-signup-bootstrap:teamBackend": "true", "b2c-signup-bootstrap:secretsProvider": "true"}
    )
    account = stack.one("azure-native:storage:StorageAccount").inputs
    assert account["allowSharedKeyAccess"] is False and account["allowBlobPublicAccess"] is False
    assert stack.one("azure-native:keyvault:Vault").inputs["properties"]["enableRbacAuthorization"] is True
    variables = stack.outputs["githubVariables"]
    assert variables["PULUMI_BACKEND_URL"].startswith("azblob://pulumi-state?storage_account=stpulumi")
    assert variables["PULUMI_SECRETS_PROVIDER"].endswith(".vault.azure.net/keys/pulumi-secrets")
    data_roles = {
        r.name: r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        for r in stack.of_type("azure-native:authorization:RoleAssignment")
        if r.name.endswith(("-state", "-secrets"))
    }
    assert data_roles == {
        "deployer-secrets": azure_roles.KEY_VAULT_CRYPTO_USER,
        "deployer-state": azure_roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
        "previewer-secrets": azure_roles.KEY_VAULT_CRYPTO_USER,
        "previewer-state": azure_roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
    }


def test_its_state_is_local_by_default_like_the_projects() -> None:
    # A fresh CLI with no backend named asks for a Pulumi Cloud login; the README says no account is needed.
    project = yaml.safe_load((BOOTSTRAP / "Pulumi.yaml").read_text(encoding="utf-8"))
    main = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["backend"] == main["backend"] == {"url": "file://.pulumi-state"}


@pytest.mark.parametrize(
    ("config", "fragments"),
    [
        ({"githubRepository": "b2c-signup"}, ["githubRepository 'b2c-signup'", "must be owner/name"]),
        ({"tenantId": "contoso"}, ["tenantId 'contoso' is not a GUID", "pulumi config set tenantId"]),
        (
            {"tenantId": None, "b2cTenantId": "contoso"},
            ["b2cTenantId 'contoso' is not a GUID", "pulumi config set tenantId"],
        ),
        ({"tenantId": None}, ["tenantId is not set", "pulumi config set tenantId <tenant GUID>"]),
        (
            {"b2cTenantId": "7c6b5a49-3827-4615-a0b9-c8d7e6f50413"},
            ["tenantId", "b2cTenantId", "differ", "pulumi config rm b2cTenantId"],
        ),
        (
            {"platform": "entra"},
            ["platform 'entra'", "b2c, externalId", "pulumi config set platform externalId"],
        ),
        ({"environments": '["dev", "pr od"]'}, ["'pr od' is not a GitHub environment name"]),
    ],
)
def test_bad_config_is_named_with_a_fix(config: dict[str, str | None], fragments: list[str]) -> None:
    with pytest.raises(pulumi.RunError) as raised:
        bootstrap(**{f"b2c-signup-bootstrap:{key}": value for key, value in config.items()})
    message = str(raised.value)
    for fragment in fragments:
        assert fragment in message


def test_it_imports_the_project_rooms_when_pulumi_runs_it_from_its_folder() -> None:
    # The language host starts the program in bootstrap/, with only that folder on the path: the
    # imports must succeed, so what stops it here is the missing config, not components/.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    ran = subprocess.run(
        [sys.executable, "__main__.py"],
        cwd=BOOTSTRAP,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "ModuleNotFoundError" not in ran.stderr
    assert "Missing required configuration variable 'project:githubRepository'" in ran.stderr
