"""Against a real Entra External ID (external) tenant: the sign-up flow's and the custom extension's
lifecycle through graph.microsoft.com.

Skipped unless EXTID_TEST_TENANT_ID, EXTID_TEST_CLIENT_ID and EXTID_TEST_CLIENT_SECRET name an app in
an external test tenant with the deployer's permissions (`components/graph/permissions.py`
DEPLOYER["externalId"]). The extension half also needs EXTID_TEST_RESOURCE_ID, an
`api://<host>/<appId>` of a resource app whose service principal holds the Receive.Payload role
(bootstrap or the portal), and EXTID_TEST_TARGET_URL on that host. Run with
`./tools/test.sh -m azure`. Everything it creates carries a random name and is deleted.
"""

from __future__ import annotations

import os
import uuid

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from components.graph.custom_extension import CustomExtensionProvider
from components.graph.provider import GraphProvider
from components.graph.signup_flow import SignUpFlowProvider

KEYS = ("EXTID_TEST_TENANT_ID", "EXTID_TEST_CLIENT_ID", "EXTID_TEST_CLIENT_SECRET")
EXTENSION_KEYS = ("EXTID_TEST_RESOURCE_ID", "EXTID_TEST_TARGET_URL")
pytestmark = [
    pytest.mark.azure,
    pytest.mark.skipif(not all(os.environ.get(k) for k in KEYS), reason=f"needs {', '.join(KEYS)}"),
]


def configured(provider: GraphProvider) -> None:
    config = {
        "b2c-signup:tenantId": os.environ.get("EXTID_TEST_TENANT_ID"),
        "b2c-signup:b2cClientId": os.environ.get("EXTID_TEST_CLIENT_ID"),
        "b2c-signup:b2cClientSecret": os.environ.get("EXTID_TEST_CLIENT_SECRET"),
    }
    provider.configure(ConfigureRequest(Config(config, "b2c-signup")))


def test_a_sign_up_flow_lifecycle_in_a_real_tenant() -> None:
    flows = SignUpFlowProvider()
    configured(flows)
    wanted = flows.check(
        {},
        {
            "display_name": f"b2c-signup test {uuid.uuid4().hex[:8]}",
            "attributes": [{"attribute_id": "email"}, {"attribute_id": "givenName", "is_optional": True}],
            "client_app_ids": [],
        },
    )
    assert wanted.failures == []
    flow = flows.create(wanted.inputs)
    try:
        read = flows.read(flow.id, flow.outs or {})
        assert read.outs is not None and read.outs["display_name"] == wanted.inputs["display_name"]
        assert flows.diff(flow.id, read.outs, wanted.inputs).changes is False
    finally:
        flows.delete(flow.id, flow.outs or {})
    assert flows.read(flow.id, flow.outs or {}).id == ""
    flows.delete(flow.id, flow.outs or {})  # deleting what is gone is no error


@pytest.mark.skipif(
    not all(os.environ.get(k) for k in EXTENSION_KEYS), reason=f"needs {', '.join(EXTENSION_KEYS)}"
)
def test_an_extension_validates_and_attaches_in_a_real_tenant() -> None:
    extensions, flows = CustomExtensionProvider(), SignUpFlowProvider()
    configured(extensions)
    configured(flows)
    name = f"b2c-signup test {uuid.uuid4().hex[:8]}"
    extension_in = extensions.check(
        {},
        {
            "display_name": name,
            "target_url": os.environ["EXTID_TEST_TARGET_URL"],
            "resource_id": os.environ["EXTID_TEST_RESOURCE_ID"],
        },
    )
    assert extension_in.failures == []
    extension = extensions.create(extension_in.inputs)  # validated, or it fails naming the error
    try:
        flow_in = flows.check(
            {},
            {
                "display_name": name,
                "attributes": [{"attribute_id": "email"}],
                "client_app_ids": [],
                "extension_id": extension.id,
            },
        ).inputs
        flow = flows.create(flow_in)
        try:
            read = flows.read(flow.id, flow.outs or {})
            assert read.outs is not None and read.outs["extension_id"] == extension.id
        finally:
            flows.delete(flow.id, flow.outs or {})
    finally:
        extensions.delete(extension.id, extension.outs or {})
