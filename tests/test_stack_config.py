"""stack_config: every key validated once, each problem naming the key, the value and a fix."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pulumi
import pytest

import stack_config
from stack_config import KEYS, StackConfigError, load
from tools import config_docs

SECRET = "b2c-deployer-Secret~1234"
BASE: dict[str, Any] = {
    "tenantName": "contosob2c",
    "tenantId": "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90",
    "allowedDomains": json.dumps(["contoso.com", "*.fabrikam.com"]),
    "b2cClientId": "0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e",
}


def loaded(secret: str | None = SECRET, **values: Any) -> stack_config.StackConfig:
    raw = {**BASE, "b2cClientSecret": secret, **values}

    def get(key: str) -> str | None:
        value = raw.get(key)
        return None if value is None else value if isinstance(value, str) else json.dumps(value)

    created: list[pulumi.Output[str]] = []

    def get_secret(key: str) -> pulumi.Output[str] | None:
        if key != "b2cClientSecret" or not secret:
            return None
        created.append(pulumi.Output.secret(secret))
        return created[-1]

    try:
        return load(get, get_secret, "dev")
    finally:
        # Settle every Output here, also when load refuses the config, rather than leave a pending
        # coroutine to a later test's loop.
        for output in created:
            assert asyncio.get_event_loop().run_until_complete(output.future()) == secret


def test_defaults_give_the_documented_setup() -> None:
    config = loaded()
    assert config.policy_id == "B2C_1_signupsignin"
    assert (
        config.tenant.domain == "contosob2c.onmicrosoft.com"
        and config.tenant.login_host == "contosob2c.b2clogin.com"
    )
    assert config.web_api_scope == "https://contosob2c.onmicrosoft.com/api/access"
    assert [a.attribute_id for a in config.user_attributes] == [
        "email",
        "givenName",
        "surname",
        "displayName",
    ]
    assert config.connector_step == "postAttributeCollection"
    assert config.flow_redirect_uris == ("https://global.consent.azure-apim.net/redirect",)
    assert config.hosting.python_version == "3.12" and config.hosting.always_ready_instances == 0
    assert config.b2c.settings.credential == "clientSecret" and SECRET not in repr(config)


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("tenantName", None, "b2c-signup:tenantName (not set) is required"),
        ("tenantName", "contosob2c.onmicrosoft.com", "is not a tenant name"),
        ("tenantId", "contoso", "is not a GUID"),
        ("allowedDomains", None, "b2c-signup:allowedDomains (not set) is required"),
        ("allowedDomains", "contoso.com", "must be a non-empty list of strings"),
        ("allowedDomains", ["contoso.com", "not a domain"], "'not a domain' is not a domain"),
        ("allowedDomains", ["*."], "'*.' is not a domain"),
        ("allowedDomains", ["a.com,b.com"], "holds a comma"),
        ("userFlowName", "sign up", "may use letters, digits"),
        ("userAttributes", ["givenName"], "must include email"),
        ("userAttributes", ["email", "email"], "is listed twice"),
        ("userAttributes", ["email", "given name"], "is not an attribute id"),
        ("connectorStep", "preTokenIssuance", "must be one of postAttributeCollection, postFederationSignup"),
        ("connectorUsername", "a:b", "without ':'"),
        ("apiIdentifier", "api/v1", "must be one URI path segment"),
        ("flowRedirectUris", ["http://example.com/cb"], "must be https"),
        ("flowRedirectUris", ["http://localhost.evil.example/cb"], "must be https"),
        ("flowRedirectUris", ["http://localhost@evil.example/cb"], "no credentials"),
        ("flowRedirectUris", ["https://"], "with a host"),
        ("flowSecretLifetimeDays", "1000", "from 1 to 730"),
        ("flowSecretLifetimeDays", "soon", "digits only"),
        ("flowSecretLifetimeDays", "1_80", "digits only"),
        ("maximumInstances", "١٠٠", "digits only"),
        ("userFlowName", "sign.up", "may use letters, digits, '-' and '_' only"),
        ("userFlowName", "B2C_1_", "may use letters, digits, '-' and '_' only"),
        ("resourceGroupName", "rg.", "is not a resource group name"),
        ("resourceGroupName", "rg with space", "is not a resource group name"),
        ("loginHost", "https://login.contoso.com", "is not a host name"),
        ("adoptExisting", "yes", "must be true or false"),
        ("b2cCredential", "password", "b2c-signup:b2cCredential 'password' must be one of"),
        ("b2cClientId", None, "b2c-signup:b2cClientId is required"),
        ("graphEndpoint", "http://graph.example.com", "must be https"),
        ("location", "West Europe", "is not an Azure region name"),
        ("namePrefix", "Sign-Up", "2 to 10 lowercase letters"),
        ("pythonVersion", "3.9", "must be one of 3.11, 3.12"),
        ("pythonVersion", "3.13", "must be one of 3.11, 3.12"),
        ("pythonVersion", "3.10", "must be one of 3.11, 3.12"),
        ("instanceMemoryMB", "1024", "must be one of 512, 2048, 4096"),
        ("maximumInstances", "5", "from 40 to 1000"),
        ("alwaysReadyInstances", "50", "from 0 to 40"),
    ],
)
def test_each_bad_key_is_named_with_its_value_and_a_fix(key: str, value: Any, fragment: str) -> None:
    with pytest.raises(StackConfigError) as raised:
        loaded(**{key: value})
    message = str(raised.value)
    assert fragment in message
    assert "Example: pulumi config set" in message or "b2c-signup:" in message
    assert SECRET not in message


def test_a_missing_client_secret_is_named_without_a_value() -> None:
    with pytest.raises(
        StackConfigError, match=r"b2c-signup:b2cClientSecret is not set: pulumi config set --secret"
    ):
        loaded(secret=None)


def test_cli_credential_needs_no_client_secret() -> None:
    assert loaded(secret=None, b2cCredential="azureCli").b2c.settings.credential == "azureCli"


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(StackConfigError) as raised:
        loaded(tenantName=None, connectorStep="x", namePrefix="X")
    assert str(raised.value).count("\n  - ") == 3


def test_the_prefix_may_be_given_on_the_flow_name() -> None:
    assert loaded(userFlowName="B2C_1_partners").policy_id == "B2C_1_partners"


def test_optional_attributes_are_marked_with_a_question_mark() -> None:
    attributes = loaded(userAttributes=["email", "city?"]).user_attributes
    assert [(a.attribute_id, a.optional) for a in attributes] == [("email", False), ("city", True)]


def test_pulumi_yaml_and_readme_declare_every_key() -> None:
    assert config_docs.stale() == []
    import yaml

    declared = yaml.safe_load(config_docs.PULUMI_YAML.read_text())["config"]
    assert set(declared) == set(KEYS)
    for name, key in KEYS.items():
        assert declared[name].get("default") == (None if key.required else key.default), name
        assert declared[name]["type"] == key.type


def test_a_client_secret_stored_in_plain_text_is_refused() -> None:
    raw = {**BASE, "b2cClientSecret": "plain-secret"}
    with pytest.raises(
        StackConfigError, match=r"b2cClientSecret is stored in plain text.*--secret"
    ) as raised:
        load(raw.get, lambda _key: None, "dev", is_secret=lambda _key: False)
    assert "plain-secret" not in str(raised.value)


def test_an_empty_client_secret_is_not_set() -> None:
    # Pulumi.yaml's default for an optional key is "": it must read as "not set".
    with pytest.raises(StackConfigError, match="b2c-signup:b2cClientSecret is not set"):
        load({**BASE, "b2cClientSecret": ""}.get, lambda _key: None, "dev")


def test_select_attributes_take_their_choices_from_attribute_inputs() -> None:
    plan = "extension_0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e_plan"
    attributes = loaded(
        userAttributes=["email", plan],
        attributeInputs={
            plan: {
                "input_type": "dropdownSingleSelect",
                "user_attribute_values": ["Basic", {"name": "Pro plan", "value": "pro", "is_default": True}],
            }
        },
    ).user_attributes
    assert attributes[1].input_type == "dropdownSingleSelect"
    assert attributes[1].choices == (
        {"name": "Basic", "value": "Basic", "is_default": False},
        {"name": "Pro plan", "value": "pro", "is_default": True},
    )
    assert attributes[0].input_type is None and attributes[0].choices == ()


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        (
            {"city": {"input_type": "radioSingleSelect"}},
            "attributeInputs.city names an attribute that userAttributes does not collect",
        ),
        ({"email": {"choices": ["a"]}}, "must be an object with input_type and/or user_attribute_values"),
        (
            {"email": {"input_type": "radioSingleSelect"}},
            "b2c-signup:attributeInputs.email.user_attribute_values is required",
        ),
        ({"email": {"input_type": "slider"}}, "input_type 'slider' is not one of"),
        ("radio", "b2c-signup:attributeInputs 'radio' must be an object"),
    ],
)
def test_attribute_inputs_problems_name_the_attribute(inputs: Any, fragment: str) -> None:
    with pytest.raises(StackConfigError) as raised:
        loaded(attributeInputs=inputs)
    assert fragment in str(raised.value)


def test_a_misspelt_key_is_named_with_the_key_it_resembles() -> None:
    with pytest.raises(
        StackConfigError,
        match=r"b2c-signup:allowedDomain is not a key of this project: did you mean b2c-signup:allowedDomains\?",
    ):
        load(
            {**BASE, "b2cClientSecret": SECRET}.get,
            lambda _k: None,
            "dev",
            present=["b2c-signup:allowedDomain", "azure-native:location"],
        )
    assert stack_config.unknown_keys(["b2c-signup:tenantName", "aws:region"]) == []


def test_list_key_examples_use_the_path_form_pulumi_accepts() -> None:
    with pytest.raises(StackConfigError) as raised:
        loaded(allowedDomains=["not a domain"])
    assert "pulumi config set --path 'b2c-signup:allowedDomains[0]' contoso.com" in str(raised.value)


def test_a_client_secret_the_chosen_credential_would_not_use_is_refused() -> None:
    with pytest.raises(
        StackConfigError,
        match=r"b2cClientSecret is set, but b2c-signup:b2cCredential is githubOidc.*pulumi config set b2c-signup:b2cCredential clientSecret",
    ) as raised:
        loaded(b2cCredential="githubOidc")
    assert SECRET not in str(raised.value)


def test_refusal_texts_by_language_reach_the_function_as_it_reads_them() -> None:
    config = loaded(signupMessages={"fr": {"denied": "Inscription réservée."}})
    assert json.loads(config.signup_messages) == {"fr": {"denied": "Inscription réservée."}}
    assert loaded().signup_messages == ""
    with pytest.raises(
        StackConfigError, match=r"b2c-signup:signupMessages\.fr must be an object with denied"
    ):
        loaded(signupMessages={"fr": {"refused": "x"}})
