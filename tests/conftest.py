"""Shared test setup: the function app root on sys.path, and a live local server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = PROJECT_DIR / "functions"
# The Functions host puts the app root on the path; tests do the same.
sys.path.insert(0, str(FUNCTIONS_DIR))

SERVER_ENV = {
    "ALLOWED_EMAIL_DOMAINS": "contoso.com, *.fabrikam.com, bücher.example",
    "BASIC_AUTH_USERNAME": "b2c-connector",
    "BASIC_AUTH_PASSWORD": "s3rver-Passw0rd!",
}


class LocalServer:
    def __init__(self, env: dict[str, str], *args: str) -> None:
        full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.serve", "--port", "0", *args],
            cwd=PROJECT_DIR,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(
                f"tools.serve did not start: {self.process.stderr.read() if self.process.stderr else ''}"
            )
        self.url = line.split()[1]  # "GET,POST,... http://127.0.0.1:PORT/api/validate-signup"

    def stop(self) -> str:
        self.process.terminate()
        _, stderr = self.process.communicate(timeout=10)
        return stderr


@pytest.fixture(scope="session")
def server() -> Iterator[LocalServer]:
    running = LocalServer(SERVER_ENV)
    yield running
    running.stop()


@pytest.fixture
def server_factory() -> Iterator[type[LocalServer]]:
    started: list[LocalServer] = []

    class Tracked(LocalServer):
        def __init__(self, env: dict[str, str], *args: str) -> None:
            super().__init__(env, *args)
            started.append(self)

    yield Tracked
    for running in started:
        if running.process.poll() is None:
            running.stop()


def _ensure_event_loop() -> None:
    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


@pytest.fixture(autouse=True)
def event_loop_for_pulumi() -> None:
    """Pulumi Outputs want a current event loop; providers' `asyncio.run` calls leave none behind."""
    _ensure_event_loop()


@pytest.fixture(scope="module", autouse=True)
def event_loop_for_module_fixtures() -> None:
    """The same for module-scoped fixtures, which are set up before any test's own fixtures."""
    _ensure_event_loop()


def registered_functions(app: Any) -> dict[str, Any]:
    """A FunctionApp's functions by name, as the host indexes them. azure-functions' get_functions()
    remembers every name it has returned and refuses them the next time (a second call in one
    process raises "does not have a unique function name"), so each look starts afresh."""
    app.functions_bindings = {}
    return {function.get_function_name(): function for function in app.get_functions()}
