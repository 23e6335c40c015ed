"""Count the Microsoft Graph requests each lifecycle operation of the Graph resources sends.

Runs a full lifecycle (create, refresh, a second `up` with no changes, updates, destroy) of each
platform's Graph resources against the loopback Graph double, through the real SDK stack: B2C's
ApiConnector and B2CUserFlow, and External ID's CustomExtension and SignUpFlow. Prints a table
of reads and writes per operation next to the contract minimum, one per platform.

    python -m tools.graph_calls
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import Any

from pulumi.dynamic import Config, ConfigureRequest

from components.graph.api_connector import ApiConnectorProvider
from components.graph.custom_extension import CustomExtensionProvider
from components.graph.gateway import GraphGateway
from components.graph.provider import GraphProvider
from components.graph.signup_flow import SignUpFlowProvider
from components.graph.user_flow import UserFlowProvider
from tools.graph_double import FakeCredential, GraphDouble

ATTRIBUTES = [{"attribute_id": name} for name in ("email", "givenName", "surname", "displayName")]
CONNECTOR = {
    "display_name": "Sign-up domain gate",
    "target_url": "https://func-signup.azurewebsites.net/api/validate-signup",
    "username": "b2c-connector",
    "password": "graph-calls-password",
}


# External ID: the function's host, its resource app (api://<host>/<client id>) and the two apps
# linked to the sign-up flow (the test app and the Flow client), as the stack makes them.
HOST = "func-signup.azurewebsites.net"
RESOURCE_APP = "5f2e8c1a-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
LINKED_APPS = ["1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d", "2b3c4d5e-6f7a-4b9c-8d1e-2f3a4b5c6d7e"]
EXTENSION = {
    "display_name": "Sign-up domain check",
    "target_url": f"https://{HOST}/api/validate-signup",
    "resource_id": f"api://{HOST}/{RESOURCE_APP}",
}

Row = tuple[str, int, int, str]


def _configure(provider: GraphProvider, endpoint: str) -> None:
    config = {
        "b2c-signup:tenantId": "00000000-0000-0000-0000-000000000001",
        "b2c-signup:b2cClientId": "00000000-0000-0000-0000-000000000002",
        "b2c-signup:b2cClientSecret": "graph-calls-client-secret",
        "b2c-signup:graphEndpoint": endpoint,
    }
    provider.configure(ConfigureRequest(Config(config, "b2c-signup")))
    # The double's token instead of Entra's; everything else is the real stack.
    provider.connect = functools.partial(GraphGateway, credentials=lambda _settings: FakeCredential())


def run() -> list[Row]:
    """B2C: an ApiConnector and a B2CUserFlow."""
    rows: list[Row] = []
    with GraphDouble() as graph:
        connectors, flows = ApiConnectorProvider(), UserFlowProvider()
        _configure(connectors, graph.endpoint)
        _configure(flows, graph.endpoint)

        def measure(label: str, target: str, operation: Callable[[], Any]) -> Any:
            with graph.recording() as calls:
                result = operation()
            rows.append((label, sum(not c.write for c in calls), sum(c.write for c in calls), target))
            return result

        connector_in = measure("connector check", "0", lambda: connectors.check({}, CONNECTOR).inputs)
        connector = measure("connector create", "1 write", lambda: connectors.create(connector_in))
        flow_news = {
            "name": "signupsignin",
            "attributes": ATTRIBUTES,
            "post_attribute_collection": connector.id,
        }
        flow_in = measure("flow check", "0", lambda: flows.check({}, flow_news).inputs)
        flow = measure(
            f"flow create ({len(ATTRIBUTES)} attributes, 1 step)",
            f"1 POST + 1 PUT + {len(ATTRIBUTES)} POST = {2 + len(ATTRIBUTES)} writes",
            lambda: flows.create(flow_in),
        )
        connector_outs = measure(
            "connector refresh", "1 read", lambda: connectors.read(connector.id, connector.outs)
        ).outs
        flow_outs = measure("flow refresh", "<= 3 reads", lambda: flows.read(flow.id, flow.outs)).outs

        def second_up() -> bool:
            again_connector = connectors.check(connector_outs, CONNECTOR).inputs
            again_flow = flows.check(flow_outs, flow_news).inputs
            changed = connectors.diff(connector.id, connector_outs, again_connector).changes
            return bool(changed or flows.diff(flow.id, flow_outs, again_flow).changes)

        if measure("second up, no changes (check + diff)", "0", second_up):
            raise SystemExit("a second up without changes planned an update: the resources do not converge")

        moved = {**flow_in, "post_attribute_collection": None, "post_federation_signup": connector.id}
        measure(
            "flow update: move the connector to another step",
            "2 writes",
            lambda: flows.update(flow.id, flow_outs, moved),
        )
        rotated = connectors.check(connector_outs, {**CONNECTOR, "password": "rotated-password"}).inputs
        measure(
            "connector update: rotate the password",
            "1 write",
            lambda: connectors.update(connector.id, connector_outs, rotated),
        )
        measure("flow delete", "1 write", lambda: flows.delete(flow.id, flow_outs))
        measure("connector delete", "1 write", lambda: connectors.delete(connector.id, connector_outs))
        if graph.state.connectors or graph.state.flows:
            raise SystemExit("destroy left objects behind in the double")
    return rows


def run_external_id() -> list[Row]:
    """External ID: a CustomExtension and a SignUpFlow that uses it."""
    rows: list[Row] = []
    with GraphDouble() as graph:
        graph.add_service_principal(RESOURCE_APP)
        extensions, flows = CustomExtensionProvider(), SignUpFlowProvider()
        _configure(extensions, graph.endpoint)
        _configure(flows, graph.endpoint)

        def measure(label: str, target: str, operation: Callable[[], Any]) -> Any:
            with graph.recording() as calls:
                result = operation()
            rows.append((label, sum(not c.write for c in calls), sum(c.write for c in calls), target))
            return result

        extension_in = measure("extension check", "0", lambda: extensions.check({}, EXTENSION).inputs)
        extension = measure(
            "extension create (validated)",
            "1 look; POST + validate = 2 writes",
            lambda: extensions.create(extension_in),
        )
        flow_news = {
            "display_name": "Sign up",
            "attributes": ATTRIBUTES,
            "client_app_ids": LINKED_APPS,
            "extension_id": extension.id,
        }
        flow_in = measure("flow check", "0", lambda: flows.check({}, flow_news).inputs)
        flow = measure(
            f"flow create ({len(ATTRIBUTES)} attributes, {len(LINKED_APPS)} apps, extension)",
            f"1 look + 1 per app = {1 + len(LINKED_APPS)} reads; POST + attach PUT = 2 writes",
            lambda: flows.create(flow_in),
        )
        extension_outs = measure(
            "extension refresh", "1 read", lambda: extensions.read(extension.id, extension.outs)
        ).outs
        flow_outs = measure(
            "flow refresh", "2 reads (flow, its apps)", lambda: flows.read(flow.id, flow.outs)
        ).outs

        def second_up() -> bool:
            again_extension = extensions.check(extension_outs, EXTENSION).inputs
            again_flow = flows.check(flow_outs, flow_news).inputs
            changed = extensions.diff(extension.id, extension_outs, again_extension).changes
            return bool(changed or flows.diff(flow.id, flow_outs, again_flow).changes)

        if measure("second up, no changes (check + diff)", "0", second_up):
            raise SystemExit("a second up without changes planned an update: the resources do not converge")

        more = flows.check(
            flow_outs, {**flow_news, "attributes": [*ATTRIBUTES, {"attribute_id": "city"}]}
        ).inputs
        flow_outs = measure(
            "flow update: collect one more attribute",
            "1 read; $ref POST + page PATCH = 2 writes",
            lambda: flows.update(flow.id, flow_outs, more),
        ).outs
        slower = extensions.check(extension_outs, {**EXTENSION, "timeout_ms": 1500}).inputs
        extension_outs = measure(
            "extension update: timeout",
            "1 write",
            lambda: extensions.update(extension.id, extension_outs, slower),
        ).outs
        measure("flow delete", "1 write", lambda: flows.delete(flow.id, flow_outs))
        measure("extension delete", "1 write", lambda: extensions.delete(extension.id, extension_outs))
        if graph.state.extensions or graph.state.signup_flows:
            raise SystemExit("destroy left objects behind in the double")
    return rows


def _print(title: str, rows: list[Row]) -> None:
    width = max(len(row[0]) for row in rows)
    print(title)
    print(f"{'operation':<{width}}  reads  writes  target")
    for label, reads, writes, target in rows:
        print(f"{label:<{width}}  {reads:>5}  {writes:>6}  {target}")


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args(argv)
    _print("Azure AD B2C", run())
    print()
    _print("Entra External ID", run_external_id())
    return 0


if __name__ == "__main__":
    sys.exit(main())
