"""Every azure-native and azuread resource the program registers under mocks, held against the
pinned provider SDKs' typed input classes, which carry the providers' schema: property names (as
they reach the provider) and enum values. Inputs passed as plain dicts bypass those classes, so a
misspelt key would otherwise reach ARM or Graph unnoticed."""

from __future__ import annotations

import enum
import importlib
import sys
import typing
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

import pulumi
import pytest
from pulumi import _types

from tools.program_check import Run, check_stack


def _members(typ: Any) -> list[Any]:
    """The concrete types an input annotation allows: Optional, Input, Awaitable and Output peeled."""
    origin = typing.get_origin(typ)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return [member for arg in typing.get_args(typ) for member in _members(arg)]
    if origin in (Awaitable, pulumi.Output) or typ is type(None):
        return []
    return [typ]


def args_class(resource_type: str) -> type:
    """The resource's own Args class, from the module that defines the resource: the package also
    exports nested input types of the same name (pulumi_azuread.ApplicationPasswordArgs is an
    Application's `passwords` item; the resource's is application_password.ApplicationPasswordInitArgs)."""
    package, module, name = resource_type.split(":")
    if package == "pulumi" and module == "providers":
        package, name = name, "Provider"
    where = f"pulumi_azure_native.{module}" if package == "azure-native" else f"pulumi_{package}"
    module_of_resource = sys.modules[getattr(importlib.import_module(where), name).__module__]
    # The generator names it <Name>InitArgs where <Name>Args is taken by a nested type.
    found = getattr(module_of_resource, f"{name}InitArgs", None) or getattr(module_of_resource, f"{name}Args")
    return found  # type: ignore[no-any-return]


def unknown_inputs(value: Any, typ: Any, path: str) -> list[str]:
    if value is None:
        return []
    members = _members(typ)
    if isinstance(value, Mapping):
        classes = [m for m in members if isinstance(m, type) and _types.is_input_type(m)]
        if classes:
            types = _types.input_type_types(classes[0])
            problems = []
            for key, item in value.items():
                if key not in types:
                    problems.append(
                        f"{path}.{key}: not a property of {classes[0].__name__} (known: {', '.join(sorted(types))})"
                    )
                else:
                    problems += unknown_inputs(item, types[key], f"{path}.{key}")
            return problems
        maps = [m for m in members if typing.get_origin(m) in (Mapping, dict)]
        if maps:
            return [
                p
                for key, item in value.items()
                for p in unknown_inputs(item, typing.get_args(maps[0])[1], f"{path}[{key!r}]")
            ]
        return []
    if isinstance(value, list):
        lists = [m for m in members if typing.get_origin(m) in (Sequence, list)]
        if lists:
            return [
                p
                for index, item in enumerate(value)
                for p in unknown_inputs(item, typing.get_args(lists[0])[0], f"{path}[{index}]")
            ]
        return []
    enums = [m for m in members if isinstance(m, type) and issubclass(m, enum.Enum)]
    if isinstance(value, str) and enums:
        allowed = {e.value for enum_type in enums for e in enum_type}
        if value not in allowed:
            return [f"{path}: {value!r} is not one of {sorted(allowed)}"]
    return []


def provider_resources(run: Run) -> list[Any]:
    return [
        r
        for r in run.resources
        if r.type.startswith(("azure-native:", "azuread:", "pulumi:providers:azuread"))
    ]


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> Run:
    return check_stack(request.param)


def test_every_input_is_a_property_the_provider_knows(stack: Run) -> None:
    resources = provider_resources(stack)
    assert len(resources) >= 25
    problems: list[str] = []
    keys = 0
    for resource in resources:
        types = _types.input_type_types(args_class(resource.type))
        for key, value in resource.inputs.items():
            keys += 1
            if key not in types:
                problems.append(f"{resource.type} {resource.name}: {key} is not an input")
            else:
                problems += [
                    f"{resource.type} {resource.name}: {p}" for p in unknown_inputs(value, types[key], key)
                ]
    assert problems == [], "\n".join(problems)
    assert keys > 100


def test_the_check_finds_a_misspelt_dict_key_and_a_wrong_enum() -> None:
    from pulumi_azure_native import web

    types = _types.input_type_types(web.WebAppArgs)
    site = {"minTlsVersion": "1.2", "appSetings": [], "scmMinTlsVersion": "1.5"}
    problems = unknown_inputs(site, types["siteConfig"], "siteConfig")
    assert any("siteConfig.appSetings: not a property of SiteConfigArgs" in p for p in problems)
    assert any("siteConfig.scmMinTlsVersion: '1.5' is not one of" in p for p in problems)
    nested = {"scaleAndConcurrency": {"alwaysReady": [{"name": "http", "instanceCnt": 1}]}}
    assert unknown_inputs(nested, types["functionAppConfig"], "functionAppConfig") == [
        "functionAppConfig.scaleAndConcurrency.alwaysReady[0].instanceCnt: not a property of "
        "FunctionsAlwaysReadyConfigArgs (known: instanceCount, name)"
    ]
