"""The Power Automate custom connector for the web API: its OAuth2 settings (the tenant's authorize,
token and refresh URLs: B2C's user flow policy endpoints or External ID's ciamlogin.com ones; the
scopes) and the definition files `paconn create` takes.

Pure functions: the program exports `connector_settings(...)` as the `flowConnector` stack output,
and `python -m tools.flow_connector` turns that output into apiProperties.json and
apiDefinition.swagger.json.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from components.b2c_tenant import B2CTenant
from functions import web_api_spec  # the routes the function serves, described once

GLOBAL_REDIRECT = "https://global.consent.azure-apim.net/redirect"
SECURITY_NAME = "oauth2_auth"
SETTINGS_KEYS = ("authorizationUrl", "tokenUrl", "refreshUrl", "scope", "clientId", "redirectUris")
# The Swagger 2.0 sections an operation may reference with "#/<section>/<name>".
SHARED_SECTIONS = ("definitions", "parameters", "responses")
OIDC_SCOPES = ("openid", "offline_access")


class DefinitionError(ValueError):
    """An API description that cannot become the connector's actions; the message says why."""


def connector_settings(
    tenant: B2CTenant, policy_id: str, web_api_scope: str, client_id: str, redirect_uris: Sequence[str]
) -> dict[str, Any]:
    """The `flowConnector` output of a B2C stack: the user flow's policy endpoints."""
    return oauth_settings(
        tenant.authorize_url(policy_id), tenant.token_url(policy_id), web_api_scope, client_id, redirect_uris
    )


def oauth_settings(
    authorization_url: str,
    token_url: str,
    web_api_scope: str,
    client_id: str,
    redirect_uris: Sequence[str],
    identity_platform: str = "",
) -> dict[str, Any]:
    """What a maker types into the connector's Security tab, as the `flowConnector` output.
    `identity_platform` names a platform other than B2C in the connector's description."""
    settings: dict[str, Any] = {
        "authorizationUrl": authorization_url,
        "tokenUrl": token_url,
        "refreshUrl": token_url,
        # offline_access gives Power Automate a refresh token; openid is required for sign-in.
        "scope": f"{web_api_scope} offline_access openid",
        "clientId": client_id,
        "redirectUris": list(redirect_uris),
    }
    if identity_platform:
        settings["identityPlatform"] = identity_platform
    return settings


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


def _refs(node: Any) -> list[str]:
    if isinstance(node, Mapping):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _pointer(ref: str) -> tuple[str, str] | None:
    """("definitions", "Order") for "#/definitions/Order"; None for anything else."""
    parts = ref.split("/")
    if len(parts) != 3 or parts[0] != "#" or parts[1] not in SHARED_SECTIONS:
        return None
    return parts[1], parts[2].replace("~1", "/").replace("~0", "~")


def imported_operations(source: Mapping[str, Any], origin: str = "the API description") -> dict[str, Any]:
    """The paths of a Swagger 2.0 document with every definition, parameter and response they
    reference, directly or through each other: a path copied alone leaves dangling $refs, which
    Power Automate rejects. Operation-level `security` is dropped, because the connector's own
    OAuth2 scheme secures every action and the source's scheme names mean nothing here."""
    if source.get("swagger") != "2.0" or not isinstance(source.get("paths"), Mapping):
        version = source.get("openapi") or source.get("swagger")
        raise DefinitionError(
            f"{origin} is not a Swagger 2.0 document with paths (found version {version!r}): custom connectors "
            "take Swagger 2.0 only; export 2.0 (Swashbuckle: SerializeAsV2) or convert an OpenAPI 3 document first"
        )
    paths = copy.deepcopy(dict(source["paths"]))
    for item in paths.values():
        for operation in item.values() if isinstance(item, dict) else ():
            if isinstance(operation, dict):
                operation.pop("security", None)
    shared: dict[str, dict[str, Any]] = {section: {} for section in SHARED_SECTIONS}
    pending = _refs(paths)
    while pending:
        ref = pending.pop()
        target = _pointer(ref)
        if target is None:
            raise DefinitionError(
                f"{origin} references {ref!r}: only local #/definitions, #/parameters and #/responses "
                "references can be carried into the connector"
            )
        section, name = target
        if name in shared[section]:
            continue
        found = (source.get(section) or {}).get(name)
        if found is None:
            raise DefinitionError(f"{origin} references {ref!r}, which it does not define")
        shared[section][name] = copy.deepcopy(found)
        pending += _refs(found)
    return {"paths": paths, **shared}


def api_scope(settings: Mapping[str, Any]) -> str:
    """The web API's own scope among the connector's scopes (the others are openid and
    offline_access): https://<tenant>/<api>/<scope> on B2C, api://<appId>/<scope> on External ID."""
    scopes = str(settings["scope"]).split()
    return next((scope for scope in scopes if scope not in OIDC_SCOPES), scopes[0])


def web_api_operations(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The actions of our own web API (GetMe, CheckEmail), each secured with the connector's scheme."""
    return dict(web_api_spec.swagger_operations(SECURITY_NAME, api_scope(settings)))


def api_definition(
    settings: Mapping[str, Any],
    *,
    title: str,
    host: str,
    base_path: str = "/",
    operations: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """apiDefinition.swagger.json (Swagger 2.0, as custom connectors require) for the web API,
    secured with an OAuth2 access-code flow against the user flow. `operations` holds `paths`
    and the definitions, parameters and responses they reference (see imported_operations)."""
    operations = operations or {}
    scope = api_scope(settings)
    return {
        "swagger": "2.0",
        "info": {
            "title": title,
            "description": f"{title}, signed in through {settings.get('identityPlatform') or 'Azure AD B2C'}.",
            "version": "1.0",
        },
        "host": host,
        "basePath": base_path,
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "paths": dict(operations.get("paths") or {}),
        **{section: dict(operations.get(section) or {}) for section in SHARED_SECTIONS},
        "securityDefinitions": {
            SECURITY_NAME: {
                "type": "oauth2",
                "flow": "accessCode",
                "authorizationUrl": settings["authorizationUrl"],
                "tokenUrl": settings["tokenUrl"],
                "scopes": {scope: "Access the web API"},
            }
        },
        "security": [{SECURITY_NAME: [scope]}],
        "tags": [],
    }
