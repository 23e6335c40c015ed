"""Send what the tenant sends to the sign-up gate and print what the user would see.

Usage: python -m tools.simulate_signup --url URL --email ADDRESS [--platform b2c|externalId]
       [--step postAttributeCollection] [--locale en-US] [--username U --password P]
       [--local-key PATH | --token TOKEN]

B2C (the default) posts the API connector's claims with HTTP Basic. The credentials default to
BASIC_AUTH_USERNAME / BASIC_AUTH_PASSWORD from the environment, so a password need not appear on
a command line.

External ID (`--platform externalId`) posts Entra's OnAttributeCollectionSubmit event with a
bearer token. Only Entra can mint the token a deployed function accepts, so locally the token is
signed with a local key instead: `python -m tools.serve --platform externalId` publishes that
key's JWKS and points the function at it (tools/local_entra.py: its tenant and audience), and
this command signs with its private half. The key is made on first use by either command, in
.build/local-entra/ (never committed), so a new user needs two commands and no Azure:

    .venv/bin/python -m tools.serve --platform externalId --port 7071
    .venv/bin/python -m tools.simulate_signup --platform externalId \
        --url http://127.0.0.1:7071/api/validate-signup --email jane@contoso.com --locale fr

`--token` sends a token of your own instead.

Exit status: 0 the sign-up continues, 1 it is refused (block page or validation message), 2 on a
transport error or a reply outside the platform's contract.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.app_settings import PLATFORM_B2C, PLATFORM_EXTERNAL_ID, PLATFORMS
from tools.local_entra import DEFAULT_LOCAL_KEY, LOCAL_TENANT_ID, local_signing_key, mint_local_token

STEPS = ("PostAttributeCollection", "PostFederationSignup")
# The step as stack config (and Graph) spell it, or as B2C sends it in the claim, in any case.
_STEP_NAMES = {name.lower(): name for name in STEPS}


def step_claim(text: str) -> str:
    """The `step` claim B2C sends for --step postAttributeCollection, PostAttributeCollection, ..."""
    try:
        return _STEP_NAMES[text.lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a sign-up step: postAttributeCollection or postFederationSignup"
        ) from None


B2C_TIMEOUT_SECONDS = 20.0
# Entra waits at most 2 s for a custom extension; a slower gate fails there whatever it answers.
ENTRA_TIMEOUT_SECONDS = 2.0

CALLOUT_DATA_TYPE = "microsoft.graph.onAttributeCollectionSubmitCalloutData"
RESPONSE_DATA_TYPE = "microsoft.graph.onAttributeCollectionSubmitResponseData"
ACTION_TYPE = "microsoft.graph.attributeCollectionSubmit."


@dataclass(frozen=True)
class Verdict:
    exit_code: int
    text: str


def signup_claims(email: str, step: str, client_id: str) -> dict[str, Any]:
    """The body B2C posts: a local account before user creation, or a federated one after IdP sign-in."""
    local, _, _ = email.partition("@")
    if step == "PostFederationSignup":
        identities = [
            {"signInType": "federated", "issuer": "google.com", "issuerAssignedId": uuid.uuid4().hex}
        ]
    else:
        identities = [
            {"signInType": "emailAddress", "issuer": "simulated.onmicrosoft.com", "issuerAssignedId": email}
        ]
    return {
        "email": email,
        "identities": identities,
        "displayName": local,
        "givenName": local,
        "surname": "Simulated",
        "step": step,
        "client_id": client_id,
        "ui_locales": "en-US",
    }


def interpret(
    status: int, content_type: str, body: bytes, step: str, sent_credentials: bool = True
) -> Verdict:
    """Judge a reply the way B2C would, flagging anything outside the contract."""
    if status == 401 and not sent_credentials:
        return Verdict(
            2,
            "HTTP 401: no credentials were sent: pass --username and --password (or set BASIC_AUTH_USERNAME/PASSWORD).",
        )
    if status == 401:
        return Verdict(
            2,
            "HTTP 401: the API refused the credentials. Either --username/--password differ from the function's, or "
            "the function has none configured (BASIC_AUTH_USERNAME/PASSWORD unset, or an unresolved Key Vault "
            "reference): its start-up log says which.",
        )
    if status not in (200, 400):
        return Verdict(2, f"HTTP {status}: outside the contract (B2C expects 200 or 400).")
    if "application/json" not in content_type.lower():
        return Verdict(2, f"HTTP {status} with Content-Type {content_type!r}: B2C expects application/json.")
    try:
        reply = json.loads(body)
    except ValueError:
        return Verdict(2, f"HTTP {status}: the body is not JSON.")
    if not isinstance(reply, dict) or not reply.get("version"):
        return Verdict(2, f"HTTP {status}: the reply has no 'version'.")
    action, message = reply.get("action"), reply.get("userMessage")
    if status == 200 and action == "Continue":
        return Verdict(0, "continue: the sign-up proceeds.")
    if status == 200 and action == "ShowBlockPage" and isinstance(message, str) and message:
        return Verdict(1, f"blocked: {message}")
    if (
        status == 400
        and action == "ValidationError"
        and step == "PostAttributeCollection"
        and str(reply.get("status")) == "400"
        and isinstance(message, str)
        and message
    ):
        return Verdict(1, f"validation error (shown on the sign-up page): {message}")
    return Verdict(2, f"HTTP {status} with action {action!r}: not a valid reply at step {step}.")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib follows a 301/302/303 answering a POST with a GET that keeps the Authorization
    header, to whatever origin the Location names: the deployed connector's password would go
    along. A redirect is shown as the answer instead."""

    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


def _post(
    url: str, body: dict[str, Any], headers: dict[str, str], timeout: float
) -> tuple[int, str, bytes] | Verdict:
    request = urllib.request.Request(  # noqa: S310 - main() admits http(s) URLs only
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        try:
            reply = urllib.request.build_opener(_NoRedirect).open(request, timeout=timeout)
        except urllib.error.HTTPError as refused:  # a 4xx/5xx is an answer the tenant reads too
            reply = refused
        with reply:
            if 300 <= reply.status < 400:
                where = urllib.parse.urlsplit(urllib.parse.urljoin(url, reply.headers.get("Location", "")))
                return Verdict(
                    2,
                    f"HTTP {reply.status}: {url} answered with a redirect ({reply.status}) to "
                    f"{where.scheme}://{where.netloc}: not followed (the tenant does not follow one either, and "
                    "the credentials stay where they were sent).",
                )
            return reply.status, reply.headers.get("Content-Type", ""), reply.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        return Verdict(2, f"transport error calling {url}: {reason}")


def simulate(url: str, claims: dict[str, Any], username: str | None, password: str | None) -> Verdict:
    headers = {}
    if username is not None and password is not None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    answer = _post(url, claims, headers, B2C_TIMEOUT_SECONDS)
    if isinstance(answer, Verdict):
        return answer
    return interpret(*answer, claims["step"], "Authorization" in headers)


# -- External ID ----------------------------------------------------------------------------------


def callout_event(email: str, locale: str, tenant_id: str, client_id: str) -> dict[str, Any]:
    """The OnAttributeCollectionSubmit event Entra posts for an email sign-up."""
    local, _, domain = email.partition("@")
    app = {
        "id": str(uuid.uuid4()),
        "appId": client_id,
        "appDisplayName": "Simulated app",
        "displayName": "Simulated app",
    }
    return {
        "type": "microsoft.graph.authenticationEvent.attributeCollectionSubmit",
        "source": f"/tenants/{tenant_id}/applications/{client_id}",
        "data": {
            "@odata.type": CALLOUT_DATA_TYPE,
            "tenantId": tenant_id,
            "authenticationEventListenerId": str(uuid.uuid4()),
            "customAuthenticationExtensionId": str(uuid.uuid4()),
            "authenticationContext": {
                "correlationId": str(uuid.uuid4()),
                "client": {"ip": "127.0.0.1", "locale": locale.lower(), "market": locale.lower()},
                "protocol": "OAUTH2.0",
                "clientServicePrincipal": app,
                "resourceServicePrincipal": app,
            },
            "userSignUpInfo": {
                "attributes": {
                    "email": {
                        "@odata.type": "microsoft.graph.stringDirectoryAttributeValue",
                        "value": email,
                        "attributeType": "builtIn",
                    },
                    "displayName": {
                        "@odata.type": "microsoft.graph.stringDirectoryAttributeValue",
                        "value": local,
                        "attributeType": "builtIn",
                    },
                },
                "identities": [
                    {"signInType": "email", "issuer": domain or "simulated", "issuerAssignedId": email}
                ],
            },
        },
    }


def interpret_callout(status: int, content_type: str, body: bytes) -> Verdict:
    """Judge a reply the way Entra would: HTTP 200, JSON, exactly one known action."""
    if status == 401:
        return Verdict(
            2,
            "HTTP 401: the function refused the token. A deployed function accepts only tokens Entra "
            "mints; a local token works with `python -m tools.serve --platform externalId` (its log "
            "says why a token was refused).",
        )
    if status != 200:
        return Verdict(2, f"HTTP {status}: Entra fails the sign-up on anything but 200.")
    if "application/json" not in content_type.lower():
        return Verdict(2, f"HTTP 200 with Content-Type {content_type!r}: Entra expects application/json.")
    try:
        reply = json.loads(body)
    except ValueError:
        return Verdict(2, "HTTP 200: the body is not JSON.")
    data = reply.get("data") if isinstance(reply, dict) else None
    actions = data.get("actions") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("@odata.type") != RESPONSE_DATA_TYPE:
        return Verdict(2, f"HTTP 200: data.@odata.type is not {RESPONSE_DATA_TYPE}.")
    if not isinstance(actions, list) or len(actions) != 1 or not isinstance(actions[0], dict):
        return Verdict(2, "HTTP 200: Entra expects exactly one action.")
    action = actions[0]
    kind = str(action.get("@odata.type", "")).removeprefix(ACTION_TYPE)
    message = action.get("message")
    if kind == "continueWithDefaultBehavior":
        return Verdict(0, "continue: the sign-up proceeds.")
    if kind == "showBlockPage" and isinstance(message, str) and message:
        return Verdict(1, f"blocked: {message}")
    errors = action.get("attributeErrors")
    if (
        kind == "showValidationError"
        and isinstance(message, str)
        and message
        and isinstance(errors, dict)
        and errors
    ):
        return Verdict(1, f"validation error (shown on the sign-up page): {message}")
    return Verdict(2, f"HTTP 200 with action {action.get('@odata.type')!r}: not a valid reply.")


def simulate_callout(url: str, event: dict[str, Any], token: str | None) -> Verdict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = _post(url, event, headers, ENTRA_TIMEOUT_SECONDS)
    return answer if isinstance(answer, Verdict) else interpret_callout(*answer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.simulate_signup", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--url", required=True, help="the validate-signup URL")
    parser.add_argument("--email", required=True)
    parser.add_argument(
        "--platform", choices=PLATFORMS, default=PLATFORM_B2C, help="b2c (default) or externalId"
    )
    parser.add_argument("--locale", default="en-US", help="the sign-up page's language (default en-US)")
    parser.add_argument(
        "--step",
        type=step_claim,
        default="PostAttributeCollection",
        help="postAttributeCollection (default) or postFederationSignup, as in stack config",
    )
    parser.add_argument("--username", default=os.environ.get("BASIC_AUTH_USERNAME"))
    parser.add_argument("--password", default=os.environ.get("BASIC_AUTH_PASSWORD"))
    parser.add_argument("--client-id", default="00000000-0000-0000-0000-000000000000")
    parser.add_argument(
        "--local-key",
        type=Path,
        default=DEFAULT_LOCAL_KEY,
        help="externalId: the local signing key (made if missing)",
    )
    parser.add_argument("--token", help="externalId: send this bearer token instead of a local one")
    parser.add_argument("--tenant-id", default=LOCAL_TENANT_ID, help="externalId: the tenant the event names")
    args = parser.parse_args(argv)
    if not args.url.lower().startswith(("https://", "http://")):
        parser.error(
            f"--url {args.url!r} must be an http(s) URL, e.g. https://<app>.azurewebsites.net/api/validate-signup"
        )
    if args.platform == PLATFORM_EXTERNAL_ID:
        token = args.token or mint_local_token(local_signing_key(args.local_key), args.tenant_id)
        verdict = simulate_callout(
            url=args.url,
            event=callout_event(args.email, args.locale, args.tenant_id, args.client_id),
            token=token,
        )
    else:
        claims = {**signup_claims(args.email, args.step, args.client_id), "ui_locales": args.locale}
        verdict = simulate(args.url, claims, args.username, args.password)
    print(verdict.text, file=sys.stderr if verdict.exit_code == 2 else sys.stdout)
    return verdict.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
