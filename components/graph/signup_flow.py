"""SignUpFlow: an Entra External ID self-service sign-up flow (`identity/authenticationEventsFlows`,
Graph v1.0) with email and password sign-up, the attributes it collects and their inputs, the apps
linked to it, and a custom extension at OnAttributeCollectionSubmit, as a dynamic resource."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.graph import external_id_model as rules
from components.graph.external_id_calls import NOT_SHOWN, ExternalIdCalls
from components.graph.gateway import GraphError, GraphGateway
from components.graph.provider import GraphProvider, check_result, half_applied, refused_outright, roll_back

_INPUTS = ("display_name", "attributes", "client_app_ids", "extension_id", "adopt")
_PORTAL = "Entra admin center > External Identities > User flows"


async def _refuse_apps_linked_elsewhere(
    graph: ExternalIdCalls, app_ids: Sequence[str], flow_id: str | None
) -> None:
    """Graph links an app to one sign-up flow only: say which flow holds it, before changing anything."""
    for app_id in app_ids:
        others = [f for f in await graph.flows_linking(app_id) if f["id"] != flow_id]
        if others:
            raise GraphError(
                f"The app {app_id} is already linked to the sign-up flow {others[0]['display_name']!r} (id "
                f"{others[0]['id']}), and an app can be linked to one sign-up flow only. Remove it from that flow "
                f"({_PORTAL} > {others[0]['display_name']} > Applications) or delete that flow, then run again; or "
                "link another app.",
                409,
            )


async def _converge_attributes(
    graph: ExternalIdCalls, flow_id: str, current: Sequence[str], wanted: Sequence[Mapping[str, Any]]
) -> None:
    plan = rules.plan_set(current, [a["attribute_id"] for a in wanted])
    # Additions first: Graph refuses to remove a flow's last attribute. A removal takes its input
    # with it; then the page is written whole, every input in order.
    for attribute_id in plan.add:
        await graph.add_attribute(flow_id, attribute_id)
    for attribute_id in plan.remove:
        await graph.remove_attribute(flow_id, attribute_id)
    await graph.set_inputs(flow_id, wanted)


async def _converge_apps(graph: ExternalIdCalls, flow_id: str, wanted: Sequence[str]) -> None:
    # Planned from what Graph holds: an earlier update that failed half-way left links the state
    # does not know of.
    plan = rules.plan_set(await graph.list_apps(flow_id), wanted)
    await _refuse_apps_linked_elsewhere(graph, plan.add, flow_id)
    for app_id in plan.add:
        await graph.link_app(flow_id, app_id)
    for app_id in plan.remove:
        await graph.unlink_app(flow_id, app_id)


async def _set_extension(graph: ExternalIdCalls, flow_id: str, extension_id: str | None) -> None:
    if extension_id:
        await graph.attach_extension(flow_id, extension_id)
    else:
        await graph.detach_extension(flow_id)


class SignUpFlowProvider(GraphProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return check_result(rules.check_flow(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Everything is updated in place. Should the engine replace the flow all the same (`up
        # --replace`), the old one goes first: its name is unique and it holds the apps.
        changes = rules.flow_changes(olds, news)
        return DiffResult(changes=bool(changes), replaces=[], stables=["flow_id"], delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        async def work(gateway: GraphGateway) -> str:
            graph = ExternalIdCalls(gateway)
            existing = await graph.find_flows(props["display_name"])
            if existing and not props.get("adopt"):
                raise GraphError(
                    f"A sign-up flow named {props['display_name']!r} already exists in the tenant (id "
                    f"{existing[0]['id']}). To manage it from this stack, set adopt=True on the SignUpFlow (it is then "
                    "converged to these inputs); otherwise choose another display_name or delete the existing flow "
                    f"({_PORTAL})."
                )
            own = existing[0]["id"] if existing else None
            await _refuse_apps_linked_elsewhere(graph, props["client_app_ids"], own)
            if existing:
                await self._adopt(graph, existing[0], props)
                return str(existing[0]["id"])
            made: str | None = None
            try:
                made = (await graph.create_flow(props))["id"]
                if props["extension_id"]:
                    await graph.attach_extension(made, props["extension_id"])
            # Not only errors: a cancelled create (Ctrl-C, the engine stopping) cleans up too.
            except BaseException as exc:
                if made or not refused_outright(exc):

                    async def remove(cleanup: GraphGateway) -> None:
                        # Without an id the POST's answer was lost: flow names are unique, and none had this one.
                        flows = ExternalIdCalls(cleanup)
                        for flow_id in (
                            [made]
                            if made
                            else [f["id"] for f in await flows.find_flows(props["display_name"])]
                        ):
                            await flows.delete_flow(flow_id)

                    await roll_back(
                        gateway,
                        remove,
                        exc,
                        what=f"the half-created sign-up flow {props['display_name']!r}",
                        fix=f"delete it ({_PORTAL})",
                    )
                raise
            return made

        flow_id = self._run(work)
        return CreateResult(flow_id, {**props, "flow_id": flow_id})

    async def _adopt(self, graph: ExternalIdCalls, live: Mapping[str, Any], props: Mapping[str, Any]) -> None:
        flow_id = str(live["id"])
        if live["type"] != rules.FLOW_TYPE or not live["has_attribute_collection"]:
            raise GraphError(
                f"adopt=True but the flow {props['display_name']!r} (id {flow_id}) is not a self-service sign-up flow "
                "that collects attributes, and Graph can add attribute collection only when a flow is created: "
                f"choose another display_name, or delete that flow ({_PORTAL}) and run again."
            )
        await _converge_attributes(graph, flow_id, live["attribute_ids"], props["attributes"])
        await _converge_apps(graph, flow_id, props["client_app_ids"])
        # What is attached cannot always be read back: set it either way.
        await _set_extension(graph, flow_id, props["extension_id"])

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        async def work(gateway: GraphGateway) -> dict[str, Any] | None:
            graph = ExternalIdCalls(gateway)
            live = await graph.get_flow(id_)
            if live is None:
                return None
            apps = await graph.list_apps(id_)
            attached = live["extension_id"]
            return {
                "display_name": live["display_name"],
                "attributes": live["attributes"],
                "client_app_ids": rules.ordered_like(apps, props.get("client_app_ids") or []),
                # A handler Graph does not show the extension of: the last one applied.
                "extension_id": props.get("extension_id") if attached == NOT_SHOWN else attached,
            }

        live = self._run(work)
        if live is None:
            return ReadResult("", {})
        outs = {**props, **live, "flow_id": id_}
        return ReadResult(id_, outs, {name: outs.get(name) for name in _INPUTS})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        changes = rules.flow_changes(olds, news)

        async def work(gateway: GraphGateway) -> None:
            graph = ExternalIdCalls(gateway)
            if "display_name" in changes:
                await graph.rename_flow(id_, news["display_name"])
            if "attributes" in changes:
                live = await graph.get_flow(id_)
                if live is None:
                    raise GraphError(
                        f"The sign-up flow {id_} is gone: run `pulumi refresh`, then `pulumi up`.", 404
                    )
                await _converge_attributes(graph, id_, live["attribute_ids"], news["attributes"])
            if "client_app_ids" in changes:
                await _converge_apps(graph, id_, news["client_app_ids"])
            if "extension_id" in changes:
                await _set_extension(graph, id_, news["extension_id"])

        try:
            self._run(work)
        except GraphError as exc:
            raise half_applied(exc) from None
        return UpdateResult({**news, "flow_id": id_})

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        # Deleting the flow detaches its extension and unlinks its apps.
        self._run(lambda graph: ExternalIdCalls(graph).delete_flow(id_))


class SignUpFlow(Resource, module="externalid", name="SignUpFlow"):
    """A self-service sign-up flow: email with password, the attributes it collects, the apps that
    use it, and the custom extension Entra calls when the attributes are submitted."""

    flow_id: pulumi.Output[str]
    display_name: pulumi.Output[str]
    attributes: pulumi.Output[list[dict[str, Any]]]
    client_app_ids: pulumi.Output[list[str]]
    extension_id: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        *,
        display_name: pulumi.Input[str],
        attributes: pulumi.Input[Sequence[pulumi.Input[Mapping[str, Any]]]],
        client_app_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
        extension_id: pulumi.Input[str] | None = None,
        adopt: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # A replacement deletes the old flow first: Graph keeps flow names unique and links an app
        # to one flow only, so the new one could not be made beside it.
        replace_opts = pulumi.ResourceOptions(delete_before_replace=True)
        super().__init__(
            SignUpFlowProvider(),
            resource_name,
            {
                "display_name": display_name,
                "attributes": list(attributes) if isinstance(attributes, list | tuple) else attributes,
                "client_app_ids": list(client_app_ids)
                if isinstance(client_app_ids, list | tuple)
                else client_app_ids,
                "extension_id": extension_id,
                "adopt": adopt,
                "flow_id": None,
            },
            pulumi.ResourceOptions.merge(opts, replace_opts),
        )
