"""The Power Automate custom connector for the web API: its OAuth2 settings (B2C authorize, token
and refresh URLs of the user flow, scopes) and the definition files `paconn create` takes.

Pure functions: the program exports `connector_settings(...)` as the `flowConnector` stack output,
and `python -m tools.flow_connector` turns that output into apiProperties.json and
apiDefinition.swagger.json.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

GLOBAL_REDIRECT = "https://global.consent.azure-apim.net/redirect"
SECURITY_NAME = "oauth2_auth"
SETTINGS_KEYS = ("authorizationUrl", "tokenUrl", "refreshUrl", "scope", "clientId", "redirectUris")


def connector_settings(
    tenant_name: str, policy_id: str, web_api_scope: str, client_id: str, redirect_uris: Sequence[str]
) -> dict[str, Any]:
    """What a maker types into the connector's Security tab, as the `flowConnector` output."""
    # The policy sits in the path: B2C picks the user flow from it, and refresh goes to the same place.
    base = f"https://{tenant_name}.b2clogin.com/{tenant_name}.onmicrosoft.com/{policy_id}/oauth2/v2.0"
    return {
        "authorizationUrl": f"{base}/authorize",
        "tokenUrl": f"{base}/token",
        "refreshUrl": f"{base}/token",
        # offline_access gives Power Automate a refresh token; openid is required by B2C.
        "scope": f"{web_api_scope} offline_access openid",
        "clientId": client_id,
        "redirectUris": list(redirect_uris),
    }


def check_settings(settings: Mapping[str, Any]) -> list[str]:
    """What is missing or malformed in a `flowConnector` output, each naming its key."""
    problems = [f"flowConnector.{key} is missing" for key in SETTINGS_KEYS if not settings.get(key)]
    for key in ("authorizationUrl", "tokenUrl", "refreshUrl"):
        value = settings.get(key)
        if value and not str(value).startswith("https://"):
            problems.append(f"flowConnector.{key} {value!r} must be an https URL")
    if settings.get("redirectUris") is not None and not isinstance(settings.get("redirectUris"), list):
        problems.append("flowConnector.redirectUris must be a list")
    return problems


def redirect_mode(redirect_uris: Sequence[str]) -> str:
    """GlobalPerConnector once a per-connector URI (…/redirect/<connector>) is registered, else Global."""
    per_connector = any(uri.startswith(GLOBAL_REDIRECT + "/") for uri in redirect_uris)
    return "GlobalPerConnector" if per_connector else "Global"


def api_properties(
    settings: Mapping[str, Any], *, mode: str | None = None, brand_color: str = "#0078d4"
) -> dict[str, Any]:
    """apiProperties.json with a generic OAuth 2 (`oauth2`) identity provider. The client secret is
    not in the file: paconn takes it at create time (`--secret`)."""
    return {
        "properties": {
            "connectionParameters": {
                "token": {
                    "type": "oauthSetting",
                    "oAuthSettings": {
                        "identityProvider": "oauth2",
                        "clientId": settings["clientId"],
                        "scopes": [settings["scope"]],
                        "redirectMode": mode or redirect_mode(settings["redirectUris"]),
                        "redirectUrl": GLOBAL_REDIRECT,
                        "properties": {"IsFirstParty": "False", "IsOnbehalfofLoginSupported": False},
                        "customParameters": {
                            "authorizationUrl": {"value": settings["authorizationUrl"]},
                            "tokenUrl": {"value": settings["tokenUrl"]},
                            "refreshUrl": {"value": settings["refreshUrl"]},
                        },
                    },
                }
            },
            "iconBrandColor": brand_color,
            "capabilities": [],
            "publisher": "b2c-signup",
        }
    }


def api_definition(
    settings: Mapping[str, Any],
    *,
    title: str,
    host: str,
    base_path: str = "/",
    paths: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """apiDefinition.swagger.json (Swagger 2.0, as custom connectors require) for the web API,
    secured with an OAuth2 access-code flow against the user flow."""
    scopes = str(settings["scope"]).split()
    api_scope = next((scope for scope in scopes if scope.startswith("https://")), scopes[0])
    return {
        "swagger": "2.0",
        "info": {
            "title": title,
            "description": f"{title}, signed in through Azure AD B2C.",
            "version": "1.0",
        },
        "host": host,
        "basePath": base_path,
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "paths": dict(paths or {}),
        "definitions": {},
        "parameters": {},
        "responses": {},
        "securityDefinitions": {
            SECURITY_NAME: {
                "type": "oauth2",
                "flow": "accessCode",
                "authorizationUrl": settings["authorizationUrl"],
                "tokenUrl": settings["tokenUrl"],
                "scopes": {api_scope: "Access the web API"},
            }
        },
        "security": [{SECURITY_NAME: [api_scope]}],
        "tags": [],
    }
