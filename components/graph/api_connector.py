"""ApiConnector: a B2C API connector (`identity/apiConnectors`, Graph v1.0) as a dynamic resource."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.graph import model
from components.graph.b2c_calls import B2CCalls
from components.graph.gateway import GraphError, GraphGateway
from components.graph.provider import GraphProvider, check_result, secrets_of

# Read back from Graph: what refresh can compare. Secrets never come back (`******` or nothing).
_LIVE_FIELDS = ("display_name", "target_url", "auth_type", "username")


class ApiConnectorProvider(GraphProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return check_result(model.check_connector(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # No Graph call: olds are the outputs recorded at the last apply, secrets included.
        changes = model.connector_changes(olds, news)
        return DiffResult(
            changes=bool(changes), replaces=[], stables=["connector_id"], delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        async def work(gateway: GraphGateway) -> dict[str, Any]:
            graph = B2CCalls(gateway)
            existing = await graph.find_connectors(props["display_name"])
            if existing and not props.get("adopt"):
                ids = ", ".join(item["id"] for item in existing)
                raise GraphError(
                    f"An API connector named {props['display_name']!r} already exists in the B2C tenant (id {ids}). "
                    "To manage it from this stack, set adopt=True on the ApiConnector (it is then converged to "
                    "these inputs); otherwise choose another display_name or delete the existing connector."
                )
            if len(existing) > 1:
                raise GraphError(
                    f"adopt=True but {len(existing)} API connectors are named {props['display_name']!r}: "
                    "delete or rename all but one in the B2C tenant, then run again."
                )
            if existing:
                # Adopted: everything is sent, because the secrets on the live object are unknowable.
                await graph.update_connector(
                    existing[0]["id"], model.connector_patch(model.CONNECTOR_FIELDS, props)
                )
                return {**existing[0], "certificate_thumbprints": model.certificate_thumbprints(props)}
            return await graph.create_connector(model.connector_patch(model.CONNECTOR_FIELDS, props))

        live = self._run(work, secrets_of(props, model.CONNECTOR_SECRETS))
        return CreateResult(live["id"], _outputs(props, live["id"], live["certificate_thumbprints"]))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        live = self._run(
            lambda graph: B2CCalls(graph).get_connector(id_), secrets_of(props, model.CONNECTOR_SECRETS)
        )
        if live is None:
            return ReadResult("", {})
        # Live values win where Graph reports them; the write-only secrets stay as last applied.
        outs = {**props, **{name: live[name] for name in _LIVE_FIELDS}, "connector_id": id_}
        outs["certificate_thumbprints"] = live["certificate_thumbprints"]
        inputs = {name: outs.get(name) for name in (*model.CONNECTOR_FIELDS, "adopt")}
        return ReadResult(id_, outs, inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        changes = model.connector_changes(olds, news)
        patch = model.connector_patch(changes, news)
        if patch:
            self._run(
                lambda graph: B2CCalls(graph).update_connector(id_, patch),
                secrets_of(news, model.CONNECTOR_SECRETS),
            )
        thumbprints = (
            model.certificate_thumbprints(news)
            if any(name in model.CONNECTOR_AUTH_FIELDS for name in changes)
            else olds.get("certificate_thumbprints") or []
        )
        return UpdateResult(_outputs(news, id_, thumbprints))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._run(
            lambda graph: B2CCalls(graph).delete_connector(id_), secrets_of(props, model.CONNECTOR_SECRETS)
        )


def _outputs(props: dict[str, Any], connector_id: str, thumbprints: list[str]) -> dict[str, Any]:
    # Every input is kept in the outputs: diff, update and delete receive outputs, not inputs.
    return {**props, "connector_id": connector_id, "certificate_thumbprints": thumbprints}


class ApiConnector(Resource, module="b2c", name="ApiConnector"):
    """A B2C API connector. Secrets are write-only on Graph: changes are detected from inputs."""

    connector_id: pulumi.Output[str]
    display_name: pulumi.Output[str]
    target_url: pulumi.Output[str]
    auth_type: pulumi.Output[str]
    username: pulumi.Output[str | None]
    certificate_thumbprints: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        *,
        display_name: pulumi.Input[str],
        target_url: pulumi.Input[str],
        username: pulumi.Input[str] | None = None,
        password: pulumi.Input[str] | None = None,
        pkcs12_value: pulumi.Input[str] | None = None,
        certificate_password: pulumi.Input[str] | None = None,
        adopt: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        auth_type = model.AUTH_CERTIFICATE if pkcs12_value is not None else model.AUTH_BASIC
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=list(model.CONNECTOR_SECRETS))
        super().__init__(
            ApiConnectorProvider(),
            resource_name,
            {
                "display_name": display_name,
                "target_url": target_url,
                "auth_type": auth_type,
                "username": username,
                "password": password,
                "pkcs12_value": pkcs12_value,
                "certificate_password": certificate_password,
                "adopt": adopt,
                "connector_id": None,
                "certificate_thumbprints": None,
            },
            pulumi.ResourceOptions.merge(opts, secret_opts),
        )
