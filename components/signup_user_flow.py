"""SignupUserFlow: the API connector that calls the function, and the sign-up/sign-in user flow
with the configured attributes and the connector attached at the configured step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.graph import model
from components.graph.api_connector import ApiConnector
from components.graph.model import UserAttribute, UserAttributeValue
from components.graph.user_flow import B2CUserFlow

# The sign-up steps (as Graph spells them) -> the B2CUserFlow input that takes the connector.
STEP_INPUTS = {graph: prop for prop, graph in model.STEPS.items() if graph in model.SIGNUP_STEPS}


@dataclass(frozen=True)
class SignupUserFlowArgs:
    flow_name: str
    attributes: Sequence[UserAttribute]
    connector_step: str
    connector_display_name: str
    target_url: pulumi.Input[str]
    username: pulumi.Input[str]
    password: pulumi.Input[str]
    adopt: bool = False

    def __post_init__(self) -> None:
        if self.connector_step not in STEP_INPUTS:
            raise ValueError(
                f"connector_step {self.connector_step!r} must be one of {', '.join(STEP_INPUTS)}"
            )


class SignupUserFlow(pulumi.ComponentResource):
    connector_id: pulumi.Output[str]
    user_flow_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: SignupUserFlowArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("b2c-signup:b2c:SignupUserFlow", name, None, opts)
        connector = ApiConnector(
            f"{name}-connector",
            display_name=args.connector_display_name,
            target_url=args.target_url,
            username=args.username,
            password=pulumi.Output.secret(args.password),
            adopt=args.adopt,
            opts=pulumi.ResourceOptions(parent=self),
        )
        steps = dict.fromkeys(STEP_INPUTS.values())
        steps[STEP_INPUTS[args.connector_step]] = connector.connector_id
        # The flow takes the connector's id as an input, so destroy removes the flow first.
        flow = B2CUserFlow(
            f"{name}-flow",
            name=args.flow_name,
            attributes=list(args.attributes),
            post_attribute_collection=steps["post_attribute_collection"],
            post_federation_signup=steps["post_federation_signup"],
            adopt=args.adopt,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.connector_id = connector.connector_id
        self.user_flow_id = flow.flow_id
        self.register_outputs({"connector_id": self.connector_id, "user_flow_id": self.user_flow_id})


def user_attribute(
    attribute_id: str,
    *,
    optional: bool = False,
    input_type: str | None = None,
    choices: Sequence[UserAttributeValue] = (),
) -> UserAttribute:
    """A sign-up attribute with a readable label: `givenName` is shown as "Given name"."""
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in attribute_id).strip()
    attribute = UserAttribute(
        attribute_id=attribute_id,
        is_optional=optional,
        # B2C verifies email addresses at sign-up; the connector relies on that.
        requires_verification=attribute_id == "email",
        display_name="Email address" if attribute_id == "email" else words[:1].upper() + words[1:],
    )
    if input_type is not None:
        attribute["input_type"] = input_type
    if choices:
        attribute["user_attribute_values"] = list(choices)
    return attribute
