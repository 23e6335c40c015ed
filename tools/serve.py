"""Serve the HTTP functions of functions/function_app.py on 127.0.0.1, like `func start`.

Usage: python -m tools.serve [--port 7071] [--host 127.0.0.1] [--functions-dir functions]

Written here because Core Tools needs .NET and the Functions host, and no library serves a v2
`FunctionApp` over HTTP; werkzeug (already a dependency of azure-functions) does the serving.
Settings come from the environment and from `functions/local.settings.json` ("Values"); a
variable already set in the environment wins, so a test or a shell can override the file.

Like the real host, it refuses a body over a cap before reading it (413) and drops a connection
that sends nothing for a while, so a local load test cannot exhaust memory or threads.

`--platform externalId` (or SIGNUP_PLATFORM=externalId in the settings) serves the gate as Entra
External ID calls it, with a local stand-in for the tenant: it publishes the JWKS of a local
signing key at http://127.0.0.1:<port>/.local-entra/<tenant>/discovery/v2.0/keys and, unless set
already, points ENTRA_TENANT_ID, ENTRA_CALLOUT_AUDIENCE and ENTRA_JWKS_URL at it, so that
`python -m tools.simulate_signup --platform externalId` (which signs with the private half, made
on first use in .build/local-entra/) is let in. See tools/local_entra.py.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions.decorators.http import HttpTrigger
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from functions import app_settings
from tools import FUNCTIONS_DIR, local_entra

Handler = Callable[[func.HttpRequest], func.HttpResponse]
# Our functions take JSON far below this; the Functions host's own limit (100 MB) only lets a
# local load test pin memory.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Kestrel, in front of the Functions host, gives up on a silent client after 30 s as well.
DEFAULT_READ_TIMEOUT_SECONDS = 30.0


def local_settings(functions_dir: Path) -> dict[str, str]:
    """The "Values" of local.settings.json, or nothing when the file is absent."""
    path = functions_dir / "local.settings.json"
    if not path.is_file():
        return {}
    values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    if not isinstance(values, dict):
        raise SystemExit(f"{path}: 'Values' must be an object of setting names to strings")
    return {str(key): str(value) for key, value in values.items()}


def route_prefix(functions_dir: Path) -> str:
    host = json.loads((functions_dir / "host.json").read_text(encoding="utf-8"))
    prefix = host.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    return "/" + prefix.strip("/") if prefix.strip("/") else ""


def _werkzeug_path(prefix: str, route: str) -> str:
    # Functions route templates use {name} or {name:constraint}; werkzeug uses <name>.
    return prefix + "/" + re.sub(r"\{(\w+)(?::[^}]*)?\??\}", r"<\1>", route.strip("/"))


def http_routes(app: func.FunctionApp, prefix: str) -> list[tuple[str, list[str], Handler]]:
    """(path, methods, handler) for every HTTP-triggered function of the app."""
    routes = []
    for function in app.get_functions():
        trigger = function.get_trigger()
        if not isinstance(trigger, HttpTrigger):
            continue
        route = trigger.route or function.get_function_name() or ""
        # The Functions host's default when a trigger names no methods.
        methods = [m.value for m in trigger.methods] if trigger.methods else ["GET", "POST"]
        routes.append((_werkzeug_path(prefix, route), methods, function.get_user_function()))
    return routes


class FunctionsWsgiApp:
    """A WSGI app that turns requests into `func.HttpRequest`s and calls the user functions, and
    serves fixed JSON documents (the local tenant's keys) beside them."""

    def __init__(
        self,
        routes: Iterable[tuple[str, list[str], Handler]] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        documents: dict[str, Any] | None = None,
    ) -> None:
        self.max_body_bytes = max_body_bytes
        self.mount(routes, documents)

    def mount(
        self, routes: Iterable[tuple[str, list[str], Handler]], documents: dict[str, Any] | None = None
    ) -> None:
        self._handlers: dict[str, Handler] = {}
        self._documents = dict(documents or {})
        rules = [Rule(path, endpoint=f"doc:{path}", methods=["GET"]) for path in self._documents]
        for index, (path, methods, handler) in enumerate(routes):
            endpoint = f"f{index}"
            self._handlers[endpoint] = handler
            rules.append(Rule(path, endpoint=endpoint, methods=methods))
        self._map = Map(rules)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        # Checked against the declared length before a byte is read; a chunked body is cut off
        # by werkzeug at the same cap while it is read.
        request.max_content_length = self.max_body_bytes
        adapter = self._map.bind_to_environ(environ)
        try:
            endpoint, params = adapter.match()
            if (request.content_length or 0) > self.max_body_bytes:
                raise RequestEntityTooLarge()
            body = request.get_data()
        except HTTPException as exc:
            return exc(environ, start_response)
        if endpoint.startswith("doc:"):
            document = Response(json.dumps(self._documents[endpoint[4:]]), mimetype="application/json")
            return document(environ, start_response)
        fn_request = func.HttpRequest(
            method=request.method,
            url=request.url,
            headers=dict(request.headers),
            params=dict(request.args),
            route_params={key: str(value) for key, value in params.items()},
            body=body,
        )
        reply = self._handlers[endpoint](fn_request)
        headers = dict(reply.headers)
        if reply.mimetype:
            charset = f"; charset={reply.charset}" if reply.charset else ""
            headers.setdefault("Content-Type", f"{reply.mimetype}{charset}")
        response = Response(reply.get_body(), status=reply.status_code, headers=headers)
        return response(environ, start_response)


def local_tenant(origin: str, key_path: Path) -> tuple[str, dict[str, Any]]:
    """Point the External ID settings at a local stand-in for the tenant (unless they are set):
    the path its JWKS is served at, and the JWKS."""
    path = f"/.local-entra/{local_entra.LOCAL_TENANT_ID}/discovery/v2.0/keys"
    defaults = {
        "ENTRA_TENANT_ID": local_entra.LOCAL_TENANT_ID,
        "ENTRA_CALLOUT_AUDIENCE": local_entra.LOCAL_AUDIENCE,
        "ENTRA_JWKS_URL": origin + path,
    }
    for name, value in defaults.items():
        if not os.environ.get(name):
            os.environ[name] = value
    return path, local_entra.local_jwks(local_entra.local_signing_key(key_path))


def load_app(functions_dir: Path) -> func.FunctionApp:
    """Apply settings (environment first, then the file) and import the function app module."""
    for key, value in local_settings(functions_dir).items():
        os.environ.setdefault(key, value)
    sys.path.insert(0, str(functions_dir))
    module = importlib.import_module("function_app")
    return module.app  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7071, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--functions-dir", type=Path, default=FUNCTIONS_DIR)
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES, help="413 above this")
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=DEFAULT_READ_TIMEOUT_SECONDS,
        help="seconds a client may stay silent",
    )
    parser.add_argument(
        "--platform",
        choices=app_settings.PLATFORMS,
        help="the gate's protocol (default: SIGNUP_PLATFORM, else b2c)",
    )
    parser.add_argument(
        "--local-key",
        type=Path,
        default=local_entra.DEFAULT_LOCAL_KEY,
        help="externalId: the local tenant's signing key (made if missing)",
    )
    args = parser.parse_args(argv)
    # As the Functions host logs at Information for functions (host.json): admitted sign-ups show too.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    functions_dir = args.functions_dir.resolve()

    class TimedHandler(WSGIRequestHandler):
        timeout = args.read_timeout  # socketserver applies it to every read of the connection

    # Bound first: the local tenant's key URL names the port, and the app reads it at import.
    wsgi = FunctionsWsgiApp(max_body_bytes=args.max_body_bytes)
    server = make_server(args.host, args.port, wsgi, threaded=True, request_handler=TimedHandler)
    origin = f"http://{args.host}:{server.server_port}"
    for key, value in local_settings(functions_dir).items():
        os.environ.setdefault(key, value)
    if args.platform:
        os.environ[app_settings.SIGNUP_PLATFORM] = args.platform
    documents = {}
    if os.environ.get(app_settings.SIGNUP_PLATFORM) == app_settings.PLATFORM_EXTERNAL_ID:
        path, jwks = local_tenant(origin, args.local_key)
        documents[path] = jwks
    app = load_app(functions_dir)
    routes = http_routes(app, route_prefix(functions_dir))
    wsgi.mount(routes, documents)
    for path, methods, _ in routes:
        print(f"{','.join(methods)} {origin}{path}", flush=True)
    for path in documents:
        print(f"GET {origin}{path}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
