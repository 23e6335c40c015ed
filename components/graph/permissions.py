"""Microsoft Graph application permissions, by what they are for: the one list the gateway's error
hints, the bootstrap's grants and the offline program check take them from.

Standard library only: the bootstrap and the policy pack import it without the Graph stack.
"""

from __future__ import annotations

from collections.abc import Mapping

from functions.app_settings import PLATFORM_B2C, PLATFORM_EXTERNAL_ID

APPLICATIONS = "Application.ReadWrite.All"
APPLICATIONS_READ = "Application.Read.All"
CONSENT = "DelegatedPermissionGrant.ReadWrite.All"
# B2C: API connectors (v1.0) and user flows with their attributes and connector steps (beta).
CONNECTORS = "APIConnectors.ReadWrite.All"
USER_FLOWS = "IdentityUserFlow.ReadWrite.All"
# Entra External ID: custom authentication extensions, sign-up flows (authenticationEventsFlows)
# and the app role assignment that lets an extension's resource app receive the callout payload.
EXTENSIONS = "CustomAuthenticationExtension.ReadWrite.All"
EVENT_FLOWS = "EventListener.ReadWrite.All"
APP_ROLE_ASSIGNMENTS = "AppRoleAssignment.ReadWrite.All"

# What the deployment identity needs in the tenant, by platform; the previewer only reads.
DEPLOYER: Mapping[str, tuple[str, ...]] = {
    PLATFORM_B2C: (APPLICATIONS, CONNECTORS, USER_FLOWS, CONSENT),
    PLATFORM_EXTERNAL_ID: (APPLICATIONS, EXTENSIONS, EVENT_FLOWS, USER_FLOWS, APP_ROLE_ASSIGNMENTS, CONSENT),
}
PREVIEWER: tuple[str, ...] = (APPLICATIONS_READ,)
