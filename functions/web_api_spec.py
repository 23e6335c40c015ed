"""The web API's operations, described once: the function serves these routes and the Power
Automate connector (components/flow_connector.py) turns them into actions. Plain data, no
imports, so describing the API costs the sign-up gate nothing at start-up. The routes are below
the host's route prefix (app_settings.ROUTE_PREFIX)."""

from __future__ import annotations

from typing import Any

ME = {
    "route": "me",
    "method": "get",
    "operationId": "GetMe",
    "summary": "Who is signed in",
    "description": "The signed-in user as the B2C token names them: object id, display name, emails, user flow.",
    "response": "Me",
}
CHECK_EMAIL = {
    "route": "check-email",
    "method": "post",
    "operationId": "CheckEmail",
    "summary": "Check an email address",
    "description": "Whether this address may sign up, and why, by the sign-up gate's own rule.",
    "request": "EmailToCheck",
    "response": "EmailCheck",
}
OPERATIONS = (ME, CHECK_EMAIL)

DEFINITIONS: dict[str, Any] = {
    "Me": {
        "type": "object",
        "properties": {
            "objectId": {"type": "string", "description": "The user's object id in the B2C tenant"},
            "displayName": {"type": "string", "description": "Display name"},
            "emails": {"type": "array", "items": {"type": "string"}, "description": "Email addresses"},
            "userFlow": {"type": "string", "description": "The user flow that issued the token"},
        },
    },
    "EmailToCheck": {
        "type": "object",
        "required": ["email"],
        "properties": {"email": {"type": "string", "description": "The address to check"}},
    },
    "EmailCheck": {
        "type": "object",
        "properties": {
            "email": {
                "type": "string",
                "description": "The address as the sign-up rule normalised it; null when it is not valid",
            },
            "domain": {"type": "string", "description": "Its domain, in ASCII form, when it is valid"},
            "allowed": {"type": "boolean", "description": "Whether it may sign up"},
            "reason": {
                "type": "string",
                "description": "allowed-domain, domain-not-allowed or invalid-address",
            },
        },
    },
}


def swagger_operations(security_name: str, scope: str) -> dict[str, Any]:
    """Swagger 2.0 `paths` and `definitions` of the web API, secured with `security_name`."""
    paths: dict[str, Any] = {}
    for operation in OPERATIONS:
        spec: dict[str, Any] = {
            "operationId": operation["operationId"],
            "summary": operation["summary"],
            "description": operation["description"],
            "produces": ["application/json"],
            "responses": {
                "200": {"description": "OK", "schema": {"$ref": f"#/definitions/{operation['response']}"}},
                "401": {"description": "No valid token"},
                "403": {"description": "The token lacks the scope"},
            },
            "security": [{security_name: [scope]}],
        }
        if "request" in operation:
            spec["consumes"] = ["application/json"]
            spec["parameters"] = [
                {
                    "in": "body",
                    "name": "body",
                    "required": True,
                    "schema": {"$ref": f"#/definitions/{operation['request']}"},
                }
            ]
        paths[f"/{operation['route']}"] = {str(operation["method"]): spec}
    return {"paths": paths, "definitions": DEFINITIONS}
