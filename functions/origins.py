"""Where a credential or a trusted key may come from: https, or http only on a loopback host (local
runs and tests). The one owner of this rule for the function and the program alike, so standard
library only."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (with or without brackets)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_secure(scheme: str, host: str) -> bool:
    return scheme == "https" or (scheme == "http" and is_loopback(host))


def url_problem(url: str) -> str | None:
    """Why `url` is no place to fetch trusted data from (a token's signing keys), or None."""
    parts = urlsplit(url)
    if not parts.hostname or parts.username or parts.password:
        return "must be an absolute https URL with a host and no credentials"
    if not is_secure(parts.scheme, parts.hostname):
        return "must be https (http only on loopback, for local runs)"
    return None
