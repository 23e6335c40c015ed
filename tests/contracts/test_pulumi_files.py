"""Our Pulumi project and stack files, held against what the Pulumi CLI applies before it runs a
program: project.json (the JSON schema embedded in the CLI) and the stack-config rules of
tools.pulumi_rules."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from stack_config import KEYS, NAMESPACE
from tests.conftest import PROJECT_DIR
from tools import config_docs
from tools.pulumi_rules import check_stack_file, project_errors, stack_errors

PROJECT_FILES = [PROJECT_DIR / "Pulumi.yaml", PROJECT_DIR / "bootstrap" / "Pulumi.yaml"]
STACK_FILES = sorted(PROJECT_DIR.glob("Pulumi.*.yaml")) + sorted(
    (PROJECT_DIR / "bootstrap").glob("Pulumi.*.yaml")
)
# PolicyPackProject (sdk/go/common/workspace/project.go): the only attributes LoadPolicyPack reads.
POLICY_PACK_ATTRIBUTES = {"runtime", "version", "main", "description", "author", "website", "license"}


@pytest.fixture(scope="module")
def project_schema(external_json: Callable[[str], Any]) -> jsonschema.protocols.Validator:
    schema = external_json("pulumi-project.schema.json")
    return jsonschema.Draft202012Validator(schema)


def schema_errors(validator: jsonschema.protocols.Validator, document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(document)
    ]


@pytest.mark.parametrize("path", PROJECT_FILES, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_project_files_follow_pulumis_project_schema(
    path: Path, project_schema: jsonschema.protocols.Validator
) -> None:
    project = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert schema_errors(project_schema, project) == []
    assert project_errors(project) == []


def test_the_policy_pack_file_is_what_pulumi_loads(project_schema: jsonschema.protocols.Validator) -> None:
    # LoadPolicyPack unmarshals PulumiPolicy.yaml into PolicyPackProject and requires a runtime;
    # its runtime and description follow the same definitions as a project's.
    pack = yaml.safe_load((PROJECT_DIR / "policy" / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert set(pack) <= POLICY_PACK_ATTRIBUTES and "runtime" in pack
    properties = project_schema.schema["properties"]
    for attribute in ("runtime", "description"):
        sub = project_schema.evolve(schema={**properties[attribute], "$defs": project_schema.schema["$defs"]})
        assert schema_errors(sub, pack[attribute]) == [], attribute


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_every_shipped_stack_passes_pulumis_config_validation(path: Path) -> None:
    stack = path.name.split(".")[1]
    assert check_stack_file(path.parent / "Pulumi.yaml", stack) == []


def readme_stack() -> dict[str, Any]:
    """The stack a user gets by running the README's `pulumi config set` lines, and nothing else."""
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    setup = readme.split("\n## From an empty B2C tenant", 1)[1].split("\n## ", 1)[0]
    config: dict[str, Any] = {}
    for line in re.findall(r"^\s*(pulumi config set .+)$", setup, re.M):
        words = shlex.split(line.split("#")[0])[3:]
        secret, path = "--secret" in words, "--path" in words
        key, *rest = (word for word in words if not word.startswith("--"))
        value = " ".join(rest)  # placeholders such as <its secret> hold spaces
        if path:
            name, index = re.fullmatch(r"([^\[]+)\[(\d+)\]", key).groups()  # type: ignore[union-attr]
            items = config.setdefault(name, [])
            items[int(index) : int(index) + 1] = [value]
        else:
            config[key] = {"secure": "v1:encrypted"} if secret else value
    return config


def test_the_readme_setup_passes_pulumis_config_validation() -> None:
    config = readme_stack()
    assert {"b2c-signup:tenantName", "b2c-signup:allowedDomains"} <= set(config)
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert stack_errors(project, config, "dev") == []


def test_stack_files_use_declared_keys_in_known_namespaces() -> None:
    # Pulumi passes an undeclared key to the program silently; a misspelt key would be lost.
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))
    for path in sorted(PROJECT_DIR.glob("Pulumi.*.yaml")):
        for key in yaml.safe_load(path.read_text(encoding="utf-8")).get("config") or {}:
            namespace, _, name = key.rpartition(":")
            assert namespace in (NAMESPACE, "azure-native", "azuread", "pulumi"), f"{path.name}: {key}"
            if namespace == NAMESPACE:
                assert name in project["config"], f"{path.name}: {key} is not declared in Pulumi.yaml"


def test_optional_keys_have_defaults_and_no_key_demands_an_encrypted_default() -> None:
    declared = yaml.safe_load(config_docs.pulumi_config_block())["config"]
    for name, key in KEYS.items():
        assert ("default" in declared[name]) is (not key.required), name
        assert "secret" not in declared[name], name


def test_the_checks_fail_on_a_broken_generated_file(project_schema: jsonschema.protocols.Validator) -> None:
    # The first real `pulumi up` failed this way: an optional key declared without a default.
    text = config_docs.pulumi_config_block()
    broken = re.sub(r'(  resourceGroupName:\n(?:    .*\n)*?)    default: ""\n', r"\1", text)
    assert broken != text
    project = {"name": "b2c-signup", "runtime": "python", **yaml.safe_load(broken)}
    assert stack_errors(
        project,
        {"b2c-signup:tenantName": "x", "b2c-signup:tenantId": "y", "b2c-signup:allowedDomains": ["a.com"]},
        "dev",
    ) == ["Stack 'dev' is missing configuration value 'resourceGroupName'"]
    secret = re.sub(r"(  b2cClientSecret:\n    type: string\n)", r"\1    secret: true\n", text)
    project = {"name": "b2c-signup", "runtime": "python", **yaml.safe_load(secret)}
    minimal = {
        "b2c-signup:tenantName": "x",
        "b2c-signup:tenantId": "y",
        "b2c-signup:allowedDomains": ["a.com"],
    }
    assert stack_errors(project, minimal, "dev") == [
        "Stack 'dev' with configuration key 'b2cClientSecret' must be encrypted as it's secret"
    ]
    misspelt = {
        **project,
        "config": {**project["config"], "tenantName": {"type": "string", "descripton": "x"}},
    }
    assert any("descripton" in error for error in schema_errors(project_schema, misspelt))


def test_the_readme_setup_passes_the_programs_own_validation() -> None:
    import json

    import stack_config

    # What a user types for the README's placeholders.
    samples = {
        "b2c-signup:tenantId": "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90",
        "b2c-signup:b2cClientId": "0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e",
    }
    config = {
        key: samples.get(key, value) if isinstance(value, str) and value.startswith("<") else value
        for key, value in readme_stack().items()
    }
    secrets = {key for key, value in config.items() if isinstance(value, dict)}

    def get(key: str) -> str | None:
        value = config.get(f"b2c-signup:{key}")
        if isinstance(value, dict):
            return "a-client-secret"
        return None if value is None else value if isinstance(value, str) else json.dumps(value)

    loaded = stack_config.load(
        get,
        lambda _key: None,
        "dev",
        lambda key: f"b2c-signup:{key}" in secrets,
        present=config,
    )
    assert loaded.identity.settings.credential == "clientSecret"
