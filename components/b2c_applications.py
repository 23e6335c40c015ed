"""B2CApplications: the app registrations in the B2C tenant — web API with its scope, the Flow
client used by the Power Automate connector, the test app for "Run user flow" — with service
principals and admin consent, so no user meets a consent prompt B2C cannot show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pulumi
import pulumi_azuread as azuread
import pulumi_random as random

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Microsoft Graph's delegated permission ids for the OpenID Connect scopes (the same in every tenant).
OPENID_SCOPE_ID = "37f7f235-527c-4136-accd-4a02d197296e"
OFFLINE_ACCESS_SCOPE_ID = "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"
# "Accounts in any identity provider or organizational directory (for authenticating users with
# user flows)": the only audience B2C user flows accept.
B2C_AUDIENCE = "AzureADandPersonalMicrosoftAccount"
JWT_MS = "https://jwt.ms"


@dataclass(frozen=True)
class B2CApplicationsArgs:
    name_prefix: str
    tenant_domain: str
    api_identifier: str
    api_scope: str
    flow_redirect_uris: Sequence[str]
    flow_secret_lifetime_days: int
    flow_secret_rotation: str
    provider: azuread.Provider


class B2CApplications(pulumi.ComponentResource):
    web_api_client_id: pulumi.Output[str]
    web_api_scope: pulumi.Output[str]
    flow_client_id: pulumi.Output[str]
    flow_client_secret: pulumi.Output[str]
    flow_redirect_uris: pulumi.Output[list[str]]
    test_client_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: B2CApplicationsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("b2c-signup:b2c:Applications", name, None, opts)
        # Every child talks to the B2C tenant, never the subscription's directory.
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        b2c_invoke = pulumi.InvokeOutputOptions(parent=self, provider=args.provider)
        identifier_uri = f"https://{args.tenant_domain}/{args.api_identifier}"
        scope_uri = f"{identifier_uri}/{args.api_scope}"

        # A stable id for the scope: clients reference it, so it must not change between runs.
        scope_id = random.RandomUuid(f"{name}-scope-id", opts=pulumi.ResourceOptions(parent=self)).result
        web_api = azuread.Application(
            f"{name}-web-api",
            display_name=f"{args.name_prefix} web API",
            sign_in_audience=B2C_AUDIENCE,
            identifier_uris=[identifier_uri],
            api=azuread.ApplicationApiArgs(
                requested_access_token_version=2,  # B2C refuses apps that ask for v1 tokens
                oauth2_permission_scopes=[
                    azuread.ApplicationApiOauth2PermissionScopeArgs(
                        id=scope_id,
                        value=args.api_scope,
                        type="Admin",
                        enabled=True,
                        admin_consent_display_name=f"Access the {args.name_prefix} web API",
                        admin_consent_description=f"Lets the app call the {args.name_prefix} web API for the signed-in user.",
                    )
                ],
            ),
            opts=child,
        )
        openid_access = azuread.ApplicationRequiredResourceAccessArgs(
            resource_app_id=MICROSOFT_GRAPH_APP_ID,
            resource_accesses=[
                azuread.ApplicationRequiredResourceAccessResourceAccessArgs(id=OPENID_SCOPE_ID, type="Scope"),
                azuread.ApplicationRequiredResourceAccessResourceAccessArgs(
                    id=OFFLINE_ACCESS_SCOPE_ID, type="Scope"
                ),
            ],
        )
        api_access = azuread.ApplicationRequiredResourceAccessArgs(
            resource_app_id=web_api.client_id,
            resource_accesses=[
                azuread.ApplicationRequiredResourceAccessResourceAccessArgs(id=scope_id, type="Scope")
            ],
        )
        flow = azuread.Application(
            f"{name}-flow-client",
            display_name=f"{args.name_prefix} Power Automate connector",
            sign_in_audience=B2C_AUDIENCE,
            web=azuread.ApplicationWebArgs(redirect_uris=list(args.flow_redirect_uris)),
            required_resource_accesses=[api_access, openid_access],
            opts=child,
        )
        # Rotation gets a new logical name: the new secret is created (with a fresh end date)
        # before the old one is removed. The end date is fixed at creation and not recomputed on
        # every run, which would otherwise replace the secret each time.
        end_date = (datetime.now(UTC) + timedelta(days=args.flow_secret_lifetime_days)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        secret = azuread.ApplicationPassword(
            f"{name}-flow-secret-{args.flow_secret_rotation}",
            application_id=flow.id,
            display_name=f"Power Automate connector ({args.flow_secret_rotation})",
            end_date=end_date,
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(ignore_changes=["endDate"], additional_secret_outputs=["value"])
            ),
        )
        test = azuread.Application(
            f"{name}-test",
            display_name=f"{args.name_prefix} user flow test",
            sign_in_audience=B2C_AUDIENCE,
            web=azuread.ApplicationWebArgs(
                redirect_uris=[JWT_MS],
                implicit_grant=azuread.ApplicationWebImplicitGrantArgs(
                    id_token_issuance_enabled=True, access_token_issuance_enabled=True
                ),
            ),
            required_resource_accesses=[api_access, openid_access],
            opts=child,
        )

        def principal(label: str, app: azuread.Application) -> azuread.ServicePrincipal:
            return azuread.ServicePrincipal(f"{name}-{label}-sp", client_id=app.client_id, opts=child)

        web_sp, flow_sp, test_sp = (
            principal("web-api", web_api),
            principal("flow-client", flow),
            principal("test", test),
        )
        # Microsoft Graph's principal exists in every tenant: read it, never manage (or delete) it.
        graph_sp = azuread.get_service_principal_output(client_id=MICROSOFT_GRAPH_APP_ID, opts=b2c_invoke)
        for label, client_sp in (("flow-client", flow_sp), ("test", test_sp)):
            azuread.ServicePrincipalDelegatedPermissionGrant(
                f"{name}-{label}-api-consent",
                service_principal_object_id=client_sp.object_id,
                resource_service_principal_object_id=web_sp.object_id,
                claim_values=[args.api_scope],
                opts=child,
            )
            azuread.ServicePrincipalDelegatedPermissionGrant(
                f"{name}-{label}-openid-consent",
                service_principal_object_id=client_sp.object_id,
                resource_service_principal_object_id=graph_sp.object_id,
                claim_values=["openid", "offline_access"],
                opts=child,
            )

        self.web_api_client_id = web_api.client_id
        self.web_api_scope = pulumi.Output.from_input(scope_uri)
        self.flow_client_id = flow.client_id
        self.flow_client_secret = pulumi.Output.secret(secret.value)
        self.flow_redirect_uris = pulumi.Output.from_input(list(args.flow_redirect_uris))
        self.test_client_id = test.client_id
        self.register_outputs(
            {
                "web_api_client_id": self.web_api_client_id,
                "web_api_scope": self.web_api_scope,
                "flow_client_id": self.flow_client_id,
                "flow_client_secret": self.flow_client_secret,
                "flow_redirect_uris": self.flow_redirect_uris,
                "test_client_id": self.test_client_id,
            }
        )
