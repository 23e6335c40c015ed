"""tools.fetch_definitions: the manifest pins the real files, the command fetches them over HTTP
within its budget and keeps only what matches the pinned SHA-256, and the contract tests find them
in ../shared or the cache, failing loudly under CI when neither has them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR
from tests.doubles.clock import VirtualClock
from tools import fetch_definitions as fd
from tools.loopback import JsonHandler, LoopbackServer, serve

SHARED = PROJECT_DIR.parent / "shared" / "reference" / "external"
REPO_RAW = "https://raw.githubusercontent.com/"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


FILES = {"alpha.schema.json": b'{"title": "alpha"}\n', "beta-extract.json": b'{"paths": {}}\n'}


def manifest_of(files: dict[str, bytes]) -> fd.Manifest:
    definitions = {
        "alpha.schema.json": fd.Definition(
            name="alpha.schema.json",
            sha256=sha(files["alpha.schema.json"]),
            repository="contoso/schemas",
            path="schemas/alpha.schema.json",
            commit="0" * 40,
        ),
        "beta-extract.json": fd.Definition(
            name="beta-extract.json", sha256=sha(files["beta-extract.json"]), extract=True
        ),
    }
    return fd.Manifest(
        definitions=definitions,
        release_tag="contract-definitions-1",
        release_url="https://github.com/{repository}/releases/download/{tag}/{name}",
    )


def manifest_document(files: dict[str, bytes]) -> dict[str, object]:
    """manifest_of(files) as tools/external_definitions.json writes it."""
    return {
        "release": {
            "tag": "contract-definitions-1",
            "url": "https://github.com/{repository}/releases/download/{tag}/{name}",
            "about": "published once by gh release create",
        },
        "definitions": {
            "alpha.schema.json": {
                "sha256": sha(files["alpha.schema.json"]),
                "repository": "contoso/schemas",
                "path": "schemas/alpha.schema.json",
                "commit": "0" * 40,
            },
            "beta-extract.json": {"sha256": sha(files["beta-extract.json"]), "extract": True},
        },
    }


class Mirror:
    """A loopback file server with scripted faults: per name, the statuses to answer before the
    file (0: drop the connection unanswered), bytes to serve instead of it, or a trickle (one byte
    per `trickle` seconds)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        self.failures: dict[str, list[int]] = {}
        self.trickle: float | None = None
        self.requests: list[str] = []
        self.lock = threading.Lock()

    def handler(self) -> type[JsonHandler]:
        mirror = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's method name
                name = self.path.rsplit("/", 1)[-1]
                with mirror.lock:
                    mirror.requests.append(self.path)
                    pending = mirror.failures.get(name) or []
                    status = pending.pop(0) if pending else None
                if status == 0:
                    self.close_connection = True
                    return
                if status is not None:
                    self.answer(status, {"error": "scripted"}, {"Retry-After": "1"})
                    return
                if name not in mirror.files:
                    self.answer(404, {"error": "not found"})
                    return
                data = mirror.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if mirror.trickle is None:
                    self.wfile.write(data)
                    return
                for byte in data:
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(mirror.trickle)

        return Handler


@pytest.fixture
def mirror() -> Iterator[tuple[Mirror, LoopbackServer]]:
    files = Mirror(FILES)
    server = serve(files.handler())
    yield files, server
    server.stop()


def fetch(
    manifest: fd.Manifest, dest: Path, origin: str, *, budget: float = 60.0, clock: VirtualClock | None = None
) -> fd.Report:
    clock = clock or VirtualClock()
    return asyncio.run(
        fd.fetch(
            manifest,
            dest,
            sources=lambda definition: f"{origin}/mirror/{definition.name}",
            budget=budget,
            clock=clock.now,
            sleep=clock.sleep,
        )
    )


# The manifest and the files it pins


def test_the_manifest_pins_every_definition_with_its_real_sha256() -> None:
    manifest = fd.load_manifest()
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not here: the pinned hashes are checked where the definitions are")
    on_disk = {path.name for path in SHARED.glob("*.json")}
    assert set(manifest.definitions) == on_disk
    for name, definition in manifest.definitions.items():
        assert sha((SHARED / name).read_bytes()) == definition.sha256, name


def test_upstream_definitions_come_from_a_pinned_commit_and_extracts_from_the_release() -> None:
    manifest = fd.load_manifest()
    for definition in manifest.definitions.values():
        if definition.extract:
            assert definition.upstream_url is None and definition.about and definition.built_from
            url = fd.source_url(definition, manifest, repository="contoso/b2c-signup", mirror=None)
            assert url == (
                f"https://github.com/contoso/b2c-signup/releases/download/contract-definitions-1/{definition.name}"
            )
        else:
            assert definition.commit is not None and len(definition.commit) == 40
            assert definition.upstream_url == (
                f"{REPO_RAW}{definition.repository}/{definition.commit}/{definition.path}"
            )
            assert (
                fd.source_url(definition, manifest, repository=None, mirror=None) == definition.upstream_url
            )
        mirrored = fd.source_url(definition, manifest, repository=None, mirror="https://mirror.example/defs/")
        assert mirrored == f"https://mirror.example/defs/{definition.name}"


def test_an_extract_without_a_repository_says_where_to_get_it() -> None:
    manifest = fd.load_manifest()
    with pytest.raises(fd.DefinitionError) as raised:
        fd.source_url(manifest.definitions["graph-openapi-b2c.json"], manifest, repository=None, mirror=None)
    message = str(raised.value)
    assert "graph-openapi-b2c.json" in message and "--repository" in message
    assert "GITHUB_REPOSITORY" in message and "contract-definitions-1" in message


# Fetching


def test_it_fetches_each_definition_checks_it_and_keeps_the_cache(
    mirror: tuple[Mirror, LoopbackServer], tmp_path: Path
) -> None:
    files, server = mirror
    report = fetch(manifest_of(FILES), tmp_path, server.origin)
    assert report.problems == [] and sorted(report.fetched) == sorted(FILES)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == FILES
    again = fetch(manifest_of(FILES), tmp_path, server.origin)
    assert again.problems == [] and again.fetched == [] and sorted(again.cached) == sorted(FILES)
    assert len(files.requests) == len(FILES)  # nothing downloaded twice


def test_a_file_that_does_not_match_its_hash_is_not_kept(
    mirror: tuple[Mirror, LoopbackServer], tmp_path: Path
) -> None:
    files, server = mirror
    files.files["alpha.schema.json"] = b'{"title": "tampered"}\n'
    report = fetch(manifest_of(FILES), tmp_path, server.origin)
    (problem,) = report.problems
    assert "alpha.schema.json" in problem and sha(FILES["alpha.schema.json"]) in problem
    assert sha(b'{"title": "tampered"}\n') in problem and "not kept" in problem
    assert sorted(p.name for p in tmp_path.iterdir()) == ["beta-extract.json"]


def test_a_cached_file_that_no_longer_matches_is_fetched_again(
    mirror: tuple[Mirror, LoopbackServer], tmp_path: Path
) -> None:
    _, server = mirror
    (tmp_path / "alpha.schema.json").write_bytes(b"stale")
    report = fetch(manifest_of(FILES), tmp_path, server.origin)
    assert report.problems == [] and "alpha.schema.json" in report.fetched
    assert (tmp_path / "alpha.schema.json").read_bytes() == FILES["alpha.schema.json"]


def test_throttling_and_server_errors_are_retried_after_a_pause(
    mirror: tuple[Mirror, LoopbackServer], tmp_path: Path
) -> None:
    files, server = mirror
    files.failures["alpha.schema.json"] = [503, 429]
    clock = VirtualClock()
    report = fetch(manifest_of(FILES), tmp_path, server.origin, clock=clock)
    assert report.problems == []
    assert clock.slept == [1.0, 1.0]  # the server's Retry-After, above the floor
    assert [r for r in files.requests if r.endswith("alpha.schema.json")] == ["/mirror/alpha.schema.json"] * 3


def test_a_dropped_connection_is_retried(mirror: tuple[Mirror, LoopbackServer], tmp_path: Path) -> None:
    files, server = mirror
    files.failures["beta-extract.json"] = [0]
    clock = VirtualClock()
    report = fetch(manifest_of(FILES), tmp_path, server.origin, clock=clock)
    assert report.problems == [] and sorted(report.fetched) == sorted(FILES)
    assert len(clock.slept) == 1 and clock.slept[0] >= 0.5  # backoff, never below the floor


def test_retries_stop_when_the_budget_is_spent(mirror: tuple[Mirror, LoopbackServer], tmp_path: Path) -> None:
    files, server = mirror
    files.failures["alpha.schema.json"] = [503] * 1000
    clock = VirtualClock()
    report = fetch(manifest_of(FILES), tmp_path, server.origin, budget=10.0, clock=clock)
    alpha, beta = report.problems  # one budget for the whole fetch: nothing is left for the next file
    assert alpha.startswith("alpha.schema.json: ") and "503" in alpha and "10 s budget is spent" in alpha
    assert beta.startswith("beta-extract.json: ") and "10 s budget" in beta
    assert sum(clock.slept) <= 10.0 and len(clock.slept) >= 5


def test_a_missing_file_is_not_retried(mirror: tuple[Mirror, LoopbackServer], tmp_path: Path) -> None:
    files, server = mirror
    del files.files["beta-extract.json"]
    clock = VirtualClock()
    report = fetch(manifest_of(FILES), tmp_path, server.origin, clock=clock)
    (problem,) = report.problems
    assert "beta-extract.json" in problem and "404" in problem and f"{server.origin}/mirror/" in problem
    assert clock.slept == []


def test_a_trickling_server_cannot_hold_the_fetch_past_its_budget(
    mirror: tuple[Mirror, LoopbackServer], tmp_path: Path
) -> None:
    files, server = mirror
    files.trickle = 0.05  # about a second per file, each byte well within any per-read timeout
    started = time.monotonic()
    report = asyncio.run(
        fd.fetch(
            manifest_of(FILES),
            tmp_path,
            sources=lambda definition: f"{server.origin}/mirror/{definition.name}",
            budget=0.3,
        )
    )
    assert time.monotonic() - started < 0.3 + 0.5
    assert report.problems and all("budget" in problem for problem in report.problems)
    assert list(tmp_path.iterdir()) == []


def test_it_copies_from_a_local_folder_with_the_same_checks(tmp_path: Path) -> None:
    source, dest = tmp_path / "copy", tmp_path / "cache"
    source.mkdir()
    for name, data in FILES.items():
        (source / name).write_bytes(data)
    (source / "alpha.schema.json").write_bytes(b"other bytes")
    report = asyncio.run(
        fd.fetch(manifest_of(FILES), dest, sources=lambda d: str(source / d.name), budget=5.0)
    )
    (problem,) = report.problems
    assert "alpha.schema.json" in problem and "not kept" in problem
    assert [p.name for p in dest.iterdir()] == ["beta-extract.json"]


# The command


def test_with_shared_beside_the_repository_there_is_nothing_to_fetch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    assert fd.main([], shared=shared, environ={}) == 0
    assert "nothing to fetch" in capsys.readouterr().out


def test_the_command_fetches_from_a_mirror_and_exits_1_naming_what_failed(
    mirror: tuple[Mirror, LoopbackServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files, server = mirror
    del files.files["beta-extract.json"]
    manifest_path = tmp_path / "manifest.json"
    manifest_path.write_text(json.dumps(manifest_document(FILES)), encoding="utf-8")
    argv = [
        "--manifest",
        str(manifest_path),
        "--dest",
        str(tmp_path / "cache"),
        "--mirror",
        f"{server.origin}/m/",
    ]
    assert fd.main(argv, shared=tmp_path / "absent", environ={}) == 1
    out, err = capsys.readouterr()
    assert "alpha.schema.json: fetched" in out
    assert "beta-extract.json" in err and "404" in err
    assert "The extracts: published once by gh release create" in err
    files.files["beta-extract.json"] = FILES["beta-extract.json"]
    assert fd.main(argv, shared=tmp_path / "absent", environ={}) == 0


# Where the contract tests find them


def test_resolve_prefers_shared_then_the_cache_and_checks_the_hash(tmp_path: Path) -> None:
    manifest = manifest_of(FILES)
    shared, cache = tmp_path / "shared", tmp_path / "cache"
    cache.mkdir()
    (cache / "alpha.schema.json").write_bytes(FILES["alpha.schema.json"])
    assert fd.resolve("alpha.schema.json", manifest, (shared, cache)) == cache / "alpha.schema.json"
    shared.mkdir()
    (shared / "alpha.schema.json").write_bytes(b"edited")
    with pytest.raises(fd.DefinitionMismatchError, match="does not match the SHA-256 pinned"):
        fd.resolve("alpha.schema.json", manifest, (shared, cache))
    with pytest.raises(fd.DefinitionMissingError) as raised:
        fd.resolve("beta-extract.json", manifest, (shared, cache))
    message = str(raised.value)
    assert "python -m tools.fetch_definitions" in message and "contract-definitions-1" in message
    with pytest.raises(fd.DefinitionError, match=r"not listed in tools/external_definitions\.json"):
        fd.resolve("unlisted.json", manifest, (shared, cache))


CONTRACT_PROBE = """
from tests.contracts.conftest import external


def test_reads_a_definition():
    assert external("pulumi-project.schema.json").read_bytes()
"""


@pytest.fixture
def lone_project(tmp_path: Path) -> Path:
    """The project's test scaffolding without ../shared beside it, and one contract test."""
    root = tmp_path / "clone"
    for name in (
        "pyproject.toml",
        "tests/__init__.py",
        "tests/conftest.py",
        "tests/contracts/__init__.py",
        "tests/contracts/conftest.py",
        "tools/__init__.py",
        "tools/fetch_definitions.py",
        "tools/external_definitions.json",
        "components/__init__.py",
        "components/packaging.py",
        "components/deadline.py",
        "components/tls.py",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_DIR / name, root / name)
    (root / "tests" / "contracts" / "test_probe.py").write_text(CONTRACT_PROBE, encoding="utf-8")
    return root


def run_probe(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "B2C_SIGNUP_DEFINITIONS")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n0",
            "-p",
            "no:cacheprovider",
            "-rs",
            "tests/contracts/test_probe.py",
        ],
        cwd=root,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_under_ci_a_missing_definition_fails_loudly_and_says_what_to_do(lone_project: Path) -> None:
    local = run_probe(lone_project)
    assert local.returncode == 0 and "1 skipped" in local.stdout
    ci = run_probe(lone_project, CI="true")
    assert ci.returncode == 1 and "1 failed" in ci.stdout
    assert "pulumi-project.schema.json" in ci.stdout and "python -m tools.fetch_definitions" in ci.stdout


def test_the_contract_tests_read_the_fetched_cache(lone_project: Path) -> None:
    data = b'{"$schema": "https://json-schema.org/draft/2020-12/schema"}'
    cache = lone_project / ".build" / "definitions"
    cache.mkdir(parents=True)
    (cache / "pulumi-project.schema.json").write_bytes(data)
    # A stand-in manifest pin for the stand-in bytes: the real file needs ../shared or the network.
    manifest_path = lone_project / "tools" / "external_definitions.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["definitions"]["pulumi-project.schema.json"]["sha256"] = sha(data)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    assert run_probe(lone_project, CI="true").returncode == 0
    (cache / "pulumi-project.schema.json").write_bytes(data + b" ")
    tampered = run_probe(lone_project)  # a wrong file fails, CI or not
    assert tampered.returncode == 1 and "does not match the SHA-256 pinned" in tampered.stdout
