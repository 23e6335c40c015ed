"""The B2C objects through the Graph gateway: API connectors (v1.0) and user flows with their
attributes and connector steps (beta only), as raw JSON with small typed shapes of our own.

Requests, retries, budgets and errors are the gateway's; this module knows the paths, the bodies
and the shapes B2C reads back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from components.graph import model, permissions
from components.graph.gateway import GraphError, GraphGateway

# -- the shapes we read ------------------------------------------------------------------------------


class ConnectorJson(TypedDict, total=False):
    id: str
    displayName: str  # Graph's names
    targetUrl: str
    authenticationConfiguration: dict[str, Any]


class FlowJson(TypedDict, total=False):
    id: str
    userFlowType: str
    userFlowTypeVersion: float
    defaultLanguageTag: str
    isLanguageCustomizationEnabled: bool


class AttributeJson(TypedDict, total=False):
    id: str
    userInputType: str
    isOptional: bool
    requiresVerification: bool
    displayName: str
    userAttributeValues: list[dict[str, Any]]


def connector_from_graph(item: ConnectorJson) -> dict[str, Any]:
    """Live connector state as the providers record it (secrets never come back from Graph)."""
    auth = item.get("authenticationConfiguration") or {}
    kind = auth.get("@odata.type")
    thumbprints: list[str] = []
    username = None
    if kind == "#microsoft.graph.basicAuthentication":
        auth_type, username = "basic", auth.get("username")
    elif kind == "#microsoft.graph.clientCertificateAuthentication" or "certificateList" in auth:
        auth_type = "certificate"
        thumbprints = sorted(
            c["thumbprint"] for c in auth.get("certificateList") or [] if c.get("thumbprint")
        )
    else:
        auth_type = "none"
    return {
        "id": item.get("id"),
        "display_name": item.get("displayName"),
        "target_url": item.get("targetUrl"),
        "auth_type": auth_type,
        "username": username,
        "certificate_thumbprints": thumbprints,
    }


def flow_from_graph(item: FlowJson) -> dict[str, Any]:
    version = item.get("userFlowTypeVersion")
    return {
        "id": item.get("id"),
        "user_flow_type": item.get("userFlowType"),
        "user_flow_type_version": int(version)
        if version is not None and version == int(version)
        else version,
        "default_language_tag": item.get("defaultLanguageTag"),
        "is_language_customization_enabled": bool(item.get("isLanguageCustomizationEnabled")),
    }


def attribute_from_graph(item: AttributeJson) -> dict[str, Any]:
    found: dict[str, Any] = {
        "attribute_id": item.get("id"),
        "input_type": item.get("userInputType"),
        "is_optional": bool(item.get("isOptional")),
        "requires_verification": bool(item.get("requiresVerification")),
        "display_name": item.get("displayName") or item.get("id"),
    }
    choices = [
        {"name": c.get("name"), "value": c.get("value"), "is_default": bool(c.get("isDefault"))}
        for c in item.get("userAttributeValues") or []
    ]
    if choices:  # as model.normalise_attribute records them: only when there are any
        found["user_attribute_values"] = choices
    return found


def _connector_body(patch: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if "display_name" in patch:
        body["displayName"] = patch["display_name"]
    if "target_url" in patch:
        body["targetUrl"] = patch["target_url"]
    auth = patch.get("authentication")
    if auth is not None and auth["type"] == "certificate":
        body["authenticationConfiguration"] = {
            "@odata.type": "#microsoft.graph.pkcs12Certificate",
            "pkcs12Value": auth["pkcs12_value"],
            "password": auth["password"],
        }
    elif auth is not None:
        body["authenticationConfiguration"] = {
            "@odata.type": "#microsoft.graph.basicAuthentication",
            "username": auth["username"],
            "password": auth["password"],
        }
    return body


def _assignment(attribute: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayName": attribute["display_name"],
        "isOptional": attribute["is_optional"],
        "requiresVerification": attribute["requires_verification"],
        "userInputType": attribute["input_type"],
    }
    if create:
        body["userAttribute"] = {"id": attribute["attribute_id"]}
    choices = attribute.get("user_attribute_values") or []
    # A PATCH always names the choices, so that a select attribute turned into a text box loses
    # them instead of keeping them behind the new input type.
    if choices or not create:
        body["userAttributeValues"] = [
            {"isDefault": c["is_default"], "name": c["name"], "value": c["value"]} for c in choices
        ]
    return body


class B2CCalls:
    """The B2C operations of one Graph session: `B2CCalls(graph).create_connector(...)`."""

    def __init__(self, graph: GraphGateway) -> None:
        self.graph = graph

    # The pure readers below take Graph's documented shapes; a nested part in another shape is
    # refused here, by name, before they read it.

    def _connector(self, item: ConnectorJson, describe: str) -> dict[str, Any]:
        auth = item.get("authenticationConfiguration")
        if auth is not None:
            auth = self.graph.expect_object(auth, describe, "its authenticationConfiguration")
            certificates = auth.get("certificateList")
            if certificates is not None:
                for certificate in self.graph.expect_list(certificates, describe, "its certificateList"):
                    self.graph.expect_object(certificate, describe, "a certificate of its certificateList")
        return connector_from_graph(item)

    def _flow(self, item: FlowJson, describe: str) -> dict[str, Any]:
        if item.get("userFlowTypeVersion") is not None:
            self.graph.expect_number(item.get("userFlowTypeVersion"), describe, "its userFlowTypeVersion")
        return flow_from_graph(item)

    def _attribute(self, item: AttributeJson, describe: str) -> dict[str, Any]:
        choices = item.get("userAttributeValues")
        if choices is not None:
            for choice in self.graph.expect_list(choices, describe, "its userAttributeValues"):
                self.graph.expect_object(choice, describe, "a choice of its userAttributeValues")
        return attribute_from_graph(item)

    # -- API connectors (v1.0) -----------------------------------------------------------------

    async def get_connector(self, connector_id: str) -> dict[str, Any] | None:
        describe = f"reading API connector {connector_id}"
        found = await self.graph.absent_is_none(
            describe,
            permissions.CONNECTORS,
            lambda: self.graph.send_object("GET", f"v1.0/identity/apiConnectors/{connector_id}"),
        )
        return self._connector(found, describe) if found else None

    async def find_connectors(self, display_name: str) -> list[dict[str, Any]]:
        """Connectors with this display name. Listed and filtered here: whether Graph supports
        $filter on displayName is undocumented, and a tenant has few connectors."""
        listed = await self.graph.pages(
            "listing API connectors", permissions.CONNECTORS, "v1.0/identity/apiConnectors"
        )
        return [
            self._connector(item, "listing API connectors")
            for item in listed
            if str(item.get("displayName") or "").casefold() == display_name.casefold()
        ]

    async def create_connector(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        describe = f"creating API connector {spec['display_name']!r}"

        async def landed() -> ConnectorJson | None:
            # Created just before (create looked first), so one connector of this name is ours.
            matches = await self.find_connectors(spec["display_name"])
            if len(matches) != 1:
                return None
            found: ConnectorJson = await self.graph.send_object(
                "GET", f"v1.0/identity/apiConnectors/{matches[0]['id']}"
            )
            return found

        created = await self.graph.call(
            describe,
            permissions.CONNECTORS,
            lambda: self.graph.send_object("POST", "v1.0/identity/apiConnectors", _connector_body(spec)),
            recover=landed,
        )
        if not created or not created.get("id"):
            raise GraphError(f"Microsoft Graph returned no connector id while {describe}")
        return self._connector(created, describe)

    async def update_connector(self, connector_id: str, patch: Mapping[str, Any]) -> None:
        await self.graph.call(
            f"updating API connector {connector_id}",
            permissions.CONNECTORS,
            lambda: self.graph.send(
                "PATCH", f"v1.0/identity/apiConnectors/{connector_id}", _connector_body(patch)
            ),
            lag_tolerant=True,
        )

    async def delete_connector(self, connector_id: str) -> None:
        """Delete; an already absent connector counts as deleted."""
        await self.graph.absent_is_none(
            f"deleting API connector {connector_id}",
            permissions.CONNECTORS,
            lambda: self.graph.send("DELETE", f"v1.0/identity/apiConnectors/{connector_id}"),
        )

    # -- user flows (beta only) ----------------------------------------------------------------

    async def get_user_flow(self, flow_id: str) -> dict[str, Any] | None:
        describe = f"reading user flow {flow_id}"
        found = await self.graph.absent_is_none(
            describe,
            permissions.USER_FLOWS,
            lambda: self.graph.send_object("GET", f"beta/identity/b2cUserFlows/{flow_id}"),
        )
        return self._flow(found, describe) if found else None

    async def create_user_flow(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        describe = f"creating user flow {spec['flow_id']}"
        body = {
            "id": spec["name"],
            "userFlowType": spec["user_flow_type"],
            "userFlowTypeVersion": float(spec["user_flow_type_version"]),
            "defaultLanguageTag": spec["default_language_tag"],
            "isLanguageCustomizationEnabled": spec["is_language_customization_enabled"],
        }
        created = await self.graph.call(
            describe,
            permissions.USER_FLOWS,
            lambda: self.graph.send_object("POST", "beta/identity/b2cUserFlows", body),
            recover=lambda: self.graph.send_object("GET", f"beta/identity/b2cUserFlows/{spec['flow_id']}"),
        )
        if not created or not created.get("id"):
            raise GraphError(f"Microsoft Graph returned no user flow while {describe}")
        return self._flow(created, describe)

    async def update_user_flow(self, flow_id: str, patch: Mapping[str, Any]) -> None:
        body = {
            model.FLOW_PATCH_FIELDS[key]: value
            for key, value in patch.items()
            if key in model.FLOW_PATCH_FIELDS
        }
        await self.graph.call(
            f"updating user flow {flow_id}",
            permissions.USER_FLOWS,
            lambda: self.graph.send("PATCH", f"beta/identity/b2cUserFlows/{flow_id}", body),
            lag_tolerant=True,
        )

    async def delete_user_flow(self, flow_id: str) -> None:
        await self.graph.absent_is_none(
            f"deleting user flow {flow_id}",
            permissions.USER_FLOWS,
            lambda: self.graph.send("DELETE", f"beta/identity/b2cUserFlows/{flow_id}"),
        )

    async def get_connector_configuration(
        self, flow_id: str, steps: tuple[str, ...]
    ) -> dict[str, str | None]:
        """Graph step -> attached connector id (documented for b2cUserFlows, in no OpenAPI)."""
        describe = f"reading the API connectors of user flow {flow_id}"
        config = await self.graph.call(
            describe,
            permissions.USER_FLOWS,
            lambda: self.graph.send_object(
                "GET",
                f"beta/identity/b2cUserFlows/{flow_id}/apiConnectorConfiguration?$expand={','.join(steps)}",
            ),
        )
        return {
            step: self.graph.expect_object(config.get(step) or {}, describe, f"its {step}").get("id") or None
            for step in steps
        }

    async def set_connector(self, flow_id: str, step: str, connector_id: str | None) -> None:
        """Attach (PUT $ref with @odata.id) or detach (PUT $ref with {}, as the docs prescribe)."""
        body = (
            {"@odata.id": f"{self.graph.settings.endpoint}/beta/identity/apiConnectors/{connector_id}"}
            if connector_id
            else {}
        )
        action = (
            f"attaching API connector {connector_id} to {flow_id} at {step}"
            if connector_id
            else f"detaching the API connector of {flow_id} at {step}"
        )
        # A connector created moments ago may not have replicated yet: its 404 is waited out.
        await self.graph.call(
            action,
            permissions.USER_FLOWS,
            lambda: self.graph.send(
                "PUT", f"beta/identity/b2cUserFlows/{flow_id}/apiConnectorConfiguration/{step}/$ref", body
            ),
            lag_tolerant=True,
        )

    async def list_attributes(self, flow_id: str) -> list[dict[str, Any]]:
        describe = f"reading the attributes of user flow {flow_id}"
        items = await self.graph.pages(
            describe,
            permissions.USER_FLOWS,
            f"beta/identity/b2cUserFlows/{flow_id}/userAttributeAssignments",
            lag_tolerant=True,
        )
        return [self._attribute(item, describe) for item in items]

    async def add_attribute(self, flow_id: str, attribute: Mapping[str, Any]) -> None:
        path = f"beta/identity/b2cUserFlows/{flow_id}/userAttributeAssignments"
        await self.graph.call(
            f"adding attribute {attribute['attribute_id']} to user flow {flow_id}",
            permissions.USER_FLOWS,
            lambda: self.graph.send("POST", path, _assignment(attribute, create=True)),
            lag_tolerant=True,
            recover=lambda: self.graph.send_object("GET", f"{path}/{attribute['attribute_id']}"),
        )

    async def update_attribute(self, flow_id: str, attribute: Mapping[str, Any]) -> None:
        await self.graph.call(
            f"updating attribute {attribute['attribute_id']} of user flow {flow_id}",
            permissions.USER_FLOWS,
            lambda: self.graph.send(
                "PATCH",
                f"beta/identity/b2cUserFlows/{flow_id}/userAttributeAssignments/{attribute['attribute_id']}",
                _assignment(attribute, create=False),
            ),
        )

    async def delete_attribute(self, flow_id: str, attribute_id: str) -> None:
        await self.graph.absent_is_none(
            f"removing attribute {attribute_id} from user flow {flow_id}",
            permissions.USER_FLOWS,
            lambda: self.graph.send(
                "DELETE", f"beta/identity/b2cUserFlows/{flow_id}/userAttributeAssignments/{attribute_id}"
            ),
        )
