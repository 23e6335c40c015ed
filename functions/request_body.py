"""How every JSON route of the function reads a request body: a size cap, JSON only, and no
repeated key among those a decision reads."""

from __future__ import annotations

import json
from collections.abc import Set
from typing import Any

MAX_BODY_BYTES = 64 * 1024


class BodyError(ValueError):
    """The body is not JSON the function will decide on."""


class DuplicateKeyError(BodyError):
    """The body names a key the decision reads more than once."""


def parse(body: bytes, decision_keys: Set[str]) -> object:
    """The body as JSON, refusing one that repeats any of `decision_keys` in one object: JSON
    parsers disagree about a repeated key (Python keeps the last, others the first), so such a body
    is never decided on. Raises BodyError (DuplicateKeyError for a repeated key)."""

    def refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        claims = dict(pairs)
        if len(claims) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen and key in decision_keys:
                    raise DuplicateKeyError(f"duplicate key {key}")
                seen.add(key)
        return claims

    try:
        return json.loads(body, object_pairs_hook=refuse_duplicates)
    except DuplicateKeyError:
        raise
    except RecursionError:
        # The C scanner refuses nesting deeper than the interpreter's recursion limit this way.
        raise BodyError("nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BodyError(f"not JSON ({type(exc).__name__})") from None
