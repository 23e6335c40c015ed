"""Pulumi mocks that record every registration as the engine would receive it: inputs with their
secret markers, parent, dependencies and options. Components and the whole program run on them."""

from __future__ import annotations

import hashlib
import json
import runpy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.sync_await import _sync_await

PROJECT_DIR = Path(__file__).resolve().parent.parent
TENANT_ID = "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90"
SUBSCRIPTION_ID = "9f8e7d6c-5b4a-4321-8765-43210fedcba9"


# Where azure-native takes a resource's Azure name, when not in `name`.
NAME_KEYS = {
    "azure-native:storage:BlobContainer": "containerName",
    "azure-native:keyvault:Secret": "secretName",
    "azure-native:operationalinsights:Workspace": "workspaceName",
    "azure-native:applicationinsights:Component": "resourceName",
    "azure-native:resources:ResourceGroup": "resourceGroupName",
}


def guid(*parts: str) -> str:
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def unwrap(value: Any) -> Any:
    """The value with every secret marker removed."""
    if rpc.is_rpc_secret(value):
        return unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    return value


def plaintext(value: Any) -> Iterator[Any]:
    """Every leaf value that is not under a secret marker."""
    if rpc.is_rpc_secret(value):
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from plaintext(item)
    elif isinstance(value, list):
        for item in value:
            yield from plaintext(item)
    else:
        yield value


@dataclass
class Registered:
    type: str
    name: str
    urn: str
    raw: dict[str, Any]  # inputs with secret markers, as the engine stores them
    parent: str
    dependencies: list[str]
    additional_secret_outputs: list[str]
    provider: str

    @property
    def inputs(self) -> dict[str, Any]:
        return dict(unwrap(self.raw))

    def is_secret(self, key: str) -> bool:
        return rpc.is_rpc_secret(self.raw.get(key))


class AzureMocks(pulumi.runtime.Mocks):
    """Outputs that the real providers compute, shaped like their schemas."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        plain = unwrap(inputs)
        typ, name = args.typ, args.name
        state: dict[str, Any] = dict(inputs)
        resource_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg/providers/{typ}/{name}"
        if typ == "azure-native:managedidentity:UserAssignedIdentity":
            state.update(
                principalId=guid(name, "principal"),
                clientId=guid(name, "client"),
                name=plain.get("resourceName", name),
            )
        elif typ == "azure-native:storage:StorageAccount":
            account = plain["accountName"]
            state.update(name=account, primaryEndpoints={"blob": f"https://{account}.blob.core.windows.net/"})
        elif typ == "azure-native:keyvault:Vault":
            vault = plain["vaultName"]
            state.update(
                name=vault,
                properties={**plain["properties"], "vaultUri": f"https://{vault}.vault.azure.net/"},
            )
        elif typ == "azure-native:web:WebApp":
            app = plain["name"]
            state.update(
                defaultHostName=f"{app}.azurewebsites.net",
                enabledHostNames=[f"{app}.azurewebsites.net", f"{app}.scm.azurewebsites.net"],
            )
            # A list of identity ids going in, a map keyed by id coming out (as ARM returns it).
            identity = plain.get("identity") or {}
            ids = identity.get("userAssignedIdentities") or []
            state["identity"] = {
                **identity,
                "userAssignedIdentities": {i: {"principalId": guid(i)} for i in ids},
            }
        elif typ == "azure-native:applicationinsights:Component":
            state.update(
                connectionString=f"InstrumentationKey={guid(name)};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"
            )
        elif typ.startswith("azure-native:"):
            state.setdefault("name", plain.get(NAME_KEYS.get(typ, "name")) or name)
        elif typ == "random:index/randomString:RandomString":
            state["result"] = "k3x9q2mz"[: int(plain.get("length", 8))]
        elif typ == "random:index/randomUuid:RandomUuid":
            state["result"] = guid(name, "uuid")
        elif typ == "random:index/randomPassword:RandomPassword":
            state["result"] = rpc.wrap_rpc_secret("Mock-Passw0rd-" + guid(name)[:12])
        elif typ.startswith("azuread:"):
            resource_id = guid(typ, name)
            state.update(clientId=guid(name, "client"), objectId=resource_id, id=resource_id)
            if typ == "azuread:index/applicationPassword:ApplicationPassword":
                state["value"] = rpc.wrap_rpc_secret("Mock-Client-Secret-" + guid(name)[:8])
                state["keyId"] = guid(name, "key")
        elif typ == "pulumi-python:dynamic/b2c:ApiConnector":
            resource_id = guid(name, "connector")
            state.update(connector_id=resource_id, certificate_thumbprints=[])
        elif typ == "pulumi-python:dynamic/b2c:UserFlow":
            flow = plain["name"] if str(plain["name"]).startswith("B2C_1_") else f"B2C_1_{plain['name']}"
            resource_id, state["flow_id"] = flow, flow
        elif typ == "pulumi-python:dynamic/azure:FunctionCodeDeployment":
            resource_id = state["deployment_id"] = guid(name, "deployment")
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "tenantId": TENANT_ID,
                "subscriptionId": SUBSCRIPTION_ID,
                "clientId": guid("me"),
                "objectId": guid("me", "object"),
            }, []
        if args.token == "azuread:index/getClientConfig:getClientConfig":
            return {
                "tenantId": TENANT_ID,
                "clientId": guid("deployer"),
                "objectId": guid("deployer", "object"),
            }, []
        return {}, []


class RecordingMonitor(mocks.MockMonitor):
    def __init__(self, mocked: pulumi.runtime.Mocks) -> None:
        super().__init__(mocked)
        self.registered: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registered.append(
                Registered(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    raw=dict(rpc.deserialize_properties(request.object)),
                    parent=request.parent,
                    dependencies=list(request.dependencies),
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    provider=request.provider,
                )
            )
        return response


@dataclass
class Run:
    resources: list[Registered]
    outputs: dict[str, Any]
    secret_outputs: set[str]

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str) -> Registered:
        (found,) = self.of_type(typ)
        return found

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)


def run(
    program: Callable[[], None],
    config: dict[str, Any] | None = None,
    *,
    secrets: tuple[str, ...] = (),
    preview: bool = False,
) -> Run:
    """Run `program` on the mocks with this stack config; return what was registered and exported."""
    settings.ROOT.set(None)
    values = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in (config or {}).items()
    }
    pulumi.runtime.set_all_config(values, list(secrets))
    monitor = RecordingMonitor(AzureMocks())
    mocks.set_mocks(AzureMocks(), project="b2c-signup", stack="dev", preview=preview, monitor=monitor)
    monitor.mocks = AzureMocks()
    stack = settings.get_root_resource()

    @pulumi.runtime.test
    def go() -> None:
        program()

    go()
    outputs: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in getattr(stack, "outputs", {}).items():
        output = pulumi.Output.from_input(value)
        outputs[key] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            secret.add(key)
    return Run(monitor.registered, outputs, secret)


def run_main(config: dict[str, Any], *, secrets: tuple[str, ...] = (), preview: bool = False) -> Run:
    program = PROJECT_DIR / "__main__.py"
    return run(
        lambda: runpy.run_path(str(program), run_name="__main__"), config, secrets=secrets, preview=preview
    )
