"""tools.flow_connector: definition files in the shape paconn accepts, never holding the secret."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from components.b2c_tenant import B2CTenant
from components.flow_connector import connector_settings, redirect_mode
from tools import flow_connector

SECRET = "Flow-Client-Secret~42"
LOGIN = "https://contosob2c.b2clogin.com/contosob2c.onmicrosoft.com/B2C_1_signupsignin/oauth2/v2.0"
SETTINGS = connector_settings(
    B2CTenant("contosob2c"),
    "B2C_1_signupsignin",
    "https://contosob2c.onmicrosoft.com/api/access",
    "2f1e0d9c-8b7a-4654-3210-fedcba987654",
    ["https://global.consent.azure-apim.net/redirect"],
)
OUTPUTS = {
    "flowConnector": SETTINGS,
    "flowClientSecret": SECRET,
    "validateSignupUrl": "https://f.example/api/validate-signup",
}


def write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outputs: Any = OUTPUTS, *extra: str
) -> dict[str, Any]:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(outputs)))
    assert flow_connector.main(["--out", str(tmp_path), "--api-host", "api.contoso.com", *extra]) == 0
    return {path.name: json.loads(path.read_text()) for path in tmp_path.iterdir()}


def test_api_properties_are_a_generic_oauth2_identity_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = write(tmp_path, monkeypatch)
    assert set(files) == {"apiProperties.json", "apiDefinition.swagger.json"}
    token = files["apiProperties.json"]["properties"]["connectionParameters"]["token"]
    assert token["type"] == "oauthSetting"
    oauth = token["oAuthSettings"]
    assert oauth["identityProvider"] == "oauth2"
    assert oauth["clientId"] == SETTINGS["clientId"]
    assert oauth["scopes"] == ["https://contosob2c.onmicrosoft.com/api/access offline_access openid"]
    assert (
        oauth["redirectMode"] == "Global"
        and oauth["redirectUrl"] == "https://global.consent.azure-apim.net/redirect"
    )
    assert oauth["customParameters"] == {
        "authorizationUrl": {"value": f"{LOGIN}/authorize"},
        "tokenUrl": {"value": f"{LOGIN}/token"},
        "refreshUrl": {"value": f"{LOGIN}/token"},
    }
    assert files["apiProperties.json"]["properties"]["iconBrandColor"].startswith("#")


def test_the_swagger_secures_the_web_api_with_access_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    swagger = write(tmp_path, monkeypatch)["apiDefinition.swagger.json"]
    assert (
        swagger["swagger"] == "2.0"
        and swagger["host"] == "api.contoso.com"
        and swagger["schemes"] == ["https"]
    )
    assert set(swagger["info"]) >= {"title", "description", "version"}
    ((name, definition),) = swagger["securityDefinitions"].items()
    assert definition == {
        "type": "oauth2",
        "flow": "accessCode",
        "authorizationUrl": f"{LOGIN}/authorize",
        "tokenUrl": f"{LOGIN}/token",
        "scopes": {"https://contosob2c.onmicrosoft.com/api/access": "Access the web API"},
    }
    assert swagger["security"] == [{name: ["https://contosob2c.onmicrosoft.com/api/access"]}]


def test_the_client_secret_is_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, monkeypatch)
    for path in tmp_path.iterdir():
        assert SECRET not in path.read_text()
    assert SECRET not in capsys.readouterr().out


def test_paths_of_the_web_api_become_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "api.json"
    paths = {"/orders": {"get": {"operationId": "ListOrders", "responses": {"200": {"description": "OK"}}}}}
    source.write_text(json.dumps({"swagger": "2.0", "paths": paths}))
    out = tmp_path / "out"
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(OUTPUTS)))
    flow_connector.main(["--out", str(out), "--api-host", "api.contoso.com", "--paths-from", str(source)])
    assert json.loads((out / "apiDefinition.swagger.json").read_text())["paths"] == paths


def test_a_per_connector_redirect_uri_switches_the_mode() -> None:
    assert redirect_mode(["https://global.consent.azure-apim.net/redirect"]) == "Global"
    assert (
        redirect_mode(["https://global.consent.azure-apim.net/redirect/contoso-5fapi-5f1234"])
        == "GlobalPerConnector"
    )


@pytest.mark.parametrize(
    ("outputs", "fragment"),
    [
        ({"validateSignupUrl": "x"}, "no flowConnector object"),
        ({"flowConnector": {**SETTINGS, "tokenUrl": ""}}, "flowConnector.tokenUrl is missing"),
        ({"flowConnector": {**SETTINGS, "authorizationUrl": "http://x"}}, "must be an https URL"),
    ],
)
def test_bad_outputs_are_refused_by_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outputs: Any, fragment: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(outputs)))
    with pytest.raises(SystemExit, match=fragment):
        flow_connector.main(["--out", str(tmp_path), "--api-host", "api.contoso.com"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        (
            {"openapi": "3.1.0", "paths": {}},
            r"not a Swagger 2.0 document with paths \(found version '3.1.0'\).*SerializeAsV2",
        ),
        (
            {
                "swagger": "2.0",
                "paths": {"/a": {"get": {"responses": {"200": {"$ref": "#/responses/Gone"}}}}},
            },
            "references '#/responses/Gone', which it does not define",
        ),
        (
            {"swagger": "2.0", "paths": {"/a": {"get": {"parameters": [{"$ref": "common.json#/p"}]}}}},
            "only local #/definitions",
        ),
    ],
)
def test_an_api_description_that_cannot_become_actions_is_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: dict[str, Any], fragment: str
) -> None:
    (tmp_path / "api.json").write_text(json.dumps(source))
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(OUTPUTS)))
    with pytest.raises(SystemExit, match=fragment):
        flow_connector.main(
            [
                "--out",
                str(tmp_path / "out"),
                "--api-host",
                "a.example",
                "--paths-from",
                str(tmp_path / "api.json"),
            ]
        )
    assert not (tmp_path / "out").exists()


def test_a_custom_login_domain_reaches_every_url() -> None:
    settings = connector_settings(
        B2CTenant("contosob2c", custom_login_host="login.contoso.com"),
        "B2C_1_x",
        "https://s/api/access",
        "c",
        [],
    )
    for key in ("authorizationUrl", "tokenUrl", "refreshUrl"):
        assert settings[key].startswith(
            "https://login.contoso.com/contosob2c.onmicrosoft.com/B2C_1_x/oauth2/v2.0/"
        )


def test_a_missing_outputs_file_is_one_line_that_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(
        SystemExit,
        match=r"--outputs .*missing.json: No such file or directory. Write it with `pulumi stack output --json",
    ):
        flow_connector.main(
            ["--outputs", str(tmp_path / "missing.json"), "--out", str(tmp_path), "--api-host", "a.example"]
        )


def test_by_default_the_connector_calls_this_stacks_web_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "sys.stdin",
        io.StringIO(json.dumps({**OUTPUTS, "webApiBaseUrl": "https://func-dev.azurewebsites.net/api"})),
    )
    assert flow_connector.main(["--out", str(tmp_path)]) == 0
    swagger = json.loads((tmp_path / "apiDefinition.swagger.json").read_text())
    assert swagger["host"] == "func-dev.azurewebsites.net" and swagger["basePath"] == "/api"
    actions = {
        path: {verb: operation["operationId"] for verb, operation in item.items()}
        for path, item in swagger["paths"].items()
    }
    assert actions == {"/me": {"get": "GetMe"}, "/check-email": {"post": "CheckEmail"}}
    assert set(swagger["definitions"]) == {"Me", "EmailToCheck", "EmailCheck"}


def test_a_custom_domain_in_front_of_this_stacks_api_keeps_its_actions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    swagger = write(tmp_path, monkeypatch)["apiDefinition.swagger.json"]
    assert swagger["host"] == "api.contoso.com" and swagger["basePath"] == "/api"
    assert set(swagger["paths"]) == {"/me", "/check-email"}


def test_without_a_web_api_url_or_host_the_error_says_what_to_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(OUTPUTS)))
    with pytest.raises(SystemExit, match=r"webApiBaseUrl.*--api-host"):
        flow_connector.main(["--out", str(tmp_path)])
    assert not any(tmp_path.iterdir())


def test_an_external_id_stack_signs_in_at_ciamlogin_with_the_api_uri_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from components.external_id_tenant import ExternalIdTenant
    from components.flow_connector import oauth_settings

    tenant = ExternalIdTenant("contosoext", "2b8e4f61-9d3c-4a7b-8e15-6c0f9a2d7b34")
    scope = "api://7c6b5a49-3827-4615-a0b9-c8d7e6f50413/access"
    settings = oauth_settings(
        tenant.authorize_url(),
        tenant.token_url(),
        scope,
        SETTINGS["clientId"],
        SETTINGS["redirectUris"],
        "Entra External ID",
    )
    files = write(tmp_path, monkeypatch, {**OUTPUTS, "flowConnector": settings})
    authority = "https://contosoext.ciamlogin.com/2b8e4f61-9d3c-4a7b-8e15-6c0f9a2d7b34/oauth2/v2.0"
    oauth = files["apiProperties.json"]["properties"]["connectionParameters"]["token"]["oAuthSettings"]
    assert oauth["scopes"] == [f"{scope} offline_access openid"]
    assert oauth["customParameters"]["authorizationUrl"] == {"value": f"{authority}/authorize"}
    assert oauth["customParameters"]["refreshUrl"] == {"value": f"{authority}/token"}
    swagger = files["apiDefinition.swagger.json"]
    ((name, definition),) = swagger["securityDefinitions"].items()
    assert definition["scopes"] == {scope: "Access the web API"} and swagger["security"] == [{name: [scope]}]
    assert "Entra External ID" in swagger["info"]["description"]
    for operation in (op for item in swagger["paths"].values() for op in item.values()):
        assert operation["security"] == [{name: [scope]}]
