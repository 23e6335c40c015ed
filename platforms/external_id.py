"""Entra External ID: a custom authentication extension calls the function with an Entra bearer
token at OnAttributeCollectionSubmit of a sign-up flow; the apps sign in at the tenant's
ciamlogin.com authority, and the flow is picked by the app's link to it, not by a URL.
Facts: ../shared/reference/external-id-contract.md.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azuread as azuread

from components.applications import EXTERNAL_ID_AUDIENCE, Applications
from components.external_id_signup import ExternalIdSignUp, ExternalIdSignUpArgs
from components.external_id_tenant import ExternalIdTenant
from components.flow_connector import oauth_settings
from components.signup_function import EntraCaller
from platforms import FunctionFactory, TokenRules, applications_args
from stack_config import EXTERNAL_ID, PLATFORM_NAMES, Attribute, StackConfig


class ExternalIdPlatform:
    def __init__(self, config: StackConfig, tenant_provider: azuread.Provider) -> None:
        if not isinstance(config.tenant, ExternalIdTenant):
            raise TypeError("ExternalIdPlatform needs an External ID tenant")
        self.config, self.tenant, self.provider = config, config.tenant, tenant_provider

    def declare(self, function: FunctionFactory) -> dict[str, Any]:
        config, tenant = self.config, self.tenant
        in_tenant = pulumi.ResourceOptions(providers=[self.provider])
        apps = Applications(
            "externalid",
            applications_args(
                config,
                sign_in_audience=EXTERNAL_ID_AUDIENCE,
                api_identifier_uri=tenant.app_id_uri,
                callout_resource_app=True,
            ),
            opts=in_tenant,
            resource_type="b2c-signup:externalid:Applications",
        )
        if apps.callout_client_id is None or apps.callout_application_id is None:
            raise TypeError("the External ID apps lack the extension's resource app")
        # Access tokens for the web API name no user flow: only issuer, audience and scope decide.
        rules = TokenRules(tenant.issuer(), config.api_scope, tenant.jwks_url(), tenant.metadata_url())
        signup = function(
            EntraCaller(tenant.tenant_id, apps.callout_client_id, tenant.jwks_url()),
            rules.settings(apps.web_api_client_id),
        )
        sign_up = ExternalIdSignUp(
            "signup-flow",
            ExternalIdSignUpArgs(
                flow_display_name=config.user_flow_name,
                extension_display_name=f"{config.hosting.name_prefix} sign-up gate ({config.stack})",
                attributes=[_attribute(a) for a in config.user_attributes],
                target_url=signup.validate_signup_url,
                callout_client_id=apps.callout_client_id,
                callout_application_id=apps.callout_application_id,
                client_app_ids=[apps.test_client_id, apps.flow_client_id],
                custom_attributes=config.custom_attributes,
                adopt=config.adopt_existing,
                depends_on=[apps, signup],  # the code too: the flow goes live at its attach
            ),
            opts=in_tenant,
        )
        return {
            "validateSignupUrl": signup.validate_signup_url,
            "userFlowId": sign_up.flow_id,
            "customExtensionId": sign_up.extension_id,
            "runUserFlowUrl": apps.test_client_id.apply(tenant.run_user_flow_url),
            "webApiAppId": apps.web_api_client_id,
            "webApiBaseUrl": signup.web_api_base_url,
            "tokenValidation": rules.output(apps.web_api_client_id),
            "webApiScope": apps.web_api_scope,
            "flowClientId": apps.flow_client_id,
            "flowClientSecret": apps.flow_client_secret,
            "flowConnector": pulumi.Output.all(apps.flow_client_id, apps.web_api_scope).apply(
                lambda values: oauth_settings(
                    tenant.authorize_url(),
                    tenant.token_url(),
                    values[1],
                    values[0],
                    config.flow_redirect_uris,
                    PLATFORM_NAMES[EXTERNAL_ID],
                )
            ),
        }


def _attribute(attribute: Attribute) -> dict[str, Any]:
    """A collected attribute as the sign-up flow takes it (labels default to the admin center's)."""
    found: dict[str, Any] = {"attribute_id": attribute.attribute_id, "is_optional": attribute.optional}
    if attribute.input_type is not None:
        found["input_type"] = attribute.input_type
    if attribute.choices:
        found["user_attribute_values"] = [dict(choice) for choice in attribute.choices]
    return found
