"""A Microsoft Graph double on 127.0.0.1 for the B2C and Entra External ID endpoints this project
calls, for the tests and tools.graph_calls.

B2C, written from ../shared/reference/graph-b2c-contract.md: 201 on create, 204 on
PATCH/DELETE/$ref, the B2C_1_ prefix, `******` for passwords, certificates read back as
clientCertificateAuthentication, `{}` to detach a connector, `$expand` on apiConnectorConfiguration.

External ID, written from ../shared/reference/external-id-contract.md: custom authentication
extensions (a derived @odata.type on every write, timeouts of 200-2000 ms, 0 or 1 retry,
validateAuthenticationConfiguration's findings), self-service sign-up flows (unique display names,
required start handlers, attributes by `$ref`, a PATCH that replaces every input, one flow per app,
the extension attached by the beta-only `$ref` PUT, nothing beta-only in v1.0).

Both answer with Graph's error envelope. Faults are switched on per test: throttling, 5xx, dropped
connections, lost answers, replication lag, 403.
"""

from __future__ import annotations

import abc
import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import pkcs12

from tools.loopback import JsonHandler, serve

TOKEN = "double-access-token"  # noqa: S105 - what the double accepts, no secret
# Graph's enums, written here from the documentation on purpose and not imported from
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
EXTENSION_TYPES = {
    "#microsoft.graph.onAttributeCollectionStartCustomExtension",
    "#microsoft.graph.onAttributeCollectionSubmitCustomExtension",
    "#microsoft.graph.onOtpSendCustomExtension",
    "#microsoft.graph.onPasswordSubmitCustomExtension",
    "#microsoft.graph.onTokenIssuanceStartCustomExtension",
}
SUBMIT_EXTENSION = "#microsoft.graph.onAttributeCollectionSubmitCustomExtension"
EXTENSION_AUTH_TYPES = {
    "#microsoft.graph.azureAdTokenAuthentication",
    "#microsoft.graph.azureAdPopTokenAuthentication",
}
SIGNUP_FLOW = "#microsoft.graph.externalUsersSelfServiceSignUpEventsFlow"
FLOW_CAST = "microsoft.graph.externalUsersSelfServiceSignUpEventsFlow"
ATTRIBUTE_COLLECTION = "#microsoft.graph.onAttributeCollectionExternalUsersSelfServiceSignUp"
SUBMIT_HANDLER = "#microsoft.graph.onAttributeCollectionSubmitCustomExtensionHandler"
BUILT_IN_PROVIDERS = {
    "EmailPassword-OAUTH": "Email with password",
    "EmailOtpSignup-OAUTH": "Email one-time passcode",
}
BUILT_IN_USER_FLOW_ATTRIBUTES = {
    "city": "City",
    "country": "Country/Region",
    "displayName": "Display Name",
    "email": "Email Address",
    "givenName": "Given Name",
    "jobTitle": "Job Title",
    "postalCode": "Postal Code",
    "state": "State/Province",
    "streetAddress": "Street Address",
    "surname": "Surname",
}
INPUT_KINDS = {"text", "radioSingleSelect", "checkboxMultiSelect", "boolean"}
EXTENSIONS_PER_TENANT = 100
# The bound action, by its namespace-qualified name (the OpenAPI's) or bare (the docs').
VALIDATE_ACTIONS = (
    "validateAuthenticationConfiguration",
    "microsoft.graph.validateAuthenticationConfiguration",
)


class FakeCredential(AsyncTokenCredential):
    """Stands in for azure-identity: each credential gets a token of its own, which the double
    accepts until it is revoked (as Entra would, after a secret rotation or a sign-in block)."""

    def __init__(self) -> None:
        self.token = f"{TOKEN}-{uuid.uuid4().hex[:8]}"

    async def get_token(self, *_scopes: str, **_kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        pass

    async def __aexit__(self, *_: object) -> None:
        pass


@dataclass
class Logged:
    method: str
    path: str
    query: str
    body: Any
    status: int

    @property
    def write(self) -> bool:
        return self.method != "GET"

    def __str__(self) -> str:
        return f"{self.method} {self.path}{'?' + self.query if self.query else ''} -> {self.status}"


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    times: int
    status: int = 0  # 0: drop the connection instead of answering
    retry_after: str | None = None
    code: str = "serviceUnavailable"
    message: str = "Simulated fault."
    target: str | None = None
    after_apply: bool = False  # fail only after the request took effect (the response is lost)
    revoke: bool = False  # revoke the request's token, answering 401
    then: Callable[[], None] | None = None  # run when the fault is hit (e.g. stop the host)


@dataclass
class State:
    connectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    flows: dict[str, dict[str, Any]] = field(default_factory=dict)
    # External ID: custom authentication extensions and sign-up flows, by id
    extensions: dict[str, dict[str, Any]] = field(default_factory=dict)
    signup_flows: dict[str, dict[str, Any]] = field(default_factory=dict)
    # object id -> how many more requests see it as absent (replication lag)
    lagging: dict[str, int] = field(default_factory=dict)


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, target: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.target = status, code, message, target


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


_FILTER_BY_APP = re.compile(
    rf"^{re.escape(FLOW_CAST)}/conditions/applications/includeApplications/any\((\w+):\1/appId eq '([^']+)'\)$"
)
_REF = r"/(?:v1\.0|beta)/identity/{}/([^/]+)$"
_RESOURCE_ID = re.compile(r"^api://([^/]+)/([0-9a-fA-F-]{36})$")


def _unknown_keys(body: dict[str, Any], allowed: set[str], where: str) -> None:
    for key in body:
        if key not in allowed:
            raise GraphError(400, "BadRequest", f"Invalid property '{key}' for {where}.", key)


class _ExternalIdDouble(abc.ABC):
    """External ID's custom authentication extensions and sign-up flows; GraphDouble's other half."""

    state: State
    replication_lag: int
    page_size: int

    @property
    @abc.abstractmethod
    def endpoint(self) -> str: ...

    @abc.abstractmethod
    def _visible(self, object_id: str) -> bool: ...

    @abc.abstractmethod
    def _page(
        self, items: list[dict[str, Any]], base: str, query: dict[str, list[str]]
    ) -> dict[str, Any]: ...

    def _init_external_id(self) -> None:
        self.custom_attributes: set[str] = set()  # identity/userFlowAttributes of type custom
        # service principals by appId: how many more validations still miss it (replication)
        self.service_principals: dict[str, int] = {}
        # appIds whose service principal holds CustomAuthenticationExtension.Receive.Payload
        self.granted: set[str] = set()
        # UNVERIFIED in the contract note, so switchable: whether a flow read shows the attached
        # extension (a navigation Graph may not expand), and whether an attached one can be deleted.
        self.shows_attached_extension = False
        self.deletes_attached_extension = True

    # -- test controls ---------------------------------------------------------------------

    def add_service_principal(self, app_id: str, *, replicating: int = 0, granted: bool = True) -> None:
        """A resource app's service principal: `replicating` validations still miss it; `granted`
        whether it holds the app role that lets it receive the callout payload."""
        self.service_principals[app_id.lower()] = replicating
        if granted:
            self.granted.add(app_id.lower())

    def add_custom_attribute(self, attribute_id: str) -> None:
        self.custom_attributes.add(attribute_id)

    def add_extension(
        self,
        display_name: str,
        target_url: str = "https://old.example/api/validate-signup",
        resource_id: str = "api://old.example/00000000-0000-0000-0000-0000000000aa",
        kind: str = SUBMIT_EXTENSION,
    ) -> str:
        """An extension made outside the stack (the portal), for adopt tests."""
        extension_id = str(uuid.uuid4())
        self.state.extensions[extension_id] = {
            "@odata.type": kind,
            "id": extension_id,
            "displayName": display_name,
            "description": None,
            "endpointConfiguration": {
                "@odata.type": "#microsoft.graph.httpRequestEndpoint",
                "targetUrl": target_url,
            },
            "authenticationConfiguration": {
                "@odata.type": "#microsoft.graph.azureAdTokenAuthentication",
                "resourceId": resource_id,
            },
            "clientConfiguration": {"timeoutInMilliseconds": None, "maximumRetries": None},
            "behaviorOnError": None,
        }
        return extension_id

    def add_signup_flow(
        self,
        display_name: str,
        attributes: tuple[str, ...] = ("email", "displayName"),
        apps: tuple[str, ...] = (),
        *,
        collects: bool = True,
    ) -> str:
        """A sign-up flow made outside the stack (the portal), for adopt and one-flow-per-app tests."""
        flow_id = str(uuid.uuid4())
        self.state.signup_flows[flow_id] = {
            "id": flow_id,
            "displayName": display_name,
            "apps": list(apps),
            "attributes": list(attributes) if collects else [],
            "inputs": [self._default_input(a) for a in attributes] if collects else [],
            "collects": collects,
            "extension": None,
            "handler": False,
        }
        return flow_id

    # -- custom authentication extensions ------------------------------------------------------

    def _extension(self, extension_id: str) -> dict[str, Any]:
        item = self.state.extensions.get(extension_id)
        if item is None or not self._visible(extension_id):
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{extension_id}' does not exist.")
        return item

    @staticmethod
    def _check_extension_parts(body: dict[str, Any]) -> None:
        auth = body.get("authenticationConfiguration")
        if auth is not None:
            if auth.get("@odata.type") not in EXTENSION_AUTH_TYPES:
                raise GraphError(
                    400,
                    "BadRequest",
                    "authenticationConfiguration needs a supported @odata.type.",
                    "authenticationConfiguration",
                )
            if not auth.get("resourceId"):
                raise GraphError(400, "BadRequest", "resourceId is required.", "resourceId")
        endpoint = body.get("endpointConfiguration")
        if endpoint is not None:
            if endpoint.get("@odata.type") != "#microsoft.graph.httpRequestEndpoint":
                raise GraphError(
                    400, "BadRequest", "endpointConfiguration needs @odata.type.", "endpointConfiguration"
                )
            if not str(endpoint.get("targetUrl") or "").startswith("https://"):
                raise GraphError(400, "BadRequest", "targetUrl must be an https URL.", "targetUrl")
        client = body.get("clientConfiguration")
        if client is not None:
            timeout, retries = client.get("timeoutInMilliseconds"), client.get("maximumRetries")
            if timeout is not None and (not isinstance(timeout, int) or not 200 <= timeout <= 2000):
                raise GraphError(
                    400,
                    "BadRequest",
                    "The valid range is between 200 and 2000 milliseconds.",
                    "timeoutInMilliseconds",
                )
            if retries is not None and retries not in (0, 1):
                raise GraphError(400, "BadRequest", "Values of 0 or 1 are supported.", "maximumRetries")

    def _route_extensions(
        self, method: str, parts: list[str], query: dict[str, list[str]], body: Any, path: str
    ) -> tuple[int, Any, dict[str, str]]:
        extensions = self.state.extensions
        allowed = {
            "@odata.type", "displayName", "description", "endpointConfiguration",
            "authenticationConfiguration", "clientConfiguration", "behaviorOnError",
        }  # fmt: skip
        if not parts:
            if method == "GET":
                # A list is a request too: each one a new object is missing from counts against its lag.
                views = [e for eid, e in list(extensions.items()) if self._visible(eid)]
                return 200, self._page(views, path, query), {}
            if method == "POST":
                _unknown_keys(body, allowed, "customAuthenticationExtension")
                if body.get("@odata.type") not in EXTENSION_TYPES:
                    raise GraphError(
                        400,
                        "BadRequest",
                        "Specify the @odata.type of the customAuthenticationExtension to create.",
                        "@odata.type",
                    )
                if not body.get("authenticationConfiguration"):
                    raise GraphError(
                        400,
                        "BadRequest",
                        "authenticationConfiguration is required.",
                        "authenticationConfiguration",
                    )
                self._check_extension_parts(body)
                if len(extensions) >= EXTENSIONS_PER_TENANT:
                    raise GraphError(
                        400, "BadRequest", "A tenant holds at most 100 custom authentication extensions."
                    )
                extension_id = str(uuid.uuid4())
                extensions[extension_id] = {
                    "description": None,
                    "clientConfiguration": {"timeoutInMilliseconds": None, "maximumRetries": None},
                    "behaviorOnError": None,
                    **body,
                    "id": extension_id,
                }
                self.state.lagging[extension_id] = self.replication_lag
                return 201, extensions[extension_id], {}
        elif len(parts) == 1:
            item = self._extension(parts[0])
            if method == "GET":
                return 200, item, {}
            if method == "PATCH":
                _unknown_keys(body, allowed, "customAuthenticationExtension")
                if "@odata.type" in body and body["@odata.type"] != item["@odata.type"]:
                    raise GraphError(
                        400, "BadRequest", "The type of a custom extension cannot be changed.", "@odata.type"
                    )
                self._check_extension_parts(body)
                item.update({k: v for k, v in body.items() if k != "@odata.type"})
                return 204, None, {}
            if method == "DELETE":
                users = [f for f in self.state.signup_flows.values() if f["extension"] == item["id"]]
                if users and not self.deletes_attached_extension:
                    raise GraphError(
                        400,
                        "BadRequest",
                        f"The custom extension is used by the user flow '{users[0]['displayName']}'.",
                    )
                del extensions[item["id"]]
                return 204, None, {}
        elif len(parts) == 2 and method == "POST" and parts[1] in VALIDATE_ACTIONS:
            if body:
                raise GraphError(400, "BadRequest", "Don't supply a request body for this method.")
            return 200, self._validation(self._extension(parts[0])), {}
        raise GraphError(405, "Request_BadRequest", f"{method} is not supported here.")

    def _validation(self, extension: dict[str, Any]) -> dict[str, Any]:
        errors: list[dict[str, str]] = []
        warnings: list[dict[str, str]] = []
        resource_id = extension["authenticationConfiguration"].get("resourceId") or ""
        target = (
            urlsplit((extension.get("endpointConfiguration") or {}).get("targetUrl") or "").hostname or ""
        )
        match = _RESOURCE_ID.match(resource_id)
        if match is None:
            errors.append(
                {
                    "code": "IncorrectResourceIdFormat",
                    "message": "ResourceId should be in the format of 'api://{fully qualified domain name}/{appid}'",
                }
            )
        else:
            if match.group(1).lower() != target.lower():
                errors.append(
                    {
                        "code": "DomainNameDoesNotMatch",
                        "message": "The fully qualified domain name in resourceId should match that of the targetUrl",
                    }
                )
            app_id = match.group(2).lower()
            missing_for = self.service_principals.get(app_id)
            if missing_for is None or missing_for > 0:
                if missing_for:
                    self.service_principals[app_id] = missing_for - 1
                errors.append(
                    {
                        "code": "ServicePrincipalNotFound",
                        "message": "The appId of the resourceId should correspond to a real service principal in the tenant",
                    }
                )
            elif app_id not in self.granted:
                warnings.append(
                    {
                        "code": "PermissionNotGrantedToServicePrincipal",
                        "message": "The permission CustomAuthenticationExtensions.Receive.Payload is not granted to the service principal of the resource app",
                    }
                )
        return {
            "@odata.context": f"{self.endpoint}/v1.0/$metadata#microsoft.graph.authenticationConfigurationValidation",
            "errors": errors,
            "warnings": warnings,
        }

    # -- sign-up flows -------------------------------------------------------------------------

    def _signup_flow(self, flow_id: str) -> dict[str, Any]:
        item = self.state.signup_flows.get(flow_id)
        if item is None or not self._visible(flow_id):
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{flow_id}' does not exist.")
        return item

    def _known_attribute(self, attribute_id: str) -> bool:
        return attribute_id in BUILT_IN_USER_FLOW_ATTRIBUTES or attribute_id in self.custom_attributes

    @staticmethod
    def _default_input(attribute_id: str) -> dict[str, Any]:
        # What Graph shows for an attribute added without an input: a text box at the bottom.
        return {
            "attribute": attribute_id,
            "label": BUILT_IN_USER_FLOW_ATTRIBUTES.get(attribute_id, attribute_id.split("_")[-1]),
            "inputType": "text",
            "defaultValue": None,
            "hidden": False,
            "editable": True,
            "writeToDirectory": True,
            "required": False,
            "validationRegEx": "^.*",
            "options": [],
        }

    def _holder_of(self, app_id: str) -> dict[str, Any] | None:
        return next(
            (f for f in self.state.signup_flows.values() if app_id.lower() in (a.lower() for a in f["apps"])),
            None,
        )

    def _link(self, flow: dict[str, Any], app_id: Any) -> None:
        if not isinstance(app_id, str) or not app_id:
            raise GraphError(400, "BadRequest", "appId is required.", "appId")
        holder = self._holder_of(app_id)
        if holder is flow:
            raise GraphError(
                409, "Conflict", f"The application '{app_id}' is already linked to this user flow."
            )
        if holder is not None:
            raise GraphError(
                400,
                "BadRequest",
                f"The application '{app_id}' is already linked to a user flow; an application can only be linked to one user flow.",
            )
        flow["apps"].append(app_id)

    def _inputs(
        self, collection: dict[str, Any], attribute_ids: list[str], version: str
    ) -> list[dict[str, Any]]:
        if collection.get("@odata.type") != ATTRIBUTE_COLLECTION:
            raise GraphError(
                400, "BadRequest", "onAttributeCollection needs its @odata.type.", "onAttributeCollection"
            )
        page = collection.get("attributeCollectionPage") or {}
        if version == "v1.0" and "customStringsFileId" in page:
            raise GraphError(
                400, "BadRequest", "Invalid property 'customStringsFileId'.", "customStringsFileId"
            )
        views = page.get("views") or []
        inputs: list[dict[str, Any]] = []
        for view in views:
            for given in view.get("inputs") or []:
                _unknown_keys(
                    given,
                    {
                        "attribute",
                        "label",
                        "inputType",
                        "defaultValue",
                        "hidden",
                        "editable",
                        "writeToDirectory",
                        "required",
                        "validationRegEx",
                        "options",
                    },
                    "authenticationAttributeCollectionInputConfiguration",
                )
                if given.get("attribute") not in attribute_ids:
                    raise GraphError(
                        400,
                        "BadRequest",
                        f"The input '{given.get('attribute')}' names an attribute the user flow does not collect.",
                        "inputs",
                    )
                if given.get("inputType") not in INPUT_KINDS:
                    raise GraphError(
                        400, "BadRequest", f"Invalid inputType {given.get('inputType')!r}.", "inputType"
                    )
                options = given.get("options") or []
                if options and given["inputType"] not in ("radioSingleSelect", "checkboxMultiSelect"):
                    raise GraphError(400, "BadRequest", f"{given['inputType']} takes no options.", "options")
                for option in options:
                    _unknown_keys(
                        option, {"label", "value"}, "authenticationAttributeCollectionOptionConfiguration"
                    )
                inputs.append({**self._default_input(given["attribute"]), **given})
        return inputs

    def _signup_flow_view(self, flow: dict[str, Any], version: str) -> dict[str, Any]:
        handler: dict[str, Any] | None = None
        if flow["handler"]:
            handler = {"@odata.type": SUBMIT_HANDLER, "configuration": None}
            if self.shows_attached_extension and flow["extension"]:
                handler["customExtension"] = {"@odata.type": SUBMIT_EXTENSION, "id": flow["extension"]}
        view: dict[str, Any] = {
            "@odata.type": SIGNUP_FLOW,
            "id": flow["id"],
            "displayName": flow["displayName"],
            "description": None,
            # Navigation properties come unexpanded: the linked apps are listed on their own path.
            "conditions": {"applications": {"includeApplications": []}},
            "onInteractiveAuthFlowStart": {
                "@odata.type": "#microsoft.graph.onInteractiveAuthFlowStartExternalUsersSelfServiceSignUp",
                "isSignUpAllowed": True,
            },
            "onAuthenticationMethodLoadStart": {
                "@odata.type": "#microsoft.graph.onAuthenticationMethodLoadStartExternalUsersSelfServiceSignUp",
                "identityProviders": [
                    {
                        "@odata.type": "#microsoft.graph.builtInIdentityProvider",
                        "id": "EmailPassword-OAUTH",
                        "displayName": "Email with password",
                        "identityProviderType": "EmailPassword",
                        "state": None,
                    }
                ],
            },
            "onAttributeCollection": None,
            "onAttributeCollectionStart": None,
            "onAttributeCollectionSubmit": handler,
            "onUserCreateStart": {
                "@odata.type": "#microsoft.graph.onUserCreateStartExternalUsersSelfServiceSignUp",
                "userTypeToCreate": "member",
            },
        }
        if version == "beta":
            view["priority"] = 500
        if flow["collects"]:
            view["onAttributeCollection"] = {
                "@odata.type": ATTRIBUTE_COLLECTION,
                "attributeCollectionPage": {
                    "customStringsFileId": None,
                    "views": [
                        {"title": None, "description": None, "inputs": [dict(i) for i in flow["inputs"]]}
                    ],
                },
                "attributes": [
                    {
                        "id": a,
                        "displayName": BUILT_IN_USER_FLOW_ATTRIBUTES.get(a, a.split("_")[-1]),
                        "userFlowAttributeType": "builtIn"
                        if a in BUILT_IN_USER_FLOW_ATTRIBUTES
                        else "custom",
                        "dataType": "string",
                    }
                    for a in flow["attributes"]
                ],
            }
        return view

    def _create_signup_flow(self, body: dict[str, Any], version: str) -> dict[str, Any]:
        allowed = {
            "@odata.type", "displayName", "description", "conditions", "onInteractiveAuthFlowStart",
            "onAuthenticationMethodLoadStart", "onAttributeCollection", "onAttributeCollectionStart",
            "onAttributeCollectionSubmit", "onUserCreateStart",
        } | ({"priority"} if version == "beta" else set())  # fmt: skip
        _unknown_keys(body, allowed, f"externalUsersSelfServiceSignUpEventsFlow ({version})")
        if body.get("@odata.type") != SIGNUP_FLOW:
            raise GraphError(
                400,
                "BadRequest",
                "authenticationEventsFlow is abstract: specify the @odata.type of the flow.",
                "@odata.type",
            )
        name = body.get("displayName")
        if not name:
            raise GraphError(400, "BadRequest", "displayName is required.", "displayName")
        if any(f["displayName"].casefold() == str(name).casefold() for f in self.state.signup_flows.values()):
            raise GraphError(
                409, "Conflict", f"A user flow with the display name '{name}' already exists.", "displayName"
            )
        start = body.get("onInteractiveAuthFlowStart") or {}
        if (
            start.get("@odata.type")
            != "#microsoft.graph.onInteractiveAuthFlowStartExternalUsersSelfServiceSignUp"
        ):
            raise GraphError(
                400, "BadRequest", "onInteractiveAuthFlowStart is required.", "onInteractiveAuthFlowStart"
            )
        methods = body.get("onAuthenticationMethodLoadStart") or {}
        providers = methods.get("identityProviders") or []
        if (
            methods.get("@odata.type")
            != "#microsoft.graph.onAuthenticationMethodLoadStartExternalUsersSelfServiceSignUp"
            or not providers
        ):
            raise GraphError(
                400,
                "BadRequest",
                "onAuthenticationMethodLoadStart must have at least one identity provider linked.",
                "onAuthenticationMethodLoadStart",
            )
        for provider in providers:
            if provider.get("id") not in BUILT_IN_PROVIDERS:
                raise GraphError(
                    400,
                    "BadRequest",
                    f"Unknown identity provider {provider.get('id')!r}.",
                    "identityProviders",
                )
        applications = (body.get("conditions") or {}).get("applications") or {}
        if version == "v1.0" and "includeAllApplications" in applications:
            raise GraphError(
                400, "BadRequest", "Invalid property 'includeAllApplications'.", "includeAllApplications"
            )
        flow: dict[str, Any] = {
            "id": str(uuid.uuid4()), "displayName": name, "apps": [], "attributes": [], "inputs": [],
            "collects": False, "extension": None, "handler": False,
        }  # fmt: skip
        collection = body.get("onAttributeCollection")
        if collection:
            ids = [str(a.get("id")) for a in collection.get("attributes") or []]
            for attribute_id in ids:
                if not self._known_attribute(attribute_id):
                    raise GraphError(
                        400, "BadRequest", f"The attribute '{attribute_id}' does not exist.", "attributes"
                    )
            if not ids:
                raise GraphError(
                    400, "BadRequest", "onAttributeCollection needs at least one attribute.", "attributes"
                )
            flow.update(attributes=ids, inputs=self._inputs(collection, ids, version), collects=True)
        if body.get("onAttributeCollectionSubmit") is not None:
            # UNVERIFIED whether a create may carry the extension inline: refused, so nothing relies on it.
            raise GraphError(
                400, "BadRequest", "Attach a custom extension by its $ref.", "onAttributeCollectionSubmit"
            )
        for app in applications.get("includeApplications") or []:
            self._link(flow, app.get("appId"))
        self.state.signup_flows[flow["id"]] = flow
        self.state.lagging[flow["id"]] = self.replication_lag
        return flow

    def _patch_signup_flow(self, flow: dict[str, Any], body: dict[str, Any], version: str) -> None:
        _unknown_keys(
            body,
            {
                "@odata.type",
                "displayName",
                "description",
                "onAttributeCollection",
                "onAttributeCollectionSubmit",
            },
            "an update of externalUsersSelfServiceSignUpEventsFlow",
        )
        if body.get("@odata.type") != SIGNUP_FLOW:
            raise GraphError(400, "BadRequest", "Include the @odata.type of the user flow.", "@odata.type")
        name = body.get("displayName")
        if name is not None:
            if any(
                f is not flow and f["displayName"].casefold() == str(name).casefold()
                for f in self.state.signup_flows.values()
            ):
                raise GraphError(
                    409,
                    "Conflict",
                    f"A user flow with the display name '{name}' already exists.",
                    "displayName",
                )
            flow["displayName"] = name
        if "onAttributeCollection" in body:
            collection = body["onAttributeCollection"] or {}
            if not flow["collects"]:
                raise GraphError(
                    400,
                    "BadRequest",
                    "onAttributeCollection can only be updated when it was set at creation.",
                    "onAttributeCollection",
                )
            if "attributes" in collection:
                raise GraphError(400, "BadRequest", "Add or remove attributes by their $ref.", "attributes")
            inputs = self._inputs(collection, flow["attributes"], version)
            # "You must specify all attributes that you want to retain, otherwise they're removed."
            kept = [i["attribute"] for i in inputs]
            if not kept:
                raise GraphError(400, "BadRequest", "A user flow keeps at least one attribute.", "inputs")
            flow.update(attributes=[a for a in flow["attributes"] if a in kept], inputs=inputs)
        if "onAttributeCollectionSubmit" in body:
            if body["onAttributeCollectionSubmit"] is not None:
                raise GraphError(
                    400, "BadRequest", "Attach a custom extension by its $ref.", "onAttributeCollectionSubmit"
                )
            flow.update(extension=None, handler=False)

    def _route_signup_flows(
        self, version: str, method: str, parts: list[str], query: dict[str, list[str]], body: Any, path: str
    ) -> tuple[int, Any, dict[str, str]]:
        flows = self.state.signup_flows
        if not parts:
            if method == "GET":
                listed = [f for fid, f in list(flows.items()) if self._visible(fid)]
                for clause in query.get("$filter", []):
                    match = _FILTER_BY_APP.match(clause)
                    if match is None:
                        raise GraphError(400, "BadRequest", f"Invalid filter clause: {clause}")
                    listed = [f for f in listed if match.group(2).lower() in (a.lower() for a in f["apps"])]
                views = [self._signup_flow_view(f, version) for f in listed]
                return 200, self._page(views, path, query), {}
            if method == "POST":
                flow = self._create_signup_flow(body, version)
                return 201, self._signup_flow_view(flow, version), {}
            raise GraphError(405, "Request_BadRequest", f"{method} is not supported here.")
        flow = self._signup_flow(parts[0])
        rest = parts[1:]
        if rest[:1] == [FLOW_CAST]:
            rest = rest[1:]
        if not rest:
            if method == "GET":
                return 200, self._signup_flow_view(flow, version), {}
            if method == "PATCH":
                self._patch_signup_flow(flow, body, version)
                return 204, None, {}
            if method == "DELETE":
                del flows[flow["id"]]
                return 204, None, {}
        elif rest[:3] == ["conditions", "applications", "includeApplications"]:
            return self._route_apps(method, flow, rest[3:], query, body, path)
        elif rest[:3] == ["onAttributeCollection", ATTRIBUTE_COLLECTION.lstrip("#"), "attributes"]:
            return self._route_flow_attributes(method, flow, rest[3:], body)
        elif rest == ["onAttributeCollectionSubmit", SUBMIT_HANDLER.lstrip("#"), "customExtension", "$ref"]:
            if version != "beta":
                raise GraphError(400, "BadRequest", "Resource not found for the segment 'customExtension'.")
            if method == "PUT":
                match = re.search(
                    _REF.format("customAuthenticationExtensions"), str(body.get("@odata.id") or "")
                )
                if not match or not str(body["@odata.id"]).startswith(self.endpoint + "/"):
                    raise GraphError(
                        400, "BadRequest", f"Invalid @odata.id {body.get('@odata.id')!r}.", "@odata.id"
                    )
                extension = self._extension(match.group(1))
                if extension["@odata.type"] != SUBMIT_EXTENSION:
                    raise GraphError(
                        400,
                        "BadRequest",
                        f"A {extension['@odata.type']} cannot handle OnAttributeCollectionSubmit.",
                        "@odata.id",
                    )
                flow.update(extension=extension["id"], handler=True)
                return 204, None, {}
        raise GraphError(405, "Request_BadRequest", f"{method} is not supported here.")

    def _route_apps(
        self,
        method: str,
        flow: dict[str, Any],
        rest: list[str],
        query: dict[str, list[str]],
        body: Any,
        path: str,
    ) -> tuple[int, Any, dict[str, str]]:
        if not rest:
            if method == "GET":
                return 200, self._page([{"appId": a} for a in flow["apps"]], path, query), {}
            if method == "POST":
                _unknown_keys(body, {"@odata.type", "appId"}, "authenticationConditionApplication")
                self._link(flow, body.get("appId"))
                return 201, {"appId": body["appId"]}, {}
        elif len(rest) == 1 and method == "DELETE":
            linked = next((a for a in flow["apps"] if a.lower() == rest[0].lower()), None)
            if linked is None:
                raise GraphError(
                    404, "Request_ResourceNotFound", f"The application '{rest[0]}' is not linked."
                )
            flow["apps"].remove(linked)
            return 204, None, {}
        raise GraphError(405, "Request_BadRequest", f"{method} is not supported here.")

    def _route_flow_attributes(
        self, method: str, flow: dict[str, Any], rest: list[str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if not flow["collects"]:
            raise GraphError(400, "BadRequest", "The user flow does not collect attributes.")
        if rest == [] and method == "GET":
            return (
                200,
                {"value": self._signup_flow_view(flow, "v1.0")["onAttributeCollection"]["attributes"]},
                {},
            )
        if rest == ["$ref"] and method == "POST":
            match = re.search(_REF.format("userFlowAttributes"), str(body.get("@odata.id") or ""))
            if not match or not str(body["@odata.id"]).startswith(self.endpoint + "/"):
                raise GraphError(
                    400, "BadRequest", f"Invalid @odata.id {body.get('@odata.id')!r}.", "@odata.id"
                )
            attribute_id = match.group(1)
            if not self._known_attribute(attribute_id):
                raise GraphError(
                    404, "Request_ResourceNotFound", f"The attribute '{attribute_id}' does not exist."
                )
            if attribute_id in flow["attributes"]:
                raise GraphError(
                    409, "Conflict", f"The attribute '{attribute_id}' is already in the user flow."
                )
            flow["attributes"].append(attribute_id)
            flow["inputs"].append(self._default_input(attribute_id))
            return 204, None, {}
        if len(rest) == 2 and rest[1] == "$ref" and method == "DELETE":
            if rest[0] not in flow["attributes"]:
                raise GraphError(
                    404, "Request_ResourceNotFound", f"The attribute '{rest[0]}' is not in the user flow."
                )
            if len(flow["attributes"]) == 1:
                raise GraphError(400, "BadRequest", "The last attribute of a user flow cannot be removed.")
            flow["attributes"].remove(rest[0])
            flow["inputs"] = [i for i in flow["inputs"] if i["attribute"] != rest[0]]
            return 204, None, {}
        raise GraphError(405, "Request_BadRequest", f"{method} is not supported here.")


class GraphDouble(_ExternalIdDouble):
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


def _envelope(code: str, message: str, target: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "innerError": {
            "date": "2026-11-22T00:00:00",
            "request-id": str(uuid.uuid4()),
            "client-request-id": str(uuid.uuid4()),
        },
    }
    if target:
        error["target"] = target
    return {"error": error}
