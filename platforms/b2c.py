"""Azure AD B2C: the API connector calls the function with HTTP Basic from the user flow; the apps
sign in through the user flow's b2clogin.com policy endpoints.

Resource names and parents are those B2C stacks have always had, so nothing of an existing stack
is replaced.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azuread as azuread
import pulumi_random as random

from components.applications import B2C_AUDIENCE, Applications
from components.b2c_tenant import B2CTenant
from components.flow_connector import connector_settings
from components.signup_function import FIRST_GENERATION, BasicAuthCaller, accepted_generations
from components.signup_user_flow import SignupUserFlow, SignupUserFlowArgs, user_attribute
from platforms import FunctionFactory, TokenRules, applications_args
from stack_config import StackConfig


class B2CPlatform:
    """Azure AD B2C: an API connector with HTTP Basic calls the function from the user flow."""

    def __init__(self, config: StackConfig, tenant_provider: azuread.Provider) -> None:
        if not isinstance(config.tenant, B2CTenant):
            raise TypeError("B2CPlatform needs a B2C tenant")
        self.config, self.tenant, self.provider = config, config.tenant, tenant_provider

    def declare(self, function: FunctionFactory) -> dict[str, Any]:
        config, tenant = self.config, self.tenant
        apps = Applications(
            "b2c",
            applications_args(
                config,
                sign_in_audience=B2C_AUDIENCE,
                api_identifier_uri=tenant.app_id_uri(config.api_identifier),
            ),
            opts=pulumi.ResourceOptions(providers=[self.provider]),
        )
        passwords = connector_passwords(config.connector_password_generation)
        current = passwords[config.connector_password_generation]
        # The web API accepts only access tokens this tenant's user flow issued for it.
        rules = TokenRules(
            tenant.issuer(),
            config.api_scope,
            tenant.jwks_url(config.policy_id),
            tenant.metadata_url(config.policy_id),
            config.policy_id,
        )
        signup = function(
            BasicAuthCaller(
                config.connector_username,
                config.connector_password_generation,
                {generation: password.result for generation, password in passwords.items()},
            ),
            rules.settings(apps.web_api_client_id),
        )
        user_flow = SignupUserFlow(
            "userflow",
            SignupUserFlowArgs(
                flow_name=config.user_flow_name,
                attributes=[
                    user_attribute(
                        a.attribute_id, optional=a.optional, input_type=a.input_type, choices=a.choices
                    )
                    for a in config.user_attributes
                ],
                connector_step=config.connector_step,
                connector_display_name=f"{config.hosting.name_prefix} sign-up gate ({config.stack})",
                target_url=signup.validate_signup_url,
                username=config.connector_username,
                password=current.result,
                adopt=config.adopt_existing,
            ),
        )
        return {
            "validateSignupUrl": signup.validate_signup_url,
            "userFlowId": user_flow.user_flow_id,
            "runUserFlowUrl": apps.test_client_id.apply(
                lambda client_id: tenant.run_user_flow_url(config.policy_id, client_id)
            ),
            "webApiAppId": apps.web_api_client_id,
            "webApiBaseUrl": signup.web_api_base_url,
            "tokenValidation": rules.output(apps.web_api_client_id),
            "webApiScope": apps.web_api_scope,
            "flowClientId": apps.flow_client_id,
            "flowClientSecret": apps.flow_client_secret,
            "flowConnector": apps.flow_client_id.apply(
                lambda client_id: connector_settings(
                    tenant, config.policy_id, config.web_api_scope, client_id, config.flow_redirect_uris
                )
            ),
            # What the connector sends now: for a smoke test, `pulumi stack output connectorPassword --show-secrets`.
            "connectorPassword": pulumi.Output.secret(current.result),
        }


def connector_passwords(generation: int) -> dict[int, random.RandomPassword]:
    """One generated password per accepted generation, shared by the function (through Key Vault)
    and the API connector. The first generation keeps the name stacks had before rotation."""
    return {
        accepted: random.RandomPassword(
            "connector-password" if accepted == FIRST_GENERATION else f"connector-password-{accepted}",
            length=40,
            special=True,
            override_special="-_.~!*",
        )
        for accepted in accepted_generations(generation)
    }
