"""SignupFunction: the sign-up gate function on Flex Consumption, with identity-only access to
storage, monitoring and Key Vault, and its code published through One Deploy.

The same function serves both platforms; what differs is how its caller authenticates:
B2C's API connector with HTTP Basic (the passwords in Key Vault, referenced by version), External
ID's custom extension with an Entra bearer token (no secret at all, so no Key Vault)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_random as random
from pulumi_azure_native import (
    applicationinsights,
    authorization,
    keyvault,
    managedidentity,
    operationalinsights,
    resources,
    storage,
    web,
)

from components.azure_roles import (
    KEY_VAULT_SECRETS_USER,
    MONITORING_METRICS_PUBLISHER,
    STORAGE_BLOB_DATA_OWNER,
    role_definition_id,
)
from components.code_deployment import FunctionCodeDeployment
from components.packaging import PYTHON_VERSIONS
from functions import app_settings

INSTANCE_MEMORY_MB = (512, 2048, 4096)
PASSWORD_SECRET_NAME = "basic-auth-password"  # noqa: S105 - the Key Vault secret's name, not a secret
DEPLOYMENT_CONTAINER = "app-package"
VALIDATE_ROUTE = app_settings.GATE_PATH  # what the tenant calls, below the app's host
# The connector password's generations count from here; the first keeps the names stacks had
# before rotation existed, so they gain rotation without replacing anything.
FIRST_GENERATION = 1


MAXIMUM_INSTANCES = (40, 1000)
_NAME_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,9}$")
_LOCATION = re.compile(r"^[a-z][a-z0-9]{2,30}$")
# Azure: 1 to 90 letters, digits, '_', '-', '.', '(' and ')', not ending with '.'.
_RESOURCE_GROUP = re.compile(r"^[\w().-]{0,89}[\w()-]$")


@dataclass(frozen=True)
class Hosting:
    """Where and how the function runs: the one typed object stack config builds and the component
    takes whole. `problems()` is the one owner of the Azure and Flex Consumption limits."""

    location: str = "westeurope"
    name_prefix: str = "signup"
    resource_group_name: str | None = None  # None: create one
    python_version: str = "3.12"
    always_ready_instances: int = 0
    maximum_instances: int = 40
    instance_memory_mb: int = 2048

    def problems(self) -> list[tuple[str, str]]:
        """(field, why) for every choice Azure or Flex Consumption would refuse."""
        low, high = MAXIMUM_INSTANCES
        checks = [
            (
                "name_prefix",
                _NAME_PREFIX.match(self.name_prefix),
                "must be 2 to 10 lowercase letters and digits, starting with a letter",
            ),
            ("location", _LOCATION.match(self.location), "is not an Azure region name such as westeurope"),
            (
                "resource_group_name",
                self.resource_group_name is None or _RESOURCE_GROUP.match(self.resource_group_name),
                "is not a resource group name: 1 to 90 letters, digits, '_', '-', '.', '(' and ')', not ending with '.'",
            ),
            (
                "python_version",
                self.python_version in PYTHON_VERSIONS,
                f"must be one of {', '.join(PYTHON_VERSIONS)}",
            ),
            (
                "instance_memory_mb",
                self.instance_memory_mb in INSTANCE_MEMORY_MB,
                f"must be one of {', '.join(map(str, INSTANCE_MEMORY_MB))}",
            ),
            (
                "maximum_instances",
                low <= self.maximum_instances <= high,
                f"must be a whole number from {low} to {high}",
            ),
            (
                "always_ready_instances",
                0 <= self.always_ready_instances <= self.maximum_instances,
                f"must be a whole number from 0 to {self.maximum_instances} (maximum_instances)",
            ),
        ]
        return [(name, problem) for name, ok, problem in checks if not ok]


def accepted_generations(generation: int) -> tuple[int, ...]:
    """The connector password generations the function accepts at `generation`: the one before
    (none before the first), this one, and the next, which is in place before any connector sends
    it. A rotation (generation + 1) then moves the connector from one password that both the old
    and the restarted app accept to another that both accept: no sign-up is refused meanwhile."""
    return tuple(g for g in (generation - 1, generation, generation + 1) if g >= FIRST_GENERATION)


@dataclass(frozen=True)
class BasicAuthCaller:
    """B2C's API connector calls with HTTP Basic: `generation` is what the connector sends,
    `passwords` every generation of accepted_generations(generation)."""

    username: pulumi.Input[str]
    generation: int
    passwords: Mapping[int, pulumi.Input[str]]

    def __post_init__(self) -> None:
        wanted = accepted_generations(self.generation)
        if self.generation < FIRST_GENERATION or tuple(sorted(self.passwords)) != wanted:
            raise ValueError(
                f"passwords has generations {sorted(self.passwords)}: give exactly {list(wanted)} "
                f"for generation {self.generation} (the first is {FIRST_GENERATION})"
            )


@dataclass(frozen=True)
class EntraCaller:
    """External ID's custom authentication extension calls with an Entra bearer token issued for
    the extension's resource app; the function checks it against the tenant's signing keys."""

    tenant_id: str
    audience: pulumi.Input[str]  # the resource app's client id
    jwks_url: str


@dataclass(frozen=True)
class SignupFunctionArgs:
    hosting: Hosting
    allowed_domains: Sequence[str]
    caller: BasicAuthCaller | EntraCaller
    package_path: str
    package_sha256: str
    signup_messages: str = ""  # SIGNUP_MESSAGES: texts by language; "" for the built-in ones
    # The web API's token check by field (issuer, audience, scope, policy, jwks_url); the app
    # settings they become are named in functions/app_settings.py. Empty: the web API answers 503.
    token_validation: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Stack config reports these by key for users; this guards other callers of the component.
        if problems := self.hosting.problems():
            raise ValueError(
                "; ".join(f"{name} {getattr(self.hosting, name)!r} {why}" for name, why in problems)
            )
        if not self.allowed_domains:
            raise ValueError("allowed_domains must list at least one domain")
        fields = set(app_settings.B2C_TOKEN_SETTINGS)
        if self.token_validation and set(self.token_validation) != fields:
            raise ValueError(
                f"token_validation has {sorted(self.token_validation)}: give exactly {sorted(fields)}, or none"
            )


class SignupFunction(pulumi.ComponentResource):
    function_base_url: pulumi.Output[str]
    validate_signup_url: pulumi.Output[str]
    web_api_base_url: pulumi.Output[str]
    app_name: pulumi.Output[str]
    identity_principal_id: pulumi.Output[str]
    key_vault_uri: pulumi.Output[str | None]  # None when the caller needs no secret (External ID)

    def __init__(
        self, name: str, args: SignupFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("b2c-signup:azure:SignupFunction", name, None, opts)
        self._name, self._args, self._hosting = name, args, args.hosting
        self._child = pulumi.ResourceOptions(parent=self)
        self._client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._where = self._placement()
        # Globally unique names: a new stack (or a stack destroyed and brought up again) draws a new
        # suffix, so a soft-deleted Key Vault of an earlier run can never block the name.
        self._suffix = random.RandomString(
            f"{name}-suffix", length=8, special=False, upper=False, min_numeric=2, opts=self._child
        ).result

        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=f"id-{self._hosting.name_prefix}",
            **self._where,
            opts=self._child,
        )
        account, container = self._storage()
        insights = self._monitoring()
        secrets: list[pulumi.Resource] = []
        caller_settings: dict[str, pulumi.Input[str]]
        vault: keyvault.Vault | None = None
        if isinstance(args.caller, BasicAuthCaller):
            vault, references, secrets = self._vault(args.caller)
            caller_settings = {
                app_settings.BASIC_AUTH_USERNAME: args.caller.username,
                **references,
            }
        else:
            caller_settings = {
                app_settings.SIGNUP_PLATFORM: app_settings.PLATFORM_EXTERNAL_ID,
                app_settings.ENTRA_TENANT_ID: args.caller.tenant_id,
                app_settings.ENTRA_CALLOUT_AUDIENCE: args.caller.audience,
                app_settings.ENTRA_JWKS_URL: args.caller.jwks_url,
            }
        # The app starts using these identities at once: grant before it exists, not after.
        grants = self._grants(identity, account, insights, vault)
        app = self._app(identity, account, container, insights, caller_settings, [*grants, *secrets])
        self._code(app, grants)

        self.function_base_url = pulumi.Output.concat("https://", app.default_host_name)
        self.validate_signup_url = pulumi.Output.concat(self.function_base_url, "/", VALIDATE_ROUTE)
        self.web_api_base_url = pulumi.Output.concat(self.function_base_url, app_settings.BASE_PATH)
        self.app_name = app.name
        self.identity_principal_id = identity.principal_id
        self.key_vault_uri = (
            vault.properties.vault_uri if vault is not None else pulumi.Output.from_input(None)
        )
        self.register_outputs(
            {
                "function_base_url": self.function_base_url,
                "validate_signup_url": self.validate_signup_url,
                "web_api_base_url": self.web_api_base_url,
                "app_name": self.app_name,
                "identity_principal_id": self.identity_principal_id,
                "key_vault_uri": self.key_vault_uri,
            }
        )

    def _placement(self) -> dict[str, Any]:
        """Resource group (the given one, or a new one), location and tags every resource shares."""
        hosting, tags = self._hosting, dict(self._args.tags)
        if hosting.resource_group_name is None:
            group = resources.ResourceGroup(
                f"{self._name}-rg", location=hosting.location, tags=tags, opts=self._child
            )
            group_name: pulumi.Input[str] = group.name
        else:
            group_name = hosting.resource_group_name
        return {"resource_group_name": group_name, "location": hosting.location, "tags": tags}

    def _storage(self) -> tuple[storage.StorageAccount, storage.BlobContainer]:
        account = storage.StorageAccount(
            f"{self._name}-storage",
            account_name=pulumi.Output.concat("st", self._hosting.name_prefix, self._suffix),
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=storage.SkuName.STANDARD_LRS),
            allow_shared_key_access=False,
            allow_blob_public_access=False,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            enable_https_traffic_only=True,
            default_to_o_auth_authentication=True,
            **self._where,
            opts=self._child,
        )
        container = storage.BlobContainer(
            f"{self._name}-deployment",
            container_name=DEPLOYMENT_CONTAINER,
            account_name=account.name,
            resource_group_name=self._where["resource_group_name"],
            public_access=storage.PublicAccess.NONE,
            opts=self._child,
        )
        return account, container

    def _monitoring(self) -> applicationinsights.Component:
        workspace = operationalinsights.Workspace(
            f"{self._name}-logs",
            sku=operationalinsights.WorkspaceSkuArgs(
                name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018
            ),
            retention_in_days=30,
            **self._where,
            opts=self._child,
        )
        return applicationinsights.Component(
            f"{self._name}-insights",
            kind="web",
            application_type=applicationinsights.ApplicationType.WEB,
            workspace_resource_id=workspace.id,
            ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
            disable_local_auth=True,
            **self._where,
            opts=self._child,
        )

    def _vault(
        self, caller: BasicAuthCaller
    ) -> tuple[keyvault.Vault, dict[str, pulumi.Output[str]], list[pulumi.Resource]]:
        """The vault with one secret per accepted password generation, and the app settings that
        reference them. Each generation's secret keeps its value for life and is referenced by
        version: a rotation changes the setting, so the app restarts onto it at once (an
        unversioned reference is refreshed only within 24 hours)."""
        vault = keyvault.Vault(
            f"{self._name}-vault",
            vault_name=pulumi.Output.concat("kv-", self._hosting.name_prefix, "-", self._suffix),
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=self._client.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                # The shortest retention, and no purge protection, so a demo teardown can purge it.
                soft_delete_retention_in_days=7,
            ),
            **self._where,
            opts=self._child,
        )
        roles = {
            caller.generation - 1: app_settings.BASIC_AUTH_PREVIOUS_PASSWORD,
            caller.generation: app_settings.BASIC_AUTH_PASSWORD,
            caller.generation + 1: app_settings.BASIC_AUTH_NEXT_PASSWORD,
        }
        references: dict[str, pulumi.Output[str]] = {}
        secrets: list[pulumi.Resource] = []
        for generation, password in sorted(caller.passwords.items()):
            # The first generation keeps the names stacks had before rotation: nothing is replaced.
            suffix = "" if generation == FIRST_GENERATION else f"-{generation}"
            secret = keyvault.Secret(
                f"{self._name}-password{suffix}",
                secret_name=f"{PASSWORD_SECRET_NAME}{suffix}",
                vault_name=vault.name,
                resource_group_name=self._where["resource_group_name"],
                properties=keyvault.SecretPropertiesArgs(value=pulumi.Output.secret(password)),
                opts=self._child,
            )
            secrets.append(secret)
            # The URI names the value without holding it: not a secret, though it comes out of one.
            references[roles[generation]] = pulumi.Output.unsecret(
                secret.properties.secret_uri_with_version
            ).apply(lambda uri: f"@Microsoft.KeyVault(SecretUri={uri})")
        return vault, references, secrets

    def _grants(
        self,
        identity: managedidentity.UserAssignedIdentity,
        account: storage.StorageAccount,
        insights: applicationinsights.Component,
        vault: keyvault.Vault | None,
    ) -> list[authorization.RoleAssignment]:
        def grant(label: str, role: str, scope: pulumi.Input[str]) -> authorization.RoleAssignment:
            return authorization.RoleAssignment(
                f"{self._name}-{label}",
                principal_id=identity.principal_id,
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=self._client.subscription_id.apply(
                    lambda sub: role_definition_id(sub, role)
                ),
                scope=scope,
                opts=self._child,
            )

        grants = [
            grant("blob-data-owner", STORAGE_BLOB_DATA_OWNER, account.id),
            grant("metrics-publisher", MONITORING_METRICS_PUBLISHER, insights.id),
        ]
        if vault is not None:
            grants.append(grant("secrets-user", KEY_VAULT_SECRETS_USER, vault.id))
        return grants

    def _app(
        self,
        identity: managedidentity.UserAssignedIdentity,
        account: storage.StorageAccount,
        container: storage.BlobContainer,
        insights: applicationinsights.Component,
        caller_settings: Mapping[str, pulumi.Input[str]],
        depends_on: list[pulumi.Resource],
    ) -> web.WebApp:
        args, hosting, name = self._args, self._hosting, self._name
        plan = web.AppServicePlan(
            f"{name}-plan",
            kind="functionapp",
            reserved=True,
            sku=web.SkuDescriptionArgs(name="FC1", tier="FlexConsumption"),
            **self._where,
            opts=self._child,
        )
        settings = {
            "AzureWebJobsStorage__accountName": account.name,
            "AzureWebJobsStorage__credential": "managedidentity",
            "AzureWebJobsStorage__clientId": identity.client_id,
            "APPLICATIONINSIGHTS_CONNECTION_STRING": insights.connection_string,
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": pulumi.Output.concat(
                "Authorization=AAD;ClientId=", identity.client_id
            ),
            app_settings.ALLOWED_EMAIL_DOMAINS: ",".join(args.allowed_domains),
            **caller_settings,
        }
        if args.signup_messages:
            settings[app_settings.SIGNUP_MESSAGES] = args.signup_messages
        settings.update(
            {app_settings.B2C_TOKEN_SETTINGS[key]: value for key, value in args.token_validation.items()}
        )
        always_ready = (
            [web.FunctionsAlwaysReadyConfigArgs(name="http", instance_count=hosting.always_ready_instances)]
            if hosting.always_ready_instances
            else None
        )
        app = web.WebApp(
            f"{name}-app",
            name=pulumi.Output.concat("func-", hosting.name_prefix, "-", self._suffix),
            kind="functionapp,linux",
            server_farm_id=plan.id,
            https_only=True,
            identity=web.ManagedServiceIdentityArgs(
                type=web.ManagedServiceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id]
            ),
            key_vault_reference_identity=identity.id,
            function_app_config=web.FunctionAppConfigArgs(
                deployment=web.FunctionsDeploymentArgs(
                    storage=web.FunctionsDeploymentStorageArgs(
                        type=web.FunctionsDeploymentStorageType.BLOB_CONTAINER,
                        value=pulumi.Output.concat(account.primary_endpoints.blob, container.name),
                        authentication=web.FunctionsDeploymentStorageAuthenticationArgs(
                            type=web.AuthenticationType.USER_ASSIGNED_IDENTITY,
                            user_assigned_identity_resource_id=identity.id,
                        ),
                    )
                ),
                runtime=web.FunctionsRuntimeArgs(name=web.RuntimeName.PYTHON, version=hosting.python_version),
                scale_and_concurrency=web.FunctionsScaleAndConcurrencyArgs(
                    maximum_instance_count=hosting.maximum_instances,
                    instance_memory_mb=hosting.instance_memory_mb,
                    always_ready=always_ready,
                ),
            ),
            # A dict, not SiteConfigArgs: the Args class fills in netFrameworkVersion 'v4.6', which
            # Flex Consumption rejects in some regions (pulumi-azure-native#4168).
            site_config=web.SiteConfigArgsDict(
                min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                scm_min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                http20_enabled=True,
                app_settings=[
                    web.NameValuePairArgsDict(name=key, value=value) for key, value in settings.items()
                ],
            ),
            **self._where,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        # Publishing with basic-auth credentials stays off: One Deploy uses Entra tokens.
        for label, resource in (("ftp", web.WebAppFtpAllowed), ("scm", web.WebAppScmAllowed)):
            resource(
                f"{name}-{label}-basic-auth",
                name=app.name,
                resource_group_name=self._where["resource_group_name"],
                allow=False,
                opts=self._child,
            )
        return app

    def _code(self, app: web.WebApp, grants: list[authorization.RoleAssignment]) -> None:
        FunctionCodeDeployment(
            f"{self._name}-code",
            app_id=app.id,
            scm_url=app.enabled_host_names.apply(_scm_url),
            package_path=self._args.package_path,
            package_sha256=self._args.package_sha256,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[app, *grants]),
        )


def _scm_url(host_names: Sequence[str] | None) -> str:
    """The SCM origin. New apps get unique default host names (name-hash.region.azurewebsites.net),
    so the SCM host is read from the app rather than assumed to be <name>.scm.azurewebsites.net."""
    scm = [host for host in host_names or [] if ".scm." in host]
    if not scm:
        raise ValueError(f"the function app reports no SCM host name among {list(host_names or [])}")
    return f"https://{scm[0]}"
