"""Against a real B2C tenant: the Graph resources' lifecycle through graph.microsoft.com.

Skipped unless B2C_TEST_TENANT_ID, B2C_TEST_CLIENT_ID and B2C_TEST_CLIENT_SECRET name an app in a
B2C test tenant with APIConnectors.ReadWrite.All and IdentityUserFlow.ReadWrite.All. Run with
`./tools/test.sh -m azure`. Everything it creates carries a random name and is deleted.
"""

from __future__ import annotations

import os
import uuid

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from components.graph.api_connector import ApiConnectorProvider
from components.graph.user_flow import UserFlowProvider

KEYS = ("B2C_TEST_TENANT_ID", "B2C_TEST_CLIENT_ID", "B2C_TEST_CLIENT_SECRET")
pytestmark = [
    pytest.mark.azure,
    pytest.mark.skipif(not all(os.environ.get(k) for k in KEYS), reason=f"needs {', '.join(KEYS)}"),
]


def configured(provider: ApiConnectorProvider | UserFlowProvider) -> None:
    config = {
        "b2c-signup:tenantId": os.environ.get("B2C_TEST_TENANT_ID"),
        "b2c-signup:b2cClientId": os.environ.get("B2C_TEST_CLIENT_ID"),
        "b2c-signup:b2cClientSecret": os.environ.get("B2C_TEST_CLIENT_SECRET"),
    }
    provider.configure(ConfigureRequest(Config(config, "b2c-signup")))


def test_connector_and_flow_lifecycle_in_a_real_tenant() -> None:
    name = f"b2csignuptest{uuid.uuid4().hex[:8]}"
    connectors, flows = ApiConnectorProvider(), UserFlowProvider()
    configured(connectors)
    configured(flows)
    connector_in = connectors.check(
        {},
        {
            "display_name": name,
            "target_url": "https://example.org/api/validate-signup",
            "username": "b2c-connector",
            "password": uuid.uuid4().hex,
        },
    ).inputs
    connector = connectors.create(connector_in)
    try:
        flow_in = flows.check(
            {},
            {
                "name": name,
                "attributes": [{"attribute_id": "email"}],
                "post_attribute_collection": connector.id,
            },
        ).inputs
        flow = flows.create(flow_in)
        try:
            read = flows.read(flow.id, flow.outs or {})
            assert read.outs is not None and read.outs["post_attribute_collection"] == connector.id
            assert flows.diff(flow.id, read.outs, flow_in).changes is False
        finally:
            flows.delete(flow.id, flow.outs or {})
        assert flows.read(flow.id, flow.outs or {}).id == ""
    finally:
        connectors.delete(connector.id, connector.outs or {})
