"""The One Deploy double, a package to publish, and another origin that must never see the token:
shared by the One Deploy tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.doubles.one_deploy_double import Eavesdropper, OneDeployDouble


@pytest.fixture
def kudu() -> Iterator[OneDeployDouble]:
    double = OneDeployDouble()
    yield double
    double.close()


@pytest.fixture
def package(tmp_path: Path) -> Path:
    path = tmp_path / "released-package.zip"
    path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    return path


@pytest.fixture
def eavesdropper() -> Iterator[Eavesdropper]:
    other = Eavesdropper()
    yield other
    other.close()
