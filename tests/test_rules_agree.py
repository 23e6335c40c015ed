"""Where stack config, the program's resources and the policy pack apply the same rule, they agree:
each rule has one owner, and these hold the three readers of it together."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

import stack_config
from components.code_deployment import check_scm_url
from components.credentials import B2CSettings, IdentityConfigError
from components.graph.user_flow import UserFlowProvider
from components.signup_function import SignupFunctionArgs
from components.signup_user_flow import STEP_INPUTS, SignupUserFlowArgs
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
    "https://global.consent.azure-apim.net/redirect",
    "http://localhost:5000/cb",
    "http://127.0.0.1/cb",
    "http://localhost.evil.example/cb",
    "http://localhost@evil.example/cb",
    "http://example.com/cb",
    "https://",
    "https://user:pw@example.com/cb",
]


@pytest.mark.parametrize("uri", REDIRECTS)
def test_config_and_policy_agree_on_redirect_uris(uri: str) -> None:
    config_ok = "flowRedirectUris" not in config_problems(flowRedirectUris=[uri])
    policy_ok = policies.redirect_uri_violations({"web": {"redirectUris": [uri]}}) == []
    assert config_ok is policy_ok, uri


@pytest.mark.parametrize(
    "name", ["signupsignin", "B2C_1_signupsignin", "b2c_1_x", "sign.up", "B2C_1_", "sign up", "a" * 65]
)
def test_config_and_the_user_flow_resource_agree_on_flow_names(name: str) -> None:
    config_ok = "userFlowName" not in config_problems(userFlowName=name)
    resource_ok = not UserFlowProvider().check({}, {"name": name}).failures
    assert config_ok is resource_ok, name


@pytest.mark.parametrize(
    "step", ["postAttributeCollection", "postFederationSignup", "preTokenIssuance", "PostAttributeCollection"]
)
def test_config_and_the_component_agree_on_sign_up_steps(step: str) -> None:
    config_ok = "connectorStep" not in config_problems(connectorStep=step)
    try:
        SignupUserFlowArgs("f", [], step, "d", "https://x", "u", "p")
        component_ok = True
    except ValueError:
        component_ok = False
    assert config_ok is component_ok is (step in STEP_INPUTS), step


@pytest.mark.parametrize(
    ("key", "field", "value"),
    [
        ("maximumInstances", "maximum_instances", 39),
        ("maximumInstances", "maximum_instances", 100),
        ("instanceMemoryMB", "instance_memory_mb", 1024),
        ("pythonVersion", "python_version", "3.13"),
        ("pythonVersion", "python_version", "3.12"),
        ("resourceGroupName", "resource_group_name", "rg-signup(dev)"),
        ("resourceGroupName", "resource_group_name", "rg."),
        ("namePrefix", "name_prefix", "Signup"),
        ("location", "location", "West Europe"),
    ],
)
def test_config_and_the_component_agree_on_hosting(key: str, field: str, value: Any) -> None:
    config_ok = f"b2c-signup:{key}" not in config_problems(**{key: str(value)})
    args = {
        "location": "westeurope",
        "name_prefix": "signup",
        "allowed_domains": ["contoso.com"],
        "basic_auth_username": "u",
        "basic_auth_password": "p",
        "package_path": "p.zip",
        "package_sha256": "a" * 64,
    }
    try:
        SignupFunctionArgs(**{**args, field: value})
        component_ok = True
    except ValueError:
        component_ok = False
    assert config_ok is component_ok, (key, value)


@pytest.mark.parametrize(
    "origin",
    [
        "https://graph.microsoft.com",
        "http://127.0.0.1:8080",
        "http://graph.example.com",
        "https://graph.microsoft.com/v1.0",
        "https://",
    ],
)
def test_the_graph_endpoint_and_the_scm_site_follow_one_origin_rule(origin: str) -> None:
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
    assert config_ok is provider_ok is (check_scm_url(origin) is None), origin
