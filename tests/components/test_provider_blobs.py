"""Stacks already deployed hold the providers pickled by reference (module path and class name):
the blobs a stack's state holds today must still unpickle, configure and work, wherever the
classes they name have moved since. tests/fixtures/provider_blobs.json holds the blobs as the
commit it names stored them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.components.graph.conftest import stack_config
from tests.components.test_code_deployment import news
from tests.conftest import PROJECT_DIR
from tests.doubles.engine import run_in_engine
from tests.doubles.one_deploy_double import OneDeployDouble
from tools.graph_double import GraphDouble

BLOBS: dict[str, Any] = json.loads((PROJECT_DIR / "tests" / "fixtures" / "provider_blobs.json").read_text())


def test_the_graph_providers_of_existing_stacks_still_work() -> None:
    with GraphDouble() as graph:
        connector = run_in_engine(
            BLOBS["ApiConnectorProvider"],
            stack_config(graph.endpoint),
            {
                "display_name": "gate",
                "target_url": "https://f.example/api",
                "username": "u",
                "password": "pw-1234567",
            },
            delete=False,
        )
        flow = run_in_engine(
            BLOBS["UserFlowProvider"],
            stack_config(graph.endpoint),
            {
                "name": "signupsignin",
                "attributes": [{"attribute_id": "email"}],
                "post_attribute_collection": connector["id"],
            },
        )
        assert flow["read"]["post_attribute_collection"] == connector["id"] and graph.state.flows == {}


def test_the_one_deploy_provider_of_existing_stacks_still_works(tmp_path: Path) -> None:
    package = tmp_path / "released-package.zip"
    package.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    kudu = OneDeployDouble()
    try:
        done = run_in_engine(BLOBS["FunctionCodeDeploymentProvider"], {}, news(kudu, package))
    finally:
        kudu.close()
    assert done["id"] == kudu.deployment_id


@pytest.mark.parametrize(
    "name", ["ApiConnectorProvider", "UserFlowProvider", "FunctionCodeDeploymentProvider"]
)
def test_the_blobs_name_the_modules_they_were_stored_with(name: str) -> None:
    import base64

    raw = base64.b64decode(BLOBS[name])
    assert b"components." in raw and b"Settings" not in raw.replace(b"DeploymentSettings", b"")
