"""Pure rules of the Entra External ID Graph resources: input validation and normalisation, the
attributes and inputs of a sign-up flow, what a validation result means, and change planning.

The sibling of model.py (B2C). No I/O here: providers decide with these, then act through
external_id_calls.py. Facts: ../shared/reference/external-id-contract.md §1 and §7.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from components.credentials import is_guid
from components.graph import model
from components.graph.model import Checked, is_unknown

EXTENSION_TYPE = "#microsoft.graph.onAttributeCollectionSubmitCustomExtension"
FLOW_TYPE = "#microsoft.graph.externalUsersSelfServiceSignUpEventsFlow"

# customExtensionClientConfiguration: "The valid range is between 200 and 2000 milliseconds" and
# "Values of 0 or 1 are supported" for retries. We default to the longest wait and one retry: the
# sign-up check is quick, but a Flex Consumption instance that starts cold is not.
TIMEOUT_MS_RANGE = (200, 2000)
MAXIMUM_RETRIES_RANGE = (0, 1)
DEFAULT_TIMEOUT_MS = 2000
DEFAULT_MAXIMUM_RETRIES = 1
EXTENSION_FIELDS = ("display_name", "target_url", "resource_id", "timeout_ms", "maximum_retries")
# What validateAuthenticationConfiguration judges (the resource app behind resourceId, and that its
# host is the target's): a change of either is validated again.
EXTENSION_AUTH_FIELDS = ("target_url", "resource_id")
_RESOURCE_SCHEME = "api://"

# The built-in user flow attributes of an external tenant, with the label the admin center gives
# them (entra-docs external-id/customers/concept-user-attributes): the default label of an input.
BUILT_IN_ATTRIBUTES: Mapping[str, str] = {
    "city": "City",
    "country": "Country/Region",
    "displayName": "Display Name",
    "email": "Email Address",
    "givenName": "Given Name",
    "jobTitle": "Job Title",
    "postalCode": "Postal Code",
    "state": "State/Province",
    "streetAddress": "Street Address",
    "surname": "Surname",
}
EMAIL = "email"
# authenticationAttributeCollectionInputType (v1.0), without unknownFutureValue.
INPUT_TYPES = ("text", "radioSingleSelect", "checkboxMultiSelect", "boolean")
SELECT_INPUT_TYPES = ("radioSingleSelect", "checkboxMultiSelect")
# B2C's userInputType (the stack config's vocabulary, shared by both platforms) -> External ID's.
FROM_B2C_INPUT_TYPES: Mapping[str, str] = {
    "textBox": "text",
    "emailBox": "text",
    "radioSingleSelect": "radioSingleSelect",
    "checkboxMultiSelect": "checkboxMultiSelect",
}
# B2C input types External ID has no control for, and what to use instead.
NO_EXTERNAL_ID_INPUT: Mapping[str, str] = {
    "dropdownSingleSelect": "radioSingleSelect (External ID has no drop-down list)",
    "dateTimeDropdown": "text (External ID has no date picker)",
}

# The sign-up methods a flow offers: email with password (the password is the method's own, not a
# collected attribute). A built-in identity provider bound by id (identityProviderBase is abstract).
EMAIL_PASSWORD_PROVIDER = "EmailPassword-OAUTH"  # noqa: S105 - a provider id, no secret

# validateAuthenticationConfiguration's findings, by code. A warning that makes the callout fail at
# run time (1003021 without the app role) counts as an error here.
BLOCKING_WARNINGS = ("PermissionNotGrantedToServicePrincipal",)
# Findings that depend only on the inputs: waiting cannot clear them, so they fail at once.
FINDINGS_FROM_INPUTS = ("IncorrectResourceIdFormat", "DomainNameDoesNotMatch")
_FIXES: Mapping[str, str] = {
    "ServicePrincipalNotFound": (
        "the resource app named in resource_id needs a service principal in the tenant "
        "(azuread.ServicePrincipal), and a new one takes a while to replicate: check that resource_id "
        "ends with that app's client id, then run `pulumi up` again"
    ),
    "PermissionNotGrantedToServicePrincipal": (
        "grant the resource app's service principal the Microsoft Graph application permission "
        "CustomAuthenticationExtension.Receive.Payload (app role 214e810f-fda8-4fd7-a475-29461495eb00) "
        "with admin consent (an app role assignment), then run `pulumi up` again"
    ),
    "IncorrectResourceIdFormat": (
        "set resource_id, and the resource app's identifierUris, to api://<host of target_url>/<resource app client id>"
    ),
    "DomainNameDoesNotMatch": (
        "resource_id's host must be target_url's host: set it, and the resource app's identifierUris, to "
        "api://<host of target_url>/<resource app client id>"
    ),
}


# ---------------------------------------------------------------------------------------------
# Attributes and their inputs


# A custom attribute the stack creates (/identity/userFlowAttributes): its name becomes the last
# part of its id, extension_<app id>_<name>; External ID's user flows take these data types.
CUSTOM_ATTRIBUTE_TYPES = ("string", "boolean", "int64")
_CUSTOM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")


@dataclass(frozen=True)
class CustomAttribute:
    name: str
    data_type: str = "string"
    description: str = ""


def custom_attribute_problem(name: str, data_type: object, description: object) -> tuple[str, str] | None:
    """(field, why) when a custom attribute cannot be created as declared, or None; field "" is
    the attribute's name itself."""
    if not _CUSTOM_NAME.match(name):
        return "", f"{name!r} is not an attribute name (a letter, then letters and digits, up to 64)"
    if data_type not in CUSTOM_ATTRIBUTE_TYPES:
        return "dataType", f"{data_type!r} must be one of {', '.join(CUSTOM_ATTRIBUTE_TYPES)}"
    if not isinstance(description, str) or len(description) > 256:
        return "description", "must be a text of at most 256 characters"
    return None


def is_known_attribute(attribute_id: str) -> bool:
    """A built-in attribute of an external tenant, or a custom one by its full id."""
    return attribute_id in BUILT_IN_ATTRIBUTES or bool(model.CUSTOM_ATTRIBUTE_ID.match(attribute_id))


def default_label(attribute_id: str) -> str:
    """The label an input shows unless display_name says otherwise: the admin center's for a
    built-in attribute, the attribute's own name for a custom one."""
    if attribute_id in BUILT_IN_ATTRIBUTES:
        return BUILT_IN_ATTRIBUTES[attribute_id]
    return attribute_id.split("_", 2)[2] if model.CUSTOM_ATTRIBUTE_ID.match(attribute_id) else attribute_id


def _input_type(raw: object, where: str) -> tuple[str | None, str | None]:
    """External ID's inputType for an input_type in either vocabulary, or the problem."""
    if raw in INPUT_TYPES:
        return str(raw), None
    if isinstance(raw, str) and raw in FROM_B2C_INPUT_TYPES:
        return FROM_B2C_INPUT_TYPES[raw], None
    if isinstance(raw, str) and raw in NO_EXTERNAL_ID_INPUT:
        return (
            None,
            f"{where}.input_type {raw} has no equivalent in External ID: use {NO_EXTERNAL_ID_INPUT[raw]}",
        )
    return None, (
        f"{where}.input_type {raw!r} is not one of {', '.join(INPUT_TYPES)} "
        f"(or B2C's {', '.join(FROM_B2C_INPUT_TYPES)})"
    )


def normalise_attribute(item: object, where: str = "attribute") -> tuple[dict[str, Any] | None, list[str]]:
    """One attribute a sign-up flow collects, with its defaults filled in, or the problems that stop
    it (each names its field). The one owner of External ID's attribute rules: stack config and the
    flow's check call it.

    `input_type` takes External ID's inputType (text, radioSingleSelect, checkboxMultiSelect,
    boolean) or B2C's userInputType where External ID has the same control (textBox and emailBox
    become text); the normalised attribute always holds External ID's. Choices keep the stack
    config's shape ({name, value, is_default}); a default choice becomes the input's defaultValue.
    The id may be unknown during a preview (a custom attribute the same `up` creates).
    """
    if not isinstance(item, Mapping):
        return None, [f"{where} must be an object with at least attribute_id"]
    attribute_id = item.get("attribute_id")
    known = not is_unknown(attribute_id)
    if known and not (isinstance(attribute_id, str) and is_known_attribute(attribute_id)):
        return None, [
            f"{where}.attribute_id {attribute_id!r} is not an External ID attribute: use a built-in one "
            f"({', '.join(sorted(BUILT_IN_ATTRIBUTES))}) or a custom one, "
            "extension_<b2c-extensions-app client id without hyphens>_<name>"
        ]
    input_type, problem = _input_type(item.get("input_type") or "text", where)
    if input_type is None:
        return None, [str(problem)]
    problems: list[str] = []
    is_optional = bool(item.get("is_optional", False))
    if item.get("requires_verification"):
        problems.append(
            f"{where}.requires_verification: External ID verifies the email address through the email with "
            "password sign-up method, not per attribute; remove requires_verification"
        )
    if attribute_id == EMAIL:
        if input_type != "text":
            problems.append(f"{where}.input_type: email is collected as text, not {input_type}")
        if is_optional:
            problems.append(f"{where}: email cannot be optional: the sign-up check decides on it")
    raw_choices = item.get("user_attribute_values")
    choices: list[dict[str, Any]] = []
    if input_type in SELECT_INPUT_TYPES:
        # The choice rule is B2C's (its select types have the same names): one owner.
        choices, found = model.normalise_choices(input_type, raw_choices, where)
        problems += found
        if input_type == "checkboxMultiSelect" and any(choice["is_default"] for choice in choices):
            problems.append(
                f"{where}.user_attribute_values: External ID preselects no checkbox (an input has one "
                "defaultValue); remove is_default"
            )
    elif raw_choices:
        problems.append(
            f"{where}.user_attribute_values: {input_type} takes no choices; use one of {', '.join(SELECT_INPUT_TYPES)}"
        )
    if problems:
        return None, problems
    display_name = item.get("display_name") or (default_label(str(attribute_id)) if known else None)
    normalised: dict[str, Any] = {
        "attribute_id": attribute_id,
        "input_type": input_type,
        "is_optional": is_optional,
        "display_name": display_name,
    }
    # Only select types carry choices, so every other attribute keeps one shape in state.
    if choices:
        normalised["user_attribute_values"] = choices
    return normalised, []


@dataclass(frozen=True)
class InputRule:
    """How the sign-up page shows one attribute and what it does with the value."""

    attribute_id: str
    label: str
    input_type: str
    required: bool
    hidden: bool
    editable: bool
    write_to_directory: bool
    options: tuple[tuple[str, str], ...]  # (label, value)
    default_value: str | None


def input_rule(attribute: Mapping[str, Any]) -> InputRule:
    """The input of a normalised attribute. Every value is written to the directory. Email is
    required, and hidden and read-only: the email with password method has already collected and
    verified it, and the sign-up check decides on it."""
    is_email = attribute["attribute_id"] == EMAIL
    choices = attribute.get("user_attribute_values") or []
    default = next((choice["value"] for choice in choices if choice["is_default"]), None)
    return InputRule(
        attribute_id=attribute["attribute_id"],
        label=attribute["display_name"] or default_label(attribute["attribute_id"]),
        input_type=attribute["input_type"],
        required=is_email or not attribute["is_optional"],
        hidden=is_email,
        editable=not is_email,
        write_to_directory=True,
        options=tuple((choice["name"], choice["value"]) for choice in choices),
        default_value=default,
    )


def attribute_from_input(
    attribute_id: str,
    label: str | None,
    input_type: str | None,
    required: bool | None,
    options: Sequence[tuple[str, str]],
    default_value: str | None,
) -> dict[str, Any]:
    """A live input read back in the normalised shape, so that a flow nobody edited compares equal
    to its inputs (the inverse of input_rule)."""
    found: dict[str, Any] = {
        "attribute_id": attribute_id,
        "input_type": input_type,
        "is_optional": not bool(required),
        "display_name": label,
    }
    if options:
        found["user_attribute_values"] = [
            {"name": name, "value": value, "is_default": value == default_value} for name, value in options
        ]
    return found


# ---------------------------------------------------------------------------------------------
# Custom authentication extension


def _whole_number(checked: Checked, prop: str, default: int, bounds: tuple[int, int], why: str) -> None:
    value = checked.inputs.get(prop)
    value = default if value is None else value
    checked.inputs[prop] = value
    if is_unknown(value):
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        checked.fail(prop, f"{prop} {value!r} must be a whole number from {bounds[0]} to {bounds[1]} ({why})")
        return
    checked.inputs[prop] = int(value)
    if not bounds[0] <= value <= bounds[1]:
        checked.fail(prop, f"{prop} {int(value)} must be from {bounds[0]} to {bounds[1]} ({why})")


def callout_resource_id(target_url: str, app_id: str) -> str:
    """The App ID URI Entra asks a token for before each callout: api://<target host>/<appId>, the
    extension's resource_id and its resource app's identifierUris alike."""
    host = urlsplit(target_url).hostname
    if not host:
        raise ValueError(f"target_url {target_url!r} has no host: the resource id names it")
    return f"{_RESOURCE_SCHEME}{host}/{app_id}"


def resource_id_problem(resource_id: str, target_url: str | None) -> str | None:
    """Why a resource_id will not validate, or None: Graph wants api://<target host>/<appId>
    (IncorrectResourceIdFormat, DomainNameDoesNotMatch), the resource app's identifierUris too."""
    example = "api://func-signup.azurewebsites.net/<resource app client id>"
    if not resource_id.startswith(_RESOURCE_SCHEME):
        return f"resource_id {resource_id!r} must be api://<host of target_url>/<resource app client id>, e.g. {example}"
    host, _, app_id = resource_id.removeprefix(_RESOURCE_SCHEME).partition("/")
    if not host or not is_guid(app_id) or "/" in app_id:
        return f"resource_id {resource_id!r} must be api://<host of target_url>/<resource app client id>, e.g. {example}"
    target_host = urlsplit(target_url).hostname if target_url else None
    if target_host and host.lower() != target_host.lower():
        return (
            f"resource_id's host {host!r} must be target_url's host {target_host!r} (Graph refuses "
            f"DomainNameDoesNotMatch): use {callout_resource_id(target_url or '', app_id)}"
        )
    return None


def check_extension(news: Mapping[str, Any]) -> Checked:
    checked = Checked(dict(news))
    model.text_input(checked, "display_name", required=True, example="'Sign-up domain check'")
    url = model.text_input(
        checked,
        "target_url",
        required=True,
        example="https://func-signup.azurewebsites.net/api/validate-signup",
    )
    if url is not None and (problem := model.check_https_url(url)):
        checked.fail("target_url", problem)
    resource_id = model.text_input(
        checked,
        "resource_id",
        required=True,
        example="api://func-signup.azurewebsites.net/<resource app client id>",
    )
    if resource_id is not None and (problem := resource_id_problem(resource_id, url)):
        checked.fail("resource_id", problem)
    _whole_number(checked, "timeout_ms", DEFAULT_TIMEOUT_MS, TIMEOUT_MS_RANGE, "Entra waits at most 2 s")
    _whole_number(
        checked,
        "maximum_retries",
        DEFAULT_MAXIMUM_RETRIES,
        MAXIMUM_RETRIES_RANGE,
        "Entra retries at most once",
    )
    checked.inputs["adopt"] = bool(checked.inputs.get("adopt"))
    return checked


def extension_changes(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    return [name for name in EXTENSION_FIELDS if olds.get(name) != news.get(name)]


@dataclass(frozen=True)
class Finding:
    code: str
    message: str


def validation_findings(result: Mapping[str, Any] | None) -> list[Finding]:
    """What stops an extension from working, from an authenticationConfigurationValidation: its
    errors, and the warnings the callout cannot live with."""
    result = result or {}
    found = [
        Finding(str(e.get("code") or ""), str(e.get("message") or "")) for e in result.get("errors") or []
    ]
    found += [
        Finding(str(w.get("code") or ""), str(w.get("message") or ""))
        for w in result.get("warnings") or []
        if w.get("code") in BLOCKING_WARNINGS
    ]
    return found


def findings_are_final(findings: Sequence[Finding]) -> bool:
    """True when waiting cannot help: a finding the inputs alone decide."""
    return any(finding.code in FINDINGS_FROM_INPUTS for finding in findings)


def validation_failure(extension: str, findings: Sequence[Finding], waited: float) -> str:
    """The error for an extension that does not validate: each code with Graph's message and the fix."""
    lines = [
        f"- {f.code}: {f.message.rstrip('.')}. Fix: {_FIXES.get(f.code, 'see the message')}."
        for f in findings
    ]
    after = "" if findings_are_final(findings) else f" after waiting {waited:.0f} s for replication"
    return (
        f"Microsoft Graph does not validate the authentication configuration of custom extension {extension}{after}:\n"
        + "\n".join(lines)
    )


# ---------------------------------------------------------------------------------------------
# Sign-up flow


def _normalise_attributes(checked: Checked) -> None:
    raw = checked.inputs.get("attributes")
    if is_unknown(raw):
        return
    if not isinstance(raw, list) or not raw:
        checked.fail(
            "attributes", "attributes must list the attributes to collect, at least [{attribute_id: 'email'}]"
        )
        return
    normalised: list[dict[str, Any]] = []
    seen: set[str] = set()
    unknown = False
    for index, item in enumerate(raw):
        where = f"attributes[{index}]"
        attribute, problems = normalise_attribute(item, where)
        for problem in problems:
            checked.fail("attributes", problem)
        if attribute is None:
            continue
        if is_unknown(attribute["attribute_id"]):
            unknown = True
        elif attribute["attribute_id"].lower() in seen:
            checked.fail(
                "attributes",
                f"{where}.attribute_id {attribute['attribute_id']!r} is listed twice; list each attribute once",
            )
            continue
        else:
            seen.add(attribute["attribute_id"].lower())
        normalised.append(attribute)
    if not unknown and EMAIL not in seen:
        checked.fail(
            "attributes",
            "attributes must include email: the sign-up check decides on it ({attribute_id: 'email'})",
        )
    checked.inputs["attributes"] = normalised


def _client_app_ids(checked: Checked) -> None:
    raw = checked.inputs.get("client_app_ids")
    raw = [] if raw is None else raw
    checked.inputs["client_app_ids"] = raw
    if is_unknown(raw):
        return
    if not isinstance(raw, list):
        checked.fail("client_app_ids", "client_app_ids must be a list of application (client) ids")
        return
    seen: set[str] = set()
    for index, app_id in enumerate(raw):
        if is_unknown(app_id):
            continue
        if not is_guid(app_id):
            checked.fail(
                "client_app_ids",
                f"client_app_ids[{index}] {app_id!r} must be an application (client) id, a GUID (Application.client_id)",
            )
        elif str(app_id).lower() in seen:
            checked.fail("client_app_ids", f"client_app_ids[{index}] {app_id!r} is listed twice")
        seen.add(str(app_id).lower())


def check_flow(news: Mapping[str, Any]) -> Checked:
    checked = Checked(dict(news))
    model.text_input(
        checked, "display_name", required=True, example="'Sign up with an approved email domain'"
    )
    _normalise_attributes(checked)
    _client_app_ids(checked)
    extension_id = checked.inputs.get("extension_id") or None
    if extension_id is not None and not is_unknown(extension_id) and not is_guid(extension_id):
        checked.fail(
            "extension_id",
            f"extension_id {extension_id!r} must be a custom extension id (a GUID, CustomExtension.extension_id) or empty",
        )
    checked.inputs["extension_id"] = extension_id
    checked.inputs["adopt"] = bool(checked.inputs.get("adopt"))
    return checked


def same_apps(olds: Sequence[str], news: Sequence[str]) -> bool:
    """Linked apps have no order."""
    return sorted(str(a).lower() for a in olds) == sorted(str(a).lower() for a in news)


def flow_changes(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    changes = [
        name for name in ("display_name", "attributes", "extension_id") if olds.get(name) != news.get(name)
    ]
    old_apps, new_apps = olds.get("client_app_ids") or [], news.get("client_app_ids") or []
    if is_unknown(old_apps) or is_unknown(new_apps) or not same_apps(old_apps, new_apps):
        changes.append("client_app_ids")
    return changes


@dataclass(frozen=True)
class SetPlan:
    """What to add and remove so that a set becomes another; additions first, so that a flow
    never loses its last attribute (Graph refuses that) on the way."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


def plan_set(current: Sequence[str], wanted: Sequence[str]) -> SetPlan:
    have = {item.lower(): item for item in current}
    want = {item.lower(): item for item in wanted}
    return SetPlan(
        add=tuple(want[key] for key in want if key not in have),
        remove=tuple(have[key] for key in have if key not in want),
    )


def ordered_like(live: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """Live app ids in the order of the inputs (extras last), so that order alone is no drift."""
    rank = {item.lower(): index for index, item in enumerate(wanted)}
    return sorted(live, key=lambda item: rank.get(item.lower(), len(rank)))
