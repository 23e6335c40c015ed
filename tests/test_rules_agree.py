"""Where stack config, the program's resources and the policy pack apply the same rule, they agree:
each rule has one owner, and these hold its readers together. Every case carries the answer the
rule must give, written here from the platform's documentation rather than from the code: two
readers that share one function would otherwise agree on any mistake of it."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

import stack_config
from components.code_deployment import check_scm_url
from components.credentials import B2CSettings, IdentityConfigError
from components.graph.user_flow import UserFlowProvider
from components.signup_function import BasicAuthCaller, Hosting, SignupFunctionArgs
from components.signup_user_flow import SignupUserFlowArgs
from tests.conftest import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "policy"))
import policies

BASE: dict[str, Any] = {
    "tenantName": "contosob2c",
    "tenantId": "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90",
    "allowedDomains": ["contoso.com"],
    "b2cCredential": "azureCli",
}


def config_problems(**values: Any) -> str:
    raw = {**BASE, **values}

    def get(key: str) -> str | None:
        value = raw.get(key)
        return None if value is None else value if isinstance(value, str) else json.dumps(value)

    try:
        stack_config.load(get, lambda _key: None, "dev")
    except stack_config.StackConfigError as exc:
        return str(exc)
    return ""


REDIRECTS = [
    ("https://global.consent.azure-apim.net/redirect", True),
    ("http://localhost:5000/cb", True),
    ("http://127.0.0.1/cb", True),
    ("http://localhost.evil.example/cb", False),
    ("http://localhost@evil.example/cb", False),
    ("http://example.com/cb", False),
    ("https://", False),
    ("https://user:pw@example.com/cb", False),
]


@pytest.mark.parametrize(("uri", "usable"), REDIRECTS)
def test_config_and_policy_agree_on_redirect_uris(uri: str, usable: bool) -> None:
    config_ok = "flowRedirectUris" not in config_problems(flowRedirectUris=[uri])
    policy_ok = policies.redirect_uri_violations({"web": {"redirectUris": [uri]}}) == []
    assert config_ok is policy_ok is usable, uri


@pytest.mark.parametrize(
    ("name", "usable"),
    [
        ("signupsignin", True),
        ("B2C_1_signupsignin", True),
        ("b2c_1_x", True),
        ("sign.up", False),
        ("B2C_1_", False),
        ("sign up", False),
        ("a" * 65, False),
    ],
)
def test_config_and_the_user_flow_resource_agree_on_flow_names(name: str, usable: bool) -> None:
    config_ok = "userFlowName" not in config_problems(userFlowName=name)
    resource_ok = not UserFlowProvider().check({}, {"name": name}).failures
    assert config_ok is resource_ok is usable, name


@pytest.mark.parametrize(
    ("step", "usable"),
    [
        ("postAttributeCollection", True),
        ("postFederationSignup", True),
        ("preTokenIssuance", False),  # runs at sign-in too: a refusal there would lock users out
        ("PostAttributeCollection", False),  # Graph's step names are camelCase
    ],
)
def test_config_and_the_component_agree_on_sign_up_steps(step: str, usable: bool) -> None:
    config_ok = "connectorStep" not in config_problems(connectorStep=step)
    try:
        SignupUserFlowArgs("f", [], step, "d", "https://x", "u", "p")
        component_ok = True
    except ValueError:
        component_ok = False
    assert config_ok is component_ok is usable, step


@pytest.mark.parametrize(
    ("key", "field", "value", "usable"),
    [
        ("maximumInstances", "maximum_instances", 39, False),  # Flex: 40 to 1000
        ("maximumInstances", "maximum_instances", 100, True),
        ("instanceMemoryMB", "instance_memory_mb", 1024, False),  # Flex: 512, 2048 or 4096
        ("pythonVersion", "python_version", "3.13", False),
        ("pythonVersion", "python_version", "3.12", True),
        ("resourceGroupName", "resource_group_name", "rg-signup(dev)", True),
        ("resourceGroupName", "resource_group_name", "rg.", False),  # may not end with '.'
        ("namePrefix", "name_prefix", "Signup", False),
        ("location", "location", "West Europe", False),  # a region's name, not its display name
    ],
)
def test_config_and_the_component_agree_on_hosting(key: str, field: str, value: Any, usable: bool) -> None:
    config_ok = f"b2c-signup:{key}" not in config_problems(**{key: str(value)})
    try:
        SignupFunctionArgs(
            hosting=Hosting(**{field: value}),
            allowed_domains=["contoso.com"],
            caller=BasicAuthCaller("u", 1, {1: "p", 2: "q"}),
            package_path="p.zip",
            package_sha256="a" * 64,
        )
        component_ok = True
    except ValueError:
        component_ok = False
    assert config_ok is component_ok is usable, (key, value)


@pytest.mark.parametrize(
    ("origin", "usable"),
    [
        ("https://graph.microsoft.com", True),
        ("http://127.0.0.1:8080", True),
        ("http://graph.example.com", False),
        ("https://graph.microsoft.com/v1.0", False),  # an origin, without a path
        ("https://", False),
    ],
)
def test_the_graph_endpoint_and_the_scm_site_follow_one_origin_rule(origin: str, usable: bool) -> None:
    config_ok = "graphEndpoint" not in config_problems(graphEndpoint=origin)
    try:
        B2CSettings.from_config(
            {
                "b2c-signup:tenantId": "t",
                "b2c-signup:b2cCredential": "azureCli",
                "b2c-signup:graphEndpoint": origin,
            }.get
        )
        provider_ok = True
    except IdentityConfigError:
        provider_ok = False
    assert config_ok is provider_ok is (check_scm_url(origin) is None) is usable, origin
