"""The stack configuration, read and validated once. Nothing else in the program reads config.

Every key lives in the `b2c-signup` namespace and is declared in `KEYS`, from which the config
block of Pulumi.yaml and the README's reference table are generated (`python -m tools.config_docs`).
A missing or malformed key stops the program before any resource is registered, with a message
that names the key, shows the bad value (never a secret) and gives a valid example.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import b2c_tenant
from components.b2c_tenant import B2CTenant
from components.credentials import (
    CONFIG_NAMESPACE,
    IDENTITY_DEFAULTS,
    B2CSettings,
    IdentityConfigError,
    redirect_uri_problem,
)
from components.flow_connector import GLOBAL_REDIRECT
from components.graph import UserAttributeValue
from components.graph import model as graph_model
from components.signup_function import hosting_problems

# The allowlist is validated by the very rule the function applies at run time.
from functions import signup_rules

NAMESPACE = CONFIG_NAMESPACE
DEFAULT_REDIRECT_URI = GLOBAL_REDIRECT


@dataclass(frozen=True)
class Key:
    """One `b2c-signup:*` key as Pulumi.yaml declares it.

    Pulumi treats a declared key without a `default` as required and stops `preview` and `up`
    before the program runs when a stack lacks it (pulumi/pulumi pkg/workspace/config.go,
    mergeConfig). So every key that is not `required` has a default; "" stands for "not set".
    """

    type: str  # the Pulumi.yaml type: string, integer, boolean, array
    description: str
    default: Any = ""
    required: bool = False
    # Set with `pulumi config set --secret`. The program checks that it is stored encrypted:
    # Pulumi.yaml cannot say `secret: true` for an optional key, because Pulumi then demands
    # that the default, too, be encrypted (validateStackConfigValue).
    secret: bool = False


KEYS: dict[str, Key] = {
    "tenantName": Key(
        "string",
        "B2C tenant name: the tenant domain is <tenantName>.onmicrosoft.com, the login host <tenantName>.b2clogin.com.",
        required=True,
    ),
    "tenantId": Key("string", "B2C tenant id (GUID).", required=True),
    "allowedDomains": Key(
        "array",
        "Email domains allowed to sign up: `contoso.com` (exactly) or `*.contoso.com` (any subdomain).",
        required=True,
    ),
    "userFlowName": Key("string", "User flow name; the policy id becomes B2C_1_<name>.", "signupsignin"),
    "userAttributes": Key(
        "array",
        "Attributes collected at sign-up (attribute ids; add `?` for optional, e.g. `city?`).",
        ["email", "givenName", "surname", "displayName"],
    ),
    "attributeInputs": Key(
        "object",
        "Input type and choices of collected attributes, by attribute id, e.g. "
        '{"extension_<appId>_plan": {"input_type": "radioSingleSelect", "user_attribute_values": ["Basic", "Pro"]}}; '
        "a choice is a text or {name, value, is_default}.",
        {},
    ),
    "signupMessages": Key(
        "object",
        "Texts a refused user sees, by language (B2C sends the page's ui_locales): "
        '{"en": {"denied": "...", "invalidEmail": "...", "unavailable": "..."}, "fr": {"denied": "..."}}; '
        "a language names only the texts it changes, and the first one is the default.",
        {},
    ),
    "connectorStep": Key(
        "string",
        "Where the API connector runs: postAttributeCollection (before creating the user) or postFederationSignup.",
        "postAttributeCollection",
    ),
    "connectorUsername": Key(
        "string", "Basic-auth username the API connector sends (the password is generated).", "b2c-connector"
    ),
    "apiIdentifier": Key(
        "string", "Web API App ID URI path: https://<tenantName>.onmicrosoft.com/<apiIdentifier>.", "api"
    ),
    "apiScope": Key("string", "Delegated scope the web API exposes.", "access"),
    "flowRedirectUris": Key(
        "array",
        "Redirect URIs of the Flow client app (add the per-connector URI once the Power Automate connector exists).",
        [DEFAULT_REDIRECT_URI],
    ),
    "flowSecretLifetimeDays": Key("integer", "Lifetime of the Flow client secret in days (1 to 730).", 180),
    "flowSecretRotation": Key(
        "string", "Change this value (e.g. to today's date) to issue a new Flow client secret.", "1"
    ),
    "adoptExisting": Key(
        "boolean",
        "Take over an existing API connector / user flow of the same name instead of stopping.",
        False,
    ),
    "b2cCredential": Key(
        "string",
        "How to sign in to the B2C tenant: clientSecret, azureCli or githubOidc.",
        IDENTITY_DEFAULTS["b2cCredential"],
    ),
    "b2cClientId": Key(
        "string", "Client id of the deployment app registered in the B2C tenant (clientSecret, githubOidc)."
    ),
    "b2cClientSecret": Key(
        "string",
        "Client secret of that app, with b2cCredential clientSecret (set it with --secret).",
        secret=True,
    ),
    "graphEndpoint": Key(
        "string",
        "Microsoft Graph origin (https; http only on loopback, for tests).",
        IDENTITY_DEFAULTS["graphEndpoint"],
    ),
    "loginHost": Key(
        "string",
        "B2C login host, if the tenant uses a custom domain (e.g. login.contoso.com); by default <tenantName>.b2clogin.com.",
    ),
    "location": Key("string", "Azure region of the function and its resources.", "westeurope"),
    "namePrefix": Key(
        "string", "Short prefix of Azure resource names (2 to 10 lowercase letters and digits).", "signup"
    ),
    "resourceGroupName": Key("string", "Existing resource group to use; by default one is created."),
    "pythonVersion": Key("string", "Python version of the function app.", "3.12"),
    "alwaysReadyInstances": Key(
        "integer", "Always-ready instances for the http group (1 in production, 0 for dev).", 0
    ),
    "maximumInstances": Key("integer", "Maximum instances of the Flex Consumption app (40 to 1000).", 40),
    "instanceMemoryMB": Key("integer", "Instance memory in MB: 512, 2048 or 4096.", 2048),
}


class StackConfigError(pulumi.RunError):
    """One or more `b2c-signup:*` keys are missing or malformed; raised before anything is created."""


@dataclass(frozen=True)
class Attribute:
    attribute_id: str
    optional: bool = False
    input_type: str | None = None  # None: the resource's default (emailBox for email, else textBox)
    choices: tuple[UserAttributeValue, ...] = ()


@dataclass(frozen=True)
class B2CIdentity:
    settings: B2CSettings
    # The same secret as a secret Output, for the azuread provider's input.
    client_secret: pulumi.Output[str] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Hosting:
    location: str
    name_prefix: str
    resource_group_name: str | None
    python_version: str
    always_ready_instances: int
    maximum_instances: int
    instance_memory_mb: int


@dataclass(frozen=True)
class StackConfig:
    stack: str
    tenant: B2CTenant
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
    b2c: B2CIdentity
    hosting: Hosting
    signup_messages: str = ""  # JSON for the function's SIGNUP_MESSAGES, "" for its built-in texts

    @property
    def policy_id(self) -> str:
        return b2c_tenant.policy_id(self.user_flow_name)

    @property
    def web_api_scope(self) -> str:
        return self.tenant.scope_uri(self.api_identifier, self.api_scope)


Rule = Callable[[str], str | None]  # why a value is unusable, or None
_STRICT_INTEGER = re.compile(r"^[+-]?[0-9]+$")


def _pattern(pattern: str, why: str) -> Rule:
    compiled = re.compile(pattern)
    return lambda value: None if compiled.match(value) else why


class _Reader:
    """Reads raw values, applies the defaults of KEYS, and collects every problem before failing."""

    def __init__(self, get: Callable[[str], str | None]) -> None:
        self._get = get
        self.problems: list[str] = []

    def fail(self, key: str, value: object, reason: str, example: str, path: str = "") -> None:
        """`path` (such as "[0]") marks an example for one item of a list key, set with --path."""
        shown = "(not set)" if value is None else f"{value!r}"
        command = (
            f"pulumi config set --path '{NAMESPACE}:{key}{path}' {example}"
            if path
            else f"pulumi config set {NAMESPACE}:{key} {example}"
        )
        self.problems.append(f"{NAMESPACE}:{key} {shown} {reason}. Example: {command}")

    def raw(self, key: str) -> str | None:
        value = self._get(key)
        return value if value not in (None, "") else None

    def text(self, key: str, rule: Rule | None, example: str) -> str:
        spec = KEYS[key]
        value = self.raw(key)
        if value is None:
            if spec.required:
                self.fail(key, None, "is required", example)
            return str(spec.default)
        if rule is not None and (problem := rule(value)):
            self.fail(key, value, problem, example)
        return value

    def integer(self, key: str, example: str) -> int:
        """A whole number as Pulumi itself reads one (strconv.Atoi: digits, an optional sign)."""
        value = self.raw(key)
        if value is None:
            return int(KEYS[key].default)
        if not _STRICT_INTEGER.match(value):
            self.fail(key, value, "must be a whole number written with digits only", example)
            return int(KEYS[key].default)
        return int(value)

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if value is None:
            return bool(KEYS[key].default)
        if value.lower() not in ("true", "false"):
            self.fail(key, value, "must be true or false", "true")
        return value.lower() == "true"

    def mapping(self, key: str, example: str) -> dict[str, Any]:
        value = self.raw(key)
        if value is None:
            return dict(KEYS[key].default)
        try:
            found = json.loads(value)
        except json.JSONDecodeError:
            found = None
        if not isinstance(found, dict):
            self.fail(key, value, "must be an object (set its fields with --path)", example)
            return {}
        return found

    def strings(self, key: str, example: str) -> list[str]:
        """A list key; `example` is one item, shown as `--path '<key>[0]' <example>`."""
        spec = KEYS[key]
        value = self.raw(key)
        if value is None:
            if spec.required:
                self.fail(key, None, "is required", example, "[0]")
            return list(spec.default or [])
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            items = None
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(item, str) and item.strip() for item in items)
        ):
            self.fail(
                key,
                value,
                "must be a non-empty list of strings (set it with --path or as JSON)",
                example,
                "[0]",
            )
            return list(spec.default or [])
        return [item.strip() for item in items]


def _domains(reader: _Reader) -> tuple[str, ...]:
    entries = reader.strings("allowedDomains", "contoso.com")
    for index, entry in enumerate(entries):
        # The very rule the function applies at run time.
        try:
            signup_rules.parse_domain_rule(entry)
        except signup_rules.ConfigError:
            reader.fail(
                "allowedDomains",
                entry,
                "is not a domain: use `contoso.com` or `*.contoso.com`",
                "contoso.com",
                f"[{index}]",
            )
        if "," in entry:
            reader.fail(
                "allowedDomains",
                entry,
                "holds a comma: list each domain as its own entry",
                "contoso.com",
                f"[{index}]",
            )
    return tuple(entries)


def _attributes(reader: _Reader) -> tuple[Attribute, ...]:
    example = "city?"
    attributes: list[Attribute] = []
    for index, entry in enumerate(reader.strings("userAttributes", example)):
        attribute_id, optional = entry.rstrip("?"), entry.endswith("?")
        # The Graph model's own attribute rule.
        _, problems = graph_model.normalise_attribute({"attribute_id": attribute_id})
        if problems:
            reader.fail(
                "userAttributes",
                entry,
                "is not an attribute id such as givenName or extension_<appId>_x",
                example,
                f"[{index}]",
            )
        elif attribute_id.lower() in {a.attribute_id.lower() for a in attributes}:
            reader.fail("userAttributes", entry, "is listed twice", example, f"[{index}]")
        else:
            attributes.append(Attribute(attribute_id, optional))
    if not any(a.attribute_id == "email" for a in attributes):
        reader.fail(
            "userAttributes",
            reader.raw("userAttributes"),
            "must include email: the API connector decides on it",
            "email",
            "[0]",
        )
    return _with_inputs(reader, attributes)


_INPUT_FIELDS = ("input_type", "user_attribute_values")


def _with_inputs(reader: _Reader, attributes: list[Attribute]) -> tuple[Attribute, ...]:
    """The attributes with the input types and choices of attributeInputs, checked by the Graph
    model's own attribute rule."""
    key = "attributeInputs"
    example = f"--path '{NAMESPACE}:{key}.<attribute id>.input_type' radioSingleSelect"
    inputs = reader.mapping(key, example)
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
        normalised, problems = graph_model.normalise_attribute({"attribute_id": attribute_id, **spec}, where)
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
            )
    return tuple(attributes)


def _redirect_uris(reader: _Reader) -> tuple[str, ...]:
    example = f"{DEFAULT_REDIRECT_URI}/<connector-name>"
    uris = reader.strings("flowRedirectUris", example)
    for index, uri in enumerate(uris):
        # The policy pack applies the same rule to every app registration.
        if problem := redirect_uri_problem(uri):
            reader.fail("flowRedirectUris", uri, problem, example, f"[{index}]")
    return tuple(uris)


def _identity(reader: _Reader, tenant_id: str) -> B2CSettings | None:
    def get(full_key: str) -> str | None:
        key = full_key.split(":", 1)[1]
        return tenant_id or None if key == "tenantId" else reader.raw(key)

    try:
        return B2CSettings.from_config(get)
    except IdentityConfigError as exc:
        if tenant_id:  # a missing tenantId is reported once, by its own key
            reader.problems.append(str(exc))
        return None


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
    """A problem for every key of this project's namespace that KEYS does not declare: Pulumi
    passes such a key to the program silently, so a misspelt one would be ignored."""
    problems = []
    for full_key in sorted(present):
        namespace, _, key = full_key.partition(":")
        if namespace == NAMESPACE and key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" did you mean {NAMESPACE}:{close[0]}?" if close else " the keys are listed in the README"
            problems.append(f"{full_key} is not a key of this project:{hint} (pulumi config rm {full_key})")
    return problems


def load(
    get: Callable[[str], str | None],
    get_secret: Callable[[str], pulumi.Output[str] | None],
    stack: str,
    is_secret: Callable[[str], bool] = lambda _key: True,
    present: Iterable[str] = (),
) -> StackConfig:
    """Validate all keys; raise StackConfigError listing every problem.

    `is_secret(key)` says whether the stack stores a key encrypted, `present` names every config
    key the stack sets (to catch misspelt ones); the defaults suit callers whose values never came
    from a stack file."""
    reader = _Reader(get)
    reader.problems.extend(unknown_keys(present))
    tenant_name = reader.text("tenantName", b2c_tenant.tenant_name_problem, "contosob2c")
    tenant_id = reader.text("tenantId", None, "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90")
    if tenant_id:
        try:
            tenant_id = str(uuid.UUID(tenant_id))
        except ValueError:
            reader.fail(
                "tenantId",
                tenant_id,
                "is not a GUID (Azure AD B2C > Overview > Tenant ID)",
                "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90",
            )
    login_host = reader.text("loginHost", b2c_tenant.host_problem, "login.contoso.com")
    domains = _domains(reader)
    flow_name, flow_problem = b2c_tenant.flow_name(reader.text("userFlowName", None, "signupsignin"))
    if flow_problem:
        reader.fail("userFlowName", reader.raw("userFlowName"), flow_problem, "signupsignin")
    attributes = _attributes(reader)
    step = reader.text(
        "connectorStep",
        lambda value: (
            None
            if value in graph_model.SIGNUP_STEPS
            else f"must be one of {', '.join(graph_model.SIGNUP_STEPS)}"
        ),
        "postAttributeCollection",
    )
    username = reader.text(
        "connectorUsername",
        _pattern(r"^[^:\s]{1,64}$", "must be 1 to 64 characters without ':' or spaces"),
        "b2c-connector",
    )
    api_identifier = reader.text("apiIdentifier", b2c_tenant.segment_problem, "api")
    api_scope = reader.text("apiScope", b2c_tenant.segment_problem, "access")
    uris = _redirect_uris(reader)
    lifetime = reader.integer("flowSecretLifetimeDays", "180")
    if not 1 <= lifetime <= 730:
        reader.fail("flowSecretLifetimeDays", lifetime, "must be a whole number from 1 to 730", "180")
    rotation = reader.text("flowSecretRotation", b2c_tenant.segment_problem, "2026-11-22")
    adopt = reader.boolean("adoptExisting")
    messages = reader.mapping(
        "signupMessages", "--path 'b2c-signup:signupMessages.fr.denied' \"Inscription réservée.\""
    )
    try:
        # The function's own reading of them, so what is deployed is what it will show.
        signup_rules.parse_messages(json.dumps(messages))
    except signup_rules.ConfigError as exc:
        reader.problems.append(f"{NAMESPACE}:{str(exc).replace('signup messages', 'signupMessages')}")
    secret = _secret(reader, "b2cClientSecret", get_secret, is_secret)
    graph = _identity(reader, tenant_id)
    hosting = Hosting(
        location=reader.text("location", None, "westeurope"),
        name_prefix=reader.text("namePrefix", None, "signup"),
        resource_group_name=reader.raw("resourceGroupName"),
        python_version=reader.text("pythonVersion", None, "3.12"),
        always_ready_instances=reader.integer("alwaysReadyInstances", "1"),
        maximum_instances=reader.integer("maximumInstances", "100"),
        instance_memory_mb=reader.integer("instanceMemoryMB", "2048"),
    )
    # The Flex Consumption and Azure naming rules belong to the function's component.
    for field_name, problem in hosting_problems(**vars(hosting)):
        key = _HOSTING_KEYS[field_name]
        reader.fail(key, reader.raw(key) or getattr(hosting, field_name), problem, _HOSTING_EXAMPLES[key])
    if (
        graph is not None
        and graph.credential == "githubOidc"
        and not os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    ):
        pulumi.log.warn(
            f"{NAMESPACE}:b2cCredential is githubOidc, which signs in only inside a GitHub Actions job with "
            "`id-token: write`. On a laptop: az login --tenant <B2C tenant id> --allow-no-subscriptions, then "
            f"pulumi config set {NAMESPACE}:b2cCredential azureCli (or clientSecret with {NAMESPACE}:b2cClientSecret)."
        )
    if reader.problems or graph is None:
        raise StackConfigError("Stack configuration is not valid:\n  - " + "\n  - ".join(reader.problems))
    return StackConfig(
        stack=stack,
        tenant=B2CTenant(tenant_name, tenant_id, login_host),
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
        b2c=B2CIdentity(graph, secret),
        hosting=hosting,
        signup_messages=json.dumps(messages, ensure_ascii=False) if messages else "",
    )


_HOSTING_KEYS = {
    "location": "location",
    "name_prefix": "namePrefix",
    "resource_group_name": "resourceGroupName",
    "python_version": "pythonVersion",
    "always_ready_instances": "alwaysReadyInstances",
    "maximum_instances": "maximumInstances",
    "instance_memory_mb": "instanceMemoryMB",
}
_HOSTING_EXAMPLES = {
    "location": "westeurope",
    "namePrefix": "signup",
    "resourceGroupName": "rg-signup",
    "pythonVersion": "3.12",
    "alwaysReadyInstances": "1",
    "maximumInstances": "100",
    "instanceMemoryMB": "2048",
}


def from_pulumi() -> StackConfig:
    config = pulumi.Config(NAMESPACE)
    return load(
        config.get,
        config.get_secret,
        pulumi.get_stack(),
        lambda key: pulumi.runtime.is_config_secret(f"{NAMESPACE}:{key}"),
        _present_keys(),
    )


def _present_keys() -> set[str]:
    """Every config key the engine passed to the program (the SDK keeps them in a private
    context variable; under the engine they also arrive as PULUMI_CONFIG)."""
    from pulumi.runtime import config as runtime_config

    return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
