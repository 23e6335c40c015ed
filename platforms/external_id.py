"""Entra External ID: a custom authentication extension calls the function with an Entra bearer
token at OnAttributeCollectionSubmit of a sign-up flow; the apps sign in at the tenant's
ciamlogin.com authority, and the flow is picked by the app's link to it, not by a URL.
Facts: ../shared/reference/external-id-contract.md.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azuread as azuread

from components.applications import EXTERNAL_ID_AUDIENCE, Applications, ApplicationsArgs
from components.external_id_signup import CustomAttributeSpec, ExternalIdSignUp, ExternalIdSignUpArgs
from components.external_id_tenant import ExternalIdTenant
from components.flow_connector import oauth_settings
from components.signup_function import EntraCaller
from platforms import FunctionFactory
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
            ApplicationsArgs(
                name_prefix=f"{config.hosting.name_prefix}-{config.stack}",
                api_scope=config.api_scope,
                flow_redirect_uris=config.flow_redirect_uris,
                flow_secret_lifetime_days=config.flow_secret_lifetime_days,
                flow_secret_rotation=config.flow_secret_rotation,
                sign_in_audience=EXTERNAL_ID_AUDIENCE,
                callout_resource_app=True,
            ),
            opts=in_tenant,
            resource_type="b2c-signup:externalid:Applications",
        )
        if apps.callout_client_id is None or apps.callout_application_id is None:
            raise TypeError("the External ID apps lack the extension's resource app")
        token_validation = {
            "issuer": tenant.issuer(),
            "scope": config.api_scope,
            "jwksUri": tenant.jwks_url(),
            "metadataUrl": tenant.metadata_url(),
        }
        signup = function(
            EntraCaller(tenant.tenant_id, apps.callout_client_id, tenant.jwks_url()),
            # Access tokens for the web API carry no user flow: the flow's name is not checked.
            {
                "issuer": token_validation["issuer"],
                "audience": apps.web_api_client_id,
                "scope": token_validation["scope"],
                "policy": "",
                "jwks_url": token_validation["jwksUri"],
            },
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
                custom_attributes=[
                    CustomAttributeSpec(c.name, c.data_type, c.description) for c in config.custom_attributes
                ],
                adopt=config.adopt_existing,
                depends_on=[apps],
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
            "tokenValidation": apps.web_api_client_id.apply(
                lambda audience: {**token_validation, "audience": audience}
            ),
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
