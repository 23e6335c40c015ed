"""The public definitions our files and requests are held against: ../shared/reference/external/.

They are read from there, never copied into the repository; without ../shared the contract tests
that need them skip and say why.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_DIR

EXTERNAL = PROJECT_DIR.parent / "shared" / "reference" / "external"
# Line and block comments outside strings: the Microsoft schemas are JSONC.
_JSONC = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.S)


def load_jsonc(text: str) -> Any:
    return json.loads(_JSONC.sub(lambda match: match.group(1) or "", text))


def external(name: str) -> Path:
    path = EXTERNAL / name
    if not path.is_file():
        pytest.skip(f"{path} is not here: the contract tests need ../shared beside the repository")
    return path


@pytest.fixture(scope="session")
def external_json() -> Any:
    def load(name: str) -> Any:
        return load_jsonc(external(name).read_text(encoding="utf-8"))

    return load
