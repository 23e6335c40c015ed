"""The B2C tenant's names and URLs: domain, login host, user flow (policy) ids, the OAuth 2 and
OpenID endpoints of a user flow, App ID URIs and scopes, the "Run user flow" URL.

Pure, standard library only: stack config, the components, the Power Automate connector and the
Graph model all take these from here, so a custom login domain or a flow name reaches every URL
the same way. Entra External ID's tenant (components/external_id_tenant.py: <tenant>.ciamlogin.com,
no policy in the path) is a sibling of B2CTenant with the same methods.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

# Graph gives a user flow the id B2C_1_<name>, adding the prefix only when the name lacks it.
FLOW_PREFIX = "B2C_1_"
JWT_MS = "https://jwt.ms"
_TENANT_NAME = re.compile(r"^[a-z0-9]{1,26}$")
_FLOW_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def tenant_name_problem(name: str) -> str | None:
    if not _TENANT_NAME.match(name):
        return "is not a tenant name: use the name only (contosob2c, not contosob2c.onmicrosoft.com), lowercase letters and digits"
    return None


def flow_name(name: str) -> tuple[str, str | None]:
    """The bare user flow name (without B2C_1_, which may be given) and why it is unusable, if it is."""
    bare = name[len(FLOW_PREFIX) :] if name.upper().startswith(FLOW_PREFIX.upper()) else name
    if not _FLOW_NAME.match(bare):
        return bare, "may use letters, digits, '-' and '_' only (1 to 64, after any B2C_1_ prefix)"
    return bare, None


def policy_id(name: str) -> str:
    """B2C_1_<name>: the user flow's id in Graph and its policy name in every URL."""
    return name if name.upper().startswith(FLOW_PREFIX.upper()) else FLOW_PREFIX + name


def segment_problem(value: str) -> str | None:
    """An App ID URI path or scope name: one URI path segment."""
    return None if _SEGMENT.match(value) else "must be one URI path segment (letters, digits, '.', '-', '_')"


def scope_uri(app_id_uri: str, scope: str) -> str:
    """A scope's full name, as clients ask for it: the API's App ID URI, then the scope (both
    platforms; Entra takes the last path segment as the scope)."""
    return f"{app_id_uri}/{scope}"


def host_problem(host: str) -> str | None:
    return None if _HOST.match(host) else "is not a host name such as login.contoso.com (no scheme or path)"


@dataclass(frozen=True)
class B2CTenant:
    name: str
    tenant_id: str = ""
    custom_login_host: str = ""  # a custom domain; <name>.b2clogin.com when empty

    @property
    def domain(self) -> str:
        return f"{self.name}.onmicrosoft.com"

    @property
    def login_host(self) -> str:
        return self.custom_login_host or f"{self.name}.b2clogin.com"

    def _policy_base(self, policy: str) -> str:
        return f"https://{self.login_host}/{self.domain}/{policy}"

    def authorize_url(self, policy: str) -> str:
        # The policy in the path: B2C picks the user flow from it, and refresh goes to the same place.
        return f"{self._policy_base(policy)}/oauth2/v2.0/authorize"

    def token_url(self, policy: str) -> str:
        return f"{self._policy_base(policy)}/oauth2/v2.0/token"

    def metadata_url(self, policy: str) -> str:
        return f"{self._policy_base(policy)}/v2.0/.well-known/openid-configuration"

    def jwks_url(self, policy: str) -> str:
        return f"{self._policy_base(policy)}/discovery/v2.0/keys"

    def issuer(self) -> str:
        """The `iss` of the tokens the tenant's user flows issue (per tenant, not per flow)."""
        return f"https://{self.login_host}/{self.tenant_id}/v2.0/"

    def app_id_uri(self, identifier: str) -> str:
        return f"https://{self.domain}/{identifier}"

    def scope_uri(self, identifier: str, scope: str) -> str:
        return scope_uri(self.app_id_uri(identifier), scope)

    def run_user_flow_url(self, policy: str, client_id: str, redirect_uri: str = JWT_MS) -> str:
        """What the portal's "Run user flow" opens: an ID token sent to jwt.ms."""
        query = {
            "p": policy,
            "client_id": client_id,
            "nonce": "defaultNonce",
            "redirect_uri": redirect_uri,
            "scope": "openid",
            "response_type": "id_token",
            "prompt": "login",
        }
        return f"https://{self.login_host}/{self.domain}/oauth2/v2.0/authorize?{urlencode(query)}"
