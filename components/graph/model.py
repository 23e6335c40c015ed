"""Pure rules of the Graph resources: input validation, normalisation and change planning.

No I/O here: providers call these to decide, then the gateway to act.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict
from urllib.parse import urlsplit

from pulumi.runtime import rpc

from components import b2c_tenant
from components.credentials import is_guid

# What the engine passes for a value that is not known yet (a preview before a dependency exists).
UNKNOWN = rpc.UNKNOWN

AUTH_BASIC = "basic"
AUTH_CERTIFICATE = "certificate"
CONNECTOR_FIELDS = (
    "display_name",
    "target_url",
    "auth_type",
    "username",
    "password",
    "pkcs12_value",
    "certificate_password",
)
CONNECTOR_SECRETS = ("password", "pkcs12_value", "certificate_password")
CONNECTOR_AUTH_FIELDS = ("auth_type", "username", "password", "pkcs12_value", "certificate_password")

FLOW_TYPES = ("signUp", "signIn", "signUpOrSignIn", "passwordReset", "profileUpdate", "resourceOwner")
# The engine's property name -> Graph's step name (userFlowApiConnectorConfiguration, beta):
# after federating with an identity provider at sign-up, before creating the user, and before
# sending the token (B2C's preview step, which runs on sign-in too).
STEPS = {
    "post_federation_signup": "postFederationSignup",
    "post_attribute_collection": "postAttributeCollection",
    "pre_token_issuance": "preTokenIssuance",
}
# Where a sign-up gate can run: its refusal stops the account before it exists.
SIGNUP_STEPS = ("postAttributeCollection", "postFederationSignup")
INPUT_TYPES = (
    "textBox",
    "dateTimeDropdown",
    "radioSingleSelect",
    "dropdownSingleSelect",
    "emailBox",
    "checkboxMultiSelect",
)
# Input types whose choices come from userAttributeValues (Graph: "Only applicable when the
# userInputType is radioSingleSelect, dropdownSingleSelect, or checkboxMultiSelect").
SELECT_INPUT_TYPES = ("radioSingleSelect", "dropdownSingleSelect", "checkboxMultiSelect")
FLOW_REPLACE_FIELDS = ("name", "user_flow_type", "user_flow_type_version")
FLOW_PATCH_FIELDS = {
    "default_language_tag": "defaultLanguageTag",
    "is_language_customization_enabled": "isLanguageCustomizationEnabled",
}
_ATTRIBUTE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
# The user flow attributes every B2C tenant has (Azure AD B2C > User attributes, "Built-in").
BUILT_IN_ATTRIBUTES = frozenset(
    {
        "city",
        "country",
        "displayName",
        "email",
        "givenName",
        "jobTitle",
        "postalCode",
        "state",
        "streetAddress",
        "surname",
    }
)
# A custom attribute's id, as Graph gives it on both platforms: the tenant's extensions app id
# without hyphens, then the attribute's name.
CUSTOM_ATTRIBUTE_ID = re.compile(r"^extension_[0-9a-fA-F]{32}_[A-Za-z][A-Za-z0-9_]{0,63}$")
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class UserAttributeValue(TypedDict, total=False):
    """One choice of a select-type attribute (`userAttributeValues`)."""

    name: str  # what the user sees
    value: str  # what is stored
    is_default: bool


class UserAttribute(TypedDict, total=False):
    """One attribute collected at sign-up (`userAttributeAssignments`)."""

    attribute_id: str
    input_type: str
    is_optional: bool
    requires_verification: bool
    display_name: str
    # Required for radioSingleSelect, dropdownSingleSelect and checkboxMultiSelect; refused otherwise.
    user_attribute_values: list[UserAttributeValue]


@dataclass
class Checked:
    """Normalised inputs plus (property, reason) failures, as `check` reports them."""

    inputs: dict[str, Any]
    failures: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, prop: str, reason: str) -> None:
        self.failures.append((prop, reason))


def is_known_attribute(attribute_id: str) -> bool:
    """A built-in attribute of the tenant, or a custom one by its full id."""
    return attribute_id in BUILT_IN_ATTRIBUTES or bool(CUSTOM_ATTRIBUTE_ID.match(attribute_id))


def username_problem(username: str) -> str | None:
    """Why a Basic-auth username is unusable, or None: HTTP Basic splits on the first colon, and
    B2C's connector blade takes at most 64 characters without spaces."""
    if ":" in username:
        return "must not contain ':': it must be 1 to 64 characters without ':' or spaces (HTTP Basic splits on the first colon)"
    if not 1 <= len(username) <= 64 or any(c.isspace() for c in username):
        return "must be 1 to 64 characters without ':' or spaces"
    return None


def is_unknown(value: object) -> bool:
    return value == UNKNOWN


def text_input(checked: Checked, prop: str, *, required: bool, example: str) -> str | None:
    value = checked.inputs.get(prop)
    if is_unknown(value):
        return None
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            checked.fail(prop, f"{prop} is required, e.g. {example}")
        return None
    if not isinstance(value, str):
        checked.fail(prop, f"{prop} must be a string, e.g. {example}; got {type(value).__name__}")
        return None
    checked.inputs[prop] = value.strip()
    return value.strip()


# ---------------------------------------------------------------------------------------------
# API connector


def check_https_url(url: str) -> str | None:
    """Why a connector target URL is unusable, or None when it is fine."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return f"target_url {url!r} must be an https URL, e.g. https://func-signup.azurewebsites.net/api/validate-signup"
    if parts.username or parts.password:
        return "target_url must not carry credentials (user:password@host); use the authentication inputs"
    if parts.fragment:
        return f"target_url {url!r} must not have a #fragment"
    return None


def check_connector(news: Mapping[str, Any]) -> Checked:
    checked = Checked(dict(news))
    text_input(checked, "display_name", required=True, example="'Sign-up domain gate'")
    url = text_input(
        checked,
        "target_url",
        required=True,
        example="https://func-signup.azurewebsites.net/api/validate-signup",
    )
    if url is not None and (problem := check_https_url(url)):
        checked.fail("target_url", problem)
    auth_type = checked.inputs.get("auth_type") or AUTH_BASIC
    checked.inputs["auth_type"] = auth_type
    if auth_type == AUTH_BASIC:
        username = text_input(checked, "username", required=True, example="'b2c-connector'")
        if username is not None and (problem := username_problem(username)):
            checked.fail("username", f"username {problem}")
        text_input(
            checked, "password", required=True, example="a random secret from pulumi_random.RandomPassword"
        )
        for unused in ("pkcs12_value", "certificate_password"):
            checked.inputs[unused] = None
    elif auth_type == AUTH_CERTIFICATE:
        checked.inputs["username"] = checked.inputs["password"] = None
        _check_certificate(checked)
    else:
        checked.fail("auth_type", f"auth_type {auth_type!r} is not supported: use 'basic' or 'certificate'")
    return checked


class CertificateError(ValueError):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field_name = field_name


def _load_pkcs12(value: str, password: str) -> Any:
    """The certificate inside a base64 PKCS#12 file; CertificateError names the input at fault."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CertificateError(
            "pkcs12_value", "pkcs12_value is not base64: encode the .pfx with `base64 -w0 cert.pfx`"
        ) from None
    try:
        _, certificate, _ = pkcs12.load_key_and_certificates(raw, password.encode() or None)
    except ValueError:
        raise CertificateError(
            "certificate_password",
            "the PKCS#12 file could not be opened: check certificate_password and the file",
        ) from None
    if certificate is None:
        raise CertificateError(
            "pkcs12_value", "pkcs12_value holds no certificate: export the .pfx with its certificate"
        )
    return certificate


def _check_certificate(checked: Checked) -> None:
    value = checked.inputs.get("pkcs12_value")
    password = checked.inputs.get("certificate_password")
    if password is None:
        # Graph wants "" for a certificate without a password.
        checked.inputs["certificate_password"] = password = ""
    if is_unknown(value) or is_unknown(password):
        return
    if not isinstance(value, str) or not value.strip():
        checked.fail("pkcs12_value", "pkcs12_value is required for certificate auth: the .pfx file as base64")
        return
    try:
        _load_pkcs12(value, str(password))
    except CertificateError as exc:
        checked.fail(exc.field_name, str(exc))


def certificate_thumbprints(props: Mapping[str, Any]) -> list[str]:
    """The thumbprint Graph lists for the certificate of these inputs (SHA-1 of the DER, upper hex)."""
    if props.get("auth_type") != AUTH_CERTIFICATE:
        return []
    from cryptography.hazmat.primitives import hashes

    certificate = _load_pkcs12(str(props["pkcs12_value"]), str(props.get("certificate_password") or ""))
    return [certificate.fingerprint(hashes.SHA1()).hex().upper()]  # noqa: S303 - thumbprints are SHA-1 by definition


def connector_changes(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """The connector inputs that differ. Secrets compare against the inputs last applied, never a read."""
    return [name for name in CONNECTOR_FIELDS if olds.get(name) != news.get(name)]


def connector_patch(changes: Sequence[str], news: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a PATCH for the given changes; authentication goes whole (Graph needs the secret)."""
    patch: dict[str, Any] = {}
    if "display_name" in changes:
        patch["display_name"] = news["display_name"]
    if "target_url" in changes:
        patch["target_url"] = news["target_url"]
    if any(name in CONNECTOR_AUTH_FIELDS for name in changes):
        patch["authentication"] = authentication(news)
    return patch


def authentication(props: Mapping[str, Any]) -> dict[str, str]:
    if props["auth_type"] == AUTH_CERTIFICATE:
        return {
            "type": AUTH_CERTIFICATE,
            "pkcs12_value": props["pkcs12_value"],
            "password": props["certificate_password"],
        }
    return {"type": AUTH_BASIC, "username": props["username"], "password": props["password"]}


# ---------------------------------------------------------------------------------------------
# User flow


def flow_id(name: str) -> str:
    """The id Graph gives a flow: the name with B2C_1_ in front, added only when absent."""
    return b2c_tenant.policy_id(name)


def normalise_choices(input_type: str, raw: object, where: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Normalised userAttributeValues and the problems with them, each naming its place."""
    if input_type not in SELECT_INPUT_TYPES:
        if raw:
            return [], [
                f"{where}.user_attribute_values: {input_type} takes no choices; use one of {', '.join(SELECT_INPUT_TYPES)}"
            ]
        return [], []
    if not isinstance(raw, list) or not raw:
        return [], [
            f"{where}.user_attribute_values is required for {input_type}: list the choices, "
            "e.g. [{name: 'Basic plan', value: 'basic'}]"
        ]
    choices: list[dict[str, Any]] = []
    problems: list[str] = []
    for index, item in enumerate(raw):
        if isinstance(item, str):
            item = {"name": item, "value": item}
        name, value = (item.get("name"), item.get("value")) if isinstance(item, Mapping) else (None, None)
        if not (isinstance(name, str) and name.strip() and isinstance(value, str) and value.strip()):
            problems.append(
                f"{where}.user_attribute_values[{index}] needs a name and a value, e.g. {{name: 'Basic plan', value: 'basic'}}"
            )
            continue
        if value.strip() in {choice["value"] for choice in choices}:
            problems.append(f"{where}.user_attribute_values[{index}] repeats the value {value.strip()!r}")
            continue
        choices.append(
            {"name": name.strip(), "value": value.strip(), "is_default": bool(item.get("is_default", False))}
        )
    if input_type != "checkboxMultiSelect" and sum(choice["is_default"] for choice in choices) > 1:
        problems.append(f"{where}.user_attribute_values: {input_type} allows one default choice at most")
    return choices, problems


def normalise_attribute(item: object, where: str = "attribute") -> tuple[dict[str, Any] | None, list[str]]:
    """One sign-up attribute with its defaults filled in, or the problems that stop it (each names
    its field). The one owner of the attribute rules: stack config and the provider's check call it."""
    if not isinstance(item, Mapping):
        return None, [f"{where} must be an object with at least attribute_id"]
    attribute_id = item.get("attribute_id")
    if not isinstance(attribute_id, str) or not _ATTRIBUTE_ID.match(attribute_id):
        return None, [
            f"{where}.attribute_id {attribute_id!r} is not an attribute id, e.g. 'email' or 'givenName'"
        ]
    input_type = item.get("input_type") or ("emailBox" if attribute_id == "email" else "textBox")
    if input_type not in INPUT_TYPES:
        return None, [f"{where}.input_type {input_type!r} is not one of {', '.join(INPUT_TYPES)}"]
    choices, problems = normalise_choices(input_type, item.get("user_attribute_values"), where)
    if problems:
        return None, problems
    normalised = {
        "attribute_id": attribute_id,
        "input_type": input_type,
        "is_optional": bool(item.get("is_optional", False)),
        "requires_verification": bool(item.get("requires_verification", False)),
        "display_name": item.get("display_name") or attribute_id,
    }
    # Only select types carry choices, so the state of every other attribute keeps its shape.
    if choices:
        normalised["user_attribute_values"] = choices
    return normalised, []


def _normalise_attributes(checked: Checked) -> None:
    raw = checked.inputs.get("attributes") or []
    if is_unknown(raw):
        return
    if not isinstance(raw, list):
        checked.fail("attributes", "attributes must be a list of {attribute_id, input_type, ...} objects")
        return
    normalised: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"attributes[{index}]"
        attribute, problems = normalise_attribute(item, where)
        for problem in problems:
            checked.fail("attributes", problem)
        if attribute is None:
            continue
        if attribute["attribute_id"].lower() in seen:
            checked.fail(
                "attributes",
                f"{where}.attribute_id {attribute['attribute_id']!r} is listed twice; list each attribute once",
            )
            continue
        seen.add(attribute["attribute_id"].lower())
        normalised.append(attribute)
    checked.inputs["attributes"] = normalised


def check_user_flow(news: Mapping[str, Any]) -> Checked:
    checked = Checked(dict(news))
    name = text_input(
        checked, "name", required=True, example="'signupsignin' (the id becomes B2C_1_signupsignin)"
    )
    if name is not None:
        bare, problem = b2c_tenant.flow_name(name)
        if problem:
            checked.fail("name", f"name {name!r} {problem}, e.g. 'signupsignin'")
        else:
            checked.inputs["name"] = bare
            checked.inputs["flow_id"] = flow_id(bare)
    flow_type = checked.inputs.get("user_flow_type") or "signUpOrSignIn"
    if not is_unknown(flow_type) and flow_type not in FLOW_TYPES:
        checked.fail("user_flow_type", f"user_flow_type {flow_type!r} is not one of {', '.join(FLOW_TYPES)}")
    checked.inputs["user_flow_type"] = flow_type
    version = checked.inputs.get("user_flow_type_version")
    version = 3 if version is None else version
    if not is_unknown(version):
        if (
            isinstance(version, bool)
            or not isinstance(version, int | float)
            or version <= 0
            or version != int(version)
        ):
            checked.fail(
                "user_flow_type_version",
                f"user_flow_type_version {version!r} must be a whole number such as 3",
            )
        else:
            version = int(version)
    checked.inputs["user_flow_type_version"] = version
    tag = checked.inputs.get("default_language_tag") or "en"
    if not is_unknown(tag) and not (isinstance(tag, str) and _LANGUAGE_TAG.match(tag)):
        checked.fail(
            "default_language_tag",
            f"default_language_tag {tag!r} must be an RFC 5646 tag such as 'en' or 'en-GB'",
        )
    checked.inputs["default_language_tag"] = tag
    checked.inputs["is_language_customization_enabled"] = bool(
        checked.inputs.get("is_language_customization_enabled")
    )
    _normalise_attributes(checked)
    for prop in STEPS:
        value = checked.inputs.get(prop) or None
        if value is not None and not is_unknown(value) and not is_guid(value):
            checked.fail(
                prop, f"{prop} {value!r} must be an API connector id (a GUID, ApiConnector.id) or empty"
            )
        checked.inputs[prop] = value
    checked.inputs["adopt"] = bool(checked.inputs.get("adopt"))
    return checked


def flow_replaces(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    return [name for name in FLOW_REPLACE_FIELDS if olds.get(name) != news.get(name)]


def flow_changes(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    compared = (*FLOW_REPLACE_FIELDS, *FLOW_PATCH_FIELDS, *STEPS, "attributes")
    return [name for name in compared if olds.get(name) != news.get(name)]


@dataclass(frozen=True)
class AttributePlan:
    add: tuple[dict[str, Any], ...] = ()
    patch: tuple[dict[str, Any], ...] = ()
    delete: tuple[str, ...] = ()


def plan_attributes(
    current: Sequence[Mapping[str, Any]], wanted: Sequence[Mapping[str, Any]]
) -> AttributePlan:
    """What to add, patch and delete so that `current` assignments become `wanted`."""
    have = {item["attribute_id"].lower(): item for item in current}
    want = {item["attribute_id"].lower(): item for item in wanted}
    return AttributePlan(
        add=tuple(dict(want[key]) for key in want if key not in have),
        patch=tuple(dict(want[key]) for key in want if key in have and dict(have[key]) != dict(want[key])),
        delete=tuple(have[key]["attribute_id"] for key in have if key not in want),
    )


def step_changes(olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, str | None]:
    """Graph step name -> connector id (None to detach) for every step whose connector changed."""
    return {graph: news.get(prop) for prop, graph in STEPS.items() if olds.get(prop) != news.get(prop)}
