"""The platform seam: what differs between Azure AD B2C and Entra External ID, behind one small
interface that __main__ chooses from by `b2c-signup:platform`.

The job is the same on both (a sign-up gate the tenant calls, app registrations, a user flow, a
token-protected web API); the tenant URLs, the Graph objects, the app registrations and how the
tenant authenticates its call to the function are not. Each platform is wiring, like __main__:
`declare` creates its own components around the one shared part, the sign-up function, which it
asks __main__'s factory for with its platform's caller authentication and token rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
import pulumi_azuread as azuread

from components.applications import ApplicationsArgs
from components.signup_function import BasicAuthCaller, EntraCaller, SignupFunction
from stack_config import EXTERNAL_ID, StackConfig

# __main__'s factory of the shared sign-up function: (caller, token rules) -> the function.
FunctionFactory = Callable[[BasicAuthCaller | EntraCaller, Mapping[str, pulumi.Input[str]]], SignupFunction]


class Platform(Protocol):
    def declare(self, function: FunctionFactory) -> dict[str, Any]:
        """Declare the platform's resources around the function; return the stack outputs."""
        ...


def select(config: StackConfig, tenant_provider: azuread.Provider) -> Platform:
    """The platform of this stack; the other one is never imported."""
    if config.platform == EXTERNAL_ID:
        from platforms.external_id import ExternalIdPlatform

        return ExternalIdPlatform(config, tenant_provider)
    from platforms.b2c import B2CPlatform

    return B2CPlatform(config, tenant_provider)


def applications_args(config: StackConfig, **platform: Any) -> ApplicationsArgs:
    """The app registrations both platforms make, from the stack config, with what differs."""
    return ApplicationsArgs(
        name_prefix=f"{config.hosting.name_prefix}-{config.stack}",
        api_scope=config.api_scope,
        flow_redirect_uris=config.flow_redirect_uris,
        flow_secret_lifetime_days=config.flow_secret_lifetime_days,
        flow_secret_rotation=config.flow_secret_rotation,
        **platform,
    )


@dataclass(frozen=True)
class TokenRules:
    """What the web API checks of an access token (the function's settings) and what the stack
    exports of it (`tokenValidation`), from one set of values."""

    issuer: str
    scope: str
    jwks_url: str
    metadata_url: str
    policy: str = ""  # the user flow B2C's tokens name; External ID's name none

    def settings(self, audience: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
        return {
            "issuer": self.issuer,
            "audience": audience,
            "scope": self.scope,
            "policy": self.policy,
            "jwks_url": self.jwks_url,
        }

    def output(self, audience: pulumi.Output[str]) -> pulumi.Output[dict[str, str]]:
        return audience.apply(
            lambda client_id: {
                "issuer": self.issuer,
                "scope": self.scope,
                "jwksUri": self.jwks_url,
                "metadataUrl": self.metadata_url,
                "audience": client_id,
            }
        )
