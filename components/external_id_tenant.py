"""An Entra External ID (external) tenant's names and URLs: the ciamlogin.com authority, the OAuth 2
and OpenID endpoints, the token issuers, App ID URIs and scopes, the "run the sign-up flow" URL.

The sibling of B2CTenant (components/b2c_tenant.py), asked the same questions by its platform's wiring
(platforms/external_id.py). What differs: no policy in any URL (the
app's link to a sign-up flow picks the flow), App ID URIs are `api://<appId>`, and the custom URL
domain (Azure Front Door) keeps the tenant id as the path. Pure, standard library only.
Facts: ../shared/reference/external-id-contract.md §3, §4.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from components import b2c_tenant
from components.b2c_tenant import JWT_MS


@dataclass(frozen=True)
class ExternalIdTenant:
    name: str  # the subdomain: contoso for contoso.onmicrosoft.com and contoso.ciamlogin.com
    tenant_id: str = ""
    custom_login_host: str = ""  # a custom URL domain; <name>.ciamlogin.com when empty

    @property
    def domain(self) -> str:
        return f"{self.name}.onmicrosoft.com"

    @property
    def login_host(self) -> str:
        return self.custom_login_host or f"{self.name}.ciamlogin.com"

    @property
    def authority(self) -> str:
        # No flow in the URL: External ID picks the sign-up flow from the app's link to it.
        return f"https://{self.login_host}/{self.tenant_id}"

    def authorize_url(self) -> str:
        return f"{self.authority}/oauth2/v2.0/authorize"

    def token_url(self) -> str:
        return f"{self.authority}/oauth2/v2.0/token"

    def metadata_url(self) -> str:
        return f"{self.authority}/v2.0/.well-known/openid-configuration"

    def jwks_url(self) -> str:
        """The signing keys. Always on the tenant's own ciamlogin.com host: the keys (and the
        issuer) do not move with a custom URL domain."""
        return f"https://{self.name}.ciamlogin.com/{self.tenant_id}/discovery/v2.0/keys"

    def issuer(self) -> str:
        """The `iss` of access tokens the tenant issues (the discovery document's issuer)."""
        return f"https://{self.tenant_id}.ciamlogin.com/{self.tenant_id}/v2.0"

    def app_id_uri(self, client_id: str) -> str:
        return f"api://{client_id}"

    def scope_uri(self, client_id: str, scope: str) -> str:
        return b2c_tenant.scope_uri(self.app_id_uri(client_id), scope)

    def run_user_flow_url(self, client_id: str, redirect_uri: str = JWT_MS) -> str:
        """The sign-up page of the flow linked to `client_id`, with an ID token sent to jwt.ms."""
        query = {
            "client_id": client_id,
            "nonce": "defaultNonce",
            "redirect_uri": redirect_uri,
            "scope": "openid",
            "response_type": "id_token",
            "prompt": "login",
        }
        return f"{self.authorize_url()}?{urlencode(query)}"
