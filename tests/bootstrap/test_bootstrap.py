"""bootstrap/ under Pulumi mocks: identities, federated credentials, least roles, admin consent."""

from __future__ import annotations

import runpy
import sys
from typing import Any

import pulumi
import pytest

from tests.conftest import PROJECT_DIR
from tools.program_check import Run, run

BOOTSTRAP = PROJECT_DIR / "bootstrap"
sys.path.insert(0, str(BOOTSTRAP))
CONFIG = {
    "b2c-signup-bootstrap:githubRepository": "contoso/b2c-signup",
    "b2c-signup-bootstrap:b2cTenantId": "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90",
}


def bootstrap(**config: Any) -> Run:
    program = str(BOOTSTRAP / "__main__.py")
    return run(
        lambda: runpy.run_path(program, run_name="__main__"),
        {**CONFIG, **config},
        project="b2c-signup-bootstrap",
    )


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
    b2c = {
        r.inputs["displayName"]: r.inputs["subject"]
        for r in stack.of_type(
            "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
        )
    }
    assert set(b2c.values()) == {c["subject"] for c in azure.values()}


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


def test_b2c_apps_get_graph_permissions_with_admin_consent(stack: Run) -> None:
    apps = {r.name: r.inputs for r in stack.of_type("azuread:index/application:Application")}
    grants = stack.of_type("azuread:index/appRoleAssignment:AppRoleAssignment")
    deployer_roles = {
        a["id"] for a in apps["b2c-deployer"]["requiredResourceAccesses"][0]["resourceAccesses"]
    }
    assert len(deployer_roles) == 4
    assert {g.inputs["appRoleId"] for g in grants if g.name.startswith("b2c-deployer-")} == deployer_roles
    assert [g.name for g in grants if g.name.startswith("b2c-previewer-")] == [
        "b2c-previewer-Application.Read.All"
    ]
    provider = stack.one("pulumi:providers:azuread")
    assert (
        provider.inputs["useCli"] == "true"
        and provider.inputs["tenantId"] == CONFIG["b2c-signup-bootstrap:b2cTenantId"]
    )


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
    data_roles = [
        r.name
        for r in stack.of_type("azure-native:authorization:RoleAssignment")
        if r.name.endswith(("-state", "-secrets"))
    ]
    assert sorted(data_roles) == [
        "deployer-secrets",
        "deployer-state",
        "previewer-secrets",
        "previewer-state",
    ]


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("githubRepository", "b2c-signup", "must be owner/name"),
        ("b2cTenantId", "contoso", "is not a GUID"),
        ("environments", '["dev", "pr od"]', "is not a GitHub environment name"),
    ],
)
def test_bad_config_is_named(key: str, value: str, fragment: str) -> None:
    with pytest.raises(pulumi.RunError, match=fragment):
        bootstrap(**{f"b2c-signup-bootstrap:{key}": value})
