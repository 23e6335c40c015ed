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
    assert config.identity.settings.credential == "clientSecret" and SECRET not in repr(config)


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
    assert loaded(secret=None, b2cCredential="azureCli").identity.settings.credential == "azureCli"


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


# -- the platform, and keys a platform does not use ------------------------------------------------

EXTERNAL = {"platform": "externalId", "tenantName": "contosoext"}


def test_an_external_id_stack_gets_its_tenant_and_flow_name() -> None:
    config = loaded(**EXTERNAL, userFlowName="Partner sign-up")
    assert config.platform == "externalId"
    assert config.tenant.login_host == "contosoext.ciamlogin.com"
    assert config.policy_id == config.user_flow_name == "Partner sign-up"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("connectorUsername", "gate"),
        ("connectorStep", "postFederationSignup"),
        ("apiIdentifier", "api-v2"),
        ("connectorPasswordGeneration", "2"),
    ],
)
def test_b2c_keys_are_refused_on_external_id_with_the_fix(key: str, value: str) -> None:
    with pytest.raises(StackConfigError) as raised:
        loaded(**EXTERNAL, **{key: value})
    message = str(raised.value)
    assert f"b2c-signup:{key} '{value}' is set, but only Azure AD B2C uses it" in message
    assert f"pulumi config rm b2c-signup:{key}" in message


def test_their_defaults_are_not_refused_on_external_id() -> None:
    # Pulumi hands the program Pulumi.yaml's defaults as if set: those are not a user's choice.
    loaded(**EXTERNAL, connectorStep="postAttributeCollection", connectorUsername="b2c-connector")


def test_custom_attributes_are_external_id_only_and_collected_by_name() -> None:
    config = loaded(
        **EXTERNAL,
        userAttributes=["email", "plan?"],
        customAttributes={"plan": {"dataType": "string", "description": "Your plan"}},
    )
    assert [(a.attribute_id, a.optional, a.custom) for a in config.user_attributes] == [
        ("email", False, False),
        ("plan", True, True),
    ]
    assert config.custom_attributes == (stack_config.CustomAttribute("plan", "string", "Your plan"),)
    with pytest.raises(StackConfigError, match=r"customAttributes .* only Entra External ID uses it"):
        loaded(customAttributes={"plan": {"dataType": "string"}})


@pytest.mark.parametrize(
    ("custom", "fragment"),
    [
        ({"2fast": {}}, "'2fast' is not an attribute name"),
        (
            {"plan": {"dataType": "date"}},
            "customAttributes.plan.dataType 'date' must be one of string, boolean, int64",
        ),
        ({"plan": {"type": "string"}}, "must be an object with dataType and/or description"),
    ],
)
def test_custom_attribute_mistakes_name_the_attribute(custom: dict[str, Any], fragment: str) -> None:
    with pytest.raises(StackConfigError) as raised:
        loaded(**EXTERNAL, customAttributes=custom)
    assert fragment in str(raised.value)


def test_an_unknown_platform_is_refused() -> None:
    with pytest.raises(StackConfigError, match="b2c-signup:platform 'entra' must be one of b2c, externalId"):
        loaded(platform="entra")


# -- mistakes that passed silently before -----------------------------------------------------------


def test_a_client_id_that_is_not_a_guid_is_refused() -> None:
    with pytest.raises(StackConfigError, match="b2c-signup:b2cClientId 'deployer' is not a GUID"):
        loaded(b2cClientId="deployer")


@pytest.mark.parametrize(
    ("platform", "entry"),
    [
        ("b2c", "favouriteColour"),
        ("b2c", "extension_plan"),
        ("externalId", "extension_12_plan"),
        ("b2c", "Surname"),
    ],
)
def test_an_attribute_that_is_neither_built_in_nor_custom_is_refused_before_any_resource(
    platform: str, entry: str
) -> None:
    with pytest.raises(StackConfigError) as raised:
        loaded(platform=platform, userAttributes=["email", entry])
    message = str(raised.value)
    assert f"b2c-signup:userAttributes '{entry}' is not an attribute id of" in message
    assert "extension_<appId without hyphens>_<name>" in message and "givenName" in message


def test_built_in_and_full_custom_ids_pass_on_both_platforms() -> None:
    for platform in ("b2c", "externalId"):
        ids = ["email", "city", "jobTitle", "extension_0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e_plan"]
        assert [a.attribute_id for a in loaded(platform=platform, userAttributes=ids).user_attributes] == ids


def test_a_key_in_a_misspelt_namespace_is_named_with_ours() -> None:
    problems = stack_config.unknown_keys(
        ["b2csignup:tenantName", "b2c_signup:allowedDomains", "azuread:tenantId"]
    )
    assert problems == [
        "b2c_signup:allowedDomains is in namespace 'b2c_signup', which is not this project's: did you mean "
        "b2c-signup:allowedDomains? (pulumi config rm b2c_signup:allowedDomains, then pulumi config set "
        "b2c-signup:allowedDomains ...)",
        "b2csignup:tenantName is in namespace 'b2csignup', which is not this project's: did you mean "
        "b2c-signup:tenantName? (pulumi config rm b2csignup:tenantName, then pulumi config set "
        "b2c-signup:tenantName ...)",
    ]


def test_a_misspelt_required_key_is_named_where_the_missing_one_is() -> None:
    raw = {**BASE, "b2cClientSecret": SECRET}
    raw.pop("tenantName")
    with pytest.raises(StackConfigError) as raised:
        load(
            raw.get,
            lambda _k: None,
            "dev",
            present=["b2c-signup:tenantNmae", *[f"b2c-signup:{k}" for k in raw]],
        )
    message = str(raised.value)
    assert (
        "b2c-signup:tenantName (not set) is required (b2c-signup:tenantNmae is set: did you mean b2c-signup:tenantName?)"
        in message
    )
    assert (
        "b2c-signup:tenantNmae is not a key of this project: did you mean b2c-signup:tenantName?" in message
    )


def test_a_provider_location_that_disagrees_is_refused_naming_both_keys() -> None:
    def load_with(location: str | None) -> stack_config.StackConfig:
        return load(
            {**BASE, "b2cClientSecret": SECRET, "location": "westeurope"}.get,
            lambda _k: None,
            "dev",
            other={"azure-native:location": location}.get,
        )

    with pytest.raises(
        StackConfigError,
        match=r"azure-native:location 'northeurope' differs from b2c-signup:location 'westeurope'.*"
        r"pulumi config set b2c-signup:location northeurope \(or pulumi config rm azure-native:location\)",
    ):
        load_with("northeurope")
    assert load_with("westeurope").hosting.location == "westeurope"
    assert load_with(None).hosting.location == "westeurope"


def test_a_list_given_as_a_plain_string_gets_the_commands_that_make_it_a_list() -> None:
    with pytest.raises(StackConfigError) as raised:
        loaded(allowedDomains="contoso.com,fabrikam.com")
    assert (
        "pulumi config rm b2c-signup:allowedDomains && pulumi config set --path 'b2c-signup:allowedDomains[0]' "
        "contoso.com && pulumi config set --path 'b2c-signup:allowedDomains[1]' fabrikam.com"
    ) in str(raised.value)


def test_a_missing_secret_is_reported_with_every_other_problem() -> None:
    with pytest.raises(StackConfigError) as raised:
        loaded(secret=None, tenantId=None, b2cClientId="deployer", namePrefix="X")
    message = str(raised.value)
    for fragment in (
        "b2c-signup:tenantId (not set) is required",
        "b2c-signup:b2cClientId 'deployer' is not a GUID",
        "b2c-signup:b2cClientSecret is not set",
        "b2c-signup:namePrefix 'X'",
    ):
        assert fragment in message
    assert message.count("\n  - ") == 4


# -- what stops a real `up` ------------------------------------------------------------------------


def deployed(**values: Any) -> stack_config.StackConfig:
    raw = {**BASE, "b2cClientSecret": SECRET, **values}
    return load(
        lambda key: raw.get(key) if isinstance(raw.get(key), str | None) else json.dumps(raw[key]),
        lambda _key: None,
        "dev",
        deploying=True,
    )


def test_the_shipped_sample_tenants_stop_a_deployment_but_not_a_preview() -> None:
    sample = {"tenantName": "contosob2cdev", "tenantId": "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90"}
    with pytest.raises(
        StackConfigError, match="are the sample values the repository's stack files ship with"
    ):
        deployed(**sample)
    assert loaded(**sample).tenant.name == "contosob2cdev"
    assert deployed(tenantName="fabrikamb2c").tenant.name == "fabrikamb2c"


def test_the_sample_list_holds_exactly_what_the_shipped_stack_files_carry() -> None:
    import yaml

    from tests.conftest import PROJECT_DIR

    shipped = set()
    for path in PROJECT_DIR.glob("Pulumi.*.yaml"):
        config = yaml.safe_load(path.read_text(encoding="utf-8"))["config"]
        shipped.add((config["b2c-signup:tenantName"], config["b2c-signup:tenantId"]))
    assert shipped == set(stack_config.SAMPLE_TENANTS) and len(shipped) == 3


def test_github_oidc_outside_actions_stops_a_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    with pytest.raises(
        StackConfigError, match="b2cCredential is githubOidc, which signs in only inside a GitHub"
    ):
        deployed(b2cCredential="githubOidc", b2cClientSecret=None)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "https://pipelines.example/token")
    assert (
        deployed(b2cCredential="githubOidc", b2cClientSecret=None).identity.settings.credential
        == "githubOidc"
    )


def test_the_password_generation_counts_from_one() -> None:
    assert loaded().connector_password_generation == 1
    assert loaded(connectorPasswordGeneration="3").connector_password_generation == 3
    with pytest.raises(
        StackConfigError, match="b2c-signup:connectorPasswordGeneration 0 must be a whole number from 1"
    ):
        loaded(connectorPasswordGeneration="0")


@pytest.mark.parametrize(
    ("entry", "suffix"),
    [("*.co.uk", "co.uk"), ("*.com.au", "com.au"), ("*.github.io", "github.io"), ("*.com", "com")],
)
def test_a_wildcard_on_a_public_suffix_is_refused_naming_the_suffix(entry: str, suffix: str) -> None:
    with pytest.raises(StackConfigError) as raised:
        loaded(allowedDomains=["contoso.com", entry])
    message = str(raised.value)
    assert f"b2c-signup:allowedDomains '{entry}' is a wildcard on the public suffix '{suffix}'" in message
    assert f"pulumi config set --path 'b2c-signup:allowedDomains[1]' '*.contoso.{suffix}'" in message


def test_a_wildcard_below_a_public_suffix_is_a_domain_like_any_other() -> None:
    assert loaded(allowedDomains=["*.contoso.co.uk", "*.fabrikam.github.io"]).allowed_domains == (
        "*.contoso.co.uk",
        "*.fabrikam.github.io",
    )


def test_an_unknown_text_in_signup_messages_is_named() -> None:
    with pytest.raises(StackConfigError) as raised:
        loaded(signupMessages={"fr": {"denied": "Non.", "refused": "x"}})
    assert (
        "b2c-signup:signupMessages.fr must be an object with denied, invalidEmail, unavailable (one or more): "
        "fr.refused is not a text a refused user sees"
    ) in str(raised.value)
