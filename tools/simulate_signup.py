"""Send what B2C sends to an API connector and print what the user would see.

Usage: python -m tools.simulate_signup --url URL --email ADDRESS [--step postAttributeCollection]
       [--username U --password P]

Exit status: 0 the sign-up continues, 1 it is refused (block page or inline validation
message), 2 on a transport error or a reply outside the B2C API connector contract.
The credentials default to BASIC_AUTH_USERNAME / BASIC_AUTH_PASSWORD from the environment, so a
password need not appear on a command line.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

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


def simulate(url: str, claims: dict[str, Any], username: str | None, password: str | None) -> Verdict:
    headers = {"Content-Type": "application/json"}
    if username is not None and password is not None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    request = urllib.request.Request(  # noqa: S310 - main() admits http(s) URLs only
        url, data=json.dumps(claims).encode(), headers=headers, method="POST"
    )
    try:
        try:
            reply = urllib.request.urlopen(request, timeout=B2C_TIMEOUT_SECONDS)  # noqa: S310
        except urllib.error.HTTPError as refused:  # a 4xx/5xx is an answer B2C reads too
            reply = refused
        with reply:
            status, content_type, body = reply.status, reply.headers.get("Content-Type", ""), reply.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        return Verdict(2, f"transport error calling {url}: {reason}")
    return interpret(status, content_type, body, claims["step"], "Authorization" in headers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.simulate_signup", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--url", required=True, help="the validate-signup URL")
    parser.add_argument("--email", required=True)
    parser.add_argument(
        "--step",
        type=step_claim,
        default="PostAttributeCollection",
        help="postAttributeCollection (default) or postFederationSignup, as in stack config",
    )
    parser.add_argument("--username", default=os.environ.get("BASIC_AUTH_USERNAME"))
    parser.add_argument("--password", default=os.environ.get("BASIC_AUTH_PASSWORD"))
    parser.add_argument("--client-id", default="00000000-0000-0000-0000-000000000000")
    args = parser.parse_args(argv)
    if not args.url.lower().startswith(("https://", "http://")):
        parser.error(
            f"--url {args.url!r} must be an http(s) URL, e.g. https://<app>.azurewebsites.net/api/validate-signup"
        )
    verdict = simulate(
        args.url, signup_claims(args.email, args.step, args.client_id), args.username, args.password
    )
    print(verdict.text, file=sys.stderr if verdict.exit_code == 2 else sys.stdout)
    return verdict.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
