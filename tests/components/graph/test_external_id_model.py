"""external_id_model: External ID's attribute, input, extension and flow rules, without Graph."""

from __future__ import annotations

from typing import Any

import pytest

from components.graph import external_id_model as rules
from components.graph.model import UNKNOWN

APP = "0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e"
PLAN = "extension_0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e_plan"
TARGET = "https://func-signup.azurewebsites.net/api/validate-signup"
RESOURCE = f"api://func-signup.azurewebsites.net/{APP}"


def normalised(item: dict[str, Any]) -> dict[str, Any]:
    found, problems = rules.normalise_attribute(item, "a")
    assert problems == [] and found is not None
    return found


def problems_of(item: object) -> list[str]:
    found, problems = rules.normalise_attribute(item, "a")
    assert found is None and problems
    return problems


def test_built_in_attributes_take_the_admin_center_label_and_a_text_input() -> None:
    assert normalised({"attribute_id": "givenName"}) == {
        "attribute_id": "givenName",
        "input_type": "text",
        "is_optional": False,
        "display_name": "Given Name",
    }
    assert normalised({"attribute_id": "country", "is_optional": True, "display_name": "Land"})[
        "display_name"
    ] == ("Land")
    assert set(rules.BUILT_IN_ATTRIBUTES) >= {"email", "givenName", "surname", "displayName", "city"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("textBox", "text"),
        ("emailBox", "text"),
        ("text", "text"),
        ("boolean", "boolean"),
    ],
)
def test_both_vocabularies_of_text_inputs_are_accepted(given: str, expected: str) -> None:
    assert normalised({"attribute_id": PLAN, "input_type": given})["input_type"] == expected


def test_select_inputs_keep_their_choices_and_one_default() -> None:
    found = normalised(
        {
            "attribute_id": PLAN,
            "input_type": "radioSingleSelect",
            "user_attribute_values": ["Basic", {"name": "Pro plan", "value": "pro", "is_default": True}],
        }
    )
    assert found["display_name"] == "plan"  # a custom attribute's own name
    assert found["user_attribute_values"] == [
        {"name": "Basic", "value": "Basic", "is_default": False},
        {"name": "Pro plan", "value": "pro", "is_default": True},
    ]
    rule = rules.input_rule(found)
    assert rule.options == (("Basic", "Basic"), ("Pro plan", "pro")) and rule.default_value == "pro"


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        (
            {"attribute_id": "city", "input_type": "dropdownSingleSelect", "user_attribute_values": ["a"]},
            "use radioSingleSelect",
        ),
        ({"attribute_id": "city", "input_type": "dateTimeDropdown"}, "use text"),
        ({"attribute_id": "city", "input_type": "slider"}, "is not one of text, radioSingleSelect"),
        ({"attribute_id": "favouriteColour"}, "is not an External ID attribute"),
        ({"attribute_id": "extension_abc_plan"}, "is not an External ID attribute"),
        ({"attribute_id": "email", "is_optional": True}, "email cannot be optional"),
        (
            {"attribute_id": "email", "input_type": "radioSingleSelect", "user_attribute_values": ["x"]},
            "collected as text",
        ),
        ({"attribute_id": "city", "requires_verification": True}, "remove requires_verification"),
        ({"attribute_id": PLAN, "input_type": "radioSingleSelect"}, "user_attribute_values is required"),
        (
            {"attribute_id": PLAN, "input_type": "boolean", "user_attribute_values": ["x"]},
            "boolean takes no choices",
        ),
        (
            {
                "attribute_id": PLAN,
                "input_type": "checkboxMultiSelect",
                "user_attribute_values": [{"name": "a", "value": "a", "is_default": True}],
            },
            "preselects no checkbox",
        ),
        (
            {"attribute_id": PLAN, "input_type": "radioSingleSelect", "user_attribute_values": ["a", "a"]},
            "repeats the value",
        ),
        ("email", "must be an object"),
    ],
)
def test_attributes_external_id_cannot_collect_are_refused_by_name(item: object, fragment: str) -> None:
    problems = problems_of(item)
    assert any(fragment in problem for problem in problems), problems
    assert all(problem.startswith("a") for problem in problems)  # each names its place


def test_an_attribute_id_unknown_during_a_preview_passes() -> None:
    found = normalised({"attribute_id": UNKNOWN, "input_type": "text"})
    assert found["attribute_id"] == UNKNOWN and found["display_name"] is None


def test_email_is_required_hidden_read_only_and_written() -> None:
    rule = rules.input_rule(normalised({"attribute_id": "email"}))
    assert (rule.required, rule.hidden, rule.editable, rule.write_to_directory) == (True, True, False, True)
    city = rules.input_rule(normalised({"attribute_id": "city", "is_optional": True}))
    assert (city.required, city.hidden, city.editable, city.write_to_directory) == (False, False, True, True)


def test_an_input_read_back_equals_the_attribute_it_came_from() -> None:
    for item in (
        {"attribute_id": "email"},
        {"attribute_id": "city", "is_optional": True, "display_name": "Town"},
        {
            "attribute_id": PLAN,
            "input_type": "radioSingleSelect",
            "user_attribute_values": ["a", {"name": "B", "value": "b", "is_default": True}],
        },
    ):
        attribute = normalised(item)
        rule = rules.input_rule(attribute)
        back = rules.attribute_from_input(
            rule.attribute_id, rule.label, rule.input_type, rule.required, rule.options, rule.default_value
        )
        assert back == attribute


def test_custom_attributes_are_known_by_graphs_id_form() -> None:
    assert rules.is_known_attribute(PLAN) and rules.is_known_attribute(
        "extension_00000000000000000000000000000000_x"
    )
    assert not rules.is_known_attribute("plan") and not rules.is_known_attribute("extension_plan")


# -- the extension ------------------------------------------------------------------------------


def extension(**extra: Any) -> dict[str, Any]:
    return {"display_name": "Sign-up check", "target_url": TARGET, "resource_id": RESOURCE, **extra}


def test_an_extension_defaults_to_two_seconds_and_one_retry() -> None:
    checked = rules.check_extension(extension())
    assert checked.failures == []
    assert (checked.inputs["timeout_ms"], checked.inputs["maximum_retries"], checked.inputs["adopt"]) == (
        2000,
        1,
        False,
    )


@pytest.mark.parametrize(
    ("extra", "prop", "fragment"),
    [
        ({"timeout_ms": 100}, "timeout_ms", "from 200 to 2000"),
        ({"timeout_ms": 2001}, "timeout_ms", "from 200 to 2000"),
        ({"timeout_ms": "2000"}, "timeout_ms", "whole number"),
        ({"timeout_ms": True}, "timeout_ms", "whole number"),
        ({"maximum_retries": 2}, "maximum_retries", "from 0 to 1"),
        ({"target_url": "http://func-signup.azurewebsites.net/api/x"}, "target_url", "must be an https URL"),
        ({"resource_id": f"https://func-signup.azurewebsites.net/{APP}"}, "resource_id", "must be api://"),
        ({"resource_id": "api://func-signup.azurewebsites.net/not-a-guid"}, "resource_id", "must be api://"),
        ({"resource_id": f"api://other.example/{APP}"}, "resource_id", "DomainNameDoesNotMatch"),
        ({"display_name": " "}, "display_name", "is required"),
    ],
)
def test_extension_inputs_graph_would_refuse_are_refused_by_name(
    extra: dict[str, Any], prop: str, fragment: str
) -> None:
    failures = rules.check_extension(extension(**extra)).failures
    assert any(p == prop and fragment in reason for p, reason in failures), failures


def test_the_resource_id_the_stack_sets_is_one_graph_accepts_and_the_fix_it_names() -> None:
    made = rules.callout_resource_id("https://Func-Signup.azurewebsites.net:443/api/validate-signup?x=1", APP)
    assert made == RESOURCE  # the host alone, as Graph compares it; no port, path or query
    assert rules.resource_id_problem(made, "https://func-signup.azurewebsites.net/api/x") is None
    problem = rules.resource_id_problem(
        f"api://other.example/{APP}", "https://func-signup.azurewebsites.net/api/x"
    )
    assert problem is not None and problem.endswith(f"use {RESOURCE}")
    with pytest.raises(ValueError, match="target_url 'not a url' has no host"):
        rules.callout_resource_id("not a url", APP)


def test_unknown_extension_inputs_pass_a_preview() -> None:
    assert rules.check_extension(extension(resource_id=UNKNOWN, target_url=UNKNOWN)).failures == []


def test_validation_findings_name_codes_messages_and_fixes() -> None:
    result = {
        "errors": [{"code": "ServicePrincipalNotFound", "message": "No service principal."}],
        "warnings": [
            {"code": "PermissionNotGrantedToServicePrincipal", "message": "Not granted."},
            {"code": "SomethingHarmless", "message": "fine"},
        ],
    }
    findings = rules.validation_findings(result)
    assert [f.code for f in findings] == [
        "ServicePrincipalNotFound",
        "PermissionNotGrantedToServicePrincipal",
    ]
    assert not rules.findings_are_final(findings)
    message = rules.validation_failure("'gate' (id x)", findings, 60)
    assert "after waiting 60 s" in message and "No service principal" in message
    assert "azuread.ServicePrincipal" in message and "214e810f-fda8-4fd7-a475-29461495eb00" in message
    final = rules.validation_findings({"errors": [{"code": "DomainNameDoesNotMatch", "message": "m"}]})
    assert rules.findings_are_final(final) and "identifierUris" in rules.validation_failure("x", final, 0)
    assert rules.validation_findings({"errors": [], "warnings": []}) == []


# -- the flow ----------------------------------------------------------------------------------


def flow(**extra: Any) -> dict[str, Any]:
    return {
        "display_name": "Sign up",
        "attributes": [{"attribute_id": "email"}, {"attribute_id": "givenName"}],
        "client_app_ids": [APP],
        **extra,
    }


def test_a_flow_normalises_its_attributes_and_apps() -> None:
    checked = rules.check_flow(flow())
    assert checked.failures == []
    assert [a["attribute_id"] for a in checked.inputs["attributes"]] == ["email", "givenName"]
    assert checked.inputs["extension_id"] is None and checked.inputs["adopt"] is False


@pytest.mark.parametrize(
    ("extra", "prop", "fragment"),
    [
        ({"attributes": [{"attribute_id": "givenName"}]}, "attributes", "must include email"),
        ({"attributes": []}, "attributes", "at least"),
        (
            {
                "attributes": [
                    {"attribute_id": "email"},
                    {"attribute_id": PLAN},
                    {"attribute_id": PLAN.upper().replace("EXTENSION", "extension")},
                ]
            },
            "attributes",
            "listed twice",
        ),
        ({"client_app_ids": ["jwt.ms"]}, "client_app_ids", "must be an application (client) id"),
        ({"client_app_ids": [APP, APP.upper()]}, "client_app_ids", "listed twice"),
        ({"extension_id": "gate"}, "extension_id", "must be a custom extension id"),
        ({"display_name": None}, "display_name", "is required"),
    ],
)
def test_flow_inputs_graph_would_refuse_are_refused_by_name(
    extra: dict[str, Any], prop: str, fragment: str
) -> None:
    failures = rules.check_flow(flow(**extra)).failures
    assert any(p == prop and fragment in reason for p, reason in failures), failures


def test_unknown_flow_inputs_pass_a_preview() -> None:
    assert rules.check_flow(flow(client_app_ids=UNKNOWN, extension_id=UNKNOWN)).failures == []
    assert rules.check_flow(flow(client_app_ids=[APP, UNKNOWN])).failures == []
    # A custom attribute created in the same `up`: its id is unknown, email cannot be checked for.
    assert rules.check_flow(flow(attributes=[{"attribute_id": UNKNOWN}])).failures == []
    assert rules.check_flow(flow(attributes=UNKNOWN)).failures == []


def test_app_order_is_no_change_but_everything_else_is() -> None:
    olds = rules.check_flow(flow(client_app_ids=[APP, "1b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e"])).inputs
    news = rules.check_flow(flow(client_app_ids=["1b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e", APP])).inputs
    assert rules.flow_changes(olds, news) == []
    assert rules.flow_changes(olds, {**news, "display_name": "x", "extension_id": APP}) == [
        "display_name",
        "extension_id",
    ]
    assert rules.flow_changes(olds, {**news, "client_app_ids": UNKNOWN}) == ["client_app_ids"]


def test_set_plans_add_before_they_remove() -> None:
    plan = rules.plan_set(["email", "city"], ["email", "Country"])
    assert plan == rules.SetPlan(add=("Country",), remove=("city",))
    assert rules.ordered_like(["b", "x", "a"], ["a", "b"]) == ["a", "b", "x"]
