"""CustomExtension: an Entra External ID custom authentication extension for OnAttributeCollectionSubmit
(`identity/customAuthenticationExtensions`, Graph v1.0) as a dynamic resource: the call Entra makes
to the sign-up function once the user has entered their attributes."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.graph import external_id_model as rules
from components.graph.external_id_calls import Extension, ExternalIdCalls
from components.graph.gateway import GraphError, GraphGateway
from components.graph.provider import GraphProvider, check_result, refused_outright, roll_back

_INPUTS = (*rules.EXTENSION_FIELDS, "adopt")
_PORTAL = "Entra admin center > External Identities > Custom authentication extensions"


def _describe(props: dict[str, Any], extension_id: str | None = None) -> str:
    return f"{props['display_name']!r}" + (f" (id {extension_id})" if extension_id else "")


class CustomExtensionProvider(GraphProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return check_result(rules.check_extension(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Every field is PATCHable: the provider never asks for a replacement.
        changes = rules.extension_changes(olds, news)
        return DiffResult(
            changes=bool(changes), replaces=[], stables=["extension_id"], delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        async def work(gateway: GraphGateway) -> str:
            graph = ExternalIdCalls(gateway)
            existing = await graph.find_extensions(props["display_name"])
            if existing and not props.get("adopt"):
                ids = ", ".join(item["id"] for item in existing)
                raise GraphError(
                    f"A custom extension named {props['display_name']!r} already exists in the tenant (id {ids}). "
                    "To manage it from this stack, set adopt=True on the CustomExtension (it is then converged to "
                    "these inputs); otherwise choose another display_name or delete the existing extension "
                    f"({_PORTAL})."
                )
            if len(existing) > 1:
                raise GraphError(
                    f"adopt=True but {len(existing)} custom extensions are named {props['display_name']!r} "
                    f"(ids {', '.join(item['id'] for item in existing)}): delete or rename all but one ({_PORTAL}), "
                    "then run again."
                )
            if existing:
                return await self._adopt(graph, existing[0], props)
            made: str | None = None
            try:
                made = (await graph.create_extension(props, seen=()))["id"]
                await graph.validate_extension(made, _describe(props, made))
            # Not only errors: a cancelled create (Ctrl-C, the engine stopping) cleans up too.
            except BaseException as exc:
                if made or not refused_outright(exc):

                    async def remove(cleanup: GraphGateway) -> None:
                        # Without an id the POST's answer was lost: none existed by this name before it.
                        extensions = ExternalIdCalls(cleanup)
                        found = (
                            [made]
                            if made
                            else [e["id"] for e in await extensions.find_extensions(props["display_name"])]
                        )
                        for extension_id in found:
                            await extensions.delete_extension(extension_id)

                    await roll_back(
                        gateway,
                        remove,
                        exc,
                        what=f"the half-created custom extension {_describe(props, made)}",
                        fix=f"delete it ({_PORTAL})",
                    )
                raise
            return made

        extension_id = self._run(work)
        return CreateResult(extension_id, _outputs(props, extension_id))

    async def _adopt(self, graph: ExternalIdCalls, live: Extension, props: dict[str, Any]) -> str:
        if live["type"] != rules.EXTENSION_TYPE:
            raise GraphError(
                f"adopt=True but the custom extension {_describe(props, live['id'])} is a {live['type']}, not an "
                f"{rules.EXTENSION_TYPE}, and Graph cannot change an extension's type: choose another "
                f"display_name, or delete that extension ({_PORTAL})."
            )
        # Converged whole: what the portal holds is not what the stack asks for until proven so.
        await graph.update_extension(live["id"], props, rules.EXTENSION_FIELDS)
        await graph.validate_extension(live["id"], _describe(props, live["id"]))
        return str(live["id"])

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        live = self._run(lambda graph: ExternalIdCalls(graph).get_extension(id_))
        if live is None:
            return ReadResult("", {})
        found: dict[str, Any] = dict(live)
        outs = {**props, **{name: found[name] for name in rules.EXTENSION_FIELDS}, "extension_id": id_}
        return ReadResult(id_, outs, {name: outs.get(name) for name in _INPUTS})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        changes = rules.extension_changes(olds, news)

        async def work(gateway: GraphGateway) -> None:
            graph = ExternalIdCalls(gateway)
            await graph.update_extension(id_, news, changes)
            if any(name in rules.EXTENSION_AUTH_FIELDS for name in changes):
                await graph.validate_extension(id_, _describe(news, id_))

        if changes:
            self._run(work)
        return UpdateResult(_outputs(news, id_))

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        try:
            self._run(lambda graph: ExternalIdCalls(graph).delete_extension(id_))
        except GraphError as exc:
            if exc.status not in (400, 409):
                raise
            # Whether Graph deletes an extension a flow still uses is undocumented; say what to do if not.
            raise GraphError(
                f"{exc} If a sign-up flow still uses this extension, remove it there first (Entra admin center > "
                "External Identities > User flows > the flow > Custom authentication extensions), or destroy the "
                "flow first.",
                exc.status,
            ) from None


def _outputs(props: dict[str, Any], extension_id: str) -> dict[str, Any]:
    # Every input is kept in the outputs: diff, update and delete receive outputs, not inputs.
    return {**props, "extension_id": extension_id}


class CustomExtension(Resource, module="externalid", name="CustomExtension"):
    """An OnAttributeCollectionSubmit custom authentication extension: Entra calls `target_url` with
    a token for `resource_id` (api://<function host>/<resource app client id>) once the user has
    entered their sign-up attributes. Validated with Graph after create and after a change of its
    authentication."""

    extension_id: pulumi.Output[str]
    display_name: pulumi.Output[str]
    target_url: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    timeout_ms: pulumi.Output[int]
    maximum_retries: pulumi.Output[int]

    def __init__(
        self,
        resource_name: str,
        *,
        display_name: pulumi.Input[str],
        target_url: pulumi.Input[str],
        resource_id: pulumi.Input[str],
        timeout_ms: pulumi.Input[int] = rules.DEFAULT_TIMEOUT_MS,
        maximum_retries: pulumi.Input[int] = rules.DEFAULT_MAXIMUM_RETRIES,
        adopt: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            CustomExtensionProvider(),
            resource_name,
            {
                "display_name": display_name,
                "target_url": target_url,
                "resource_id": resource_id,
                "timeout_ms": timeout_ms,
                "maximum_retries": maximum_retries,
                "adopt": adopt,
                "extension_id": None,
            },
            opts,
        )
