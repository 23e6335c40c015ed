"""tools.pulumi_rules reads Pulumi's stack-config rules as Pulumi does: each case here is one of
Pulumi's own Go tests (pulumi/pulumi pkg/workspace/config_project_test.go, sdk/go/common/workspace
project_test.go), with the project and stack text and the outcome they assert."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tools.pulumi_rules import project_errors, stack_errors, valid_value


def errors(project_yaml: str, stack_yaml: str) -> list[str]:
    project: dict[str, Any] = yaml.safe_load(project_yaml)
    stack = (yaml.safe_load(stack_yaml) or {}).get("config") or {}
    return project_errors(project) + stack_errors(project, stack, "dev")


@pytest.mark.parametrize(
    ("name", "project", "stack", "expected"),
    [
        (
            "TestStackConfigIsInheritedFromProjectConfig",
            "name: test\nruntime: dotnet\nconfig:\n  instanceSize: t3.micro\n  instanceCount: 20\n  protect: true",
            "config:\n  test:instanceSize: t4.large",
            [],
        ),
        (
            "TestNamespacedConfigValuesAreInheritedCorrectly",
            'name: test\nruntime: dotnet\nconfig:\n  aws:region: us-west-1\n  pulumi:disable-default-providers: ["*"]\n'
            "  instanceSize: t3.micro",
            "config:\n  test:instanceSize: t4.large",
            [],
        ),
        (
            "TestLoadingStackConfigWithoutNamespacingTheProject",
            "name: test\nruntime: dotnet\nconfig:\n  aws:region: us-west-1\n  instanceSize: t3.micro",
            "config:\n  instanceSize: t4.large",
            [],
        ),
        (
            "TestUntypedProjectConfigValuesAreNotValidated",
            "name: test\nruntime: dotnet\nconfig:\n  instanceSize: t3.micro\n  aws:region: us-west-1",
            "config:\n  instanceSize: 9999\n  aws:region: 42",
            [],
        ),
        (
            "TestUntypedProjectConfigValuesWithOnlyDefaultOrOnlyValue",
            "name: test\nruntime: dotnet\nconfig:\n  instanceSize:\n    default: t3.micro\n  region:\n    value: us-west-1",
            "config:\n  aws:answer: 42",
            [],
        ),
        (
            "TestUntypedStackConfigValuesDoNeedProjectDeclaration",
            "name: test\nruntime: dotnet\nconfig:\n  createVpc: true",
            "config:\n  instanceSize: 42",
            [],
        ),
        (
            "TestStackConfigErrorsWhenStackValueIsNotCorrectlyTyped",
            "name: test\nruntime: dotnet\nconfig:\n  values:\n    type: array\n    items:\n      type: string\n"
            "    default: [value]",
            "config:\n  test:values: someValue\n",
            ["Stack 'dev' with configuration key 'values' must be of type 'array<string>'"],
        ),
        (
            "TestStackConfigIntegerTypeIsCorrectlyValidated (valid)",
            "name: test\nruntime: dotnet\nconfig:\n  importantNumber:\n    type: integer\n",
            "config:\n  test:importantNumber: 20\n",
            [],
        ),
        (
            "TestStackConfigIntegerTypeIsCorrectlyValidated (invalid)",
            "name: test\nruntime: dotnet\nconfig:\n  importantNumber:\n    type: integer\n",
            "config:\n  test:importantNumber: hello\n",
            ["Stack 'dev' with configuration key 'importantNumber' must be of type 'integer'"],
        ),
        (
            "TestStackConfigErrorsWhenMissingStackValueForConfigTypeWithNoDefault",
            "name: test\nruntime: dotnet\nconfig:\n  values:\n    type: array\n    items:\n      type: string",
            "",
            ["Stack 'dev' is missing configuration value 'values'"],
        ),
        (
            "TestStackConfigErrorsWhenMissingTwoStackValueForConfigTypeWithNoDefault",
            "name: test\nruntime: dotnet\nconfig:\n  another:\n    type: string\n  values:\n    type: array\n"
            "    items:\n      type: string",
            "",
            ["Stack 'dev' is missing configuration values 'another' and 'values'"],
        ),
        (
            "TestStackConfigErrorsWhenMissingMultipleStackValueForConfigTypeWithNoDefault",
            "name: test\nruntime: dotnet\nconfig:\n  hello:\n    type: integer\n  values:\n    type: array\n"
            "    items:\n      type: string\n  world:\n    type: string",
            "",
            ["Stack 'dev' is missing configuration values 'hello', 'values' and 'world'"],
        ),
        (
            "TestStackConfigDoesNotErrorWhenProjectHasNotDefinedConfig",
            "name: test\nruntime: dotnet",
            "config:\n  hello: 21\n  world: 42\n  another: 42",
            [],
        ),
        (
            "TestStackConfigSecretIsCorrectlyValidated (valid)",
            "name: test\nruntime: dotnet\nconfig:\n  importantNumber:\n    type: integer\n    secret: true\n",
            "config:\n  test:importantNumber:\n    secure: MjA=\n",
            [],
        ),
        (
            "TestStackConfigSecretIsCorrectlyValidated (invalid)",
            "name: test\nruntime: dotnet\nconfig:\n  importantNumber:\n    type: integer\n    secret: true\n",
            "config:\n  test:importantNumber: 20\n",
            ["Stack 'dev' with configuration key 'importantNumber' must be encrypted as it's secret"],
        ),
    ],
)
def test_pulumi_go_cases(name: str, project: str, stack: str, expected: list[str]) -> None:
    assert errors(project, stack) == expected, name


@pytest.mark.parametrize(
    ("project", "fragment"),
    [
        # project_test.go TestProjectValidationFailsForIncorrectDefaultValueType, both halves
        (
            "name: test\nconfig:\n  instanceSize:\n    type: integer\n    default: hello",
            "is not of the expected type 'integer'",
        ),
        (
            "name: test\nconfig:\n  values:\n    type: array\n    items:\n      type: array\n      items:\n"
            "        type: string\n    default: [hello]",
            "is not of the expected type 'array<array<string>>'",
        ),
        # the other branches of Project.Validate (project.go)
        (
            "name: test\nconfig:\n  values:\n    type: array\n    default: [1]",
            "does not specify the underlying type",
        ),
        ("name: test\nconfig:\n  aws:region:\n    type: string\n    value: x", "should not define a type"),
        ("name: test\nconfig:\n  aws:region:\n    default: x", "should not define a default value"),
        (
            "name: test\nconfig:\n  size:\n    default: 1\n    value: 2",
            "cannot have both a 'default' and 'value'",
        ),
    ],
)
def test_project_validation(project: str, fragment: str) -> None:
    (problem,) = project_errors(yaml.safe_load(project))
    assert fragment in problem


def test_a_secret_key_with_a_plain_default_is_refused() -> None:
    # What the issue found: `secret: true` and a default cannot go together, since the default is plain.
    project = "name: test\nconfig:\n  clientSecret:\n    type: string\n    secret: true\n    default: ''"
    assert errors(project, "") == [
        "Stack 'dev' with configuration key 'clientSecret' must be encrypted as it's secret"
    ]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("20", True),
        ("-3", True),
        ("+3", True),
        ("1_80", False),
        (" 1", False),
        ("0x10", False),
        ("1.5", False),
    ],
)
def test_integers_are_read_as_strconv_atoi_reads_them(value: str, ok: bool) -> None:
    assert valid_value("integer", None, value) is ok


@pytest.mark.parametrize(("value", "ok"), [("true", True), ("false", True), ("True", False), ("yes", False)])
def test_booleans_are_the_two_literals(value: str, ok: bool) -> None:
    assert valid_value("boolean", None, value) is ok
