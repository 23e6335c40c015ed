"""Fetch the public definitions the contract tests hold our files against, where ../shared is absent.

    python -m tools.fetch_definitions [--dest DIR] [--mirror URL | --from DIR] [--repository OWNER/NAME]

tests/contracts/ reads each definition listed in tools/external_definitions.json from
../shared/reference/external/ when that folder is beside the repository, else from the cache this
command fills (.build/definitions/, or B2C_SIGNUP_DEFINITIONS). It downloads each one from its
pinned source (a file at a commit of its upstream repository; for the Graph extracts, which have no
single upstream file, an asset of this repository's release) and keeps it only if its SHA-256 is the
pinned one. --mirror takes every file by name from another base URL (a proxy's mirror), --from from
a local folder. With ../shared present it has nothing to do. Exits 1 naming each file it could not
get, and why.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from components import deadline, tls
from tools import PROJECT_DIR

MANIFEST = Path(__file__).with_name("external_definitions.json")
MANIFEST_NAME = "tools/external_definitions.json"
SHARED_DIR = PROJECT_DIR.parent / "shared" / "reference" / "external"
CACHE_ENV = "B2C_SIGNUP_DEFINITIONS"
DEFAULT_CACHE = PROJECT_DIR / ".build" / "definitions"
COMMAND = "python -m tools.fetch_definitions"
BUDGET_SECONDS = 60.0
# The largest definition is a third of a MiB: a source sending far more is not sending it.
MAX_BYTES = 16 * 1024 * 1024
RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RAW_URL = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"


class DefinitionError(Exception):
    """A definition that cannot be had, with what to do about it."""


class DefinitionMissingError(DefinitionError):
    pass


class DefinitionMismatchError(DefinitionError):
    pass


@dataclass(frozen=True)
class Definition:
    name: str
    sha256: str
    repository: str | None = None
    path: str | None = None
    commit: str | None = None
    extract: bool = False
    about: str = ""
    built_from: tuple[str, ...] = ()

    @property
    def upstream_url(self) -> str | None:
        if self.extract or not (self.repository and self.path and self.commit):
            return None
        return RAW_URL.format(repository=self.repository, commit=self.commit, path=self.path)


@dataclass(frozen=True)
class Manifest:
    definitions: Mapping[str, Definition]
    release_tag: str
    release_url: str  # with {repository}, {tag} and {name}
    release_about: str = ""  # where the extracts come from, and how a maintainer publishes them

    def release_asset(self, name: str, repository: str) -> str:
        return self.release_url.format(repository=repository, tag=self.release_tag, name=name)


def load_manifest(path: Path = MANIFEST) -> Manifest:
    document = json.loads(path.read_text(encoding="utf-8"))
    definitions = {
        name: Definition(
            name=name,
            sha256=entry["sha256"],
            repository=entry.get("repository"),
            path=entry.get("path"),
            commit=entry.get("commit"),
            extract=bool(entry.get("extract", False)),
            about=entry.get("about", ""),
            built_from=tuple(entry.get("built_from", ())),
        )
        for name, entry in document["definitions"].items()
    }
    release = document["release"]
    return Manifest(definitions, release["tag"], release["url"], release.get("about", ""))


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get(CACHE_ENV) or DEFAULT_CACHE)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_url(
    definition: Definition, manifest: Manifest, *, repository: str | None, mirror: str | None
) -> str:
    """Where the command takes a definition from: the mirror when given, else its pinned source."""
    if mirror:
        return mirror.rstrip("/") + "/" + definition.name
    if definition.upstream_url:
        return definition.upstream_url
    if not repository:
        raise DefinitionError(
            f"{definition.name} is an extract published as an asset of this repository's release "
            f"{manifest.release_tag!r}: name the repository with --repository owner/name (a GitHub "
            "workflow sets GITHUB_REPOSITORY), or take it from a copy with --from DIR"
        )
    return manifest.release_asset(definition.name, repository)


def how_to_get(definition: Definition, manifest: Manifest) -> str:
    text = (
        f"Run `{COMMAND}` (it downloads each definition in {MANIFEST_NAME} from its pinned source "
        f"into {DEFAULT_CACHE.relative_to(PROJECT_DIR)}/ and checks its SHA-256), or put "
        "../shared/reference/external beside the repository."
    )
    if definition.extract:
        text += (
            f" {definition.name} is an extract with no single upstream file: the command takes it from "
            f"the release {manifest.release_tag!r} of this repository (GITHUB_REPOSITORY or --repository); "
            f"if that release lacks it, a maintainer publishes it once ({MANIFEST_NAME}, release.about)."
        )
    return text


def resolve(name: str, manifest: Manifest, places: Sequence[Path]) -> Path:
    """The first copy of a listed definition in `places`, which must match its pinned SHA-256."""
    definition = manifest.definitions.get(name)
    if definition is None:
        raise DefinitionError(
            f"{name} is not listed in {MANIFEST_NAME}: add it with its source and SHA-256, so every "
            "CI can fetch and check it"
        )
    for place in places:
        path = place / name
        if path.is_file():
            actual = sha256_of(path)
            if actual != definition.sha256:
                raise DefinitionMismatchError(
                    f"{path} does not match the SHA-256 pinned in {MANIFEST_NAME} ({definition.sha256}, "
                    f"file {actual}): fetch it again ({COMMAND}), or update the pin if the new file is intended"
                )
            return path
    looked = " and ".join(str(place / name) for place in places)
    raise DefinitionMissingError(
        f"{name} is not here (looked at {looked}). {how_to_get(definition, manifest)}"
    )


@dataclass
class Report:
    fetched: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _RefusedError(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.retry_after = status, retry_after


async def _get(client: httpx.AsyncClient, url: str) -> bytes:
    async with client.stream("GET", url) as response:
        if response.status_code != 200:
            raise _RefusedError(
                response.status_code, deadline.retry_after_seconds(response.headers.get("Retry-After"))
            )
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > MAX_BYTES:
                raise DefinitionError(f"{url} sent more than {MAX_BYTES // 1048576} MiB: not a definition")
        return bytes(data)


async def _download(
    client: httpx.AsyncClient, url: str, budget: deadline.Deadline, sleep: Callable[[float], Awaitable[None]]
) -> bytes:
    """The body of `url`; throttling, server errors and dropped connections are retried after a
    pause until the budget is spent. Anything else is final."""
    attempt, why = 0, ""
    while True:
        try:
            return await budget.within(_get(client, url), f"GET {url}")
        except deadline.DeadlineExceededError as exceeded:
            raise DefinitionError(
                f"{why}, and the {budget.budget:.0f} s budget is spent" if why else str(exceeded)
            ) from None
        except _RefusedError as refused:
            if refused.status not in RETRIED_STATUSES:
                raise DefinitionError(f"{url} answered {refused.status}") from None
            wait, why = deadline.pause(attempt, refused.retry_after), f"{url} answered {refused.status}"
        except httpx.TransportError as error:
            wait, why = deadline.pause(attempt), f"{url} could not be read ({type(error).__name__}: {error})"
        if not budget.allows(wait):
            raise DefinitionError(f"{why}, and the {budget.budget:.0f} s budget is spent")
        await sleep(wait)
        attempt += 1


def _keep(definition: Definition, data: bytes, dest: Path, source: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != definition.sha256:
        raise DefinitionError(
            f"{source} is not the pinned file (SHA-256 {actual}, pinned {definition.sha256} in "
            f"{MANIFEST_NAME}): not kept"
        )
    dest.mkdir(parents=True, exist_ok=True)
    # Written whole or not at all: a reader never sees half a file under the definition's name.
    handle, temporary = tempfile.mkstemp(dir=dest, prefix=f".{definition.name}.")
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    os.replace(temporary, dest / definition.name)


async def fetch(
    manifest: Manifest,
    dest: Path,
    *,
    sources: Callable[[Definition], str],
    budget: float = BUDGET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Report:
    """Every definition not already in `dest` with its pinned hash, from `sources(definition)` (a
    URL, or a local path), within one budget for them all."""
    report = Report()
    limit = deadline.Deadline(budget, clock)
    async with httpx.AsyncClient(
        follow_redirects=True, timeout=httpx.Timeout(budget), verify=tls.trust()
    ) as client:
        for name, definition in manifest.definitions.items():
            target = dest / name
            if target.is_file() and sha256_of(target) == definition.sha256:
                report.cached.append(name)
                continue
            try:
                source = sources(definition)
                if source.startswith(("https://", "http://")):
                    data = await _download(client, source, limit, sleep)
                else:
                    data = Path(source).read_bytes()
                _keep(definition, data, dest, source)
            except (DefinitionError, OSError) as error:
                report.problems.append(f"{name}: {error}")
            else:
                report.fetched.append(name)
    return report


def main(
    argv: list[str] | None = None, *, shared: Path = SHARED_DIR, environ: Mapping[str, str] = os.environ
) -> int:
    parser = argparse.ArgumentParser(
        prog=COMMAND, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dest", type=Path, default=cache_dir(environ), help="cache folder (default: %(default)s)"
    )
    origin = parser.add_mutually_exclusive_group()
    origin.add_argument("--mirror", help="base URL to take every file from by name, instead of its source")
    origin.add_argument("--from", dest="copy_from", type=Path, help="folder to copy every file from")
    parser.add_argument(
        "--repository",
        default=environ.get("GITHUB_REPOSITORY"),
        help="owner/name of this repository, whose release holds the extracts (default: GITHUB_REPOSITORY)",
    )
    parser.add_argument("--budget", type=float, default=BUDGET_SECONDS, help="seconds for all downloads")
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if shared.is_dir() and args.copy_from is None and args.mirror is None:
        print(f"{shared} is beside the repository and the contract tests read it: nothing to fetch")
        return 0
    manifest = load_manifest(args.manifest)

    def sources(definition: Definition) -> str:
        if args.copy_from is not None:
            return str(args.copy_from / definition.name)
        return source_url(definition, manifest, repository=args.repository, mirror=args.mirror)

    report = asyncio.run(fetch(manifest, args.dest, sources=sources, budget=args.budget))
    for name in report.fetched:
        print(f"{name}: fetched, SHA-256 as pinned")
    for name in report.cached:
        print(f"{name}: already in {args.dest}, SHA-256 as pinned")
    for problem in report.problems:
        print(f"MISSING {problem}", file=sys.stderr)
    failed = {problem.split(":", 1)[0] for problem in report.problems}
    if any(manifest.definitions[name].extract for name in failed):
        print(f"The extracts: {manifest.release_about}", file=sys.stderr)
    return 1 if report.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
