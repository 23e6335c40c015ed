"""The whole program under Pulumi mocks, offline: no cloud, no Pulumi CLI, no credentials.

    python -m tools.program_check --stack dev

Runs __main__.py with the config of Pulumi.<stack>.yaml on mocks that record every registration
as the engine would receive it (inputs with their secret markers, parent, dependencies), and
lists what `up` would create the way a preview does: each resource by parent, with its type, name
and the inputs that identify it, then the stack outputs (secrets hidden). First it applies the checks the Pulumi CLI makes of the project
and stack files before it starts a program (tools.pulumi_rules). A config mistake fails here
exactly as it would in `pulumi up`.
Pull requests from forks get no OIDC token to preview with, so CI runs this instead; the tests
run components and the program on the same mocks.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import runpy
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pulumi
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.sync_await import _sync_await

from components import packaging
from components.graph import permissions
from tools import PROJECT_DIR, pulumi_rules

TENANT_ID = "4a1c2b7e-0d5f-4e8a-9b3c-2f6d8e1a7c90"
SUBSCRIPTION_ID = "9f8e7d6c-5b4a-4321-8765-43210fedcba9"
# The tenant's b2c-extensions-app, which custom attribute ids are named after.
EXTENSIONS_APP_ID = "5d3a8f2e-1b7c-4e9a-a6d0-3c4b2e1f0a98"


# Where azure-native takes a resource's Azure name, when not in `name`.
NAME_KEYS = {
    "azure-native:storage:BlobContainer": "containerName",
    "azure-native:keyvault:Secret": "secretName",
    "azure-native:keyvault:Key": "keyName",
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
    ignore_changes: list[str] = dataclasses.field(default_factory=list)
    retain_on_delete: bool = False

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
        elif typ == "azure-native:keyvault:Secret":
            # Key Vault gives every value a version: a versioned URI names that value for good.
            vault, secret_name = plain["vaultName"], plain["secretName"]
            state["name"] = secret_name
            version = guid(name, "version").replace("-", "")
            properties = {
                **plain["properties"],
                "secretUri": f"https://{vault}.vault.azure.net/secrets/{secret_name}",
                "secretUriWithVersion": f"https://{vault}.vault.azure.net/secrets/{secret_name}/{version}",
            }
            # The engine keeps an output secret where its input was: here the whole properties object.
            state["properties"] = (
                rpc.wrap_rpc_secret(properties) if rpc.is_rpc_secret(inputs["properties"]) else properties
            )
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
        elif typ == "azuread:index/userFlowAttribute:UserFlowAttribute":
            # Graph names a custom attribute after the tenant's extensions app (its id without hyphens).
            resource_id = f"extension_{EXTENSIONS_APP_ID.replace('-', '')}_{plain['displayName']}"
            state.update(id=resource_id, attributeType="custom")
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
            # Graph prefixes the name with B2C_1_ unless it already has it (any case).
            given = str(plain["name"])
            flow = given if given[:6].upper() == "B2C_1_" else f"B2C_1_{given}"
            resource_id, state["flow_id"] = flow, flow
        elif typ == "pulumi-python:dynamic/externalid:CustomExtension":
            resource_id = state["extension_id"] = guid(name, "extension")
        elif typ == "pulumi-python:dynamic/externalid:SignUpFlow":
            resource_id = state["flow_id"] = guid(name, "flow")
        elif typ == "pulumi-python:dynamic/azure:FunctionCodeDeployment":
            resource_id = state["deployment_id"] = guid(name, "deployment")
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        function = args.token
        if function == "azure-native:authorization:getClientConfig":
            return {
                "tenantId": TENANT_ID,
                "subscriptionId": SUBSCRIPTION_ID,
                "clientId": guid("me"),
                "objectId": guid("me", "object"),
            }, []
        if function == "azuread:index/getServicePrincipal:getServicePrincipal":
            # Microsoft Graph's principal, with the application permissions it offers.
            roles = {
                *permissions.PREVIEWER,
                *(role for roles in permissions.DEPLOYER.values() for role in roles),
            }
            return {
                "objectId": guid("graph-sp"),
                "clientId": args.args.get("clientId"),
                "appRoleIds": {r: guid("role", r) for r in roles},
            }, []
        if function == "azuread:index/getClientConfig:getClientConfig":
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
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
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
                    ignore_changes=list(request.ignoreChanges),
                    retain_on_delete=bool(request.retainOnDelete),
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


def run(
    program: Callable[[], object],
    config: dict[str, Any] | None = None,
    *,
    secrets: tuple[str, ...] = (),
    preview: bool = False,
    project: str = "b2c-signup",
) -> Run:
    """Run `program` on the mocks with this stack config; return what was registered and exported."""
    settings.ROOT.set(None)
    values = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in (config or {}).items()
    }
    pulumi.runtime.set_all_config(values, list(secrets))
    monitor = RecordingMonitor(AzureMocks())
    mocks.set_mocks(AzureMocks(), project=project, stack="dev", preview=preview, monitor=monitor)
    stack = settings.get_root_resource()
    # pulumi.runtime.test runs the program and waits for every registration and output.
    cast(Callable[[], None], pulumi.runtime.test(program))()  # type: ignore[no-untyped-call]
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


def stack_file_config(stack: str, directory: Path = PROJECT_DIR) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The config of Pulumi.<stack>.yaml. Encrypted values cannot be read offline: they stand in as
    marked secrets, which is all validation needs to know about them."""
    import yaml

    path = directory / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise SystemExit(
            f"{path.name} does not exist: create the stack with `pulumi stack init {stack}` first"
        )
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config") or {}
    config: dict[str, Any] = {}
    secrets: list[str] = []
    for key, value in raw.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key], secrets = "encrypted-in-stack-file", [*secrets, key]
        else:
            config[key] = value
    return config, tuple(secrets)


@contextmanager
def stand_in_package() -> Iterator[Path]:
    """The program's package seam (B2C_SIGNUP_PACKAGE) set to a small zip that stands for the
    function sources: building the real package needs PyPI and has its own tests."""
    with tempfile.TemporaryDirectory(prefix="b2c-signup-check-") as scratch:
        path = Path(scratch) / "released-package.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("content-key", packaging.content_key(packaging.PYTHON_VERSIONS[-1]))
        previous = os.environ.get(packaging.PREBUILT_ENV)
        os.environ[packaging.PREBUILT_ENV] = str(path)
        try:
            yield path
        finally:
            if previous is None:
                os.environ.pop(packaging.PREBUILT_ENV, None)
            else:
                os.environ[packaging.PREBUILT_ENV] = previous


def check_stack(stack: str, directory: Path = PROJECT_DIR, *, real_package: bool = False) -> Run:
    """Run the program with the stack's config, after the checks Pulumi itself makes. Unless
    `real_package`, a stand-in takes the package's place (see stand_in_package)."""
    config, secrets = stack_file_config(stack, directory)
    # What the Pulumi CLI checks before it starts the program at all.
    if refused := pulumi_rules.check_stack_file(PROJECT_DIR / "Pulumi.yaml", stack, directory):
        raise pulumi.RunError("Pulumi would not run the program: " + "; ".join(refused))
    # As `pulumi preview` runs it: what a real `up` alone refuses (sample tenant values, a
    # credential this machine cannot use) is for the deployment to stop on, not the check.
    if real_package:
        return run_main(config, secrets=secrets, preview=True)
    with stand_in_package():
        return run_main(config, secrets=secrets, preview=True)


# The inputs that say which real object a resource is, as a preview's reader looks for them.
IDENTIFYING_INPUTS = (
    "displayName",
    "display_name",
    "name",
    "accountName",
    "vaultName",
    "secretName",
    "containerName",
    "resourceName",
    "workspaceName",
    "resourceGroupName",
    "identifierUri",
    "identifierUris",
    "dataType",
    "target_url",
    "resource_id",
    "scm_url",
    "claimValues",
    "tenantId",
)


def identity(resource: Registered) -> str:
    """A resource's identifying inputs, `key=value`, secrets as [secret] and nothing long."""
    shown = []
    for key in IDENTIFYING_INPUTS:
        if key not in resource.raw or resource.raw[key] in (None, "", []):
            continue
        if key == "resourceGroupName" and resource.type != "azure-native:resources:ResourceGroup":
            continue
        value = (
            "[secret]"
            if resource.is_secret(key)
            else json.dumps(unwrap(resource.raw[key]), ensure_ascii=False)
        )
        shown.append(f"{key}={value if len(value) <= 80 else value[:77] + '...'}")
    return " ".join(shown)


def preview(stack: str, result: Run) -> list[str]:
    """What `up` would create, as `pulumi preview` lists it: a tree by parent, each resource with
    its type, name and the inputs that identify it, then the outputs (secrets hidden)."""
    children: dict[str, list[Registered]] = {}
    for resource in result.resources:
        children.setdefault(resource.parent, []).append(resource)
    urns = {resource.urn for resource in result.resources}
    roots = [resource for resource in result.resources if resource.parent not in urns]
    lines = [f"{stack}: {len(result.resources)} resources to create"]

    def walk(resource: Registered, depth: int) -> None:
        lines.append(f"  + {'   ' * depth}{resource.type}  {resource.name}  {identity(resource)}".rstrip())
        for child in children.get(resource.urn, []):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    lines.append("  Outputs:")
    for name in sorted(result.outputs):
        value = (
            "[secret]"
            if name in result.secret_outputs
            else json.dumps(result.outputs[name], ensure_ascii=False)
        )
        lines.append(f"    {name}: {value}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", action="append", required=True, help="stack name; repeat for several")
    parser.add_argument(
        "--stack-dir", type=Path, default=PROJECT_DIR, help="where the Pulumi.<stack>.yaml files are"
    )
    args = parser.parse_args(argv)
    failed = False
    for stack in args.stack:
        try:
            result = check_stack(stack, args.stack_dir)
        except pulumi.RunError as exc:
            print(f"{stack}: {exc}", file=sys.stderr)
            failed = True
            continue
        print("\n".join(preview(stack, result)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
