"""The only module that talks to Microsoft Graph: credentials, clients (v1.0 and beta), retries, errors.

Providers call the async methods of `GraphGateway` inside `asyncio.run`, building a new gateway
for every call: the provider object is pickled into state and runs in another process, so it
holds settings, never a client or credential.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError
from kiota_abstractions.api_error import APIError
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption
from msgraph.generated.models.basic_authentication import BasicAuthentication
from msgraph.generated.models.identity_api_connector import IdentityApiConnector
from msgraph.generated.models.pkcs12_certificate import Pkcs12Certificate
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as v1_options
from msgraph.graph_service_client import GraphServiceClient
from msgraph_beta import GraphServiceClient as BetaGraphServiceClient
from msgraph_beta.generated.models.b2c_identity_user_flow import B2cIdentityUserFlow
from msgraph_beta.generated.models.identity_api_connector import IdentityApiConnector as BetaApiConnector
from msgraph_beta.generated.models.identity_user_flow_attribute import IdentityUserFlowAttribute
from msgraph_beta.generated.models.identity_user_flow_attribute_assignment import (
    IdentityUserFlowAttributeAssignment,
)
from msgraph_beta.generated.models.identity_user_flow_attribute_input_type import (
    IdentityUserFlowAttributeInputType,
)
from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError as BetaODataError
from msgraph_beta.generated.models.user_attribute_values_item import UserAttributeValuesItem
from msgraph_beta.generated.models.user_flow_api_connector_configuration import (
    UserFlowApiConnectorConfiguration,
)
from msgraph_beta.generated.models.user_flow_type import UserFlowType
from msgraph_beta.graph_request_adapter import GraphRequestAdapter as BetaGraphRequestAdapter
from msgraph_beta.graph_request_adapter import options as beta_options
from msgraph_core import GraphClientFactory

from components.credentials import OidcUnavailableError, github_oidc_assertion

CONFIG_NAMESPACE = "b2c-signup"
DEFAULT_ENDPOINT = "https://graph.microsoft.com"
CREDENTIAL_KINDS = ("clientSecret", "azureCli", "githubOidc")
CONNECTORS_PERMISSION = "APIConnectors.ReadWrite.All"
FLOWS_PERMISSION = "IdentityUserFlow.ReadWrite.All"
APPLICATIONS_PERMISSION = "Application.ReadWrite.All"
_LOOPBACK_NAMES = {"localhost"}

T = TypeVar("T")


class GraphError(Exception):
    """A Graph failure, worded for the person running `pulumi up`."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GraphConfigError(GraphError):
    """A `b2c-signup:*` setting the Graph resources need is missing or malformed."""


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class GraphSettings:
    """What the providers need to reach Graph, read from stack config in `configure()`."""

    tenant_id: str
    credential: str = "clientSecret"
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    endpoint: str = DEFAULT_ENDPOINT
    # The longest a single operation may spend waiting out throttling, faults and replication lag.
    max_wait_seconds: float = 90.0
    # How long a 404 right after a create is taken for replication lag rather than absence.
    max_lag_seconds: float = 30.0

    @classmethod
    def from_config(cls, get: Callable[[str], Any]) -> GraphSettings:
        """Build from `get(key)` over the `b2c-signup` namespace; every error names its key."""

        def text(key: str) -> str | None:
            value = get(f"{CONFIG_NAMESPACE}:{key}")
            return str(value).strip() if value not in (None, "") else None

        tenant_id = text("tenantId")
        if not tenant_id:
            raise GraphConfigError(
                "b2c-signup:tenantId is not set: pulumi config set b2c-signup:tenantId <B2C tenant GUID>"
            )
        credential = text("b2cCredential") or "clientSecret"
        if credential not in CREDENTIAL_KINDS:
            raise GraphConfigError(
                f"b2c-signup:b2cCredential {credential!r} must be one of {', '.join(CREDENTIAL_KINDS)}"
            )
        client_id, client_secret = text("b2cClientId"), text("b2cClientSecret")
        if credential in ("clientSecret", "githubOidc") and not client_id:
            raise GraphConfigError(
                f"b2c-signup:b2cClientId is required with b2cCredential {credential}: the application (client) id "
                "of the deployment app registered in the B2C tenant"
            )
        if credential == "clientSecret" and not client_secret:
            raise GraphConfigError(
                "b2c-signup:b2cClientSecret is not set: pulumi config set --secret b2c-signup:b2cClientSecret <secret>, "
                "or set b2c-signup:b2cCredential to azureCli or githubOidc"
            )
        endpoint = (text("graphEndpoint") or DEFAULT_ENDPOINT).rstrip("/")
        parts = urlsplit(endpoint)
        if (
            not parts.hostname
            or parts.path
            or not (parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)))
        ):
            raise GraphConfigError(
                f"b2c-signup:graphEndpoint {endpoint!r} must be an https origin such as https://graph.microsoft.com "
                "(http is accepted for loopback hosts only, for tests)"
            )
        return cls(tenant_id, credential, client_id, client_secret, endpoint)

    def describe_identity(self) -> str:
        who = f"client id {self.client_id}" if self.client_id else "the signed-in Azure CLI account"
        return f"{who} in tenant {self.tenant_id} (b2cCredential {self.credential})"


def _github_oidc_token() -> str:
    try:
        return github_oidc_assertion()
    except OidcUnavailableError as exc:
        raise GraphConfigError(f"b2c-signup:b2cCredential is githubOidc but {exc}") from None


def make_credential(settings: GraphSettings) -> AsyncTokenCredential:
    """The azure-identity credential for the B2C tenant; never the ARM_* variables azure-native reads."""
    from azure.identity.aio import AzureCliCredential, ClientAssertionCredential, ClientSecretCredential

    if settings.credential == "azureCli":
        return AzureCliCredential(tenant_id=settings.tenant_id)
    if settings.credential == "githubOidc":
        return ClientAssertionCredential(settings.tenant_id, str(settings.client_id), _github_oidc_token)
    return ClientSecretCredential(settings.tenant_id, str(settings.client_id), str(settings.client_secret))


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def connector_from_graph(item: IdentityApiConnector | BetaApiConnector) -> dict[str, Any]:
    """Live connector state as the providers record it (secrets never come back from Graph)."""
    auth = item.authentication_configuration
    thumbprints: list[str] = []
    username = None
    if (
        isinstance(auth, BasicAuthentication)
        or getattr(auth, "odata_type", "") == "#microsoft.graph.basicAuthentication"
    ):
        auth_type, username = "basic", getattr(auth, "username", None)
    elif auth is not None and hasattr(auth, "certificate_list"):
        auth_type = "certificate"
        thumbprints = sorted(c.thumbprint for c in (auth.certificate_list or []) if c.thumbprint)
    else:
        auth_type = "none"
    return {
        "id": item.id,
        "display_name": item.display_name,
        "target_url": item.target_url,
        "auth_type": auth_type,
        "username": username,
        "certificate_thumbprints": thumbprints,
    }


def flow_from_graph(item: B2cIdentityUserFlow) -> dict[str, Any]:
    flow_type = item.user_flow_type
    version = item.user_flow_type_version
    return {
        "id": item.id,
        "user_flow_type": getattr(flow_type, "value", flow_type),
        "user_flow_type_version": int(version)
        if version is not None and version == int(version)
        else version,
        "default_language_tag": item.default_language_tag,
        "is_language_customization_enabled": bool(item.is_language_customization_enabled),
    }


def attribute_from_graph(item: IdentityUserFlowAttributeAssignment) -> dict[str, Any]:
    input_type = item.user_input_type
    found = {
        "attribute_id": item.id,
        "input_type": getattr(input_type, "value", input_type),
        "is_optional": bool(item.is_optional),
        "requires_verification": bool(item.requires_verification),
        "display_name": item.display_name or item.id,
    }
    choices = [
        {"name": choice.name, "value": choice.value, "is_default": bool(choice.is_default)}
        for choice in item.user_attribute_values or []
    ]
    if choices:  # as model.normalise_attribute records them: only when there are any
        found["user_attribute_values"] = choices
    return found


def _assignment(attribute: Mapping[str, Any], *, with_attribute: bool) -> IdentityUserFlowAttributeAssignment:
    choices = attribute.get("user_attribute_values")
    return IdentityUserFlowAttributeAssignment(
        user_attribute=IdentityUserFlowAttribute(id=attribute["attribute_id"]) if with_attribute else None,
        user_input_type=IdentityUserFlowAttributeInputType(attribute["input_type"]),
        is_optional=attribute["is_optional"],
        requires_verification=attribute["requires_verification"],
        display_name=attribute["display_name"],
        # A PATCH always names the choices, so that a select attribute turned into a text box
        # loses them instead of keeping them behind the new input type.
        user_attribute_values=[
            UserAttributeValuesItem(name=c["name"], value=c["value"], is_default=c["is_default"])
            for c in choices or []
        ]
        if choices or not with_attribute
        else None,
    )


class GraphGateway:
    """One session against Graph for one provider call: `async with GraphGateway(settings) as graph:`."""

    def __init__(
        self,
        settings: GraphSettings,
        credential: AsyncTokenCredential | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.settings = settings
        self._credential = credential
        self._secrets = (*secrets, settings.client_secret or "")
        self._deadline = 0.0

    async def __aenter__(self) -> GraphGateway:
        self._credential = self._credential or make_credential(self.settings)
        host = urlsplit(self.settings.endpoint).hostname or ""
        auth = AzureIdentityAuthenticationProvider(
            self._credential, scopes=[f"{self.settings.endpoint}/.default"], allowed_hosts=[host]
        )
        retry = {RetryHandlerOption.get_key(): RetryHandlerOption(delay=0.5, max_retries=5)}
        v1_http = GraphClientFactory.create_with_default_middleware(options={**v1_options, **retry})
        beta_http = GraphClientFactory.create_with_default_middleware(options={**beta_options, **retry})
        self._v1_adapter = GraphRequestAdapter(auth, client=v1_http)
        self._v1_adapter.base_url = f"{self.settings.endpoint}/v1.0"
        self._beta_adapter = BetaGraphRequestAdapter(auth, client=beta_http)
        self._beta_adapter.base_url = f"{self.settings.endpoint}/beta"
        self.v1 = GraphServiceClient(request_adapter=self._v1_adapter)
        self.beta = BetaGraphServiceClient(request_adapter=self._beta_adapter)
        self._http = (v1_http, beta_http)
        self._deadline = time.monotonic() + self.settings.max_wait_seconds
        return self

    async def __aexit__(self, *_: object) -> None:
        for client in self._http:
            await client.aclose()
        close = getattr(self._credential, "close", None)
        if close is not None:
            await close()

    # -- the retry and error policy every call goes through ------------------------------------

    async def _call(
        self,
        describe: str,
        permission: str,
        operation: Callable[[], Awaitable[T]],
        *,
        lag_tolerant: bool = False,
        recover: Callable[[], Awaitable[T | None]] | None = None,
    ) -> T:
        """Run one Graph operation under the gateway's policy.

        The SDK's retry handler already waits out 429/503/504 (honouring Retry-After). On top of it:
        a dropped connection is retried (for a write, only after `recover` shows it did not land),
        and, when `lag_tolerant`, a 404 right after a create is waited out: Entra replicates new
        objects to other nodes with a delay. Either way no longer than the gateway's budget.
        """
        attempt, started = 0, time.monotonic()
        while True:
            attempt += 1
            try:
                # The SDK's own retries honour Retry-After without a cap; the budget bounds them.
                remaining = max(self._deadline - time.monotonic(), 1.0)
                return await asyncio.wait_for(operation(), timeout=remaining)
            except TimeoutError:
                raise GraphError(
                    f"Gave up {describe}: no answer within the {self.settings.max_wait_seconds:.0f} s budget while "
                    "Microsoft Graph was throttling or failing (the SDK retried). Run the command again later.",
                ) from None
            except httpx.TransportError as exc:
                if recover is not None and (
                    landed := await self._absent_is_none(
                        f"checking whether {describe} landed", permission, recover
                    )
                ):
                    return landed
                self._backoff_or_raise(describe, attempt, f"the connection failed ({type(exc).__name__})")
            except APIError as exc:
                status = exc.response_status_code
                if status == 404 and lag_tolerant and self._may_wait_for_lag(started, attempt):
                    pass
                elif status in (429, 503, 504):
                    raise GraphError(
                        f"Microsoft Graph kept answering {status} while {describe}, after the SDK's retries: "
                        "the service is throttling or unavailable; run the command again later",
                        status,
                    ) from None
                elif status == 404 and lag_tolerant:
                    waited = time.monotonic() - started
                    error = self._error(describe, permission, exc)
                    raise GraphError(
                        f"{error} (still absent after waiting {waited:.0f} s for replication)", 404
                    ) from None
                else:
                    raise self._error(describe, permission, exc) from None
            except ClientAuthenticationError as exc:
                raise GraphError(
                    f"Could not get a Microsoft Graph token for {self.settings.describe_identity()} while {describe}: "
                    f"{_redact(str(exc.message or exc).splitlines()[0], self._secrets)}. Check b2c-signup:tenantId, "
                    "b2c-signup:b2cClientId and b2c-signup:b2cClientSecret.",
                    401,
                ) from None
            await asyncio.sleep(min(0.25 * 2**attempt, 8.0) * (0.75 + random.random() / 2))  # noqa: S311

    def _may_wait_for_lag(self, started: float, attempt: int) -> bool:
        resume = time.monotonic() + min(0.25 * 2**attempt, 8.0)
        return bool(resume - started <= self.settings.max_lag_seconds and resume <= self._deadline)

    def _backoff_or_raise(self, describe: str, attempt: int, reason: str) -> None:
        if time.monotonic() + min(0.25 * 2**attempt, 8.0) > self._deadline:
            raise GraphError(
                f"Gave up {describe} after {attempt} attempts in {self.settings.max_wait_seconds:.0f} s: {reason}. "
                "Run the command again; if it persists, check the Graph endpoint and the network.",
            )

    def _error(self, describe: str, permission: str, exc: APIError) -> GraphError:
        status = exc.response_status_code
        code, message, target = "", "", ""
        error = getattr(exc, "error", None)
        if error is not None:
            code, message = error.code or "", error.message or ""
            target = getattr(error, "target", None) or ""
            details = getattr(error, "details", None) or []
            target = target or next((d.target for d in details if getattr(d, "target", None)), "")
        message = _redact(message, self._secrets)
        if status == 401:
            return GraphError(
                f"Microsoft Graph refused the credential of {self.settings.describe_identity()} while {describe} "
                f"(401 {code}). Check b2c-signup:b2cClientId and b2c-signup:b2cClientSecret (pulumi config set "
                "--secret b2c-signup:b2cClientSecret ...), and that the app is registered in the B2C tenant.",
                401,
            )
        if status == 403:
            return GraphError(
                f"Microsoft Graph denied {describe} (403 {code}): the app {self.settings.client_id or ''} needs the "
                f"Microsoft Graph application permission {permission}, with admin consent granted in the B2C tenant "
                f"{self.settings.tenant_id} (App registrations > API permissions > Grant admin consent).",
                403,
            )
        field_note = f" (field: {target})" if target else ""
        return GraphError(
            f"Microsoft Graph rejected {describe} ({status} {code}): {message}{field_note}", status
        )

    async def _absent_is_none(
        self, describe: str, permission: str, operation: Callable[[], Awaitable[T]]
    ) -> T | None:
        try:
            return await self._call(describe, permission, operation)
        except GraphError as exc:
            if exc.status == 404:
                return None
            raise

    # -- API connectors (v1.0) -----------------------------------------------------------------

    def _connector_body(self, patch: Mapping[str, Any]) -> IdentityApiConnector:
        body = IdentityApiConnector(
            display_name=patch.get("display_name"), target_url=patch.get("target_url")
        )
        auth = patch.get("authentication")
        if auth is not None and auth["type"] == "certificate":
            body.authentication_configuration = Pkcs12Certificate(
                pkcs12_value=auth["pkcs12_value"], password=auth["password"]
            )
        elif auth is not None:
            body.authentication_configuration = BasicAuthentication(
                username=auth["username"], password=auth["password"]
            )
        return body

    async def get_connector(self, connector_id: str) -> dict[str, Any] | None:
        item = self.v1.identity.api_connectors.by_identity_api_connector_id(connector_id)
        found = await self._absent_is_none(
            f"reading API connector {connector_id}", CONNECTORS_PERMISSION, item.get
        )
        return connector_from_graph(found) if found else None

    async def find_connectors(self, display_name: str) -> list[dict[str, Any]]:
        """Connectors with this display name. Listed and filtered here: whether Graph supports
        $filter on displayName is undocumented, and a tenant has few connectors."""
        found: list[dict[str, Any]] = []
        builder = self.v1.identity.api_connectors
        page = await self._call("listing API connectors", CONNECTORS_PERMISSION, builder.get)
        while page is not None:
            found += [
                connector_from_graph(c)
                for c in page.value or []
                if (c.display_name or "").casefold() == display_name.casefold()
            ]
            if not page.odata_next_link:
                break
            next_page = builder.with_url(page.odata_next_link)
            page = await self._call("listing API connectors", CONNECTORS_PERMISSION, next_page.get)
        return found

    async def create_connector(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        describe = f"creating API connector {spec['display_name']!r}"

        async def post() -> IdentityApiConnector | None:
            return await self.v1.identity.api_connectors.post(self._connector_body(spec))

        async def landed() -> IdentityApiConnector | None:
            # A dropped POST may still have created it: look for it before trying again.
            matches = await self.find_connectors(spec["display_name"])
            if len(matches) == 1:
                return await self.v1.identity.api_connectors.by_identity_api_connector_id(
                    matches[0]["id"]
                ).get()
            return None

        created = await self._call(describe, CONNECTORS_PERMISSION, post, recover=landed)
        if created is None or not created.id:
            raise GraphError(f"Microsoft Graph returned no connector id while {describe}")
        return connector_from_graph(created)

    async def update_connector(self, connector_id: str, patch: Mapping[str, Any]) -> None:
        item = self.v1.identity.api_connectors.by_identity_api_connector_id(connector_id)
        body = self._connector_body(patch)
        await self._call(
            f"updating API connector {connector_id}",
            CONNECTORS_PERMISSION,
            lambda: item.patch(body),
            lag_tolerant=True,
        )

    async def delete_connector(self, connector_id: str) -> None:
        """Delete; an already absent connector counts as deleted."""
        item = self.v1.identity.api_connectors.by_identity_api_connector_id(connector_id)
        await self._absent_is_none(
            f"deleting API connector {connector_id}", CONNECTORS_PERMISSION, item.delete
        )

    # -- user flows (beta only) ----------------------------------------------------------------

    def _flow(self, flow_id: str) -> Any:
        return self.beta.identity.b2c_user_flows.by_b2c_identity_user_flow_id(flow_id)

    async def get_user_flow(self, flow_id: str) -> dict[str, Any] | None:
        found = await self._absent_is_none(
            f"reading user flow {flow_id}", FLOWS_PERMISSION, self._flow(flow_id).get
        )
        return flow_from_graph(found) if found else None

    async def create_user_flow(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        describe = f"creating user flow {spec['flow_id']}"
        body = B2cIdentityUserFlow(
            id=spec["name"],
            user_flow_type=UserFlowType(spec["user_flow_type"]),
            user_flow_type_version=float(spec["user_flow_type_version"]),
            default_language_tag=spec["default_language_tag"],
            is_language_customization_enabled=spec["is_language_customization_enabled"],
        )

        async def landed() -> B2cIdentityUserFlow | None:
            return await self._flow(spec["flow_id"]).get()

        created = await self._call(
            describe, FLOWS_PERMISSION, lambda: self.beta.identity.b2c_user_flows.post(body), recover=landed
        )
        if created is None or not created.id:
            raise GraphError(f"Microsoft Graph returned no user flow while {describe}")
        return flow_from_graph(created)

    async def update_user_flow(self, flow_id: str, patch: Mapping[str, Any]) -> None:
        body = B2cIdentityUserFlow(
            default_language_tag=patch.get("default_language_tag"),
            is_language_customization_enabled=patch.get("is_language_customization_enabled"),
        )
        await self._call(
            f"updating user flow {flow_id}",
            FLOWS_PERMISSION,
            lambda: self._flow(flow_id).patch(body),
            lag_tolerant=True,
        )

    async def delete_user_flow(self, flow_id: str) -> None:
        await self._absent_is_none(
            f"deleting user flow {flow_id}", FLOWS_PERMISSION, self._flow(flow_id).delete
        )

    async def get_connector_configuration(
        self, flow_id: str, steps: tuple[str, ...]
    ) -> dict[str, str | None]:
        """Graph step -> attached connector id. Neither SDK has a builder for this path, so the
        request goes raw through the beta adapter (auth, retry and throttling middleware still apply)."""
        request = RequestInformation(Method.GET)
        request.url = (
            f"{self.settings.endpoint}/beta/identity/b2cUserFlows/{flow_id}/apiConnectorConfiguration"
            f"?$expand={','.join(steps)}"
        )
        request.headers.try_add("Accept", "application/json")
        adapter = self._beta_adapter

        async def send() -> UserFlowApiConnectorConfiguration | None:
            return await adapter.send_async(
                request, UserFlowApiConnectorConfiguration, {"XXX": BetaODataError}
            )

        config = await self._call(
            f"reading the API connectors of user flow {flow_id}", FLOWS_PERMISSION, send
        )
        attached: dict[str, str | None] = {}
        for step in steps:
            connector = getattr(config, _snake(step), None) if config else None
            attached[step] = getattr(connector, "id", None) or None
        return attached

    async def set_connector(self, flow_id: str, step: str, connector_id: str | None) -> None:
        """Attach (PUT $ref with @odata.id) or detach (PUT $ref with {}, as the docs prescribe)."""
        body = (
            {"@odata.id": f"{self.settings.endpoint}/beta/identity/apiConnectors/{connector_id}"}
            if connector_id
            else {}
        )
        request = RequestInformation(Method.PUT)
        request.url = f"{self.settings.endpoint}/beta/identity/b2cUserFlows/{flow_id}/apiConnectorConfiguration/{step}/$ref"
        request.headers.try_add("Content-Type", "application/json")
        request.content = json.dumps(body).encode()
        adapter = self._beta_adapter
        action = (
            f"attaching API connector {connector_id} to {flow_id} at {step}"
            if connector_id
            else f"detaching the API connector of {flow_id} at {step}"
        )

        async def send() -> None:
            await adapter.send_no_response_content_async(request, {"XXX": BetaODataError})

        # A connector created moments ago may not have replicated yet: its 404 is waited out.
        await self._call(action, FLOWS_PERMISSION, send, lag_tolerant=True)

    async def list_attributes(self, flow_id: str) -> list[dict[str, Any]]:
        builder = self._flow(flow_id).user_attribute_assignments
        page = await self._call(
            f"reading the attributes of user flow {flow_id}", FLOWS_PERMISSION, builder.get, lag_tolerant=True
        )
        items = list(page.value or []) if page else []
        while page is not None and page.odata_next_link:
            page = await self._call(
                f"reading the attributes of user flow {flow_id}",
                FLOWS_PERMISSION,
                builder.with_url(page.odata_next_link).get,
            )
            items += list(page.value or []) if page else []
        return [attribute_from_graph(item) for item in items]

    async def add_attribute(self, flow_id: str, attribute: Mapping[str, Any]) -> None:
        builder = self._flow(flow_id).user_attribute_assignments
        body = _assignment(attribute, with_attribute=True)

        async def landed() -> IdentityUserFlowAttributeAssignment | None:
            return await builder.by_identity_user_flow_attribute_assignment_id(
                attribute["attribute_id"]
            ).get()

        await self._call(
            f"adding attribute {attribute['attribute_id']} to user flow {flow_id}",
            FLOWS_PERMISSION,
            lambda: builder.post(body),
            lag_tolerant=True,
            recover=landed,
        )

    async def update_attribute(self, flow_id: str, attribute: Mapping[str, Any]) -> None:
        item = self._flow(flow_id).user_attribute_assignments.by_identity_user_flow_attribute_assignment_id(
            attribute["attribute_id"]
        )
        body = _assignment(attribute, with_attribute=False)
        await self._call(
            f"updating attribute {attribute['attribute_id']} of user flow {flow_id}",
            FLOWS_PERMISSION,
            lambda: item.patch(body),
        )

    async def delete_attribute(self, flow_id: str, attribute_id: str) -> None:
        item = self._flow(flow_id).user_attribute_assignments.by_identity_user_flow_attribute_assignment_id(
            attribute_id
        )
        await self._absent_is_none(
            f"removing attribute {attribute_id} from user flow {flow_id}", FLOWS_PERMISSION, item.delete
        )

    # -- deleted directory objects (teardown) ------------------------------------------------

    async def purge_deleted_application(self, object_id: str) -> bool:
        """Permanently delete a soft-deleted app registration; False when it is not in the bin.

        Deleted apps wait 30 days in directory/deletedItems, keeping their identifier URIs taken
        and counting against the directory quota."""
        item = self.v1.directory.deleted_items.by_directory_object_id(object_id)
        try:
            await self._call(
                f"purging deleted app registration {object_id}", APPLICATIONS_PERMISSION, item.delete
            )
        except GraphError as exc:
            if exc.status == 404:
                return False
            raise
        return True


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)
