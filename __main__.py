"""b2c-signup: the composition root. Wiring only; the components hold the resources."""

import pulumi
import pulumi_azuread as azuread
import pulumi_random as random

import stack_config
from components.b2c_applications import B2CApplications, B2CApplicationsArgs
from components.flow_connector import connector_settings
from components.packaging import package_for_deploy
from components.signup_function import SignupFunction, SignupFunctionArgs
from components.signup_user_flow import SignupUserFlow, SignupUserFlowArgs, user_attribute

config = stack_config.from_pulumi()
hosting, identity, tenant = config.hosting, config.b2c.settings, config.tenant

# The B2C tenant is another directory than the subscription: its own provider, its own identity.
b2c = azuread.Provider(
    "b2c-tenant",
    tenant_id=tenant.tenant_id,
    client_id=identity.client_id,
    client_secret=config.b2c.client_secret if identity.credential == "clientSecret" else None,
    use_cli=identity.credential == "azureCli",
    use_oidc=identity.credential == "githubOidc",
)

# One generated credential, shared by the function (through Key Vault) and the API connector.
password = random.RandomPassword("connector-password", length=40, special=True, override_special="-_.~!*")
package = package_for_deploy(hosting.python_version)

apps = B2CApplications(
    "b2c",
    B2CApplicationsArgs(
        name_prefix=f"{hosting.name_prefix}-{config.stack}",
        tenant=tenant,
        api_identifier=config.api_identifier,
        api_scope=config.api_scope,
        flow_redirect_uris=config.flow_redirect_uris,
        flow_secret_lifetime_days=config.flow_secret_lifetime_days,
        flow_secret_rotation=config.flow_secret_rotation,
    ),
    opts=pulumi.ResourceOptions(providers=[b2c]),
)

token_validation = {
    "issuer": tenant.issuer(),
    "scope": config.api_scope,
    "jwksUri": tenant.jwks_url(config.policy_id),
    "metadataUrl": tenant.metadata_url(config.policy_id),
}

function = SignupFunction(
    "signup",
    SignupFunctionArgs(
        location=hosting.location,
        name_prefix=hosting.name_prefix,
        allowed_domains=config.allowed_domains,
        basic_auth_username=config.connector_username,
        basic_auth_password=password.result,
        package_path=str(package.path),
        package_sha256=package.sha256,
        resource_group_name=hosting.resource_group_name,
        python_version=hosting.python_version,
        always_ready_instances=hosting.always_ready_instances,
        maximum_instances=hosting.maximum_instances,
        instance_memory_mb=hosting.instance_memory_mb,
        signup_messages=config.signup_messages,
        # The web API accepts only access tokens this tenant's user flow issued for it.
        token_validation={
            "issuer": token_validation["issuer"],
            "audience": apps.web_api_client_id,
            "scope": token_validation["scope"],
            "policy": config.policy_id,
            "jwks_url": token_validation["jwksUri"],
        },
        tags={"project": "b2c-signup", "stack": config.stack},
    ),
)

user_flow = SignupUserFlow(
    "userflow",
    SignupUserFlowArgs(
        flow_name=config.user_flow_name,
        attributes=[
            user_attribute(a.attribute_id, optional=a.optional, input_type=a.input_type, choices=a.choices)
            for a in config.user_attributes
        ],
        connector_step=config.connector_step,
        connector_display_name=f"{hosting.name_prefix} sign-up gate ({config.stack})",
        target_url=function.validate_signup_url,
        username=config.connector_username,
        password=password.result,
        adopt=config.adopt_existing,
    ),
)

pulumi.export("validateSignupUrl", function.validate_signup_url)
pulumi.export("userFlowId", user_flow.user_flow_id)
pulumi.export(
    "runUserFlowUrl",
    apps.test_client_id.apply(lambda client_id: tenant.run_user_flow_url(config.policy_id, client_id)),
)
pulumi.export("webApiAppId", apps.web_api_client_id)
pulumi.export("webApiBaseUrl", function.web_api_base_url)
pulumi.export(
    "tokenValidation",
    apps.web_api_client_id.apply(lambda audience: {**token_validation, "audience": audience}),
)
pulumi.export("webApiScope", apps.web_api_scope)
pulumi.export("flowClientId", apps.flow_client_id)
pulumi.export("flowClientSecret", apps.flow_client_secret)
pulumi.export(
    "flowConnector",
    apps.flow_client_id.apply(
        lambda client_id: connector_settings(
            tenant, config.policy_id, config.web_api_scope, client_id, config.flow_redirect_uris
        )
    ),
)
