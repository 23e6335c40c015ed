"""The Power Automate connector files tools.flow_connector writes, held against Microsoft's own
definitions: paconn's apiProperties schema, the connector swagger schema, OpenAPI 2.0, and the real
paconn 0.0.21 CLI driven offline (its create, update and validate commands, with only its HTTP call
replaced)."""

from __future__ import annotations

import copy
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import OpenAPIV2SpecValidator

from components.b2c_tenant import B2CTenant
from components.external_id_tenant import ExternalIdTenant
from components.flow_connector import GLOBAL_REDIRECT, connector_settings, oauth_settings
from tools import flow_connector

SECRET = "Flow-Client-Secret~42"
HOST = "api.contoso.com"
PER_CONNECTOR = f"{GLOBAL_REDIRECT}/new-5fcontoso-20orders-5f1a2b3c"


def settings(*redirect_uris: str) -> dict[str, Any]:
    return connector_settings(
        B2CTenant("contosob2c"),
        "B2C_1_signupsignin",
        "https://contosob2c.onmicrosoft.com/api/access",
        "2f1e0d9c-8b7a-4654-3210-fedcba987654",
        list(redirect_uris),
    )


def external_id_settings(*redirect_uris: str) -> dict[str, Any]:
    tenant = ExternalIdTenant("contosoext", "2b8e4f61-9d3c-4a7b-8e15-6c0f9a2d7b34")
    return oauth_settings(
        tenant.authorize_url(),
        tenant.token_url(),
        tenant.scope_uri("7c6b5a49-3827-4615-a0b9-c8d7e6f50413", "access"),
        "2f1e0d9c-8b7a-4654-3210-fedcba987654",
        list(redirect_uris),
        "Entra External ID",
    )


# What Swashbuckle writes for a small API (SerializeAsV2): shared parameters and responses,
# definitions that reference each other, an operation-level security scheme, an unused model.
API_SWAGGER = {
    "swagger": "2.0",
    "info": {"title": "Orders API", "version": "v1"},
    "host": "orders.contoso.com",
    "basePath": "/v1",
    "schemes": ["https"],
    "paths": {
        "/orders": {
            "get": {
                "operationId": "ListOrders",
                "summary": "List orders",
                "description": "Lists the signed-in customer's orders.",
                "parameters": [{"$ref": "#/parameters/pageSize"}],
                "responses": {
                    "200": {
                        "description": "OK",
                        "schema": {"type": "array", "items": {"$ref": "#/definitions/Order"}},
                    },
                    "401": {"$ref": "#/responses/Unauthorized"},
                },
                "security": [{"Bearer": []}],
            },
            "post": {
                "operationId": "CreateOrder",
                "summary": "Create an order",
                "description": "Creates an order.",
                "parameters": [
                    {
                        "in": "body",
                        "name": "order",
                        "required": True,
                        "schema": {"$ref": "#/definitions/NewOrder"},
                    }
                ],
                "responses": {"201": {"description": "Created", "schema": {"$ref": "#/definitions/Order"}}},
            },
        },
        "/orders/{id}": {
            "parameters": [{"$ref": "#/parameters/orderId"}],
            "get": {
                "operationId": "GetOrder",
                "summary": "Get an order",
                "description": "Gets one order.",
                "responses": {
                    "200": {"description": "OK", "schema": {"$ref": "#/definitions/Order"}},
                    "404": {"$ref": "#/responses/NotFound"},
                },
            },
        },
    },
    "definitions": {
        "Order": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "customer": {"$ref": "#/definitions/Customer"}},
        },
        "NewOrder": {"type": "object", "properties": {"sku": {"type": "string"}}},
        "Customer": {"type": "object", "properties": {"email": {"type": "string"}}},
        "Problem": {"type": "object", "properties": {"title": {"type": "string"}}},
        "Unused": {"type": "object"},
    },
    "parameters": {
        "pageSize": {"name": "pageSize", "in": "query", "type": "integer", "required": False},
        "orderId": {"name": "id", "in": "path", "type": "string", "required": True},
    },
    "responses": {
        "Unauthorized": {"description": "Not signed in"},
        "NotFound": {"description": "No such order", "schema": {"$ref": "#/definitions/Problem"}},
    },
    "securityDefinitions": {"Bearer": {"type": "apiKey", "name": "Authorization", "in": "header"}},
}

CASES = {
    "generic redirect URI only": ((GLOBAL_REDIRECT,), ("--api-host", HOST)),
    "per-connector redirect URI": ((GLOBAL_REDIRECT, PER_CONNECTOR), ("--api-host", HOST)),
    "paths from an API swagger": (
        (GLOBAL_REDIRECT,),
        ("--api-host", HOST, "--paths-from", "api.swagger.json"),
    ),
    "this stack's web API": ((GLOBAL_REDIRECT,), ()),
    "External ID, this stack's web API": ((GLOBAL_REDIRECT, PER_CONNECTOR), (), "externalId"),
}


def write_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> Path:
    redirect_uris, extra, *platform = CASES[case]
    (tmp_path / "api.swagger.json").write_text(json.dumps(API_SWAGGER))
    outputs = {
        "flowConnector": external_id_settings(*redirect_uris) if platform else settings(*redirect_uris),
        "flowClientSecret": SECRET,
        "webApiBaseUrl": f"https://{HOST}/api",
    }
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(outputs)))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "connector"
    assert flow_connector.main(["--out", str(out), *extra]) == 0
    return out


@pytest.fixture(params=list(CASES))
def connector(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return write_files(tmp_path, monkeypatch, request.param)


@pytest.fixture(scope="module")
def properties_schema(external_json: Callable[[str], Any]) -> dict[str, Any]:
    schema = copy.deepcopy(external_json("paconn-apiProperties.schema.json"))
    # The 2020 schema predates GlobalPerConnector, which 31 published connectors use (README there).
    schema["definitions"]["oAuthSettings"]["properties"]["redirectMode"]["enum"].append("GlobalPerConnector")
    return schema


def properties_errors(schema: dict[str, Any], document: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    # `customParameters` uses additionalItems, which never applies to an object: apply the entry
    # definition to each parameter as the schema means to.
    entry = {**schema["definitions"]["oAuthSettings-CustomParameter"], "definitions": schema["definitions"]}
    custom = document["properties"]["connectionParameters"]["token"]["oAuthSettings"].get(
        "customParameters", {}
    )
    for name, value in custom.items():
        errors += [
            f"customParameters.{name}: {e.message}"
            for e in jsonschema.Draft7Validator(entry).iter_errors(value)
        ]
    return errors


def swagger_errors(schema: dict[str, Any], document: Any) -> list[str]:
    return [
        f"{list(e.absolute_path)}: {e.message}"
        for e in jsonschema.Draft4Validator(schema).iter_errors(document)
    ]


def dangling_refs(document: Any) -> list[str]:
    found: list[str] = []

    def resolve(ref: str) -> bool:
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not (ref.startswith("#/") and resolve(ref)):
                found.append(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    return found


def test_api_properties_follow_paconns_schema(connector: Path, properties_schema: dict[str, Any]) -> None:
    document = json.loads((connector / "apiProperties.json").read_text())
    assert properties_errors(properties_schema, document) == []


def test_the_swagger_follows_the_connector_schema_and_openapi_2(
    connector: Path, external_json: Callable[[str], Any]
) -> None:
    document = json.loads((connector / "apiDefinition.swagger.json").read_text())
    assert swagger_errors(external_json("apiDefinition.swagger.schema.json"), document) == []
    assert [error.message for error in OpenAPIV2SpecValidator(document).iter_errors()] == []
    assert dangling_refs(document) == []


def test_paths_from_carry_exactly_what_they_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = json.loads(
        (
            write_files(tmp_path, monkeypatch, "paths from an API swagger") / "apiDefinition.swagger.json"
        ).read_text()
    )
    assert set(document["paths"]) == {"/orders", "/orders/{id}"}
    assert set(document["definitions"]) == {"Order", "NewOrder", "Customer", "Problem"}
    assert set(document["parameters"]) == {"pageSize", "orderId"}
    assert set(document["responses"]) == {"Unauthorized", "NotFound"}
    assert document["basePath"] == "/v1" and document["host"] == HOST
    assert "security" not in document["paths"]["/orders"]["get"]  # the connector's own scheme applies


class Paconn:
    """The real paconn CLI in this process: its token file in a scratch home, `requests.request`
    answered here as the Power Apps API would, every request kept for the test to read."""

    def __init__(self, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        import requests

        self.calls: list[tuple[str, str, Any]] = []
        monkeypatch.setenv("HOME", str(home))
        (home / ".paconn").mkdir()
        token = {
            "token_type": "Bearer",
            "access_token": "paconn-token",
            "expires_on": time.time() + 3600,
            "oid": "oid-1",
        }
        (home / ".paconn" / "accessTokens.json").write_text(json.dumps(token))
        monkeypatch.setattr(requests, "request", self._answer)

    def _answer(self, verb: str, url: str, headers: Any = None, json: Any = None) -> Any:
        self.calls.append((verb, url, copy.deepcopy(json)))
        body: Any = {"name": "shared_contoso-20orders-5f1a2b3c"}
        if "generateResourceStorage" in url:
            body = {"sharedAccessSignature": "https://paconn.blob.core.windows.net/c?sv=1"}
        elif "validateApiSwagger" in url:
            body = "No errors found."
        return _Reply(body)

    def run(self, *argv: str) -> int:
        from paconn.__main__ import main

        saved = sys.argv
        sys.argv = ["paconn", *argv]
        try:
            main()
        except SystemExit as exit_:
            return int(exit_.code or 0)
        finally:
            sys.argv = saved
        return 0


class _Reply:
    def __init__(self, body: Any) -> None:
        self.status_code, self._body = 200, body
        self.text = json.dumps(body)
        self.content = self.text.encode()

    def raise_for_status(self) -> None:
        pass

    def json(self) -> Any:
        return self._body


@pytest.fixture
def paconn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paconn]:
    pytest.importorskip("paconn", reason="paconn is installed by tools/test.sh from requirements-paconn.txt")
    home = tmp_path / "home"
    home.mkdir()
    yield Paconn(home, monkeypatch)


@pytest.mark.parametrize("case", list(CASES))
def test_real_paconn_creates_updates_and_validates_the_connector(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paconn: Paconn
) -> None:
    out = write_files(tmp_path, monkeypatch, case)
    files = [
        "--api-prop",
        str(out / "apiProperties.json"),
        "--api-def",
        str(out / "apiDefinition.swagger.json"),
    ]
    assert paconn.run("create", *files, "-e", "env-1", "--secret", SECRET) == 0
    created = next(
        payload
        for verb, url, payload in paconn.calls
        if verb == "POST" and url.split("?")[0].endswith("/apis")
    )
    properties = created["properties"]
    assert properties["connectionParameters"]["token"]["oAuthSettings"]["clientSecret"] == SECRET
    swagger = json.loads((out / "apiDefinition.swagger.json").read_text())
    assert properties["backendService"] == {"serviceUrl": f"https://{HOST}{swagger['basePath']}"}
    assert properties["displayName"] == swagger["info"]["title"] and properties["environment"] == {
        "name": "env-1"
    }
    assert properties["openApiDefinition"] == swagger
    assert SECRET not in (out / "apiProperties.json").read_text()  # injected in flight only

    paconn.calls.clear()
    assert (
        paconn.run(
            "update", *files, "-e", "env-1", "-c", "shared_contoso-20orders-5f1a2b3c", "--secret", SECRET
        )
        == 0
    )
    assert [verb for verb, _, _ in paconn.calls][-1] == "PATCH"

    paconn.calls.clear()
    assert paconn.run("validate", "--api-def", str(out / "apiDefinition.swagger.json")) == 0
    ((_, url, payload),) = paconn.calls
    assert "validateApiSwagger" in url and payload == swagger
    assert os.environ["HOME"] == str(tmp_path / "home")


def test_the_checks_catch_broken_files(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    properties_schema: dict[str, Any],
    external_json: Callable[[str], Any],
) -> None:
    out = write_files(tmp_path, monkeypatch, "paths from an API swagger")
    swagger = json.loads((out / "apiDefinition.swagger.json").read_text())
    properties = json.loads((out / "apiProperties.json").read_text())
    # What the tool wrote before it carried referenced definitions: paths alone.
    assert dangling_refs({**swagger, "definitions": {}, "parameters": {}, "responses": {}}) != []
    assert swagger_errors(
        external_json("apiDefinition.swagger.schema.json"), {**swagger, "host": "https://api.contoso.com"}
    )
    assert list(OpenAPIV2SpecValidator({**swagger, "paths": {"/x": {"get": {}}}}).iter_errors())
    broken = copy.deepcopy(properties)
    oauth = broken["properties"]["connectionParameters"]["token"]["oAuthSettings"]
    oauth["redirectMode"] = "PerConnector"
    oauth["customParameters"]["tokenUrl"] = {"value": 42}
    assert len(properties_errors(properties_schema, broken)) >= 2
