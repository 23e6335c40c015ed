"""CrossGuard policies for b2c-signup: what must hold before anything is deployed.

Each check is a plain function of the resource's properties that returns the violations it
finds, so the tests call it with constructed arguments; the Policy objects below wrap them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

# The rules the program itself applies come from their one owner in components/, which imports
# the standard library only: the pack's own virtualenv holds just pulumi and pulumi-policy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from components.credentials import MAX_CLIENT_SECRET_DAYS, redirect_uri_problem
from components.graph import external_id_model
from functions import app_settings

STORAGE = "azure-native:storage:StorageAccount"
WEB_APP = "azure-native:web:WebApp"
FTP_ALLOWED = "azure-native:web:WebAppFtpAllowed"
SCM_ALLOWED = "azure-native:web:WebAppScmAllowed"
API_CONNECTOR = "pulumi-python:dynamic/b2c:ApiConnector"
CUSTOM_EXTENSION = "pulumi-python:dynamic/externalid:CustomExtension"
APPLICATION = "azuread:index/application:Application"
APPLICATION_PASSWORD = "azuread:index/applicationPassword:ApplicationPassword"  # noqa: S105 - a type token
TLS_OK = ("1.2", "1.3")
# Setting names that hold secrets by convention, and values that are secrets whatever the name.
_SECRET_NAME = re.compile(
    r"(PASSWORD|SECRET|ACCESSKEY|ACCOUNTKEY|APIKEY|_KEY$|TOKEN|CONNECTIONSTRING|CONNECTION_STRING)", re.I
)
_SECRET_VALUE = re.compile(r"(AccountKey=|SharedAccessKey=|sig=|-----BEGIN [A-Z ]*PRIVATE KEY-----)", re.I)
# Not secrets although their names say so: identity-based settings, the App Insights endpoint
# string, and the web API's token rules (issuer, audience, scope: published by B2C anyway).
_NOT_SECRET = (
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    *app_settings.B2C_TOKEN_SETTINGS.values(),
)
_KEY_VAULT_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\(", re.I)


def storage_violations(props: Mapping[str, Any]) -> list[str]:
    found = []
    if props.get("allowSharedKeyAccess") is not False:
        found.append(
            "allowSharedKeyAccess must be false: use identities (Storage Blob Data Owner), not account keys"
        )
    if props.get("allowBlobPublicAccess") is not False:
        found.append("allowBlobPublicAccess must be false: no container may be readable anonymously")
    return found


def _is_function_app(props: Mapping[str, Any]) -> bool:
    return "functionapp" in str(props.get("kind", "")).lower()


def function_app_violations(props: Mapping[str, Any]) -> list[str]:
    if not _is_function_app(props):
        return []
    site = props.get("siteConfig") or {}
    found = []
    if props.get("httpsOnly") is not True:
        found.append("httpsOnly must be true: B2C and every caller must reach the function over TLS")
    if site.get("minTlsVersion") not in TLS_OK:
        found.append(f"siteConfig.minTlsVersion is {site.get('minTlsVersion')!r}: set '1.2' or higher")
    if site.get("scmMinTlsVersion") not in TLS_OK:
        found.append(f"siteConfig.scmMinTlsVersion is {site.get('scmMinTlsVersion')!r}: set '1.2' or higher")
    return found


def app_setting_violations(props: Mapping[str, Any]) -> list[str]:
    settings = (props.get("siteConfig") or {}).get("appSettings") or []
    found = []
    for setting in settings:
        name, value = str(setting.get("name", "")), setting.get("value")
        if not isinstance(value, str) or not value or _KEY_VAULT_REFERENCE.match(value):
            continue
        if name.startswith("AzureWebJobsStorage__") or name in _NOT_SECRET:
            continue
        if _SECRET_NAME.search(name) or _SECRET_VALUE.search(value):
            found.append(
                f"app setting {name} holds a literal secret: store it in Key Vault and set "
                "@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>/)"
            )
    return found


def publishing_violations(props: Mapping[str, Any]) -> list[str]:
    if props.get("allow") is not False:
        return ["basic-auth publishing credentials must be disabled (allow: false); deploy with Entra tokens"]
    return []


def basic_auth_publishing_stack_violations(resources: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Every function app needs both of its basic-auth publishing switches, turned off."""
    items = list(resources)
    apps = {str(props.get("name")) for typ, props in items if typ == WEB_APP and _is_function_app(props)}
    found = []
    for typ in (FTP_ALLOWED, SCM_ALLOWED):
        disabled = {
            str(props.get("name")) for kind, props in items if kind == typ and props.get("allow") is False
        }
        found += [
            f"function app {app} has no {typ.rsplit(':', 1)[-1]} resource with allow: false"
            for app in sorted(apps - disabled)
        ]
    return found


def api_connector_violations(props: Mapping[str, Any]) -> list[str]:
    auth = props.get("auth_type")
    if auth == "basic" and props.get("username") and props.get("password"):
        return []
    if auth == "certificate" and props.get("pkcs12_value"):
        return []
    return [
        "the API connector must authenticate to its API: basic (username and password) or a client certificate"
    ]


def redirect_uri_violations(props: Mapping[str, Any]) -> list[str]:
    found = []
    for section in ("web", "singlePageApplication", "publicClient"):
        for uri in (props.get(section) or {}).get("redirectUris") or []:
            if problem := redirect_uri_problem(str(uri)):
                found.append(f"{section}.redirectUris has {uri!r}: a redirect URI {problem}")
    return found


def custom_extension_violations(props: Mapping[str, Any]) -> list[str]:
    """An External ID extension authenticates to its API with Entra tokens for its resource app, and
    answers within Entra's wait: the sign-up page gives up after two seconds."""
    found = []
    resource_id, target = props.get("resource_id"), props.get("target_url")
    if not isinstance(resource_id, str) or not resource_id:
        found.append(
            "the custom extension must authenticate to its API: set resource_id to the resource app's "
            "api://<function host>/<app id> (azureAdTokenAuthentication)"
        )
    elif problem := external_id_model.resource_id_problem(
        resource_id, target if isinstance(target, str) else None
    ):
        found.append(problem)
    low, high = external_id_model.TIMEOUT_MS_RANGE
    timeout = props.get("timeout_ms")
    if not isinstance(timeout, int | float) or not low <= timeout <= high:
        found.append(f"timeout_ms {timeout!r} must be from {low} to {high}: Entra waits at most two seconds")
    retries = props.get("maximum_retries")
    low, high = external_id_model.MAXIMUM_RETRIES_RANGE
    if not isinstance(retries, int | float) or not low <= retries <= high:
        found.append(f"maximum_retries {retries!r} must be from {low} to {high}")
    return found


def client_secret_violations(
    props: Mapping[str, Any], *, max_days: int = MAX_CLIENT_SECRET_DAYS
) -> list[str]:
    end = props.get("endDate")
    if not end and not props.get("endDateRelative"):
        return ["the client secret must expire: set endDate"]
    if end:
        try:
            expires = datetime.fromisoformat(str(end).replace("Z", "+00:00"))
        except ValueError:
            return [f"endDate {end!r} is not an RFC 3339 time"]
        if (expires - datetime.now(UTC)).days > max_days:
            return [
                f"endDate {end} is more than {max_days} days away: rotate client secrets at least every two years"
            ]
    return []


def _resource_policy(
    name: str, description: str, types: tuple[str, ...], check: Callable[[Mapping[str, Any]], list[str]]
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type in types:
            for violation in check(args.props):
                report(violation, None)

    return ResourceValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=EnforcementLevel.MANDATORY
    )


def _publishing_stack(args: StackValidationArgs, report: ReportViolation) -> None:
    for violation in basic_auth_publishing_stack_violations(
        (r.resource_type, r.props) for r in args.resources
    ):
        report(violation, None)


POLICIES = [
    _resource_policy(
        "storage-identity-only",
        "Storage accounts allow no shared-key or public blob access.",
        (STORAGE,),
        storage_violations,
    ),
    _resource_policy(
        "function-app-https-tls12",
        "Function apps are HTTPS-only with TLS 1.2 or higher on site and SCM.",
        (WEB_APP,),
        function_app_violations,
    ),
    _resource_policy(
        "no-literal-secrets-in-app-settings",
        "App settings hold Key Vault references, never literal secrets.",
        (WEB_APP,),
        app_setting_violations,
    ),
    _resource_policy(
        "basic-auth-publishing-off",
        "FTP and SCM basic-auth publishing are disabled.",
        (FTP_ALLOWED, SCM_ALLOWED),
        publishing_violations,
    ),
    StackValidationPolicy(
        name="function-apps-disable-basic-auth-publishing",
        description="Every function app has FTP and SCM basic-auth publishing turned off.",
        validate=_publishing_stack,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    _resource_policy(
        "api-connector-authenticated",
        "B2C API connectors always authenticate to their API.",
        (API_CONNECTOR,),
        api_connector_violations,
    ),
    _resource_policy(
        "custom-extension-authenticated",
        "External ID custom extensions authenticate with Entra tokens and answer within two seconds.",
        (CUSTOM_EXTENSION,),
        custom_extension_violations,
    ),
    _resource_policy(
        "redirect-uris-https",
        "App registration redirect URIs are https, except http://localhost.",
        (APPLICATION,),
        redirect_uri_violations,
    ),
    _resource_policy(
        "client-secrets-expire",
        "Application client secrets have an expiry of at most two years.",
        (APPLICATION_PASSWORD,),
        client_secret_violations,
    ),
]
