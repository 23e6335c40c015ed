"""b2c-signup: the composition root. Wiring only; the components hold the resources and the
platform (B2C or External ID, `b2c-signup:platform`) declares what differs."""

from collections.abc import Mapping

import pulumi
import pulumi_azuread as azuread

import platforms
import stack_config
from components.packaging import package_for_deploy
from components.signup_function import BasicAuthCaller, EntraCaller, SignupFunction, SignupFunctionArgs

config = stack_config.from_pulumi()
identity = config.identity.settings

# The tenant is another directory than the subscription: its own provider, its own identity. The
# name is the one B2C stacks have always had.
tenant_provider = azuread.Provider(
    "b2c-tenant",
    tenant_id=identity.tenant_id,
    client_id=identity.client_id,
    client_secret=config.identity.client_secret if identity.credential == "clientSecret" else None,
    use_cli=identity.credential == "azureCli",
    use_oidc=identity.credential == "githubOidc",
)
package = package_for_deploy(config.hosting.python_version)


def signup_function(
    caller: BasicAuthCaller | EntraCaller, token_validation: Mapping[str, pulumi.Input[str]]
) -> SignupFunction:
    """The one part both platforms share: the function the tenant calls, and the web API."""
    return SignupFunction(
        "signup",
        SignupFunctionArgs(
            hosting=config.hosting,
            allowed_domains=config.allowed_domains,
            caller=caller,
            package_path=str(package.path),
            package_sha256=package.sha256,
            signup_messages=config.signup_messages,
            token_validation=token_validation,
            tags={"project": "b2c-signup", "stack": config.stack},
        ),
    )


for name, value in platforms.select(config, tenant_provider).declare(signup_function).items():
    pulumi.export(name, value)
