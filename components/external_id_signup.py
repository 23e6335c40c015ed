"""ExternalIdSignUp: what calls the function during an External ID sign-up — the custom attributes
the stack declares, the extension's resource app's App ID URI, the custom authentication extension
(validated), and the sign-up flow with its attributes, linked apps and the extension attached at
OnAttributeCollectionSubmit.

The order is the one Entra needs (../shared/reference/external-id-contract.md §7): the resource
app's App ID URI names the function's host, so it follows the function; the extension follows the
URI, the app role assignment and the function (its validation asks Entra for a token to the URI);
the flow follows the extension and the apps it links. Destroy runs the other way round: the flow
(detaching the extension) goes before the extension.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_azuread as azuread

from components.graph.custom_extension import CustomExtension
from components.graph.external_id_model import CustomAttribute, callout_resource_id
from components.graph.signup_flow import SignUpFlow


@dataclass(frozen=True)
class ExternalIdSignUpArgs:
    flow_display_name: str
    extension_display_name: str
    # Each {attribute_id, is_optional, input_type?, user_attribute_values?}; an attribute_id that
    # names one of `custom_attributes` is replaced by the id Graph gives it.
    attributes: Sequence[Mapping[str, Any]]
    target_url: pulumi.Input[str]  # the function's validate-signup URL
    callout_client_id: pulumi.Input[str]
    callout_application_id: pulumi.Input[str]  # the resource app's resource id (/applications/<id>)
    client_app_ids: Sequence[pulumi.Input[str]]  # the apps whose sign-up runs this flow
    custom_attributes: Sequence[CustomAttribute] = ()
    adopt: bool = False
    # What the extension's validation needs in place first: the apps and their grants.
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class ExternalIdSignUp(pulumi.ComponentResource):
    extension_id: pulumi.Output[str]
    flow_id: pulumi.Output[str]
    callout_resource_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ExternalIdSignUpArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("b2c-signup:externalid:SignUp", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        custom_ids = {
            spec.name.lower(): azuread.UserFlowAttribute(
                f"{name}-attribute-{spec.name}",
                display_name=spec.name,
                data_type=spec.data_type,
                description=spec.description,
                # The tenant's, not the stack's: every user's value of it goes with it, and other
                # stacks' flows may collect it. A destroy leaves it (README, what stays behind).
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            ).id
            for spec in args.custom_attributes
        }
        # Entra asks for a token to it, and the function checks the token's audience (1003014 or
        # 1003015 when its host is not the target's).
        resource_id = pulumi.Output.all(args.target_url, args.callout_client_id).apply(
            lambda values: callout_resource_id(values[0], values[1])
        )
        uri = azuread.ApplicationIdentifierUri(
            f"{name}-callout-uri",
            application_id=args.callout_application_id,
            identifier_uri=resource_id,
            opts=child,
        )
        extension = CustomExtension(
            f"{name}-extension",
            display_name=args.extension_display_name,
            target_url=args.target_url,
            resource_id=uri.identifier_uri,
            adopt=args.adopt,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[uri, *args.depends_on]),
        )
        attributes = [
            {
                **attribute,
                "attribute_id": custom_ids.get(
                    str(attribute["attribute_id"]).lower(), attribute["attribute_id"]
                ),
            }
            for attribute in args.attributes
        ]
        flow = SignUpFlow(
            f"{name}-flow",
            display_name=args.flow_display_name,
            attributes=attributes,
            client_app_ids=list(args.client_app_ids),
            extension_id=extension.extension_id,
            adopt=args.adopt,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.extension_id = extension.extension_id
        self.flow_id = flow.flow_id
        self.callout_resource_id = uri.identifier_uri
        self.register_outputs(
            {
                "extension_id": self.extension_id,
                "flow_id": self.flow_id,
                "callout_resource_id": self.callout_resource_id,
            }
        )
