"""B2CApplications: the app registrations in the B2C tenant — web API with its scope, the Flow
client used by the Power Automate connector, the test app for "Run user flow" — with service
principals and admin consent, so no user meets a consent prompt B2C cannot show.

Give it the B2C tenant's azuread provider through `opts` (`providers=[b2c]`): every child, and the
lookup of Microsoft Graph's principal, then talks to the B2C tenant, never the subscription's
directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pulumi
import pulumi_azuread as azuread
import pulumi_random as random

from components.b2c_tenant import JWT_MS, B2CTenant

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Microsoft Graph's delegated permission ids for the OpenID Connect scopes (the same in every tenant).
OPENID_SCOPE_ID = "37f7f235-527c-4136-accd-4a02d197296e"
OFFLINE_ACCESS_SCOPE_ID = "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"
# "Accounts in any identity provider or organizational directory (for authenticating users with
# user flows)": the only audience B2C user flows accept.
B2C_AUDIENCE = "AzureADandPersonalMicrosoftAccount"


@dataclass(frozen=True)
class B2CApplicationsArgs:
    name_prefix: str
    tenant: B2CTenant
    api_identifier: str
    api_scope: str
    flow_redirect_uris: Sequence[str]
    flow_secret_lifetime_days: int
    flow_secret_rotation: str


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
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        web_api, scope_id = self._web_api()
        access = self._access(web_api, scope_id)
        flow, secret = self._flow_client(access)
        test = self._test_app(access)
        self._consent(web_api, flow, test)

        self.web_api_client_id = web_api.client_id
        self.web_api_scope = pulumi.Output.from_input(
            args.tenant.scope_uri(args.api_identifier, args.api_scope)
        )
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

    def _web_api(self) -> tuple[azuread.Application, pulumi.Output[str]]:
        args = self._args
        # A stable id for the scope: clients reference it, so it must not change between runs.
        scope_id = random.RandomUuid(f"{self._name}-scope-id", opts=self._child).result
        web_api = azuread.Application(
            f"{self._name}-web-api",
            display_name=f"{args.name_prefix} web API",
            sign_in_audience=B2C_AUDIENCE,
            identifier_uris=[args.tenant.app_id_uri(args.api_identifier)],
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
            opts=self._child,
        )
        return web_api, scope_id

    @staticmethod
    def _access(
        web_api: azuread.Application, scope_id: pulumi.Output[str]
    ) -> list[azuread.ApplicationRequiredResourceAccessArgs]:
        """What the client apps ask for: the web API's scope, and OpenID sign-in with refresh tokens."""
        return [
            azuread.ApplicationRequiredResourceAccessArgs(
                resource_app_id=web_api.client_id,
                resource_accesses=[
                    azuread.ApplicationRequiredResourceAccessResourceAccessArgs(id=scope_id, type="Scope")
                ],
            ),
            azuread.ApplicationRequiredResourceAccessArgs(
                resource_app_id=MICROSOFT_GRAPH_APP_ID,
                resource_accesses=[
                    azuread.ApplicationRequiredResourceAccessResourceAccessArgs(
                        id=OPENID_SCOPE_ID, type="Scope"
                    ),
                    azuread.ApplicationRequiredResourceAccessResourceAccessArgs(
                        id=OFFLINE_ACCESS_SCOPE_ID, type="Scope"
                    ),
                ],
            ),
        ]

    def _flow_client(
        self, access: list[azuread.ApplicationRequiredResourceAccessArgs]
    ) -> tuple[azuread.Application, azuread.ApplicationPassword]:
        args = self._args
        flow = azuread.Application(
            f"{self._name}-flow-client",
            display_name=f"{args.name_prefix} Power Automate connector",
            sign_in_audience=B2C_AUDIENCE,
            web=azuread.ApplicationWebArgs(redirect_uris=list(args.flow_redirect_uris)),
            required_resource_accesses=access,
            opts=self._child,
        )
        # Rotation gets a new logical name: the new secret is created (with a fresh end date)
        # before the old one is removed. The end date is fixed at creation and not recomputed on
        # every run, which would otherwise replace the secret each time.
        end_date = (datetime.now(UTC) + timedelta(days=args.flow_secret_lifetime_days)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        secret = azuread.ApplicationPassword(
            f"{self._name}-flow-secret-{args.flow_secret_rotation}",
            application_id=flow.id,
            display_name=f"Power Automate connector ({args.flow_secret_rotation})",
            end_date=end_date,
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["endDate"], additional_secret_outputs=["value"]
            ),
        )
        return flow, secret

    def _test_app(self, access: list[azuread.ApplicationRequiredResourceAccessArgs]) -> azuread.Application:
        return azuread.Application(
            f"{self._name}-test",
            display_name=f"{self._args.name_prefix} user flow test",
            sign_in_audience=B2C_AUDIENCE,
            web=azuread.ApplicationWebArgs(
                redirect_uris=[JWT_MS],
                implicit_grant=azuread.ApplicationWebImplicitGrantArgs(
                    id_token_issuance_enabled=True, access_token_issuance_enabled=True
                ),
            ),
            required_resource_accesses=access,
            opts=self._child,
        )

    def _consent(
        self, web_api: azuread.Application, flow: azuread.Application, test: azuread.Application
    ) -> None:
        """Service principals and admin consent for the clients, so no sign-in asks for consent."""
        name = self._name

        def principal(label: str, app: azuread.Application) -> azuread.ServicePrincipal:
            return azuread.ServicePrincipal(f"{name}-{label}-sp", client_id=app.client_id, opts=self._child)

        web_sp = principal("web-api", web_api)
        # Microsoft Graph's principal exists in every tenant: read it, never manage (or delete) it.
        graph_sp = azuread.get_service_principal_output(
            client_id=MICROSOFT_GRAPH_APP_ID, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        for label, client in (("flow-client", flow), ("test", test)):
            client_sp = principal(label, client)
            azuread.ServicePrincipalDelegatedPermissionGrant(
                f"{name}-{label}-api-consent",
                service_principal_object_id=client_sp.object_id,
                resource_service_principal_object_id=web_sp.object_id,
                claim_values=[self._args.api_scope],
                opts=self._child,
            )
            azuread.ServicePrincipalDelegatedPermissionGrant(
                f"{name}-{label}-openid-consent",
                service_principal_object_id=client_sp.object_id,
                resource_service_principal_object_id=graph_sp.object_id,
                claim_values=["openid", "offline_access"],
                opts=self._child,
            )
