"""Both identities the project signs in with, and the origin rules that guard where their tokens go.

- The tenant identity (B2CSettings, named for the first platform; the same b2c* keys sign in to an
  External ID tenant): Graph and the azuread provider, from this project's stack config, never
  from the ARM_* variables azure-native reads.
- The subscription identity (SubscriptionSettings): as azure-native finds it (its config, then
  ARM_*), for One Deploy and the teardown's Key Vault purge.
- "https, or http only on loopback" (its one owner is functions/origins.py, which the function
  applies to its key URLs): the Graph endpoint, the SCM site, redirect URIs.

Standard library at import time (the policy pack imports the redirect rule), azure-identity and
httpx only when a credential is made.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from functions.origins import is_secure

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

CONFIG_NAMESPACE = "b2c-signup"
DEFAULT_GRAPH_ENDPOINT = "https://graph.microsoft.com"
CREDENTIAL_KINDS = ("clientSecret", "azureCli", "githubOidc")
DEFAULT_CREDENTIAL = "clientSecret"
# The stack config keys of the B2C-tenant identity and their defaults, read here and by stack_config.
IDENTITY_DEFAULTS: Mapping[str, str] = {
    "tenantId": "",
    "b2cCredential": DEFAULT_CREDENTIAL,
    "b2cClientId": "",
    "b2cClientSecret": "",
    "graphEndpoint": DEFAULT_GRAPH_ENDPOINT,
}
# Entra's limit on an app registration's client secret: no secret lives longer than two years.
MAX_CLIENT_SECRET_DAYS = 730


class IdentityConfigError(Exception):
    """An identity setting is missing or malformed; the message names the key and the fix."""


class OidcUnavailableError(Exception):
    """No GitHub OIDC token can be had here."""


# -- where tokens may go --------------------------------------------------------------------------


def is_guid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def origin_problem(url: str) -> str | None:
    """Why `url` is not an origin a token may be sent to (https, or http on loopback for tests), or None."""
    parts = urlsplit(url)
    if not parts.hostname or parts.path.strip("/") or parts.query or parts.fragment or parts.username:
        return "must be an origin only (scheme and host), e.g. https://graph.microsoft.com"
    if not is_secure(parts.scheme, parts.hostname):
        return "must be https (http is accepted for loopback hosts only, for tests)"
    return None


def redirect_uri_problem(uri: str) -> str | None:
    """Why a redirect URI is unsafe, or None: https, or http on a loopback host (http://localhost)."""
    parts = urlsplit(uri)
    if not parts.hostname or parts.username or parts.password or " " in uri:
        return "must be an absolute URL with a host and no credentials"
    if not is_secure(parts.scheme, parts.hostname):
        return "must be https (http only for a loopback host such as http://localhost)"
    return None


# -- the B2C-tenant identity ----------------------------------------------------------------------


@dataclass(frozen=True)
class B2CSettings:
    """What Graph calls and the azuread provider need to sign in to the tenant (B2C or External ID)."""

    tenant_id: str
    credential: str = DEFAULT_CREDENTIAL
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    endpoint: str = DEFAULT_GRAPH_ENDPOINT
    # The longest a single Graph operation may spend waiting out throttling, faults and replication lag.
    max_wait_seconds: float = 90.0
    # How long a 404 right after a create is taken for replication lag rather than absence.
    max_lag_seconds: float = 30.0
    # A rollback gets a budget of its own: the operation it cleans up after may have used all of its.
    rollback_seconds: float = 60.0

    @classmethod
    def from_config(cls, get: Callable[[str], Any]) -> B2CSettings:
        """Build from `get(key)` over the `b2c-signup` namespace; IdentityConfigError names every
        key at fault."""
        settings, problems = cls.read(get)
        if settings is None:
            raise IdentityConfigError("; ".join(problems))
        return settings

    @classmethod
    def read(cls, get: Callable[[str], Any]) -> tuple[B2CSettings | None, list[str]]:
        """The settings, or None and every problem with them (all at once, each naming its key)."""

        def text(key: str) -> str:
            value = get(f"{CONFIG_NAMESPACE}:{key}")
            return str(value).strip() if value not in (None, "") else IDENTITY_DEFAULTS[key]

        problems: list[str] = []
        tenant_id = text("tenantId")
        if not tenant_id:
            problems.append(
                "b2c-signup:tenantId is not set: pulumi config set b2c-signup:tenantId <tenant GUID>"
            )
        credential = text("b2cCredential")
        if credential not in CREDENTIAL_KINDS:
            problems.append(
                f"b2c-signup:b2cCredential {credential!r} must be one of {', '.join(CREDENTIAL_KINDS)}"
            )
        client_id, client_secret = text("b2cClientId") or None, text("b2cClientSecret") or None
        if credential in ("clientSecret", "githubOidc") and not client_id:
            problems.append(
                f"b2c-signup:b2cClientId is required with b2cCredential {credential}: the application (client) "
                "id of the deployment app registered in the tenant: pulumi config set b2c-signup:b2cClientId <GUID>"
            )
        elif client_id and not is_guid(client_id):
            problems.append(
                f"b2c-signup:b2cClientId {client_id!r} is not a GUID: give the deployment app's Application "
                "(client) ID from App registrations, e.g. pulumi config set b2c-signup:b2cClientId "
                "0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e"
            )
        if credential in CREDENTIAL_KINDS and credential != "clientSecret" and client_secret:
            problems.append(
                f"b2c-signup:b2cClientSecret is set, but b2c-signup:b2cCredential is {credential}, which does not use it. "
                "To sign in with the secret (a laptop without az login): pulumi config set b2c-signup:b2cCredential "
                "clientSecret. Otherwise remove it: pulumi config rm b2c-signup:b2cClientSecret"
            )
        if credential == "clientSecret" and not client_secret:
            problems.append(
                "b2c-signup:b2cClientSecret is not set: pulumi config set --secret b2c-signup:b2cClientSecret <secret>, "
                "or set b2c-signup:b2cCredential to azureCli or githubOidc"
            )
        endpoint = text("graphEndpoint").rstrip("/")
        if problem := origin_problem(endpoint):
            problems.append(
                f"b2c-signup:graphEndpoint {endpoint!r} {problem}; the default is {DEFAULT_GRAPH_ENDPOINT}"
            )
        if problems:
            return None, problems
        return cls(tenant_id, credential, client_id, client_secret, endpoint), []

    def describe_identity(self) -> str:
        who = f"client id {self.client_id}" if self.client_id else "the signed-in Azure CLI account"
        return f"{who} in tenant {self.tenant_id} (b2cCredential {self.credential})"


def _b2c_oidc_assertion() -> str:
    try:
        return github_oidc_assertion()
    except OidcUnavailableError as exc:
        raise IdentityConfigError(
            f"b2c-signup:b2cCredential is githubOidc but {exc}. Outside GitHub Actions, sign in with "
            "`az login --tenant <B2C tenant id> --allow-no-subscriptions` and set b2c-signup:b2cCredential to "
            "azureCli (or use clientSecret)."
        ) from None


def make_b2c_credential(settings: B2CSettings) -> AsyncTokenCredential:
    """The azure-identity credential for the B2C tenant; never the ARM_* variables azure-native reads."""
    from azure.identity.aio import AzureCliCredential, ClientAssertionCredential, ClientSecretCredential

    if settings.credential == "azureCli":
        return AzureCliCredential(tenant_id=settings.tenant_id)
    if settings.credential == "githubOidc":
        return ClientAssertionCredential(settings.tenant_id, str(settings.client_id), _b2c_oidc_assertion)
    return ClientSecretCredential(settings.tenant_id, str(settings.client_id), str(settings.client_secret))


# -- the subscription identity --------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionSettings:
    """The subscription identity, read the way azure-native reads it: its stack config, then ARM_*."""

    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    use_oidc: bool = False

    @classmethod
    def from_config(cls, get: Any) -> SubscriptionSettings:
        def value(key: str, env: str) -> str | None:
            found = get(f"azure-native:{key}") or os.environ.get(env)
            return str(found) if found else None

        return cls(
            tenant_id=value("tenantId", "ARM_TENANT_ID"),
            client_id=value("clientId", "ARM_CLIENT_ID"),
            client_secret=value("clientSecret", "ARM_CLIENT_SECRET"),
            use_oidc=(value("useOidc", "ARM_USE_OIDC") or "").lower() == "true",
        )

    def describe(self) -> str:
        if self.client_id:
            return f"client id {self.client_id} in tenant {self.tenant_id}"
        return "the signed-in Azure CLI account"


def make_subscription_credential(settings: SubscriptionSettings) -> TokenCredential:
    from azure.identity import AzureCliCredential, ClientAssertionCredential, ClientSecretCredential

    if settings.client_id and settings.tenant_id and settings.client_secret:
        return ClientSecretCredential(settings.tenant_id, settings.client_id, settings.client_secret)
    if settings.client_id and settings.tenant_id and settings.use_oidc:
        return ClientAssertionCredential(settings.tenant_id, settings.client_id, github_oidc_assertion)
    return AzureCliCredential(tenant_id=settings.tenant_id or "")


# -- what both share ------------------------------------------------------------------------------


class PickledUnconfigured:
    """For a dynamic provider that signs in with what `configure` gives it. The engine stores the
    pickled provider in state as it is and configures every provider it unpickles, so the pickle
    holds a fresh instance's state: not the settings `configure` learnt (a client secret among
    them), nor a seam a test set on the instance."""

    def __getstate__(self) -> dict[str, Any]:
        return dict(type(self)().__dict__)


def github_oidc_assertion() -> str:
    """Exchange the GitHub Actions OIDC request token for an assertion Entra accepts.

    Called by azure-identity's ClientAssertionCredential each time it needs a token, so a long
    `up` gets a fresh assertion instead of one that expired after ten minutes.
    """
    import httpx

    url, token = (
        os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL"),
        os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    )
    if not url or not token:
        raise OidcUnavailableError(
            "no GitHub OIDC token is available here: the workflow needs `permissions: id-token: write` "
            "(and pull requests from forks get no token)"
        )
    reply = httpx.get(
        url,
        params={"audience": "api://AzureADTokenExchange"},
        headers={"Authorization": f"bearer {token}"},
        timeout=30,
    )
    reply.raise_for_status()
    return str(reply.json()["value"])
