"""The public definitions our files and requests are held against, listed with their source and
SHA-256 in tools/external_definitions.json.

They are read from ../shared/reference/external/ when it is beside the repository, else from the
cache `python -m tools.fetch_definitions` fills; never copied into the repository. A copy that does
not match its pinned hash fails. A missing one skips, saying how to get it, except in CI
(CI=true), where it fails: a CI that skips them has checked nothing.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tools import fetch_definitions

# Line and block comments outside strings: the Microsoft schemas are JSONC.
_JSONC = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.S)


def load_jsonc(text: str) -> Any:
    return json.loads(_JSONC.sub(lambda match: match.group(1) or "", text))


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@cache
def _resolved(name: str) -> Path | str:
    """The definition's path, or why there is none (checked once per session)."""
    places = (fetch_definitions.SHARED_DIR, fetch_definitions.cache_dir())
    try:
        return fetch_definitions.resolve(name, fetch_definitions.load_manifest(), places)
    except fetch_definitions.DefinitionMissingError as missing:
        return str(missing)


def external(name: str) -> Path:
    found = _resolved(name)  # a mismatched or unlisted definition raises: never skipped
    if isinstance(found, Path):
        return found
    if in_ci():
        pytest.fail(f"CI=true and a contract definition is missing: {found}", pytrace=False)
    pytest.skip(found)


@pytest.fixture(scope="session")
def external_json() -> Any:
    def load(name: str) -> Any:
        return load_jsonc(external(name).read_text(encoding="utf-8"))

    return load
