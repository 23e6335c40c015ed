"""What an error message may show of a reply: the one redaction rule the Graph gateway, One Deploy
and the teardown's purges share.

A reply can echo what it was sent: Graph's error envelopes quote request fields, Kudu's error pages
print request headers. So every text a peer sent loses, before it is shown or cut, every secret we
know in each form a reply may spell it (as sent, in any letter case, JSON-escaped, URL-encoded,
HTML-escaped) and anything shaped like a bearer token or a JWT, which is a secret even when it is
not one of ours. Redacting comes before cutting, so a secret the cut goes through leaks no part of it.

Standard library only.
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import quote, quote_plus

# A secret shorter than this is not worth hiding (and would hide common words).
MIN_SECRET_CHARS = 4
EXCERPT_CHARS = 300
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/-]+=*")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*){1,2}")


def _forms(secret: str) -> set[str]:
    """A secret as a reply may echo it: as sent, JSON-escaped, URL-encoded or HTML-escaped."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
        html.escape(secret),
    }


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` without any form of the given secrets, in any case, nor anything token-like."""
    # Longest first: a secret's JSON form may contain its plain form.
    forms = sorted(
        {f for s in secrets if len(s) >= MIN_SECRET_CHARS for f in _forms(s)}, key=len, reverse=True
    )
    for form in forms:
        # Case-blind: an error page may echo a header lowercased.
        text = re.sub(re.escape(form), "***", text, flags=re.IGNORECASE)
    return _JWT.sub("***", _BEARER.sub(r"\1 ***", text))


def excerpt(text: str, secrets: tuple[str, ...] = (), limit: int = EXCERPT_CHARS) -> str:
    """`text` as an error message may show it: redacted first, then on one line of printable
    characters (a reply must not write lines of its own into the engine's output), then cut to
    `limit` characters."""
    text = redact(text, secrets)
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
