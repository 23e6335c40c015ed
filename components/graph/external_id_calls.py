"""The Entra External ID objects through the Graph gateway: custom authentication extensions and
self-service sign-up flows (v1.0), with the flow's attributes, linked apps and the extension
attached at OnAttributeCollectionSubmit (a beta-only `$ref` PUT), as raw JSON with small typed
shapes of our own.

Requests, retries, budgets and errors are the gateway's; this module knows the paths, the bodies
and the shapes External ID reads back. Facts: ../shared/reference/external-id-contract.md §1, §7.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict
from urllib.parse import quote

from components import deadline
from components.graph import external_id_model as rules
from components.graph import permissions
from components.graph.gateway import GraphError, GraphGateway

EXTENSIONS = "v1.0/identity/customAuthenticationExtensions"
FLOWS = "v1.0/identity/authenticationEventsFlows"
_FLOW_CAST = "microsoft.graph.externalUsersSelfServiceSignUpEventsFlow"
_ATTRIBUTES = (
    "onAttributeCollection/microsoft.graph.onAttributeCollectionExternalUsersSelfServiceSignUp/attributes"
)
_SUBMIT_EXTENSION = "onAttributeCollectionSubmit/microsoft.graph.onAttributeCollectionSubmitCustomExtensionHandler/customExtension"
# How long an extension may take to validate after its resource app's service principal was
# created: Entra replicates a new service principal to the validating service in seconds to about a
# minute. Within the operation's own budget (90 s by default), leaving room for the look and the
# create before it; past it, the error names what is missing and a rerun finishes the job.
VALIDATION_SECONDS = 60.0

# -- the shapes we read ------------------------------------------------------------------------------

# The attached extension when Graph does not show it (see _Reader.attached_extension).
NOT_SHOWN = "not shown"


class Extension(TypedDict):
    id: str
    type: str | None
    display_name: str | None
    target_url: str | None
    resource_id: str | None
    timeout_ms: int | None
    maximum_retries: int | None


class Flow(TypedDict):
    id: str
    type: str | None
    display_name: str | None
    attributes: list[dict[str, Any]]  # in external_id_model's normalised shape, in page order
    attribute_ids: list[str]
    has_attribute_collection: bool
    extension_id: str | None  # or NOT_SHOWN


class _Reader:
    """Reads the parts of one reply through the gateway's checked readers, so that a part of the
    wrong shape is an error naming the operation and the part, never a crash."""

    def __init__(self, graph: GraphGateway, describe: str) -> None:
        self.graph, self.describe = graph, describe

    def part(self, value: Any, what: str) -> dict[str, Any]:
        return {} if value is None else self.graph.expect_object(value, self.describe, what)

    def items(self, value: Any, what: str) -> list[dict[str, Any]]:
        listed = [] if value is None else self.graph.expect_list(value, self.describe, what)
        return [self.graph.expect_object(item, self.describe, f"an item of {what}") for item in listed]

    def extension(self, item: dict[str, Any]) -> Extension:
        client = self.part(item.get("clientConfiguration"), "its clientConfiguration")
        return Extension(
            id=str(item.get("id") or ""),
            type=item.get("@odata.type"),
            display_name=item.get("displayName"),
            target_url=self.part(item.get("endpointConfiguration"), "its endpointConfiguration").get(
                "targetUrl"
            ),
            resource_id=self.part(
                item.get("authenticationConfiguration"), "its authenticationConfiguration"
            ).get("resourceId"),
            timeout_ms=client.get("timeoutInMilliseconds"),
            maximum_retries=client.get("maximumRetries"),
        )

    def flow(self, item: dict[str, Any]) -> Flow:
        collection = self.part(item.get("onAttributeCollection"), "its onAttributeCollection")
        page = self.part(collection.get("attributeCollectionPage"), "its attributeCollectionPage")
        inputs = [
            given
            for view in self.items(page.get("views"), "its page views")
            for given in self.items(view.get("inputs"), "the inputs of its page")
        ]
        attributes = [
            rules.attribute_from_input(
                str(given.get("attribute") or ""),
                given.get("label"),
                given.get("inputType"),
                given.get("required"),
                [
                    (str(o.get("label")), str(o.get("value")))
                    for o in self.items(given.get("options"), "an input's options")
                ],
                given.get("defaultValue"),
            )
            for given in inputs
        ]
        listed = [str(a.get("id")) for a in self.items(collection.get("attributes"), "its attributes")]
        return Flow(
            id=str(item.get("id") or ""),
            type=item.get("@odata.type"),
            display_name=item.get("displayName"),
            attributes=attributes,
            attribute_ids=listed or [a["attribute_id"] for a in attributes],
            has_attribute_collection=bool(collection),
            extension_id=self.attached_extension(item.get("onAttributeCollectionSubmit")),
        )

    def attached_extension(self, value: Any) -> str | None:
        """The extension attached at OnAttributeCollectionSubmit, as far as a flow read shows it:
        None when no handler is set; NOT_SHOWN when a handler is set but its customExtension
        navigation is not in the reply (no published path reads it, and whether Graph expands it
        is undocumented)."""
        handler = self.part(value, "its onAttributeCollectionSubmit")
        if not handler:
            return None
        extension = self.part(handler.get("customExtension"), "its customExtension")
        if extension.get("id"):
            return str(extension["id"])
        link = handler.get("customExtension@odata.id")
        if isinstance(link, str) and link.rstrip("/"):
            return link.rstrip("/").rsplit("/", 1)[-1]
        return NOT_SHOWN


def _extension_body(props: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    # Graph needs the derived type on every write of an extension (customAuthenticationExtension
    # is abstract); each configuration goes whole, typed, so that nothing is half replaced.
    body: dict[str, Any] = {"@odata.type": rules.EXTENSION_TYPE}
    if "display_name" in fields:
        body["displayName"] = props["display_name"]
    if "target_url" in fields:
        body["endpointConfiguration"] = {
            "@odata.type": "#microsoft.graph.httpRequestEndpoint",
            "targetUrl": props["target_url"],
        }
    if "resource_id" in fields:
        body["authenticationConfiguration"] = {
            "@odata.type": "#microsoft.graph.azureAdTokenAuthentication",
            "resourceId": props["resource_id"],
        }
    if "timeout_ms" in fields or "maximum_retries" in fields:
        body["clientConfiguration"] = {
            "timeoutInMilliseconds": props["timeout_ms"],
            "maximumRetries": props["maximum_retries"],
        }
    return body


def _input_json(rule: rules.InputRule) -> dict[str, Any]:
    body: dict[str, Any] = {
        "attribute": rule.attribute_id,
        "label": rule.label,
        "inputType": rule.input_type,
        "hidden": rule.hidden,
        "editable": rule.editable,
        "writeToDirectory": rule.write_to_directory,
        "required": rule.required,
        "options": [{"label": label, "value": value} for label, value in rule.options],
    }
    if rule.default_value is not None:
        body["defaultValue"] = rule.default_value
    return body


def _page_json(attributes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The whole attribute collection page: Graph replaces every input on a write."""
    return {"views": [{"inputs": [_input_json(rules.input_rule(a)) for a in attributes]}]}


def _attribute_collection(
    attributes: Sequence[Mapping[str, Any]], *, with_attributes: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.onAttributeCollectionExternalUsersSelfServiceSignUp"
    }
    if with_attributes:
        body["attributes"] = [{"id": a["attribute_id"]} for a in attributes]
    body["attributeCollectionPage"] = _page_json(attributes)
    return body


def _flow_body(props: Mapping[str, Any]) -> dict[str, Any]:
    """A new sign-up flow: email with password, sign-up allowed, the attributes with their inputs
    (onAttributeCollection can be changed later only when set at creation) and the linked apps.
    Nothing beta-only (priority, includeAllApplications, customStringsFileId): this goes to v1.0."""
    return {
        "@odata.type": rules.FLOW_TYPE,
        "displayName": props["display_name"],
        "conditions": {
            "applications": {"includeApplications": [{"appId": a} for a in props["client_app_ids"]]}
        },
        "onInteractiveAuthFlowStart": {
            "@odata.type": "#microsoft.graph.onInteractiveAuthFlowStartExternalUsersSelfServiceSignUp",
            "isSignUpAllowed": True,
        },
        "onAuthenticationMethodLoadStart": {
            "@odata.type": "#microsoft.graph.onAuthenticationMethodLoadStartExternalUsersSelfServiceSignUp",
            "identityProviders": [
                {
                    "@odata.type": "#microsoft.graph.builtInIdentityProvider",
                    "id": rules.EMAIL_PASSWORD_PROVIDER,
                }
            ],
        },
        "onAttributeCollection": _attribute_collection(props["attributes"], with_attributes=True),
    }


def _flows_linking(app_id: str) -> str:
    # Graph's documented way to find the flow an app is linked to (List authenticationEventsFlows,
    # example 4): one request per app, whatever the number of flows in the tenant.
    clause = f"{_FLOW_CAST}/conditions/applications/includeApplications/any(appId:appId/appId eq '{app_id}')"
    return f"{FLOWS}?$filter={quote(clause, safe='/:(),=')}"


class ExternalIdCalls:
    """The External ID operations of one Graph session: `ExternalIdCalls(graph).create_flow(...)`."""

    def __init__(self, graph: GraphGateway) -> None:
        self.graph = graph

    def _read(self, describe: str) -> _Reader:
        return _Reader(self.graph, describe)

    # -- custom authentication extensions (v1.0) -----------------------------------------------

    async def find_extensions(self, display_name: str) -> list[Extension]:
        """Extensions with this display name (Graph does not keep names unique). Listed and
        filtered here: a tenant holds at most 100 extensions."""
        describe = "listing custom authentication extensions"
        listed = await self.graph.pages(describe, permissions.EXTENSIONS, EXTENSIONS)
        return [
            self._read(describe).extension(item)
            for item in listed
            if str(item.get("displayName") or "").casefold() == display_name.casefold()
        ]

    async def get_extension(self, extension_id: str) -> Extension | None:
        describe = f"reading custom extension {extension_id}"
        found = await self.graph.absent_is_none(
            describe,
            permissions.EXTENSIONS,
            lambda: self.graph.send_object("GET", f"{EXTENSIONS}/{extension_id}"),
        )
        return self._read(describe).extension(found) if found is not None else None

    async def create_extension(self, props: Mapping[str, Any], seen: Sequence[str]) -> Extension:
        """Create; `seen` are the ids of same-named extensions that existed before, so that a lost
        answer is recovered by the one that is new, never by creating a second."""
        describe = f"creating custom extension {props['display_name']!r}"

        async def landed() -> dict[str, Any] | None:
            # Graph does not keep extension names unique, so it would not refuse a second create:
            # before one is sent again, replication gets its bound to show the first.
            clock, sleep = self.graph.clock, self.graph.sleep
            limit = deadline.Deadline(self.graph.settings.max_lag_seconds, clock)
            attempt = 0
            while True:
                attempt += 1
                new = [e for e in await self.find_extensions(props["display_name"]) if e["id"] not in seen]
                if new:
                    found: dict[str, Any] = await self.graph.send_object(
                        "GET", f"{EXTENSIONS}/{new[0]['id']}"
                    )
                    return found
                wait = deadline.pause(attempt)
                if not limit.allows(wait):
                    return None
                await sleep(wait)

        created = await self.graph.call(
            describe,
            permissions.EXTENSIONS,
            lambda: self.graph.send_object(
                "POST", EXTENSIONS, _extension_body(props, rules.EXTENSION_FIELDS)
            ),
            recover=landed,
        )
        extension = self._read(describe).extension(created)
        if not extension["id"]:
            raise GraphError(f"Microsoft Graph returned no extension id while {describe}")
        return extension

    async def update_extension(
        self, extension_id: str, props: Mapping[str, Any], fields: Sequence[str]
    ) -> None:
        await self.graph.call(
            f"updating custom extension {extension_id}",
            permissions.EXTENSIONS,
            lambda: self.graph.send("PATCH", f"{EXTENSIONS}/{extension_id}", _extension_body(props, fields)),
            lag_tolerant=True,
        )

    async def delete_extension(self, extension_id: str) -> None:
        """Delete; an already absent extension counts as deleted."""
        await self.graph.absent_is_none(
            f"deleting custom extension {extension_id}",
            permissions.EXTENSIONS,
            lambda: self.graph.send("DELETE", f"{EXTENSIONS}/{extension_id}"),
        )

    async def validate_extension(
        self, extension_id: str, extension: str, bound: float = VALIDATION_SECONDS
    ) -> None:
        """Ask Graph to validate the extension's authentication configuration until it finds
        nothing wrong. Findings that time may clear (a service principal still replicating, an app
        role assignment not yet seen) are asked again, pausing by the shared rule, within `bound`
        seconds (and the operation's budget); findings the inputs decide fail at once. Raises
        GraphError naming each finding and its fix; `extension` names the extension in it."""
        describe = f"validating the authentication configuration of custom extension {extension_id}"
        read = self._read(describe)
        clock, sleep = self.graph.clock, self.graph.sleep
        limit = deadline.Deadline(min(bound, self.graph.settings.max_wait_seconds), clock)
        attempt = 0
        while True:
            attempt += 1
            result = await self.graph.call(
                describe,
                permissions.EXTENSIONS,
                lambda: self.graph.send_object(
                    "POST", f"{EXTENSIONS}/{extension_id}/microsoft.graph.validateAuthenticationConfiguration"
                ),
                lag_tolerant=True,
            )
            findings = rules.validation_findings(
                {
                    "errors": read.items(result.get("errors"), "its errors"),
                    "warnings": read.items(result.get("warnings"), "its warnings"),
                }
            )
            if not findings:
                return
            # What Graph wrote is shown, so it passes the gateway's redaction like any reply.
            findings = [
                rules.Finding(self.graph.excerpt(f.code), self.graph.excerpt(f.message)) for f in findings
            ]
            wait = deadline.pause(attempt)
            if rules.findings_are_final(findings) or not limit.allows(wait):
                raise GraphError(rules.validation_failure(extension, findings, limit.elapsed()), 400)
            await sleep(wait)

    # -- sign-up flows (v1.0) ------------------------------------------------------------------

    async def find_flows(self, display_name: str) -> list[Flow]:
        """Sign-up flows with this display name (Graph keeps flow names unique). Listed and
        filtered here: whether $filter takes displayName is undocumented, and a tenant has few flows."""
        describe = "listing sign-up flows"
        listed = await self.graph.pages(describe, permissions.EVENT_FLOWS, FLOWS)
        return [
            self._read(describe).flow(item)
            for item in listed
            if str(item.get("displayName") or "").casefold() == display_name.casefold()
        ]

    async def flows_linking(self, app_id: str) -> list[Flow]:
        """The flows an app is linked to (Graph allows one)."""
        describe = f"finding the sign-up flow of app {app_id}"
        listed = await self.graph.pages(describe, permissions.EVENT_FLOWS, _flows_linking(app_id))
        return [self._read(describe).flow(item) for item in listed]

    async def get_flow(self, flow_id: str) -> Flow | None:
        describe = f"reading sign-up flow {flow_id}"
        found = await self.graph.absent_is_none(
            describe, permissions.EVENT_FLOWS, lambda: self.graph.send_object("GET", f"{FLOWS}/{flow_id}")
        )
        return self._read(describe).flow(found) if found is not None else None

    async def create_flow(self, props: Mapping[str, Any]) -> Flow:
        describe = f"creating sign-up flow {props['display_name']!r}"

        async def landed() -> dict[str, Any] | None:
            # Flow names are unique: a flow of this name made since the look is this create's.
            listed = await self.graph.pages("listing sign-up flows", permissions.EVENT_FLOWS, FLOWS)
            matches = [
                item
                for item in listed
                if str(item.get("displayName") or "").casefold() == str(props["display_name"]).casefold()
            ]
            return matches[0] if len(matches) == 1 else None

        created = await self.graph.call(
            describe,
            permissions.EVENT_FLOWS,
            lambda: self.graph.send_object("POST", FLOWS, _flow_body(props)),
            recover=landed,
        )
        flow = self._read(describe).flow(created)
        if not flow["id"]:
            raise GraphError(f"Microsoft Graph returned no flow id while {describe}")
        return flow

    async def rename_flow(self, flow_id: str, display_name: str) -> None:
        await self._patch_flow(flow_id, f"renaming sign-up flow {flow_id}", {"displayName": display_name})

    async def set_inputs(self, flow_id: str, attributes: Sequence[Mapping[str, Any]]) -> None:
        """Write the whole attribute collection page: every input, in order."""
        await self._patch_flow(
            flow_id,
            f"writing the sign-up page of flow {flow_id}",
            {"onAttributeCollection": _attribute_collection(attributes, with_attributes=False)},
        )

    async def detach_extension(self, flow_id: str) -> None:
        """Clear OnAttributeCollectionSubmit. No detach is documented: the property is nullable in
        the CSDL and reads back null when unset, so it is written null (the one place to change
        should Graph want another way)."""
        await self._patch_flow(
            flow_id,
            f"detaching the custom extension of sign-up flow {flow_id}",
            {"onAttributeCollectionSubmit": None},
        )

    async def _patch_flow(self, flow_id: str, describe: str, body: Mapping[str, Any]) -> None:
        # Graph needs the flow's derived type on every PATCH.
        await self.graph.call(
            describe,
            permissions.EVENT_FLOWS,
            lambda: self.graph.send("PATCH", f"{FLOWS}/{flow_id}", {"@odata.type": rules.FLOW_TYPE, **body}),
            lag_tolerant=True,
        )

    async def delete_flow(self, flow_id: str) -> None:
        """Delete; an already absent flow counts as deleted. Its apps and extension go with it."""
        await self.graph.absent_is_none(
            f"deleting sign-up flow {flow_id}",
            permissions.EVENT_FLOWS,
            lambda: self.graph.send("DELETE", f"{FLOWS}/{flow_id}"),
        )

    async def add_attribute(self, flow_id: str, attribute_id: str) -> None:
        """Add to the flow (Graph puts its input, a text box, at the bottom of the page)."""
        path = f"{FLOWS}/{flow_id}/{_FLOW_CAST}/{_ATTRIBUTES}/$ref"
        ref = {"@odata.id": f"{self.graph.settings.endpoint}/v1.0/identity/userFlowAttributes/{attribute_id}"}

        async def landed() -> bool | None:
            flow = await self.get_flow(flow_id)
            return True if flow and attribute_id in flow["attribute_ids"] else None

        await self.graph.call(
            f"adding attribute {attribute_id} to sign-up flow {flow_id}",
            permissions.EVENT_FLOWS,
            lambda: self.graph.send("POST", path, ref),
            lag_tolerant=True,
            recover=landed,
        )

    async def remove_attribute(self, flow_id: str, attribute_id: str) -> None:
        """Remove from the flow, its input with it; an attribute already gone counts as removed."""
        await self.graph.absent_is_none(
            f"removing attribute {attribute_id} from sign-up flow {flow_id}",
            permissions.EVENT_FLOWS,
            lambda: self.graph.send(
                "DELETE", f"{FLOWS}/{flow_id}/{_FLOW_CAST}/{_ATTRIBUTES}/{attribute_id}/$ref"
            ),
        )

    async def list_apps(self, flow_id: str) -> list[str]:
        items = await self.graph.pages(
            f"reading the apps linked to sign-up flow {flow_id}",
            permissions.EVENT_FLOWS,
            f"{FLOWS}/{flow_id}/conditions/applications/includeApplications",
            lag_tolerant=True,
        )
        return [str(item.get("appId")) for item in items if item.get("appId")]

    async def link_app(self, flow_id: str, app_id: str) -> None:
        path = f"{FLOWS}/{flow_id}/conditions/applications/includeApplications"
        body = {"@odata.type": "#microsoft.graph.authenticationConditionApplication", "appId": app_id}

        async def landed() -> bool | None:
            return True if app_id.lower() in (a.lower() for a in await self.list_apps(flow_id)) else None

        await self.graph.call(
            f"linking app {app_id} to sign-up flow {flow_id}",
            permissions.EVENT_FLOWS,
            lambda: self.graph.send("POST", path, body),
            lag_tolerant=True,
            recover=landed,
        )

    async def unlink_app(self, flow_id: str, app_id: str) -> None:
        """Unlink; an app already unlinked counts as unlinked."""
        await self.graph.absent_is_none(
            f"unlinking app {app_id} from sign-up flow {flow_id}",
            permissions.EVENT_FLOWS,
            lambda: self.graph.send(
                "DELETE", f"{FLOWS}/{flow_id}/conditions/applications/includeApplications/{app_id}"
            ),
        )

    async def attach_extension(self, flow_id: str, extension_id: str) -> None:
        """Attach at OnAttributeCollectionSubmit: the beta `$ref` PUT, the only documented way (no
        OpenAPI or SDK has it; v1.0 is unverified). A PUT: sending it again is harmless, and an
        extension created moments ago that has not replicated yet is waited out."""
        ref = {
            "@odata.id": f"{self.graph.settings.endpoint}/beta/identity/customAuthenticationExtensions/{extension_id}"
        }
        await self.graph.call(
            f"attaching custom extension {extension_id} to sign-up flow {flow_id}",
            permissions.EVENT_FLOWS,
            lambda: self.graph.send(
                "PUT",
                f"beta/identity/authenticationEventsFlows/{flow_id}/{_FLOW_CAST}/{_SUBMIT_EXTENSION}/$ref",
                ref,
            ),
            lag_tolerant=True,
        )
