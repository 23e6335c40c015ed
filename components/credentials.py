"""What both identities share: the GitHub Actions OIDC assertion that Entra exchanges for a token."""

from __future__ import annotations

import os

import httpx


class OidcUnavailableError(Exception):
    """No GitHub OIDC token can be had here."""


def github_oidc_assertion() -> str:
    """Exchange the GitHub Actions OIDC request token for an assertion Entra accepts.

    Called by azure-identity's ClientAssertionCredential each time it needs a token, so a long
    `up` gets a fresh assertion instead of one that expired after ten minutes.
    """
    url, token = (
        os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL"),
        os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    )
    if not url or not token:
        raise OidcUnavailableError(
            "no GitHub OIDC token is available: the workflow needs `permissions: id-token: write` "
            "(and pull requests from forks get no token)"
        )
    reply = httpx.get(
        url,
        params={"audience": "api://AzureADTokenExchange"},
        headers={"Authorization": f"bearer {token}"},
        timeout=30,
    )
    reply.raise_for_status()
    return str(reply.json()["value"])
