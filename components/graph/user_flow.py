"""B2CUserFlow: a B2C user flow (`identity/b2cUserFlows`, Graph beta) with its attributes and
API connector steps, as a dynamic resource."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.graph import model
from components.graph.b2c_calls import B2CCalls
from components.graph.gateway import GraphError, GraphGateway
from components.graph.model import UserAttribute
from components.graph.provider import GraphProvider, check_result, half_applied, refused_outright, roll_back

_STEP_NAMES = tuple(model.STEPS.values())
_INPUTS = (
    "name",
    "user_flow_type",
    "user_flow_type_version",
    *model.FLOW_PATCH_FIELDS,
    "attributes",
    *model.STEPS,
    "adopt",
)


async def _apply_attributes(graph: B2CCalls, flow_id: str, plan: model.AttributePlan) -> None:
    for attribute in plan.add:
        await graph.add_attribute(flow_id, attribute)
    for attribute in plan.patch:
        await graph.update_attribute(flow_id, attribute)
    for attribute_id in plan.delete:
        await graph.delete_attribute(flow_id, attribute_id)


def _ordered_like(
    live: Sequence[Mapping[str, Any]], wanted: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Live assignments in the order of the inputs (extras last), so that order alone is no drift."""
    rank = {item["attribute_id"].lower(): index for index, item in enumerate(wanted)}
    return sorted(
        (dict(item) for item in live), key=lambda item: rank.get(item["attribute_id"].lower(), len(rank))
    )


class UserFlowProvider(GraphProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return check_result(model.check_user_flow(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = model.flow_replaces(olds, news)
        changes = model.flow_changes(olds, news)
        # The id is the name, so the old flow must go before the new one can take it.
        return DiffResult(
            changes=bool(changes), replaces=replaces, stables=[], delete_before_replace=bool(replaces)
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        flow_id = props["flow_id"]

        async def work(gateway: GraphGateway) -> None:
            graph = B2CCalls(gateway)
            existing = await graph.get_user_flow(flow_id)
            if existing is not None and not props.get("adopt"):
                raise GraphError(
                    f"The user flow {flow_id} already exists in the B2C tenant. To manage it from this stack, set "
                    "adopt=True on the B2CUserFlow (it is then converged to these inputs); otherwise choose another "
                    "name or delete the existing flow."
                )
            if existing is not None:
                attached = await self._adopt(graph, existing, props)
                await self._converge(graph, flow_id, props, attached)
                return
            made = False
            try:
                await graph.create_user_flow(props)
                made = True
                await self._converge(graph, flow_id, props, dict.fromkeys(_STEP_NAMES))
            # Not only errors: a cancelled create (Ctrl-C, the engine stopping) cleans up too.
            except BaseException as exc:
                if made or not refused_outright(exc):
                    await roll_back(
                        gateway,
                        lambda cleanup: B2CCalls(cleanup).delete_user_flow(flow_id),
                        exc,
                        what=f"the half-created user flow {flow_id}",
                        fix="delete it in the portal (Azure AD B2C > User flows)",
                    )
                raise

        self._run(work)
        return CreateResult(flow_id, {**props})

    async def _adopt(
        self, graph: B2CCalls, live: Mapping[str, Any], props: Mapping[str, Any]
    ) -> dict[str, Any]:
        flow_id = props["flow_id"]
        for prop in ("user_flow_type", "user_flow_type_version"):
            if live[prop] != props[prop]:
                raise GraphError(
                    f"adopt=True but the existing user flow {flow_id} has {prop} {live[prop]!r}, not {props[prop]!r}, "
                    f"and Graph cannot change it: set {prop} to {live[prop]!r}, or delete the flow and run again."
                )
        patch = {prop: props[prop] for prop in model.FLOW_PATCH_FIELDS if live[prop] != props[prop]}
        if patch:
            await graph.update_user_flow(flow_id, patch)
        return await graph.get_connector_configuration(flow_id, _STEP_NAMES)

    async def _converge(
        self, graph: B2CCalls, flow_id: str, props: Mapping[str, Any], attached: Mapping[str, str | None]
    ) -> None:
        # A new flow may come with default attributes (undocumented): listing shows what to change.
        current = await graph.list_attributes(flow_id)
        await _apply_attributes(graph, flow_id, model.plan_attributes(current, props["attributes"]))
        for prop, step in model.STEPS.items():
            if props[prop] != attached[step]:
                await graph.set_connector(flow_id, step, props[prop])

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        async def work(gateway: GraphGateway) -> dict[str, Any] | None:
            graph = B2CCalls(gateway)
            live = await graph.get_user_flow(id_)
            if live is None:
                return None
            attached = await graph.get_connector_configuration(id_, _STEP_NAMES)
            attributes = await graph.list_attributes(id_)
            return {
                **{
                    prop: live[prop]
                    for prop in ("user_flow_type", "user_flow_type_version", *model.FLOW_PATCH_FIELDS)
                },
                "attributes": _ordered_like(attributes, props.get("attributes") or []),
                **{prop: attached[step] for prop, step in model.STEPS.items()},
            }

        live = self._run(work)
        if live is None:
            return ReadResult("", {})
        outs = {**props, **live, "flow_id": id_}
        return ReadResult(id_, outs, {name: outs.get(name) for name in _INPUTS})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        async def work(gateway: GraphGateway) -> None:
            graph = B2CCalls(gateway)
            patch = {prop: news[prop] for prop in model.FLOW_PATCH_FIELDS if olds.get(prop) != news[prop]}
            if patch:
                await graph.update_user_flow(id_, patch)
            if (olds.get("attributes") or []) != news["attributes"]:
                # Planned from what Graph holds, not from the last outputs: an earlier update that
                # failed half-way left changes the state does not know of.
                current = await graph.list_attributes(id_)
                await _apply_attributes(graph, id_, model.plan_attributes(current, news["attributes"]))
            # Attaching and detaching are PUTs: sending one again is harmless.
            for step, connector_id in model.step_changes(olds, news).items():
                await graph.set_connector(id_, step, connector_id)

        try:
            self._run(work)
        except GraphError as exc:
            raise half_applied(exc) from None
        return UpdateResult({**news, "flow_id": id_})

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        self._run(lambda graph: B2CCalls(graph).delete_user_flow(id_))


class B2CUserFlow(Resource, module="b2c", name="UserFlow"):
    """A B2C user flow with its sign-up attributes and API connector steps."""

    flow_id: pulumi.Output[str]
    name: pulumi.Output[str]
    user_flow_type: pulumi.Output[str]
    user_flow_type_version: pulumi.Output[int]
    default_language_tag: pulumi.Output[str]
    is_language_customization_enabled: pulumi.Output[bool]
    attributes: pulumi.Output[list[dict[str, Any]]]
    post_federation_signup: pulumi.Output[str | None]
    post_attribute_collection: pulumi.Output[str | None]
    pre_token_issuance: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str],
        user_flow_type: pulumi.Input[str] = "signUpOrSignIn",
        user_flow_type_version: pulumi.Input[int] = 3,
        default_language_tag: pulumi.Input[str] = "en",
        is_language_customization_enabled: pulumi.Input[bool] = False,
        attributes: pulumi.Input[Sequence[pulumi.Input[UserAttribute]]] = (),
        post_federation_signup: pulumi.Input[str] | None = None,
        post_attribute_collection: pulumi.Input[str] | None = None,
        pre_token_issuance: pulumi.Input[str] | None = None,
        adopt: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            UserFlowProvider(),
            resource_name,
            {
                "name": name,
                "user_flow_type": user_flow_type,
                "user_flow_type_version": user_flow_type_version,
                "default_language_tag": default_language_tag,
                "is_language_customization_enabled": is_language_customization_enabled,
                "attributes": list(attributes) if isinstance(attributes, list | tuple) else attributes,
                "post_federation_signup": post_federation_signup,
                "post_attribute_collection": post_attribute_collection,
                "pre_token_issuance": pre_token_issuance,
                "adopt": adopt,
                "flow_id": None,
            },
            opts,
        )
