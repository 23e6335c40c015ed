"""The function package One Deploy publishes (released-package.zip): built reproducibly, and
cached by the content that determines it, so `preview` and `up` of an unchanged function run no
installer and need no package index.

The zip holds the function files (minus what .funcignore excludes) and the dependencies of
functions/requirements.txt under .python_packages/lib/site-packages, resolved for manylinux x86_64
and the target Python by uv. Two builds of the same sources are byte-identical (fixed timestamps,
sorted entries, fixed permissions, no byte code, no machine-specific scripts, no installer
bookkeeping), so an unchanged function never looks like a new deployment.

`B2C_SIGNUP_PACKAGE=<zip>` makes the program deploy that zip as it is, so CI can build once
(`python -m tools.build_package`) and preview and deploy the same bytes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = PROJECT_DIR / "functions"
CACHE_DIR = PROJECT_DIR / ".build" / "packages"
PREBUILT_ENV = "B2C_SIGNUP_PACKAGE"
# The Functions Python versions functions/requirements.txt resolves for: azure-functions 1.x
# stops at 3.12 (2.x needs 3.13), and its pinned dependencies have no 3.10 wheels to match.
PYTHON_VERSIONS = ("3.11", "3.12")
# Part of the cache key: bump it when the way a package is built changes.
BUILD_FORMAT = "2"
SITE_PACKAGES = ".python_packages/lib/site-packages"
PLATFORM = "manylinux2014_x86_64"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# Never shipped, whatever .funcignore says: caches, byte code, local settings and secrets.
ALWAYS_EXCLUDED = (
    "__pycache__/", "*.pyc", "*.pyo", "local.settings.json", ".python_packages/", ".venv/",
    ".mypy_cache/", ".ruff_cache/", ".pytest_cache/",
)  # fmt: skip


@dataclass(frozen=True)
class Package:
    path: Path
    size: int
    sha256: str
    entries: tuple[str, ...]


def ignore_patterns(functions_dir: Path) -> list[str]:
    path = functions_dir / ".funcignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [*patterns, *ALWAYS_EXCLUDED]


def is_ignored(relative: str, patterns: list[str]) -> bool:
    """A small subset of .gitignore matching: `dir/` for folders, globs on any path segment."""
    parts = relative.split("/")
    for pattern in patterns:
        if pattern.endswith("/"):
            if any(fnmatch.fnmatch(part, pattern.rstrip("/")) for part in parts[:-1]):
                return True
        elif fnmatch.fnmatch(relative, pattern) or any(fnmatch.fnmatch(part, pattern) for part in parts):
            return True
    return False


def function_files(functions_dir: Path) -> dict[str, Path]:
    patterns = ignore_patterns(functions_dir)
    found = {}
    for path in functions_dir.rglob("*"):
        relative = path.relative_to(functions_dir).as_posix()
        if path.is_file() and not is_ignored(relative, patterns):
            found[relative] = path
    return found


# The wheel platform as uv names it (PLATFORM, pip's spelling of it, is part of the cache key).
UV_PLATFORM = "x86_64-manylinux2014"
# An installer's bookkeeping, not needed to import anything: RECORD lists paths of the machine
# that installed, INSTALLER names the installer. Left out of the package.
INSTALLER_FILES = ("INSTALLER", "RECORD", "REQUESTED", "direct_url.json")


def install_dependencies(requirements: Path, target: Path, python_version: str) -> None:
    """The pinned dependencies, as wheels for the Functions host, into `target`, with the uv the
    program's virtualenv holds (requirements.txt pins it): a fraction of a second where pip took
    seconds, and one installer, so the same sources make the same bytes everywhere."""
    uv = Path(sys.executable).parent / "uv"
    if not (uv.is_file() and os.access(uv, os.X_OK)):
        raise SystemExit(
            f"uv is not in this virtualenv ({uv.parent}), and the function package is built with it: "
            "install requirements.txt into it (./tools/up.sh does), or build the package elsewhere and "
            f"deploy it with {PREBUILT_ENV}=<zip>"
        )
    command = [
        str(uv), "pip", "install", "--quiet", "--only-binary", ":all:", "--python-platform", UV_PLATFORM,
        "--python-version", python_version, "--target", str(target), "-r", str(requirements),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"uv could not resolve {requirements} for Python {python_version}:\n{result.stderr}")


def dependency_files(target: Path) -> dict[str, Path]:
    found = {}
    for path in target.rglob("*"):
        relative = path.relative_to(target).as_posix()
        parts = relative.split("/")
        # bin/ holds console scripts whose shebang names this machine's interpreter; .lock is uv's.
        if (
            path.is_file()
            and parts[0] not in ("bin", ".lock")
            and not (len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] in INSTALLER_FILES)
            and not is_ignored(relative, list(ALWAYS_EXCLUDED))
        ):
            found[f"{SITE_PACKAGES}/{relative}"] = path
    return found


def write_zip(out: Path, files: dict[str, Path]) -> tuple[str, ...]:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(out.suffix + ".partial")
    names = tuple(sorted(files))
    with zipfile.ZipFile(partial, "w") as archive:
        for arcname in names:
            info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permission bits below are honoured
            info.external_attr = 0o100644 << 16
            # zlib's default level: level 9 took three times as long for 0.6 % less.
            archive.writestr(info, files[arcname].read_bytes(), compresslevel=6)
    os.replace(partial, out)
    return names


def build_package(out: Path, python_version: str = "3.12", functions_dir: Path = FUNCTIONS_DIR) -> Package:
    """Build the zip at `out` and describe it."""
    with tempfile.TemporaryDirectory(prefix="b2c-signup-build-") as scratch:
        target = Path(scratch) / "site-packages"
        install_dependencies(functions_dir / "requirements.txt", target, python_version)
        files = {**function_files(functions_dir), **dependency_files(target)}
        entries = write_zip(out, files)
    data = out.read_bytes()
    return Package(path=out, size=len(data), sha256=hashlib.sha256(data).hexdigest(), entries=entries)


def describe(path: Path) -> Package:
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        entries = tuple(sorted(archive.namelist()))
    return Package(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest(), entries=entries)


def content_key(python_version: str, functions_dir: Path = FUNCTIONS_DIR) -> str:
    """What determines the package: the function files, the pinned requirements (among them),
    the target Python and platform, and the build format."""
    digest = hashlib.sha256(f"{BUILD_FORMAT}\0{PLATFORM}\0{python_version}\0".encode())
    for relative, path in sorted(function_files(functions_dir).items()):
        digest.update(relative.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def package_for_deploy(
    python_version: str,
    *,
    functions_dir: Path = FUNCTIONS_DIR,
    cache_dir: Path = CACHE_DIR,
    environ: Mapping[str, str] = os.environ,
) -> Package:
    """The package to publish: B2C_SIGNUP_PACKAGE's zip if set, else the cached build of these
    sources, else a new build (uv, once per change of the function)."""
    prebuilt = environ.get(PREBUILT_ENV)
    if prebuilt:
        path = Path(prebuilt)
        if not path.is_file() or not zipfile.is_zipfile(path):
            raise ValueError(
                f"{PREBUILT_ENV}={prebuilt} is not a zip file: build one with `python -m tools.build_package "
                f"--out {prebuilt}`, or unset {PREBUILT_ENV} to build here"
            )
        return describe(path.resolve())
    cached = cache_dir / f"{content_key(python_version, functions_dir)}.zip"
    if cached.is_file():
        return describe(cached)
    return build_package(cached, python_version, functions_dir)
