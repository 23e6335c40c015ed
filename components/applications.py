"""The app registrations in the tenant — the web API with its scope, the Flow client the Power
Automate connector signs in with, the test app for running the user flow — with service principals
and admin consent, so no user meets a consent prompt the sign-up page cannot show. On External ID
also the custom extension's resource app, whose tokens Entra sends with the sign-up callout.

Both platforms register the same apps; they differ in the audience B2C user flows demand, in where
the web API's App ID URI comes from (B2C: https://<tenant>.onmicrosoft.com/<identifier>, External
ID: api://<the app's own client id>, which only a resource after the app can set), and in the
extension's resource app.

Give it the tenant's azuread provider through `opts` (`providers=[tenant]`): every child, and the
lookup of Microsoft Graph's principal, then talks to the tenant, never the subscription's directory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pulumi
import pulumi_azuread as azuread
import pulumi_random as random

from components.b2c_tenant import JWT_MS, scope_uri

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Microsoft Graph's delegated permission ids for the OpenID Connect scopes (the same in every tenant).
OPENID_SCOPE_ID = "37f7f235-527c-4136-accd-4a02d197296e"
OFFLINE_ACCESS_SCOPE_ID = "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"
# Microsoft Graph's application permission that lets a custom extension's resource app receive the
# callout payload (CustomAuthenticationExtension.Receive.Payload). By id: display names are not keys.
RECEIVE_PAYLOAD_ROLE_ID = "214e810f-fda8-4fd7-a475-29461495eb00"
# "Accounts in any identity provider or organizational directory (for authenticating users with
# user flows)": the only audience B2C user flows accept.
B2C_AUDIENCE = "AzureADandPersonalMicrosoftAccount"
# External ID: the apps belong to the external tenant and its own users.
EXTERNAL_ID_AUDIENCE = "AzureADMyOrg"


@dataclass(frozen=True)
class ApplicationsArgs:
    name_prefix: str
    api_scope: str
    flow_redirect_uris: Sequence[str]
    flow_secret_lifetime_days: int
    flow_secret_rotation: str
    # The web API's App ID URI (the tenant's rule): fixed, and set on the app (B2C), or made from
    # the app's client id, and set by a resource of its own after the app (External ID).
    api_identifier_uri: str | Callable[[str], str]
    sign_in_audience: str = B2C_AUDIENCE
    # External ID: register the custom extension's resource app too.
    callout_resource_app: bool = False


class Applications(pulumi.ComponentResource):
    web_api_client_id: pulumi.Output[str]
    web_api_scope: pulumi.Output[str]
    flow_client_id: pulumi.Output[str]
    flow_client_secret: pulumi.Output[str]
    flow_redirect_uris: pulumi.Output[list[str]]
    test_client_id: pulumi.Output[str]
    # External ID only (None elsewhere): the extension's resource app, by client id and resource id.
    callout_client_id: pulumi.Output[str] | None = None
    callout_application_id: pulumi.Output[str] | None = None

    def __init__(
        self,
        name: str,
        args: ApplicationsArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        resource_type: str = "b2c-signup:b2c:Applications",
    ) -> None:
        super().__init__(resource_type, name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        # An app whose App ID URI an ApplicationIdentifierUri sets: left to itself, the app's next
        # update would write its own (empty) identifierUris and remove the URI (azuread's docs;
        # pulumi/pulumi-azuread#1036), and with it the scope and the extension's token audience.
        self._uris_set_elsewhere = pulumi.ResourceOptions(parent=self, ignore_changes=["identifierUris"])
        # Microsoft Graph's principal exists in every tenant: read it, never manage (or delete) it.
        self._graph_sp = azuread.get_service_principal_output(
            client_id=MICROSOFT_GRAPH_APP_ID, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        web_api, scope_id, app_id_uri = self._web_api()
        access = self._access(web_api, scope_id)
        flow, secret = self._flow_client(access)
        test = self._test_app(access)
        self._consent(web_api, flow, test)

        self.web_api_client_id = web_api.client_id
        self.web_api_scope = pulumi.Output.from_input(app_id_uri).apply(
            lambda uri: scope_uri(uri, args.api_scope)
        )
        self.flow_client_id = flow.client_id
        self.flow_client_secret = pulumi.Output.secret(secret.value)
        self.flow_redirect_uris = pulumi.Output.from_input(list(args.flow_redirect_uris))
        self.test_client_id = test.client_id
        outputs: dict[str, pulumi.Output[str] | pulumi.Output[list[str]]] = {
            "web_api_client_id": self.web_api_client_id,
            "web_api_scope": self.web_api_scope,
            "flow_client_id": self.flow_client_id,
            "flow_client_secret": self.flow_client_secret,
            "flow_redirect_uris": self.flow_redirect_uris,
            "test_client_id": self.test_client_id,
        }
        if args.callout_resource_app:
            callout = self._callout_app()
            self.callout_client_id, self.callout_application_id = callout.client_id, callout.id
            outputs.update(callout_client_id=callout.client_id, callout_application_id=callout.id)
        self.register_outputs(outputs)

    def _web_api(self) -> tuple[azuread.Application, pulumi.Output[str], pulumi.Input[str]]:
        args = self._args
        # A stable id for the scope: clients reference it, so it must not change between runs.
        scope_id = random.RandomUuid(f"{self._name}-scope-id", opts=self._child).result
        web_api = azuread.Application(
            f"{self._name}-web-api",
            display_name=f"{args.name_prefix} web API",
            sign_in_audience=args.sign_in_audience,
            identifier_uris=[uri_rule] if isinstance(uri_rule := args.api_identifier_uri, str) else None,
            api=azuread.ApplicationApiArgs(
                requested_access_token_version=2,  # user flows refuse apps that ask for v1 tokens
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
            opts=self._child if isinstance(uri_rule, str) else self._uris_set_elsewhere,
        )
        if isinstance(uri_rule, str):
            return web_api, scope_id, uri_rule
        # A URI that names the app's client id can only be set once the app exists.
        uri = azuread.ApplicationIdentifierUri(
            f"{self._name}-web-api-uri",
            application_id=web_api.id,
            identifier_uri=web_api.client_id.apply(uri_rule),
            opts=self._child,
        )
        return web_api, scope_id, uri.identifier_uri

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
            sign_in_audience=args.sign_in_audience,
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
            sign_in_audience=self._args.sign_in_audience,
            web=azuread.ApplicationWebArgs(
                redirect_uris=[JWT_MS],
                implicit_grant=azuread.ApplicationWebImplicitGrantArgs(
                    id_token_issuance_enabled=True, access_token_issuance_enabled=True
                ),
            ),
            required_resource_accesses=access,
            opts=self._child,
        )

    def _principal(self, label: str, app: azuread.Application) -> azuread.ServicePrincipal:
        return azuread.ServicePrincipal(f"{self._name}-{label}-sp", client_id=app.client_id, opts=self._child)

    def _consent(
        self, web_api: azuread.Application, flow: azuread.Application, test: azuread.Application
    ) -> None:
        """Service principals and admin consent for the clients, so no sign-in asks for consent."""
        web_sp = self._principal("web-api", web_api)
        for label, client in (("flow-client", flow), ("test", test)):
            client_sp = self._principal(label, client)
            azuread.ServicePrincipalDelegatedPermissionGrant(
                f"{self._name}-{label}-api-consent",
                service_principal_object_id=client_sp.object_id,
                resource_service_principal_object_id=web_sp.object_id,
                claim_values=[self._args.api_scope],
                opts=self._child,
            )
            azuread.ServicePrincipalDelegatedPermissionGrant(
                f"{self._name}-{label}-openid-consent",
                service_principal_object_id=client_sp.object_id,
                resource_service_principal_object_id=self._graph_sp.object_id,
                claim_values=["openid", "offline_access"],
                opts=self._child,
            )

    def _callout_app(self) -> azuread.Application:
        """The custom extension's resource app: Entra sends the callout with a v2 token issued for
        it, which the function checks. Its App ID URI names the function's host, which exists only
        after the function: the sign-up component sets it."""
        callout = azuread.Application(
            f"{self._name}-callout",
            display_name=f"{self._args.name_prefix} sign-up extension",
            sign_in_audience=EXTERNAL_ID_AUDIENCE,
            api=azuread.ApplicationApiArgs(requested_access_token_version=2),
            required_resource_accesses=[
                azuread.ApplicationRequiredResourceAccessArgs(
                    resource_app_id=MICROSOFT_GRAPH_APP_ID,
                    resource_accesses=[
                        azuread.ApplicationRequiredResourceAccessResourceAccessArgs(
                            id=RECEIVE_PAYLOAD_ROLE_ID, type="Role"
                        )
                    ],
                )
            ],
            opts=self._uris_set_elsewhere,
        )
        principal = self._principal("callout", callout)
        # Admin consent to an application permission is an app role assignment; without it Entra
        # refuses to call the extension (1003021).
        azuread.AppRoleAssignment(
            f"{self._name}-callout-receive-payload",
            app_role_id=RECEIVE_PAYLOAD_ROLE_ID,
            principal_object_id=principal.object_id,
            resource_object_id=self._graph_sp.object_id,
            opts=self._child,
        )
        return callout
