"""B2C objects whose nested parts come back in a shape Graph does not document end as the
provider's own error naming the operation and the part, never an AttributeError or ValueError."""

from __future__ import annotations

from typing import Any

import pytest

from components.graph.b2c_calls import B2CCalls
from components.graph.gateway import GraphError, GraphGateway
from tests.doubles.scripted_graph import Reply, ScriptedGraph

CONNECTOR = "v1.0/identity/apiConnectors/1"
ATTRIBUTES = "beta/identity/b2cUserFlows/B2C_1_x/userAttributeAssignments"


@pytest.fixture
def graph() -> Any:
    with ScriptedGraph() as double:
        yield double


@pytest.mark.parametrize(
    ("auth", "part"),
    [
        (["basic"], "its authenticationConfiguration"),
        (
            {"@odata.type": "#microsoft.graph.clientCertificateAuthentication", "certificateList": "x"},
            "its certificateList",
        ),
        (
            {"@odata.type": "#microsoft.graph.clientCertificateAuthentication", "certificateList": [7]},
            "a certificate",
        ),
    ],
)
def test_a_connector_with_a_misshapen_authentication_is_explained(
    graph: ScriptedGraph, auth: Any, part: str
) -> None:
    graph.script(
        "GET",
        f"/{CONNECTOR}$",
        Reply(200, {"id": "1", "displayName": "gate", "authenticationConfiguration": auth}),
    )

    async def read(gateway: GraphGateway) -> Any:
        return await B2CCalls(gateway).get_connector("1")

    with pytest.raises(GraphError, match=rf"reading API connector 1.*{part}"):
        graph.run(read)


@pytest.mark.parametrize(
    ("item", "part"),
    [
        ({"id": "city", "userAttributeValues": {"name": "x"}}, "its userAttributeValues"),
        ({"id": "city", "userAttributeValues": ["Basic"]}, "a choice"),
    ],
)
def test_an_attribute_with_misshapen_choices_is_explained(graph: ScriptedGraph, item: Any, part: str) -> None:
    graph.script("GET", f"/{ATTRIBUTES}", Reply(200, {"value": [item]}))

    async def read(gateway: GraphGateway) -> Any:
        return await B2CCalls(gateway).list_attributes("B2C_1_x")

    with pytest.raises(GraphError, match=rf"reading the attributes of user flow B2C_1_x.*{part}"):
        graph.run(read)


def test_a_flow_version_that_is_not_a_number_is_explained(graph: ScriptedGraph) -> None:
    graph.script(
        "GET",
        "/beta/identity/b2cUserFlows/B2C_1_x$",
        Reply(200, {"id": "B2C_1_x", "userFlowTypeVersion": "three"}),
    )

    async def read(gateway: GraphGateway) -> Any:
        return await B2CCalls(gateway).get_user_flow("B2C_1_x")

    with pytest.raises(GraphError, match=r"reading user flow B2C_1_x.*userFlowTypeVersion"):
        graph.run(read)
