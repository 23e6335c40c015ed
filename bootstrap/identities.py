"""The deployment identities of b2c-signup, created once by someone who may (a subscription
Owner who is also an administrator of the B2C or External ID tenant), so that CI needs no stored
secret afterwards.

Two identities on each side, because a pull request's preview runs the PR's code:
- deployer: federated with the GitHub environments that deploy (and the demo teardown); in the
  subscription Contributor plus role-assignment rights limited to the roles the program grants;
  in the tenant the Graph application permissions `up` needs on its platform, admin-consented.
- previewer: federated with pull requests only; Reader in the subscription and read-only Graph
  permissions in the tenant. A preview diffs; it never needs to write.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread
import pulumi_random as random
from pulumi_azure_native import authorization, keyvault, managedidentity, resources, storage

from components import azure_roles
from components.graph import permissions

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
TOKEN_EXCHANGE = "api://AzureADTokenExchange"  # noqa: S105 - the audience GitHub tokens carry
MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
_REPOSITORY = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9._-]{1,255}$")


@dataclass(frozen=True)
class BootstrapArgs:
    repository: str
    platform: str
    tenant_id: str
    environments: tuple[str, ...]
    demo_environment: str
    location: str
    team_backend: bool
    secrets_provider: bool

    @classmethod
    def validated(
        cls,
        *,
        repository: str,
        platform: str,
        tenant_id: str,
        legacy_tenant_id: str = "",
        environments: tuple[str, ...],
        demo_environment: str,
        location: str,
        team_backend: bool,
        secrets_provider: bool,
    ) -> BootstrapArgs:
        """The arguments, or a RunError naming every bad key with its fix. `legacy_tenant_id` is
        b2cTenantId, the key's name before External ID, which existing stacks still hold."""
        problems = []
        if not _REPOSITORY.match(repository):
            problems.append(f"githubRepository {repository!r} must be owner/name, e.g. contoso/b2c-signup")
        if platform not in permissions.DEPLOYER:
            problems.append(
                f"platform {platform!r} must be one of {', '.join(permissions.DEPLOYER)}, the tenant's "
                "identity platform: pulumi config set platform externalId (or remove it for b2c)"
            )
        tenant_key, tenant = ("tenantId", tenant_id) if tenant_id else ("b2cTenantId", legacy_tenant_id)
        if tenant_id and legacy_tenant_id and tenant_id != legacy_tenant_id:
            problems.append(
                f"tenantId {tenant_id!r} and b2cTenantId {legacy_tenant_id!r} differ: b2cTenantId is the "
                "key's former name; keep one (pulumi config rm b2cTenantId)"
            )
        elif not tenant:
            problems.append(
                "tenantId is not set: pulumi config set tenantId <tenant GUID> (portal > the B2C or "
                "External ID tenant > Overview > Tenant ID)"
            )
        else:
            try:
                uuid.UUID(tenant)
            except ValueError:
                problems.append(
                    f"{tenant_key} {tenant!r} is not a GUID: pulumi config set tenantId <tenant GUID>"
                )
        for environment in (*environments, demo_environment):
            if not _ENVIRONMENT.match(str(environment)):
                problems.append(f"environment {environment!r} is not a GitHub environment name")
        if not environments:
            problems.append("environments must name at least one GitHub environment, e.g. [dev, prod]")
        if problems:
            raise pulumi.RunError("Bootstrap configuration is not valid:\n  - " + "\n  - ".join(problems))
        return cls(
            repository=repository,
            platform=platform,
            tenant_id=tenant,
            environments=environments,
            demo_environment=demo_environment,
            location=location,
            team_backend=team_backend,
            secrets_provider=secrets_provider,
        )

    def deploy_subjects(self) -> dict[str, str]:
        names = (*self.environments, self.demo_environment)
        return {name: f"repo:{self.repository}:environment:{name}" for name in names}

    @property
    def preview_subject(self) -> str:
        return f"repo:{self.repository}:pull_request"


def _subscription_role(
    name: str, role: str, principal: pulumi.Input[str], scope: pulumi.Input[str], **extra: object
) -> None:
    authorization.RoleAssignment(
        name,
        principal_id=principal,
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
        role_definition_id=authorization.get_client_config_output().subscription_id.apply(
            lambda subscription: azure_roles.role_definition_id(subscription, role)
        ),
        scope=scope,
        **extra,
    )


def _role_assignment_condition() -> str:
    """Role-assignment rights for the roles the program grants, and no others."""
    guids = ", ".join(azure_roles.FUNCTION_HOSTING)
    return (
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
        f"(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{guids}}})) AND "
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR "
        f"(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{guids}}}))"
    )


def _azure_side(args: BootstrapArgs) -> dict[str, pulumi.Output[str]]:
    client = authorization.get_client_config_output()
    subscription_scope = pulumi.Output.concat("/subscriptions/", client.subscription_id)
    group = resources.ResourceGroup(
        "bootstrap", resource_group_name="rg-b2c-signup-bootstrap", location=args.location
    )
    where = {"resource_group_name": group.name, "location": args.location}
    deployer = managedidentity.UserAssignedIdentity(
        "deployer", resource_name_="id-b2c-signup-deployer", **where
    )
    previewer = managedidentity.UserAssignedIdentity(
        "previewer", resource_name_="id-b2c-signup-previewer", **where
    )
    for environment, subject in args.deploy_subjects().items():
        managedidentity.FederatedIdentityCredential(
            f"deployer-{environment}",
            resource_name_=deployer.name,
            resource_group_name=group.name,
            federated_identity_credential_resource_name=f"github-{environment}",
            issuer=GITHUB_ISSUER,
            subject=subject,
            audiences=[TOKEN_EXCHANGE],
        )
    managedidentity.FederatedIdentityCredential(
        "previewer-pull-requests",
        resource_name_=previewer.name,
        resource_group_name=group.name,
        federated_identity_credential_resource_name="github-pull-requests",
        issuer=GITHUB_ISSUER,
        subject=args.preview_subject,
        audiences=[TOKEN_EXCHANGE],
    )
    _subscription_role(
        "deployer-contributor", azure_roles.CONTRIBUTOR, deployer.principal_id, subscription_scope
    )
    _subscription_role(
        "deployer-role-assignments",
        azure_roles.RBAC_ADMINISTRATOR,
        deployer.principal_id,
        subscription_scope,
        condition=_role_assignment_condition(),
        condition_version="2.0",
    )
    _subscription_role("previewer-reader", azure_roles.READER, previewer.principal_id, subscription_scope)

    values = {
        "AZURE_CLIENT_ID": deployer.client_id,
        "AZURE_PREVIEW_CLIENT_ID": previewer.client_id,
        "AZURE_TENANT_ID": client.tenant_id,
        "AZURE_SUBSCRIPTION_ID": client.subscription_id,
    }
    suffix = random.RandomString("suffix", length=8, special=False, upper=False).result
    if args.team_backend:
        account = storage.StorageAccount(
            "state",
            account_name=pulumi.Output.concat("stpulumi", suffix),
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=storage.SkuName.STANDARD_ZRS),
            allow_shared_key_access=False,
            allow_blob_public_access=False,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            enable_https_traffic_only=True,
            **where,
        )
        container = storage.BlobContainer(
            "state", container_name="pulumi-state", account_name=account.name, resource_group_name=group.name
        )
        storage.BlobServiceProperties(
            "state-versioning",
            account_name=account.name,
            resource_group_name=group.name,
            blob_services_name="default",
            is_versioning_enabled=True,  # a corrupted state file can be rolled back
        )
        # A preview writes lock files, so both identities need data write access to the container.
        for label, identity in (("deployer", deployer), ("previewer", previewer)):
            _subscription_role(
                f"{label}-state",
                azure_roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
                identity.principal_id,
                container.id,
            )
        values["PULUMI_BACKEND_URL"] = pulumi.Output.concat(
            "azblob://", container.name, "?storage_account=", account.name
        )
        values["AZURE_STORAGE_ACCOUNT"] = account.name
    if args.secrets_provider:
        vault = keyvault.Vault(
            "secrets",
            vault_name=pulumi.Output.concat("kv-pulumi-", suffix),
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=client.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_purge_protection=True,  # losing this key loses every stack's secrets
            ),
            **where,
        )
        key = keyvault.Key(
            "secrets",
            key_name="pulumi-secrets",
            vault_name=vault.name,
            resource_group_name=group.name,
            properties=keyvault.KeyPropertiesArgs(
                kty=keyvault.JsonWebKeyType.RSA,
                key_size=2048,
                key_ops=["encrypt", "decrypt", "wrapKey", "unwrapKey"],
            ),
        )
        for label, identity in (("deployer", deployer), ("previewer", previewer)):
            _subscription_role(
                f"{label}-secrets", azure_roles.KEY_VAULT_CRYPTO_USER, identity.principal_id, vault.id
            )
        values["PULUMI_SECRETS_PROVIDER"] = pulumi.Output.concat(
            "azurekeyvault://", vault.name, ".vault.azure.net/keys/", key.name
        )
    return values


def _app_role(graph: azuread.GetServicePrincipalResult, permission: str) -> str:
    """The id of a Graph application permission, or an error naming it (a permission the tenant's
    Graph principal does not offer would otherwise surface as a bare KeyError)."""
    if permission not in graph.app_role_ids:
        raise pulumi.RunError(
            f"Microsoft Graph in this tenant offers no application permission {permission!r}: check "
            "that the tenant is of the configured platform (pulumi config get platform)"
        )
    return graph.app_role_ids[permission]


def _tenant_app(
    name: str,
    display_name: str,
    graph_permissions: tuple[str, ...],
    subjects: dict[str, str],
    provider: azuread.Provider,
) -> azuread.Application:
    options = pulumi.ResourceOptions(provider=provider)
    graph = azuread.get_service_principal_output(
        client_id=MICROSOFT_GRAPH_APP_ID, opts=pulumi.InvokeOutputOptions(provider=provider)
    )
    role_ids = {p: graph.apply(functools.partial(_app_role, permission=p)) for p in graph_permissions}
    app = azuread.Application(
        name,
        display_name=display_name,
        required_resource_accesses=[
            azuread.ApplicationRequiredResourceAccessArgs(
                resource_app_id=MICROSOFT_GRAPH_APP_ID,
                resource_accesses=[
                    azuread.ApplicationRequiredResourceAccessResourceAccessArgs(id=role_id, type="Role")
                    for role_id in role_ids.values()
                ],
            )
        ],
        opts=options,
    )
    principal = azuread.ServicePrincipal(name, client_id=app.client_id, opts=options)
    # Admin consent: an app role assignment per application permission.
    for permission, role_id in role_ids.items():
        azuread.AppRoleAssignment(
            f"{name}-{permission}",
            app_role_id=role_id,
            principal_object_id=principal.object_id,
            resource_object_id=graph.object_id,
            opts=options,
        )
    for label, subject in subjects.items():
        azuread.ApplicationFederatedIdentityCredential(
            f"{name}-{label}",
            application_id=app.id,
            display_name=f"github-{label}",
            issuer=GITHUB_ISSUER,
            subject=subject,
            audiences=[TOKEN_EXCHANGE],
            opts=options,
        )
    return app


def build(args: BootstrapArgs) -> None:
    values = _azure_side(args)
    # The resource names keep their "b2c-" prefix on either platform: renaming them would replace
    # the provider and the apps of every existing bootstrap stack, and with them CI's client ids.
    tenant = azuread.Provider("b2c-tenant", tenant_id=args.tenant_id, use_cli=True)
    deployer = _tenant_app(
        "b2c-deployer",
        "b2c-signup deployer",
        permissions.DEPLOYER[args.platform],
        args.deploy_subjects(),
        tenant,
    )
    previewer = _tenant_app(
        "b2c-previewer",
        "b2c-signup previewer",
        permissions.PREVIEWER,
        {"pull-requests": args.preview_subject},
        tenant,
    )
    values["B2C_CLIENT_ID"] = deployer.client_id
    values["B2C_PREVIEW_CLIENT_ID"] = previewer.client_id

    variables = pulumi.Output.all(**values)
    pulumi.export("githubVariables", variables)
    pulumi.export(
        "instructions",
        variables.apply(lambda v: _instructions(args, v)),
    )


def _instructions(args: BootstrapArgs, values: dict[str, str]) -> str:
    lines = ["Set these GitHub variables (Settings > Secrets and variables > Actions > Variables):"]
    lines += [
        f"  gh variable set {name} --repo {args.repository} --body '{value}'"
        for name, value in sorted(values.items())
    ]
    lines += ["", "Create the GitHub environments, with required reviewers on prod:"]
    lines += [f"  {name}" for name in (*args.environments, args.demo_environment)]
    lines += ["", "Then, for each stack:"]
    for stack in args.environments:
        lines += [
            f"  pulumi config set --stack {stack} b2c-signup:platform {args.platform}",
            f"  pulumi config set --stack {stack} b2c-signup:tenantId {args.tenant_id}",
            f"  pulumi config set --stack {stack} b2c-signup:b2cCredential githubOidc",
            f"  pulumi config set --stack {stack} b2c-signup:b2cClientId {values['B2C_CLIENT_ID']}",
        ]
    return "\n".join(lines)
