"""A Microsoft Graph double on 127.0.0.1 for the B2C and Entra External ID endpoints this project
calls, for the tests and tools.graph_calls.

B2C, written from ../shared/reference/graph-b2c-contract.md: 201 on create, 204 on
PATCH/DELETE/$ref, the B2C_1_ prefix, `******` for passwords, certificates read back as
clientCertificateAuthentication, `{}` to detach a connector, `$expand` on apiConnectorConfiguration.

External ID's half is in external_id.py, what both share in common.py; GraphDouble serves both.

Both answer with Graph's error envelope. Faults are switched on per test: throttling, 5xx, dropped
connections, lost answers, replication lag, 403.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import pkcs12

from tools.graph_double.common import TOKEN, FakeCredential, Fault, GraphError, Logged, State, _envelope
from tools.graph_double.external_id import ExternalIdDouble
from tools.loopback import JsonHandler, serve

__all__ = ["TOKEN", "FakeCredential", "GraphDouble", "GraphError", "Logged"]

# components.graph.model: a double that trusts the model's list could not catch its mistakes.
STEPS = ("postFederationSignup", "postAttributeCollection", "preTokenIssuance")
INPUT_TYPES = {
    "textBox",
    "dateTimeDropdown",
    "radioSingleSelect",
    "dropdownSingleSelect",
    "emailBox",
    "checkboxMultiSelect",
}
FLOW_TYPES = {"signUp", "signIn", "signUpOrSignIn", "passwordReset", "profileUpdate", "resourceOwner"}
# External ID, from the contract note and the published schema (not from external_id_model, for
# the same reason).


def _thumbprint(pkcs12_value: str, password: str) -> str:
    try:
        _, cert, _ = pkcs12.load_key_and_certificates(
            base64.b64decode(pkcs12_value), password.encode() or None
        )
    except ValueError:
        raise GraphError(
            400, "Request_BadRequest", "The certificate could not be read.", "pkcs12Value"
        ) from None
    if cert is None:
        raise GraphError(400, "Request_BadRequest", "The file holds no certificate.", "pkcs12Value")
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303


class GraphDouble(ExternalIdDouble):
    """Start with `with GraphDouble() as graph:`; `graph.endpoint` is the origin to configure."""

    def __init__(self, *, default_attributes: tuple[dict[str, Any], ...] = (), page_size: int = 2) -> None:
        self.state = State()
        self.log: list[Logged] = []
        self.faults: list[Fault] = []
        self.denied: set[str] = set()  # path prefixes that answer 403
        self.replication_lag = 0  # requests a new object stays invisible for
        self.deleted_items: set[str] = set()  # directory/deletedItems: soft-deleted app registrations
        self.revoked: set[str] = set()
        self.default_attributes = default_attributes
        self.page_size = page_size
        self.lock = threading.RLock()
        self._init_external_id()
        self._handler_class = self._handler()

    @property
    def endpoint(self) -> str:
        return self._server.origin

    def __enter__(self) -> GraphDouble:
        self._server = serve(self._handler_class)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    # -- test controls ---------------------------------------------------------------------

    def fail(self, method: str, path_regex: str, *, times: int = 1, status: int = 503, **kwargs: Any) -> None:
        self.faults.append(Fault(method, re.compile(path_regex), times, status, **kwargs))

    def drop(self, method: str, path_regex: str, *, times: int = 1, after_apply: bool = False) -> None:
        self.faults.append(Fault(method, re.compile(path_regex), times, 0, after_apply=after_apply))

    def lose_answer(self, method: str, path_regex: str, *, status: int = 504, times: int = 1) -> None:
        """Apply the request, then answer `status` as a gateway that lost the real answer would."""
        self.faults.append(
            Fault(method, re.compile(path_regex), times, status, code="GatewayTimeout", after_apply=True)
        )

    def revoke_token(self, method: str, path_regex: str) -> None:
        """Revoke the token of the matching request, as Entra does mid-run after a secret rotation."""
        self.faults.append(
            Fault(method, re.compile(path_regex), 1, 401, code="InvalidAuthenticationToken", revoke=True)
        )

    @contextmanager
    def recording(self) -> Iterator[list[Logged]]:
        start = len(self.log)
        seen: list[Logged] = []
        yield seen
        seen.extend(self.log[start:])

    def add_connector(
        self, display_name: str, target_url: str = "https://old.example/api", username: str = "old"
    ) -> str:
        """An object created outside the stack (the portal), for adopt tests."""
        connector_id = str(uuid.uuid4())
        self.state.connectors[connector_id] = {
            "id": connector_id,
            "displayName": display_name,
            "targetUrl": target_url,
            "auth": {"type": "basic", "username": username, "password": "portal-secret"},
        }
        return connector_id

    def add_flow(self, name: str, **props: Any) -> str:
        flow_id = name if name.startswith("B2C_1_") else f"B2C_1_{name}"
        self.state.flows[flow_id] = self._new_flow(
            flow_id, {"userFlowType": "signUpOrSignIn", "userFlowTypeVersion": 3, **props}
        )
        return flow_id

    # -- the contract ----------------------------------------------------------------------

    def _new_flow(self, flow_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": flow_id,
            "userFlowType": body["userFlowType"],
            "userFlowTypeVersion": float(body["userFlowTypeVersion"]),
            "isLanguageCustomizationEnabled": bool(body.get("isLanguageCustomizationEnabled", False)),
            "defaultLanguageTag": body.get("defaultLanguageTag") or "en",
            "steps": dict.fromkeys(STEPS),
            "attributes": {a["id"]: dict(a) for a in self.default_attributes},
        }

    def _visible(self, object_id: str) -> bool:
        left = self.state.lagging.get(object_id, 0)
        if left > 0:
            self.state.lagging[object_id] = left - 1
            return False
        return True

    def _connector_view(self, item: dict[str, Any]) -> dict[str, Any]:
        auth = item["auth"]
        if auth["type"] == "basic":
            config: dict[str, Any] = {
                "@odata.type": "#microsoft.graph.basicAuthentication",
                "username": auth["username"],
                "password": "******",
            }
        else:
            config = {
                "@odata.type": "#microsoft.graph.clientCertificateAuthentication",
                "certificateList": [
                    {
                        "thumbprint": auth["thumbprint"],
                        "notAfter": 1893456000,
                        "notBefore": 1700000000,
                        "isActive": True,
                    }
                ],
            }
        return {
            "id": item["id"],
            "displayName": item["displayName"],
            "targetUrl": item["targetUrl"],
            "authenticationConfiguration": config,
        }

    def _auth_from(self, body: dict[str, Any], *, required: bool) -> dict[str, Any] | None:
        config = body.get("authenticationConfiguration")
        if config is None:
            if required:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    "authenticationConfiguration is required.",
                    "authenticationConfiguration",
                )
            return None
        kind = config.get("@odata.type")
        if kind == "#microsoft.graph.basicAuthentication":
            if not config.get("username") or not config.get("password"):
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    "Username and password are required.",
                    "authenticationConfiguration",
                )
            return {"type": "basic", "username": config["username"], "password": config["password"]}
        if kind == "#microsoft.graph.pkcs12Certificate":
            if config.get("password") is None:
                raise GraphError(
                    400, "Request_BadRequest", "password must be provided, use '' for none.", "password"
                )
            return {
                "type": "certificate",
                "thumbprint": _thumbprint(config["pkcs12Value"], config["password"]),
            }
        raise GraphError(
            400,
            "Request_BadRequest",
            f"Unsupported authentication type {kind}.",
            "authenticationConfiguration",
        )

    def _connector(self, connector_id: str) -> dict[str, Any]:
        item = self.state.connectors.get(connector_id)
        if item is None or not self._visible(connector_id):
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{connector_id}' does not exist.")
        return item

    def _flow(self, flow_id: str) -> dict[str, Any]:
        item = self.state.flows.get(flow_id)
        if item is None or not self._visible(flow_id):
            raise GraphError(404, "AADB2C", f"The user flow '{flow_id}' was not found.")
        return item

    def _page(self, items: list[dict[str, Any]], base: str, query: dict[str, list[str]]) -> dict[str, Any]:
        skip = int(query.get("$skiptoken", ["0"])[0])
        page = items[skip : skip + self.page_size]
        result: dict[str, Any] = {"value": page}
        if skip + self.page_size < len(items):
            # The next link keeps the query ($filter) and moves the skip token on.
            kept = [(k, v) for k, values in query.items() if k != "$skiptoken" for v in values]
            tail = urlencode(
                [*kept, ("$skiptoken", str(skip + self.page_size))], safe="$/:(),'=", quote_via=quote
            )
            result["@odata.nextLink"] = f"{self.endpoint}{base}?{tail}"
        return result

    def route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        version, _, rest = path.lstrip("/").partition("/")
        if version not in ("v1.0", "beta"):
            raise GraphError(400, "BadRequest", f"Invalid version: {version}")
        parts = rest.split("/")
        if parts[:2] == ["identity", "apiConnectors"]:
            return self._route_connectors(method, parts[2:], query, body, "/" + path.lstrip("/"))
        if parts[:2] == ["directory", "deletedItems"] and len(parts) == 3 and method == "DELETE":
            if parts[2] not in self.deleted_items:
                raise GraphError(404, "Request_ResourceNotFound", f"Resource '{parts[2]}' does not exist.")
            self.deleted_items.discard(parts[2])
            return 204, None, {}
        if parts[:2] == ["identity", "customAuthenticationExtensions"]:
            return self._route_extensions(method, parts[2:], query, body, "/" + path.lstrip("/"))
        if parts[:2] == ["identity", "authenticationEventsFlows"]:
            return self._route_signup_flows(version, method, parts[2:], query, body, "/" + path.lstrip("/"))
        if parts[:2] == ["identity", "b2cUserFlows"]:
            if version != "beta":
                raise GraphError(400, "BadRequest", "Resource not found for the segment 'b2cUserFlows'.")
            return self._route_flows(method, parts[2:], query, body)
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{parts[-1]}'.")

    def _route_connectors(
        self, method: str, parts: list[str], query: dict[str, list[str]], body: Any, path: str
    ) -> tuple[int, Any, dict[str, str]]:
        connectors = self.state.connectors
        if not parts:
            if method == "GET":
                views = [
                    self._connector_view(c)
                    for cid, c in connectors.items()
                    if self.state.lagging.get(cid, 0) == 0
                ]
                return 200, self._page(views, path, query), {}
            if method == "POST":
                for key in ("displayName", "targetUrl"):
                    if not body.get(key):
                        raise GraphError(400, "Request_BadRequest", f"{key} is required.", key)
                connector_id = str(uuid.uuid4())
                auth = self._auth_from(body, required=True)
                connectors[connector_id] = {
                    "id": connector_id,
                    "displayName": body["displayName"],
                    "targetUrl": body["targetUrl"],
                    "auth": auth,
                }
                self.state.lagging[connector_id] = self.replication_lag
                return 201, self._connector_view(connectors[connector_id]), {}
        elif len(parts) == 1:
            item = self._connector(parts[0])
            if method == "GET":
                return 200, self._connector_view(item), {}
            if method == "PATCH":
                for key in ("displayName", "targetUrl"):
                    if key in body and body[key] is not None:
                        item[key] = body[key]
                auth = self._auth_from(body, required=False)
                if auth is not None:
                    item["auth"] = auth
                return 204, None, {}
            if method == "DELETE":
                for flow in self.state.flows.values():
                    for step, attached in flow["steps"].items():
                        if attached == item["id"]:
                            flow["steps"][step] = None
                del connectors[item["id"]]
                return 204, None, {}
        raise GraphError(405, "Request_BadRequest", f"{method} is not supported here.")

    def _route_flows(
        self, method: str, parts: list[str], query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        flows = self.state.flows
        if not parts:
            if method == "POST":
                name = body.get("id")
                if not name:
                    raise GraphError(
                        400, "AADB2C", "The value must not be null or empty. Parameter name: Id", "id"
                    )
                if body.get("userFlowType") not in FLOW_TYPES:
                    raise GraphError(
                        400, "AADB2C", f"Invalid userFlowType {body.get('userFlowType')!r}.", "userFlowType"
                    )
                if not isinstance(body.get("userFlowTypeVersion"), int | float):
                    raise GraphError(400, "AADB2C", "userFlowTypeVersion is required.", "userFlowTypeVersion")
                # The prefix is added only when the request did not include it.
                flow_id = name if name.startswith("B2C_1_") else f"B2C_1_{name}"
                if flow_id in flows:
                    raise GraphError(409, "AADB2C", f"A user flow with the id '{flow_id}' already exists.")
                flows[flow_id] = self._new_flow(flow_id, body)
                self.state.lagging[flow_id] = self.replication_lag
                return (
                    201,
                    self._flow_view(flows[flow_id]),
                    {"Location": f"{self.endpoint}/beta/identity/b2cUserFlows/{flow_id}"},
                )
            if method == "GET":
                return 200, {"value": [self._flow_view(f) for f in flows.values()]}, {}
            raise GraphError(405, "Request_BadRequest", f"{method} is not supported here.")
        flow = self._flow(parts[0])
        rest = parts[1:]
        if not rest:
            if method == "GET":
                return 200, self._flow_view(flow), {}
            if method == "PATCH":
                for key in ("userFlowType", "userFlowTypeVersion", "id"):
                    if key in body and body[key] != flow.get(key):
                        raise GraphError(400, "AADB2C", f"The property '{key}' cannot be updated.", key)
                for key in ("isLanguageCustomizationEnabled", "defaultLanguageTag"):
                    if key in body and body[key] is not None:
                        flow[key] = body[key]
                return 204, None, {}
            if method == "DELETE":
                del flows[flow["id"]]
                return 204, None, {}
        elif rest == ["apiConnectorConfiguration"] and method == "GET":
            expanded = {s for value in query.get("$expand", []) for s in value.split(",")}
            result: dict[str, Any] = {
                "@odata.context": f"{self.endpoint}/beta/$metadata#identity/b2cUserFlows('{flow['id']}')/apiConnectorConfiguration"
            }
            for step in STEPS:
                connector_id = flow["steps"][step]
                if step in expanded and connector_id in self.state.connectors:
                    result[step] = self._connector_view(self.state.connectors[connector_id])
            return 200, result, {}
        elif (
            len(rest) == 3
            and rest[0] == "apiConnectorConfiguration"
            and rest[2] == "$ref"
            and method == "PUT"
        ):
            step = rest[1]
            if step not in STEPS:
                raise GraphError(
                    400, "BadRequest", f"'{step}' is not a property of userFlowApiConnectorConfiguration."
                )
            if body == {}:
                flow["steps"][step] = None
                return 204, None, {}
            ref = body.get("@odata.id", "")
            match = re.fullmatch(
                re.escape(self.endpoint) + r"/(?:beta|v1\.0)/identity/apiConnectors/([0-9a-f-]{36})", ref
            )
            if not match:
                raise GraphError(400, "BadRequest", f"Invalid @odata.id {ref!r}.", "@odata.id")
            self._connector(match.group(1))
            flow["steps"][step] = match.group(1)
            return 204, None, {}
        elif rest[0] == "userAttributeAssignments":
            return self._route_attributes(method, flow, rest[1:], body)
        raise GraphError(405, "Request_BadRequest", f"{method} is not supported here.")

    def _route_attributes(
        self, method: str, flow: dict[str, Any], rest: list[str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        attributes = flow["attributes"]
        if not rest:
            if method == "GET":
                return 200, {"value": list(attributes.values())}, {}
            if method == "POST":
                attribute_id = (body.get("userAttribute") or {}).get("id")
                if not attribute_id:
                    raise GraphError(400, "AADB2C", "userAttribute is required.", "userAttribute")
                if attribute_id in attributes:
                    raise GraphError(409, "AADB2C", f"The attribute '{attribute_id}' is already assigned.")
                self._check_input_type(body)
                attributes[attribute_id] = {
                    "id": attribute_id,
                    "isOptional": bool(body.get("isOptional")),
                    "requiresVerification": bool(body.get("requiresVerification")),
                    "userInputType": body["userInputType"],
                    "displayName": body.get("displayName") or attribute_id,
                    "userAttributeValues": self._choices(body),
                }
                return 201, attributes[attribute_id], {}
        elif len(rest) == 1:
            item = attributes.get(rest[0])
            if item is None:
                raise GraphError(404, "AADB2C", f"The attribute '{rest[0]}' is not assigned.")
            if method == "GET":
                return 200, item, {}
            if method == "PATCH":
                if "userInputType" in body:
                    self._check_input_type(body)
                for key in ("isOptional", "requiresVerification", "userInputType", "displayName"):
                    if key in body and body[key] is not None:
                        item[key] = body[key]
                if body.get("userAttributeValues") is not None:
                    item["userAttributeValues"] = self._choices(body)
                return 204, None, {}
            if method == "DELETE":
                del attributes[rest[0]]
                return 204, None, {}
        raise GraphError(405, "Request_BadRequest", f"{method} is not supported here.")

    @staticmethod
    def _choices(body: dict[str, Any]) -> list[dict[str, Any]]:
        choices = body.get("userAttributeValues") or []
        for choice in choices:
            if set(choice) - {"name", "value", "isDefault", "@odata.type"}:
                raise GraphError(400, "BadRequest", f"Unknown property in userAttributeValues: {choice}.")
        return [
            {"name": c.get("name"), "value": c.get("value"), "isDefault": bool(c.get("isDefault"))}
            for c in choices
        ]

    @staticmethod
    def _check_input_type(body: dict[str, Any]) -> None:
        if body.get("userInputType") not in INPUT_TYPES:
            raise GraphError(
                400, "AADB2C", f"Invalid userInputType {body.get('userInputType')!r}.", "userInputType"
            )

    @staticmethod
    def _flow_view(flow: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in flow.items() if k not in ("steps", "attributes")}
        view["apiConnectorConfiguration"] = {}  # the docs: always returns {} here
        return view

    # -- HTTP plumbing ---------------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method in (method, "*") and fault.pattern.search(path):
                fault.times -= 1
                return fault
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(JsonHandler):
            def _drop(self) -> None:
                self.close_connection = True
                self.connection.close()

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except json.JSONDecodeError:
                    body = None
                method = self.command
                with double.lock:
                    entry = Logged(method, parts.path, parts.query, body, 0)
                    double.log.append(entry)
                    token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                    if not token.startswith(TOKEN) or token in double.revoked:
                        entry.status = 401
                        return self.answer(
                            401,
                            _envelope("InvalidAuthenticationToken", "Access token is empty or invalid."),
                            {},
                        )
                    if any(parts.path.startswith(prefix) for prefix in double.denied):
                        entry.status = 403
                        message = "Insufficient privileges to complete the operation."
                        return self.answer(403, _envelope("Authorization_RequestDenied", message), {})
                    fault = double._take_fault(method, parts.path)
                    if fault is not None and fault.then is not None:
                        fault.then()
                    if fault is not None and fault.revoke:
                        double.revoked.add(token)
                    if fault is not None and not fault.after_apply:
                        if fault.status == 0:
                            return self._drop()
                        entry.status = fault.status
                        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                        return self.answer(
                            fault.status, _envelope(fault.code, fault.message, fault.target), headers
                        )
                    if body is None:
                        entry.status = 400
                        return self.answer(
                            400, _envelope("BadRequest", "Unable to read JSON request payload."), {}
                        )
                    try:
                        status, payload, headers = double.route(
                            method, parts.path, parse_qs(parts.query), body
                        )
                    except GraphError as exc:
                        entry.status = exc.status
                        return self.answer(exc.status, _envelope(exc.code, exc.message, exc.target), {})
                    entry.status = status
                    if fault is not None and fault.status == 0:
                        return self._drop()
                    if fault is not None:
                        entry.status = fault.status
                        return self.answer(fault.status, _envelope(fault.code, fault.message), {})
                    return self.answer(status, payload, headers)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle  # noqa: N815

        return Handler
