"""The checks the Pulumi CLI applies to Pulumi.yaml and Pulumi.<stack>.yaml before it runs a program.

`pulumi preview`, `up`, `refresh` and `destroy` refuse a stack that fails these, so they are
worth knowing offline: `tools.program_check` applies them before running the program under
mocks, and the contract tests check them against cases from Pulumi's own Go tests
(pkg/workspace/config_project_test.go). Each rule cites the pulumi/pulumi source it mirrors:
sdk/go/common/workspace/project.go (Project.Validate, ValidateConfigValue,
RewriteShorthandConfigValues) and pkg/workspace/config.go (mergeConfig,
validateStackConfigValue). Written by hand because no Python library carries them.

Encrypted values cannot be decrypted offline: a `secure:` value counts as set and encrypted,
and its type is not checked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SHORTHAND = (str, int, bool, list)


@dataclass(frozen=True)
class StackValue:
    """One value of a stack file, as config.Value holds it: text, or JSON for objects and lists."""

    text: str
    secure: bool = False
    object: bool = False

    @classmethod
    def from_yaml(cls, raw: Any) -> StackValue:
        if isinstance(raw, Mapping) and set(raw) == {"secure"}:
            return cls(str(raw["secure"]), secure=True)
        if isinstance(raw, Mapping | list):
            return cls(json.dumps(raw), object=True)
        return cls(_go_text(raw))


def _go_text(value: Any) -> str:
    """fmt.Sprintf("%v") of a YAML scalar, as createConfigValue and config.Value store it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path.name} is not a YAML mapping")
    return loaded


def project_config(project: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The `config:` block with short-hand entries rewritten (RewriteShorthandConfigValues): a
    primitive or list under a project key is its default, under another namespace its value."""
    name = str(project.get("name", ""))
    declared: dict[str, dict[str, Any]] = {}
    for key, spec in (project.get("config") or {}).items():
        if isinstance(spec, _SHORTHAND):
            spec = {"default": spec} if _in_project(name, key) else {"value": spec}
        declared[key] = dict(spec)
    return declared


def _in_project(project_name: str, key: str) -> bool:
    # configKeyIsNamespacedByProject
    return ":" not in key or key.startswith(project_name + ":")


def _full_key(project_name: str, key: str) -> str:
    # parseConfigKey: a bare key takes the project as its namespace
    return key if ":" in key else f"{project_name}:{key}"


def valid_value(type_name: str, items: Mapping[str, Any] | None, value: Any) -> bool:
    """ValidateConfigValue: strings are strings; integers may be ints, whole floats or text that
    strconv.Atoi accepts; booleans are bools or the text "true"/"false"; arrays check each item."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return math.isfinite(value) and value == math.trunc(value)
        return isinstance(value, str) and _atoi(value)
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, Mapping)
    if not isinstance(value, list) or items is None:
        return False
    return all(valid_value(str(items.get("type")), items.get("items"), item) for item in value)


def _atoi(text: str) -> bool:
    """strconv.Atoi: optional sign, then ASCII digits only (no spaces, no '_', no '0x')."""
    digits = text[1:] if text[:1] in "+-" else text
    return digits.isascii() and digits.isdigit()


def type_name(spec: Mapping[str, Any]) -> str:
    """InferFullTypeName: array<string>, or the plain type."""
    items = spec.get("items")
    if items is not None:
        return f"array<{type_name(items)}>"
    return str(spec.get("type"))


def project_errors(project: Mapping[str, Any]) -> list[str]:
    """Project.Validate, for the config block (project.json, a JSON schema, is checked apart)."""
    name = str(project.get("name", ""))
    if not name:
        return ["project is missing a 'name' attribute"]
    errors: list[str] = []
    for key, spec in project_config(project).items():
        typed = spec.get("type") is not None
        if spec.get("default") is not None and spec.get("value") is not None:
            errors.append(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        elif _in_project(name, key):
            if typed and spec["type"] == "array" and spec.get("items") is None:
                errors.append(
                    f"The configuration key '{key}' declares an array but does not specify the underlying "
                    "type via the 'items' attribute"
                )
            elif (
                typed
                and spec.get("default") is not None
                and not valid_value(spec["type"], spec.get("items"), spec["default"])
            ):
                errors.append(
                    f"The default value specified for configuration key '{key}' is not of the expected type "
                    f"'{type_name(spec)}'"
                )
        elif typed:
            errors.append(
                f"Configuration key '{key}' is not namespaced by the project and should not define a type"
            )
        elif spec.get("default") is not None:
            errors.append(
                f"Configuration key '{key}' is not namespaced by the project and should not define a default value. "
                "Did you mean to use the 'value' attribute instead of 'default'?"
            )
        elif spec.get("value") is None:
            errors.append(f"Configuration key '{key}' is namespaced and must provide an attribute 'value'")
    return errors


def _missing(keys: list[str], stack: str) -> str:
    # missingStackConfigurationKeysError with formatMissingKeys
    if len(keys) == 1:
        return f"Stack '{stack}' is missing configuration value '{keys[0]}'"
    keys = sorted(keys)
    listed = ", ".join(f"'{key}'" for key in keys[:-1])
    return f"Stack '{stack}' is missing configuration values {listed} and '{keys[-1]}'"


def stack_errors(project: Mapping[str, Any], stack_config: Mapping[str, Any], stack: str) -> list[str]:
    """What Pulumi says of a stack's config before running the program (mergeConfig, then
    validateStackConfigValues); empty when it would run. `stack_config` is the `config:` mapping
    of Pulumi.<stack>.yaml, as loaded from YAML."""
    name = str(project.get("name", ""))
    values = {_full_key(name, key): StackValue.from_yaml(raw) for key, raw in (stack_config or {}).items()}
    declared = project_config(project)
    missing: list[str] = []
    for key in sorted(declared):
        spec, full = declared[key], _full_key(name, key)
        if full in values:
            continue
        fallback = spec.get("default") if spec.get("default") is not None else spec.get("value")
        if fallback is None:
            # Only keys of the project's own namespace are required.
            if full.split(":", 1)[0] == name:
                missing.append(key)
            continue
        values[full] = StackValue.from_yaml(fallback)
    if missing:
        return [_missing(missing, stack)]
    errors: list[str] = []
    for key in sorted(declared):
        spec = declared[key]
        value = values.get(_full_key(name, key))
        if spec.get("type") is None or value is None:
            continue
        if spec.get("secret") and not value.secure:
            errors.append(f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret")
            continue
        if value.secure:
            continue  # cannot be decrypted here
        content = json.loads(value.text) if value.object else value.text
        if not valid_value(spec["type"], spec.get("items"), content):
            errors.append(
                f"Stack '{stack}' with configuration key '{key}' must be of type '{type_name(spec)}'"
            )
    return errors


def check_stack_file(project_file: Path, stack: str, stack_dir: Path | None = None) -> list[str]:
    """Project and stack errors for Pulumi.<stack>.yaml (beside `project_file` unless `stack_dir`
    says where), as Pulumi reports them."""
    project = load_yaml(project_file)
    stack_file = (stack_dir or project_file.parent) / f"Pulumi.{stack}.yaml"
    stack_config = load_yaml(stack_file).get("config") if stack_file.is_file() else {}
    return project_errors(project) + stack_errors(project, stack_config or {}, stack)
