"""The stack configuration, read and validated once. Nothing else in the program reads config.

Every key lives in the `b2c-signup` namespace and is declared in `KEYS`, from which the config
block of Pulumi.yaml and the README's reference table are generated (`python -m tools.config_docs`).
A missing or malformed key stops the program before any resource is registered, with a message
that names the key, shows the bad value (never a secret) and gives a valid example; every problem
is reported in the same run. The rules themselves belong to the rooms that apply them (tenant
names, identities, hosting limits, the Graph models, the function's allowlist): this module only
reads keys and asks them.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pulumi

from components import b2c_tenant
from components.b2c_tenant import B2CTenant
from components.credentials import (
    CONFIG_NAMESPACE,
    IDENTITY_DEFAULTS,
    MAX_CLIENT_SECRET_DAYS,
    B2CSettings,
    is_guid,
    redirect_uri_problem,
)
from components.external_id_tenant import ExternalIdTenant
from components.flow_connector import GLOBAL_REDIRECT
from components.graph import external_id_model
from components.graph import model as graph_model
from components.graph.external_id_model import CustomAttribute
from components.graph.model import UserAttributeValue
from components.signup_function import FIRST_GENERATION, Hosting

# The allowlist is validated by the very rule the function applies at run time.
from functions import app_settings, signup_rules

NAMESPACE = CONFIG_NAMESPACE
DEFAULT_REDIRECT_URI = GLOBAL_REDIRECT
# The platform ids, as the function reads them from SIGNUP_PLATFORM: one spelling for both.
B2C, EXTERNAL_ID = app_settings.PLATFORM_B2C, app_settings.PLATFORM_EXTERNAL_ID
PLATFORMS = (B2C, EXTERNAL_ID)
PLATFORM_NAMES = {B2C: "Azure AD B2C", EXTERNAL_ID: "Entra External ID"}
# Namespaces of the providers the program uses: a key there is theirs, never a misspelling of ours.
PROVIDER_NAMESPACES = frozenset({"azure-native", "azuread", "random", "pulumi", "azure"})
# The tenant values the shipped stack files carry as examples. A deployment with them would
# create resources in somebody else's (or nobody's) tenant: `up` stops before any resource.
SAMPLE_TENANTS = frozenset(
    {
        ("contosob2cdev", "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90"),
        ("contosob2c", "7c6b5a49-3827-4615-a0b9-c8d7e6f50413"),
        ("contosoexternal", "2b8e4f61-9d3c-4a7b-8e15-6c0f9a2d7b34"),
    }
)


@dataclass(frozen=True)
class Key:
    """One `b2c-signup:*` key as Pulumi.yaml declares it.

    Pulumi treats a declared key without a `default` as required and stops `preview` and `up`
    before the program runs when a stack lacks it (pulumi/pulumi pkg/workspace/config.go,
    mergeConfig). So every key that is not `required` has a default; "" stands for "not set".
    """

    type: str  # the Pulumi.yaml type: string, integer, boolean, array, object
    description: str
    default: Any = ""
    required: bool = False
    # Set with `pulumi config set --secret`. The program checks that it is stored encrypted:
    # Pulumi.yaml cannot say `secret: true` for an optional key, because Pulumi then demands
    # that the default, too, be encrypted (validateStackConfigValue).
    secret: bool = False
    example: str = ""  # a valid value, shown in every message about the key
    platforms: tuple[str, ...] = PLATFORMS  # where the key means something; elsewhere it is refused


KEYS: dict[str, Key] = {
    "platform": Key(
        "string",
        "Identity platform of the tenant: b2c (Azure AD B2C) or externalId (Microsoft Entra External ID).",
        B2C,
        example=EXTERNAL_ID,
    ),
    "tenantName": Key(
        "string",
        "Tenant name: the tenant domain is <tenantName>.onmicrosoft.com, the login host <tenantName>.b2clogin.com "
        "(B2C) or <tenantName>.ciamlogin.com (External ID).",
        required=True,
        example="contosob2c",
    ),
    "tenantId": Key(
        "string", "Tenant id (GUID).", required=True, example="4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90"
    ),
    "allowedDomains": Key(
        "array",
        "Email domains allowed to sign up: `contoso.com` (exactly) or `*.contoso.com` (any subdomain).",
        required=True,
        example="contoso.com",
    ),
    "userFlowName": Key(
        "string",
        "User flow name: on B2C the policy id becomes B2C_1_<name>; on External ID the sign-up flow's display name.",
        "signupsignin",
        example="signupsignin",
    ),
    "userAttributes": Key(
        "array",
        "Attributes collected at sign-up: built-in ids (givenName, city, ...), extension_<appId>_<name>, or "
        "names from customAttributes; add `?` for optional, e.g. `city?`.",
        ["email", "givenName", "surname", "displayName"],
        example="city?",
    ),
    "attributeInputs": Key(
        "object",
        "Input type and choices of collected attributes, by attribute id, e.g. "
        '{"extension_<appId>_plan": {"input_type": "radioSingleSelect", "user_attribute_values": ["Basic", "Pro"]}}; '
        "a choice is a text or {name, value, is_default}.",
        {},
        example="--path 'b2c-signup:attributeInputs.<attribute id>.input_type' radioSingleSelect",
    ),
    "customAttributes": Key(
        "object",
        "Custom user attributes the stack creates in the tenant, by name: "
        '{"plan": {"dataType": "string", "description": "Your plan"}} (dataType string, boolean or int64); '
        "collect one by listing its name in userAttributes.",
        {},
        example="--path 'b2c-signup:customAttributes.plan.dataType' string",
        platforms=(EXTERNAL_ID,),
    ),
    "signupMessages": Key(
        "object",
        "Texts a refused user sees, by language (the sign-up page's language): "
        '{"en": {"denied": "...", "invalidEmail": "...", "unavailable": "..."}, "fr": {"denied": "..."}}; '
        "a language names only the texts it changes, and the first one is the default.",
        {},
        example="--path 'b2c-signup:signupMessages.fr.denied' \"Inscription réservée.\"",
    ),
    "connectorStep": Key(
        "string",
        "Where the API connector runs: postAttributeCollection (before creating the user) or postFederationSignup.",
        "postAttributeCollection",
        example="postAttributeCollection",
        platforms=(B2C,),
    ),
    "connectorUsername": Key(
        "string",
        "Basic-auth username the API connector sends (the password is generated).",
        "b2c-connector",
        example="b2c-connector",
        platforms=(B2C,),
    ),
    "connectorPasswordGeneration": Key(
        "integer",
        "Generation of the API connector's generated password: add one to rotate it (the function accepts the "
        "one before and after too, so no sign-up is refused while the connector switches).",
        FIRST_GENERATION,
        example="2",
        platforms=(B2C,),
    ),
    "apiIdentifier": Key(
        "string",
        "Web API App ID URI path: https://<tenantName>.onmicrosoft.com/<apiIdentifier> (External ID uses api://<appId>).",
        "api",
        example="api",
        platforms=(B2C,),
    ),
    "apiScope": Key("string", "Delegated scope the web API exposes.", "access", example="access"),
    "flowRedirectUris": Key(
        "array",
        "Redirect URIs of the Flow client app (add the per-connector URI once the Power Automate connector exists).",
        [DEFAULT_REDIRECT_URI],
        example=f"{DEFAULT_REDIRECT_URI}/<connector-name>",
    ),
    "flowSecretLifetimeDays": Key(
        "integer",
        f"Lifetime of the Flow client secret in days (1 to {MAX_CLIENT_SECRET_DAYS}).",
        180,
        example="180",
    ),
    "flowSecretRotation": Key(
        "string",
        "Change this value (e.g. to today's date) to issue a new Flow client secret.",
        "1",
        example="2026-11-22",
    ),
    "adoptExisting": Key(
        "boolean",
        "Take over an existing API connector / user flow / extension / sign-up flow of the same name instead of stopping.",
        False,
        example="true",
    ),
    "b2cCredential": Key(
        "string",
        "How to sign in to the tenant: clientSecret, azureCli or githubOidc.",
        IDENTITY_DEFAULTS["b2cCredential"],
        example="azureCli",
    ),
    "b2cClientId": Key(
        "string",
        "Client id of the deployment app registered in the tenant (clientSecret, githubOidc).",
        example="0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e",
    ),
    "b2cClientSecret": Key(
        "string",
        "Client secret of that app, with b2cCredential clientSecret (set it with --secret).",
        secret=True,
        example="<secret>",
    ),
    "graphEndpoint": Key(
        "string",
        "Microsoft Graph origin (https; http only on loopback, for tests).",
        IDENTITY_DEFAULTS["graphEndpoint"],
        example="https://graph.microsoft.com",
    ),
    "loginHost": Key(
        "string",
        "Custom login domain of the tenant, if it uses one (e.g. login.contoso.com); by default "
        "<tenantName>.b2clogin.com or <tenantName>.ciamlogin.com.",
        example="login.contoso.com",
    ),
    "location": Key(
        "string", "Azure region of the function and its resources.", "westeurope", example="westeurope"
    ),
    "namePrefix": Key(
        "string",
        "Short prefix of Azure resource names (2 to 10 lowercase letters and digits).",
        "signup",
        example="signup",
    ),
    "resourceGroupName": Key(
        "string", "Existing resource group to use; by default one is created.", example="rg-signup"
    ),
    "pythonVersion": Key("string", "Python version of the function app.", "3.12", example="3.12"),
    "alwaysReadyInstances": Key(
        "integer", "Always-ready instances for the http group (1 in production, 0 for dev).", 0, example="1"
    ),
    "maximumInstances": Key(
        "integer", "Maximum instances of the Flex Consumption app (40 to 1000).", 40, example="100"
    ),
    "instanceMemoryMB": Key("integer", "Instance memory in MB: 512, 2048 or 4096.", 2048, example="2048"),
}
# Hosting field -> its key, read the same way for each: the one list of them here.
HOSTING_KEYS = {
    "location": "location",
    "name_prefix": "namePrefix",
    "resource_group_name": "resourceGroupName",
    "python_version": "pythonVersion",
    "always_ready_instances": "alwaysReadyInstances",
    "maximum_instances": "maximumInstances",
    "instance_memory_mb": "instanceMemoryMB",
}


class StackConfigError(pulumi.RunError):
    """One or more `b2c-signup:*` keys are missing or malformed; raised before anything is created."""


@dataclass(frozen=True)
class Attribute:
    attribute_id: str  # a built-in or extension_ id, or the name of a custom attribute of this stack
    optional: bool = False
    input_type: str | None = None  # None: the resource's default (emailBox for email, else textBox)
    choices: tuple[UserAttributeValue, ...] = ()
    custom: bool = False  # created by this stack (customAttributes): its id is known after `up`


@dataclass(frozen=True)
class TenantIdentity:
    settings: B2CSettings
    # The same secret as a secret Output, for the azuread provider's input.
    client_secret: pulumi.Output[str] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class StackConfig:
    stack: str
    tenant: B2CTenant | ExternalIdTenant
    allowed_domains: tuple[str, ...]
    user_flow_name: str
    user_attributes: tuple[Attribute, ...]
    connector_step: str
    connector_username: str
    api_identifier: str
    api_scope: str
    flow_redirect_uris: tuple[str, ...]
    flow_secret_lifetime_days: int
    flow_secret_rotation: str
    adopt_existing: bool
    identity: TenantIdentity
    hosting: Hosting
    signup_messages: str = ""  # JSON for the function's SIGNUP_MESSAGES, "" for its built-in texts
    platform: str = B2C
    custom_attributes: tuple[CustomAttribute, ...] = ()
    connector_password_generation: int = FIRST_GENERATION

    @property
    def policy_id(self) -> str:
        """B2C: the user flow's id (B2C_1_<name>); External ID: the sign-up flow's display name."""
        if self.platform == EXTERNAL_ID:
            return self.user_flow_name
        return b2c_tenant.policy_id(self.user_flow_name)

    @property
    def web_api_scope(self) -> str:
        """The web API's full scope on B2C (External ID's depends on the app's client id, known
        once the app exists: the platform's wiring asks the tenant then)."""
        if not isinstance(self.tenant, B2CTenant):
            raise TypeError("an External ID scope URI needs the web API's client id: use tenant.scope_uri")
        return self.tenant.scope_uri(self.api_identifier, self.api_scope)


Rule = Callable[[str], str | None]  # why a value is unusable, or None
_STRICT_INTEGER = re.compile(r"^[+-]?[0-9]+$")


class _Reader:
    """Reads raw values, applies the defaults of KEYS, and collects every problem before failing."""

    def __init__(self, get: Callable[[str], str | None], present: Iterable[str] = ()) -> None:
        self._get = get
        self._present = [key for key in present if key.startswith(f"{NAMESPACE}:")]
        self.problems: list[str] = []

    def fail(self, key: str, value: object, reason: str, example: str | None = None, path: str = "") -> None:
        """`path` (such as "[0]") marks an example for one item of a list key, set with --path."""
        shown = "(not set)" if value is None else f"{value!r}"
        example = KEYS[key].example if example is None else example
        if example.startswith("--path "):
            command = f"pulumi config set {example}"
        elif path:
            command = f"pulumi config set --path '{NAMESPACE}:{key}{path}' {example}"
        else:
            command = f"pulumi config set {NAMESPACE}:{key} {example}"
        self.problems.append(f"{NAMESPACE}:{key} {shown} {reason}. Example: {command}")

    def raw(self, key: str) -> str | None:
        value = self._get(key)
        return value if value not in (None, "") else None

    def missing(self, key: str, path: str = "") -> None:
        """A required key that is not set, with the set key it most resembles (a misspelling)."""
        close = difflib.get_close_matches(f"{NAMESPACE}:{key}", self._present, n=1, cutoff=0.8)
        hint = f" ({close[0]} is set: did you mean {NAMESPACE}:{key}?)" if close else ""
        self.fail(key, None, f"is required{hint}", path=path)

    def text(self, key: str, rule: Rule | None = None) -> str:
        spec = KEYS[key]
        value = self.raw(key)
        if value is None:
            if spec.required:
                self.missing(key)
            return str(spec.default)
        if rule is not None and (problem := rule(value)):
            self.fail(key, value, problem)
        return value

    def integer(self, key: str) -> int:
        """A whole number as Pulumi itself reads one (strconv.Atoi: digits, an optional sign)."""
        value = self.raw(key)
        if value is None:
            return int(KEYS[key].default)
        if not _STRICT_INTEGER.match(value):
            self.fail(key, value, "must be a whole number written with digits only")
            return int(KEYS[key].default)
        return int(value)

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if value is None:
            return bool(KEYS[key].default)
        if value.lower() not in ("true", "false"):
            self.fail(key, value, "must be true or false")
        return value.lower() == "true"

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.raw(key)
        if value is None:
            return dict(KEYS[key].default)
        try:
            found = json.loads(value)
        except json.JSONDecodeError:
            found = None
        if not isinstance(found, dict):
            self.fail(key, value, "must be an object (set its fields with --path)")
            return {}
        return found

    def strings(self, key: str) -> list[str]:
        """A list key; its example is one item, shown as `--path '<key>[0]' <example>`."""
        spec = KEYS[key]
        value = self.raw(key)
        if value is None:
            if spec.required:
                self.missing(key, "[0]")
            return list(spec.default or [])
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            items = None
        if items is None or isinstance(items, str):
            # `pulumi config set <key> a,b` stores a plain string; --path on it fails until it is removed.
            parts = [
                part.strip() for part in str(items if items is not None else value).split(",") if part.strip()
            ]
            commands = " && ".join(
                f"pulumi config set --path '{NAMESPACE}:{key}[{index}]' {part}"
                for index, part in enumerate(parts)
            )
            self.problems.append(
                f"{NAMESPACE}:{key} {value!r} must be a non-empty list of strings, not a plain string. Set it as a list: "
                f"pulumi config rm {NAMESPACE}:{key} && {commands or f'pulumi config set --path {NAMESPACE}:{key}[0] {spec.example}'}"
            )
            return list(spec.default or [])
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(i, str) and i.strip() for i in items)
        ):
            self.fail(
                key, value, "must be a non-empty list of strings (set it with --path or as JSON)", path="[0]"
            )
            return list(spec.default or [])
        return [item.strip() for item in items]


def _domains(reader: _Reader) -> tuple[str, ...]:
    entries = reader.strings("allowedDomains")
    for index, entry in enumerate(entries):
        if "," in entry:
            reader.fail(
                "allowedDomains", entry, "holds a comma: list each domain as its own entry", path=f"[{index}]"
            )
            continue
        # The very rule the function applies at run time.
        try:
            signup_rules.parse_domain_rule(entry)
        except signup_rules.PublicSuffixWildcardError as exc:
            reader.fail(
                "allowedDomains",
                entry,
                f"is a wildcard on the public suffix {exc.suffix!r}: it would admit every organisation registered "
                f"under {exc.suffix} (Public Suffix List); name your own domain instead",
                f"'*.contoso.{exc.suffix}'",
                f"[{index}]",
            )
        except signup_rules.ConfigError:
            reader.fail(
                "allowedDomains",
                entry,
                "is not a domain: use `contoso.com` or `*.contoso.com`",
                path=f"[{index}]",
            )
    return tuple(entries)


def _attribute_rules(platform: str) -> ModuleType:
    """The Graph model that owns a platform's attribute rules."""
    return external_id_model if platform == EXTERNAL_ID else graph_model


def _custom_attributes(reader: _Reader) -> tuple[CustomAttribute, ...]:
    key = "customAttributes"
    declared: list[CustomAttribute] = []
    for name, spec in reader.mapping(key).items():
        where = f"{NAMESPACE}:{key}.{name}"
        shown = where if str(name).isidentifier() else f"{NAMESPACE}:{key}.plan"
        example = f"Example: pulumi config set --path '{shown}.dataType' string"
        if not isinstance(spec, dict) or set(spec) - {"dataType", "description"}:
            reader.problems.append(
                f"{where} {json.dumps(spec)} must be an object with dataType and/or description. {example}"
            )
            continue
        attribute = CustomAttribute(
            str(name), spec.get("dataType", "string"), spec.get("description") or str(name)
        )
        # The External ID model's own rule for what Graph can create.
        if found := external_id_model.custom_attribute_problem(
            attribute.name, attribute.data_type, attribute.description
        ):
            field, why = found
            reader.problems.append(f"{where}{'.' + field if field else ':'} {why}. {example}")
            continue
        declared.append(attribute)
    return tuple(declared)


def _attributes(reader: _Reader, platform: str, custom: tuple[CustomAttribute, ...]) -> tuple[Attribute, ...]:
    rules = _attribute_rules(platform)
    custom_names = {attribute.name.lower() for attribute in custom}
    attributes: list[Attribute] = []
    for index, entry in enumerate(reader.strings("userAttributes")):
        attribute_id, optional = entry.rstrip("?"), entry.endswith("?")
        is_custom = attribute_id.lower() in custom_names
        if attribute_id.lower() in {a.attribute_id.lower() for a in attributes}:
            reader.fail("userAttributes", entry, "is listed twice", path=f"[{index}]")
        elif is_custom or rules.is_known_attribute(attribute_id):
            attributes.append(Attribute(attribute_id, optional, custom=is_custom))
        else:
            reader.fail(
                "userAttributes",
                entry,
                f"is not an attribute id of {PLATFORM_NAMES[platform]}: use a built-in one "
                f"({', '.join(sorted(rules.BUILT_IN_ATTRIBUTES))}), extension_<appId without hyphens>_<name>, "
                "or a name declared in customAttributes",
                path=f"[{index}]",
            )
    if not any(a.attribute_id == "email" for a in attributes):
        reader.fail(
            "userAttributes",
            reader.raw("userAttributes"),
            "must include email: the sign-up gate decides on it",
            "email",
            "[0]",
        )
    return _with_inputs(reader, attributes, rules)


_INPUT_FIELDS = ("input_type", "user_attribute_values")


def _with_inputs(reader: _Reader, attributes: list[Attribute], rules: ModuleType) -> tuple[Attribute, ...]:
    """The attributes with the input types and choices of attributeInputs, checked by the
    platform's Graph model (its own attribute rule)."""
    key = "attributeInputs"
    inputs = reader.mapping(key)
    by_id = {attribute.attribute_id.lower(): index for index, attribute in enumerate(attributes)}
    for attribute_id, spec in inputs.items():
        where = f"{NAMESPACE}:{key}.{attribute_id}"
        if attribute_id.lower() not in by_id:
            reader.problems.append(
                f"{where} names an attribute that userAttributes does not collect: add it there"
            )
            continue
        if not isinstance(spec, dict) or not spec or set(spec) - set(_INPUT_FIELDS):
            reader.problems.append(
                f"{where} {json.dumps(spec)} must be an object with {' and/or '.join(_INPUT_FIELDS)}. Example: pulumi "
                f"config set --path '{where}.input_type' dropdownSingleSelect"
            )
            continue
        # A custom attribute's id is known only once created: the rule checks it by a stand-in id.
        checked_id = (
            attribute_id
            if rules.is_known_attribute(attribute_id)
            else "extension_00000000000000000000000000000000_x"
        )
        normalised, problems = rules.normalise_attribute({"attribute_id": checked_id, **spec}, where)
        reader.problems.extend(problems)
        if normalised is not None:
            index = by_id[attribute_id.lower()]
            attributes[index] = Attribute(
                attributes[index].attribute_id,
                attributes[index].optional,
                normalised["input_type"],
                tuple(
                    UserAttributeValue(name=c["name"], value=c["value"], is_default=c["is_default"])
                    for c in normalised.get("user_attribute_values", ())
                ),
                attributes[index].custom,
            )
    return tuple(attributes)


def _redirect_uris(reader: _Reader) -> tuple[str, ...]:
    uris = reader.strings("flowRedirectUris")
    for index, uri in enumerate(uris):
        # The policy pack applies the same rule to every app registration.
        if problem := redirect_uri_problem(uri):
            reader.fail("flowRedirectUris", uri, problem, path=f"[{index}]")
    return tuple(uris)


def _identity(reader: _Reader, tenant_id: str) -> B2CSettings | None:
    def get(full_key: str) -> str | None:
        key = full_key.split(":", 1)[1]
        return tenant_id or None if key == "tenantId" else reader.raw(key)

    settings, problems = B2CSettings.read(get)
    # A missing tenantId is reported once, by its own key.
    reader.problems.extend(
        problem for problem in problems if not problem.startswith(f"{NAMESPACE}:tenantId ")
    )
    return settings


def _secret(
    reader: _Reader,
    key: str,
    get_secret: Callable[[str], pulumi.Output[str] | None],
    is_secret: Callable[[str], bool],
) -> pulumi.Output[str] | None:
    """A secret key's value as a secret Output, None when unset ("" is Pulumi.yaml's "not set")."""
    if reader.raw(key) is None:
        return None
    if not is_secret(key):
        reader.problems.append(
            f"{NAMESPACE}:{key} is stored in plain text in the stack file: set it again encrypted with "
            f"pulumi config set --secret {NAMESPACE}:{key} <value>"
        )
    return get_secret(key)


def unknown_keys(present: Iterable[str]) -> list[str]:
    """A problem for every key of this project's namespace that KEYS does not declare, and for every
    key in a namespace that looks like a misspelling of ours: Pulumi passes such keys to the program
    silently, so a misspelt one would be ignored."""
    problems = []
    for full_key in sorted(present):
        namespace, _, key = full_key.partition(":")
        if namespace == NAMESPACE and key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" did you mean {NAMESPACE}:{close[0]}?" if close else " the keys are listed in the README"
            problems.append(f"{full_key} is not a key of this project:{hint} (pulumi config rm {full_key})")
        elif (
            namespace != NAMESPACE
            and namespace not in PROVIDER_NAMESPACES
            and difflib.SequenceMatcher(None, namespace.lower(), NAMESPACE).ratio() >= 0.8
        ):
            problems.append(
                f"{full_key} is in namespace {namespace!r}, which is not this project's: did you mean "
                f"{NAMESPACE}:{key}? (pulumi config rm {full_key}, then pulumi config set {NAMESPACE}:{key} ...)"
            )
    return problems


def _platform_keys(reader: _Reader, platform: str) -> None:
    """Refuse a key set away from its default on a platform that does not use it: it would be
    ignored, and the stack would not do what its file says."""
    for key, spec in KEYS.items():
        value = reader.raw(key)
        if platform in spec.platforms or value is None or value == _as_config_text(spec.default):
            continue
        used_by = " and ".join(PLATFORM_NAMES[p] for p in spec.platforms)
        reader.problems.append(
            f"{NAMESPACE}:{key} {value!r} is set, but only {used_by} uses it and this stack's platform is "
            f"{PLATFORM_NAMES[platform]}: remove it (pulumi config rm {NAMESPACE}:{key}), or set "
            f"{NAMESPACE}:platform to {' or '.join(spec.platforms)}"
        )


def _as_config_text(value: Any) -> str:
    """A default as Pulumi hands it to the program: strings as they are, the rest as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _location(reader: _Reader, other: Callable[[str], str | None]) -> str:
    location = reader.text("location")
    provider_location = other("azure-native:location")
    # azure-native puts a resource without a location there, ours in b2c-signup:location: two
    # regions for one stack is a mistake, refused rather than guessed.
    if provider_location and provider_location.strip() != location:
        reader.problems.append(
            f"azure-native:location {provider_location!r} differs from {NAMESPACE}:location {location!r}: every "
            f"resource of this stack goes to {NAMESPACE}:location. Make them agree: pulumi config set "
            f"{NAMESPACE}:location {provider_location.strip()} (or pulumi config rm azure-native:location)"
        )
    return location


def _deployable(
    reader: _Reader, platform: str, tenant_name: str, tenant_id: str, settings: B2CSettings | None
) -> None:
    """What stops a real `up` (not a preview) before any resource is created."""
    if (tenant_name, tenant_id) in SAMPLE_TENANTS:
        reader.problems.append(
            f"{NAMESPACE}:tenantName {tenant_name!r} and {NAMESPACE}:tenantId {tenant_id!r} are the sample values "
            f"the repository's stack files ship with, not your {PLATFORM_NAMES[platform]} tenant: pulumi config set "
            f"{NAMESPACE}:tenantName <your tenant name> && pulumi config set {NAMESPACE}:tenantId <your tenant GUID> "
            "(README, step 2)"
        )
    if (
        settings is not None
        and settings.credential == "githubOidc"
        and not os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    ):
        reader.problems.append(_OIDC_HERE)


_OIDC_HERE = (
    f"{NAMESPACE}:b2cCredential is githubOidc, which signs in only inside a GitHub Actions job with "
    "`id-token: write`. On a laptop: az login --tenant <tenant id> --allow-no-subscriptions, then "
    f"pulumi config set {NAMESPACE}:b2cCredential azureCli (or clientSecret with {NAMESPACE}:b2cClientSecret)"
)


def load(
    get: Callable[[str], str | None],
    get_secret: Callable[[str], pulumi.Output[str] | None],
    stack: str,
    is_secret: Callable[[str], bool] = lambda _key: True,
    present: Iterable[str] = (),
    *,
    other: Callable[[str], str | None] = lambda _key: None,
    deploying: bool = False,
) -> StackConfig:
    """Validate all keys; raise StackConfigError listing every problem.

    `is_secret(key)` says whether the stack stores a key encrypted, `present` names every config
    key the stack sets (to catch misspelt ones), `other(full_key)` reads a key of another
    namespace, and `deploying` is true for a real `up` (not a preview): the defaults suit callers
    whose values never came from a stack file."""
    present = list(present)
    reader = _Reader(get, present)
    reader.problems.extend(unknown_keys(present))
    platform = reader.text(
        "platform", lambda value: None if value in PLATFORMS else f"must be one of {', '.join(PLATFORMS)}"
    )
    if platform not in PLATFORMS:
        platform = B2C
    _platform_keys(reader, platform)
    tenant_name = reader.text("tenantName", b2c_tenant.tenant_name_problem)
    tenant_id = reader.text("tenantId")
    if tenant_id:
        if is_guid(tenant_id):
            tenant_id = tenant_id.lower()
        else:
            reader.fail(
                "tenantId",
                tenant_id,
                f"is not a GUID (the {PLATFORM_NAMES[platform]} tenant's Overview > Tenant ID)",
            )
    login_host = reader.text("loginHost", b2c_tenant.host_problem)
    domains = _domains(reader)
    if platform == EXTERNAL_ID:
        # A sign-up flow's display name: text, unique in the tenant (checked by Graph at create).
        flow_name = reader.text("userFlowName").strip()
    else:
        flow_name, flow_problem = b2c_tenant.flow_name(reader.text("userFlowName"))
        if flow_problem:
            reader.fail("userFlowName", reader.raw("userFlowName"), flow_problem)
    custom = _custom_attributes(reader)
    attributes = _attributes(reader, platform, custom)
    step = reader.text(
        "connectorStep",
        lambda value: (
            None
            if value in graph_model.SIGNUP_STEPS
            else f"must be one of {', '.join(graph_model.SIGNUP_STEPS)}"
        ),
    )
    # The Graph model's own rule for what a connector's username may hold.
    username = reader.text("connectorUsername", graph_model.username_problem)
    generation = reader.integer("connectorPasswordGeneration")
    if generation < FIRST_GENERATION:
        reader.fail(
            "connectorPasswordGeneration", generation, f"must be a whole number from {FIRST_GENERATION}"
        )
    api_identifier = reader.text("apiIdentifier", b2c_tenant.segment_problem)
    api_scope = reader.text("apiScope", b2c_tenant.segment_problem)
    uris = _redirect_uris(reader)
    lifetime = reader.integer("flowSecretLifetimeDays")
    if not 1 <= lifetime <= MAX_CLIENT_SECRET_DAYS:
        reader.fail(
            "flowSecretLifetimeDays", lifetime, f"must be a whole number from 1 to {MAX_CLIENT_SECRET_DAYS}"
        )
    rotation = reader.text("flowSecretRotation", b2c_tenant.segment_problem)
    adopt = reader.boolean("adoptExisting")
    messages = reader.mapping("signupMessages")
    try:
        # The function's own reading of them, so what is deployed is what it will show.
        signup_rules.parse_messages(json.dumps(messages))
    except signup_rules.ConfigError as exc:
        reader.problems.append(f"{NAMESPACE}:{str(exc).replace('signup messages', 'signupMessages')}")
    secret = _secret(reader, "b2cClientSecret", get_secret, is_secret)
    graph = _identity(reader, tenant_id)
    hosting = _hosting(reader, other)
    if deploying:
        _deployable(reader, platform, tenant_name, tenant_id, graph)
    elif (
        graph is not None
        and graph.credential == "githubOidc"
        and not os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    ):
        pulumi.log.warn(_OIDC_HERE + ".")
    if reader.problems or graph is None:
        raise StackConfigError("Stack configuration is not valid:\n  - " + "\n  - ".join(reader.problems))
    tenant: B2CTenant | ExternalIdTenant = (
        ExternalIdTenant(tenant_name, tenant_id, login_host)
        if platform == EXTERNAL_ID
        else B2CTenant(tenant_name, tenant_id, login_host)
    )
    return StackConfig(
        stack=stack,
        tenant=tenant,
        allowed_domains=domains,
        user_flow_name=flow_name,
        user_attributes=attributes,
        connector_step=step,
        connector_username=username,
        api_identifier=api_identifier,
        api_scope=api_scope,
        flow_redirect_uris=uris,
        flow_secret_lifetime_days=lifetime,
        flow_secret_rotation=rotation,
        adopt_existing=adopt,
        identity=TenantIdentity(graph, secret),
        hosting=hosting,
        signup_messages=json.dumps(messages, ensure_ascii=False) if messages else "",
        platform=platform,
        custom_attributes=custom,
        connector_password_generation=generation,
    )


def _hosting(reader: _Reader, other: Callable[[str], str | None]) -> Hosting:
    values: dict[str, Any] = {}
    for field_name, key in HOSTING_KEYS.items():
        if field_name == "location":
            values[field_name] = _location(reader, other)
        elif KEYS[key].type == "integer":
            values[field_name] = reader.integer(key)
        else:
            values[field_name] = reader.raw(key) if key == "resourceGroupName" else reader.text(key)
    hosting = Hosting(**values)
    # The Flex Consumption and Azure naming rules belong to the function's component.
    for field_name, problem in hosting.problems():
        key = HOSTING_KEYS[field_name]
        reader.fail(key, reader.raw(key) or getattr(hosting, field_name), problem)
    return hosting


def from_pulumi() -> StackConfig:
    config = pulumi.Config(NAMESPACE)
    present = _present_config()
    return load(
        config.get,
        config.get_secret,
        pulumi.get_stack(),
        lambda key: pulumi.runtime.is_config_secret(f"{NAMESPACE}:{key}"),
        present,
        other=lambda full_key: present.get(full_key),
        deploying=not pulumi.runtime.is_dry_run(),
    )


def _present_config() -> dict[str, str]:
    """Every config key the engine passed to the program, with its value (the SDK keeps them in a
    private context variable; under the engine they also arrive as PULUMI_CONFIG)."""
    from pulumi.runtime import config as runtime_config

    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
