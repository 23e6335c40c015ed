"""Count the Microsoft Graph requests each lifecycle operation of the Graph resources sends.

Runs a full lifecycle (create, refresh, a second `up` with no changes, updates, destroy) of an
ApiConnector and a B2CUserFlow against the loopback Graph double, through the real SDK stack,
and prints a table of reads and writes per operation next to the contract minimum.

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
from components.graph.gateway import GraphGateway
from components.graph.provider import GraphProvider
from components.graph.user_flow import UserFlowProvider
from tools.graph_double import FakeCredential, GraphDouble

ATTRIBUTES = [{"attribute_id": name} for name in ("email", "givenName", "surname", "displayName")]
CONNECTOR = {
    "display_name": "Sign-up domain gate",
    "target_url": "https://func-signup.azurewebsites.net/api/validate-signup",
    "username": "b2c-connector",
    "password": "graph-calls-password",
}


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


def run() -> list[tuple[str, int, int, str]]:
    rows: list[tuple[str, int, int, str]] = []
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


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args(argv)
    rows = run()
    width = max(len(row[0]) for row in rows)
    print(f"{'operation':<{width}}  reads  writes  target")
    for label, reads, writes, target in rows:
        print(f"{label:<{width}}  {reads:>5}  {writes:>6}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
