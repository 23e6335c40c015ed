"""The deployable zip: reproducible, complete, and free of what must not ship."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest

from components.packaging import SITE_PACKAGES, build_package
from tests.conftest import FUNCTIONS_DIR


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package(tmp_path_factory.mktemp("a") / "released-package.zip").path


def test_two_builds_are_byte_identical(built: Path, tmp_path: Path) -> None:
    again = build_package(tmp_path / "released-package.zip")
    first = build_package(built)  # rebuilt in place: same sources, same bytes
    assert again.sha256 == first.sha256
    assert again.path.read_bytes() == built.read_bytes()


def test_contents(built: Path) -> None:
    with zipfile.ZipFile(built) as archive:
        names = archive.namelist()
        infos = archive.infolist()
    top_level = sorted(n for n in names if not n.startswith(".python_packages/"))
    assert top_level == [
        "app_settings.py",
        "b2c_connector.py",
        "entra_callout.py",
        "function_app.py",
        "gate_settings.py",
        "host.json",
        "origins.py",
        "request_body.py",
        "requirements.txt",
        "signup_rules.py",
        "token_check.py",
        "web_api.py",
        "web_api_spec.py",
    ]
    for package in (
        "azure/functions/__init__.py",
        "email_validator/__init__.py",
        "idna/__init__.py",
        "dns/__init__.py",
    ):
        assert f"{SITE_PACKAGES}/{package}" in names
    assert names == sorted(names)
    forbidden = (
        "__pycache__",
        ".pyc",
        "local.settings",
        "tests/",
        ".venv",
        f"{SITE_PACKAGES}/bin/",
        ".funcignore",
    )
    assert not [n for n in names if any(f in n for f in forbidden)]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    # Wheels resolved for the Functions host (Linux x86_64, CPython 3.12), not for this machine.
    native = [n for n in names if n.endswith(".so")]
    assert native and all("cpython-312-x86_64-linux-gnu" in n or "abi3" in n for n in native)


def test_a_changed_source_changes_the_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from components import packaging

    # The function files decide here; the dependencies' part has its own test above.
    monkeypatch.setattr(packaging, "install_dependencies", lambda *_: None)
    functions = tmp_path / "functions"
    shutil.copytree(
        FUNCTIONS_DIR, functions, ignore=shutil.ignore_patterns("__pycache__", "local.settings.json")
    )
    same = build_package(tmp_path / "same.zip", functions_dir=functions)
    (functions / "signup_rules.py").write_text((functions / "signup_rules.py").read_text() + "\n# changed\n")
    changed = build_package(tmp_path / "changed.zip", functions_dir=functions)
    assert changed.sha256 != same.sha256


def test_an_unchanged_function_is_built_once_then_taken_from_the_cache(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from components import packaging

    cache = tmp_path / "cache"
    first = packaging.package_for_deploy("3.12", cache_dir=cache, environ={})
    assert first.path.parent == cache and first.sha256 == hashlib.sha256(built.read_bytes()).hexdigest()

    def no_pip(*_: object, **__: object) -> None:
        raise AssertionError("pip ran although the function did not change")

    monkeypatch.setattr(packaging, "install_dependencies", no_pip)
    again = packaging.package_for_deploy("3.12", cache_dir=cache, environ={})
    assert again == first
    assert packaging.content_key("3.11") != packaging.content_key("3.12")


def test_a_changed_source_changes_the_cache_key(tmp_path: Path) -> None:
    from components import packaging

    functions = tmp_path / "functions"
    shutil.copytree(
        FUNCTIONS_DIR, functions, ignore=shutil.ignore_patterns("__pycache__", "local.settings.json")
    )
    before = packaging.content_key("3.12", functions)
    (functions / "signup_rules.py").write_text((functions / "signup_rules.py").read_text() + "\n# changed\n")
    assert packaging.content_key("3.12", functions) != before
    (functions / "local.settings.json").write_text("{}")  # ignored files do not count
    assert packaging.content_key("3.12", functions) == packaging.content_key("3.12", functions)


def test_a_prebuilt_package_is_deployed_as_it_is(built: Path, tmp_path: Path) -> None:
    from components import packaging

    package = packaging.package_for_deploy(
        "3.12", cache_dir=tmp_path, environ={packaging.PREBUILT_ENV: str(built)}
    )
    assert (
        package.path == built.resolve() and package.sha256 == hashlib.sha256(built.read_bytes()).hexdigest()
    )
    with pytest.raises(ValueError, match=r"B2C_SIGNUP_PACKAGE=.*is not a zip file"):
        packaging.package_for_deploy("3.12", environ={packaging.PREBUILT_ENV: str(tmp_path / "missing.zip")})


def test_without_uv_in_the_virtualenv_the_build_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from components import packaging

    monkeypatch.setattr("sys.executable", str(tmp_path / "bin" / "python"))
    with pytest.raises(SystemExit, match=r"uv is not in this virtualenv .*install requirements.txt into it"):
        packaging.install_dependencies(FUNCTIONS_DIR / "requirements.txt", tmp_path / "target", "3.12")
