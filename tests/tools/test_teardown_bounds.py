"""The teardown's bounds (issue 17): a Pulumi command that hangs is ended at its limit with every
process it started, a Key Vault purge ends by its budget in real time too and never re-sends a
write after a redirect, and the nightly workflow's time limit covers the worst run the tool allows."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import deadline
from tests.conftest import PROJECT_DIR
from tests.doubles.clock import VirtualClock
from tests.doubles.one_deploy_double import Eavesdropper, trickle
from tools import teardown_demos
from tools.demos import DEMO_TAG, EXPIRES_TAG, Vault
from tools.loopback import JsonHandler, serve

SUBSCRIPTION = "9f8e7d6c-5b4a-4321-8765-43210fedcba9"
# Checkout, Python, the locked virtualenv and the Pulumi CLI, before the teardown starts.
SETUP_ALLOWANCE_SECONDS = 600
ARM_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJrdi1jYW5hcnkifQ.a3YtY2FuYXJ5LXNpZw"


def gone(pid: int) -> bool:
    """Whether the process is dead: no such process, or a zombie nobody has reaped yet."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def wait_until_gone(pids: list[int], seconds: float = 3.0) -> list[int]:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not all(gone(pid) for pid in pids):
        time.sleep(0.02)
    return [pid for pid in pids if not gone(pid)]


# A stand-in for the Pulumi CLI's process tree: the CLI starts a plugin in a process group of its
# own (as Pulumi does, so that Ctrl-C reaches only the CLI), writes both pids, then hangs.
HANGING_CLI = """
import os, signal, subprocess, sys, time
if os.environ.get("IGNORE_SIGINT"):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
plugin = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], process_group=0)
with open(os.environ["PIDS"], "w") as out:
    out.write(f"{os.getpid()} {plugin.pid}")
time.sleep(60)
"""


@pytest.mark.parametrize("cli", ["ignores Ctrl-C", "exits on Ctrl-C, leaving its plugin"])
def test_a_command_past_its_limit_is_ended_with_every_process_it_started(tmp_path: Path, cli: str) -> None:
    pids = tmp_path / "pids"
    env = {**os.environ, "PIDS": str(pids), **({"IGNORE_SIGINT": "1"} if cli == "ignores Ctrl-C" else {})}
    started = time.monotonic()
    with pytest.raises(teardown_demos.CommandTimeoutError, match=r"did not finish within 1 s"):
        teardown_demos.run_bounded(
            [sys.executable, "-c", HANGING_CLI], 0.6, env=env, grace=0.2, name="pulumi destroy"
        )
    assert time.monotonic() - started < 5
    family = [int(pid) for pid in pids.read_text().split()]
    assert len(family) == 2 and wait_until_gone(family) == []


def test_a_command_within_its_limit_gives_its_output_and_a_failure_its_last_words() -> None:
    assert (
        teardown_demos.run_bounded([sys.executable, "-c", "print('[]')"], 10, name="pulumi stack ls")
        == "[]\n"
    )
    failing = (
        "import sys; print('progress'); print('error: the stack is locked', file=sys.stderr); sys.exit(255)"
    )
    with pytest.raises(
        teardown_demos.CommandFailedError,
        match=r"`pulumi destroy` exited with status 255: error: the stack is locked",
    ):
        teardown_demos.run_bounded([sys.executable, "-c", failing], 10, name="pulumi destroy")


# -- the real backend, against a stand-in Pulumi CLI on PATH ------------------------------------------

FAKE_PULUMI = """#!{python}
import json, os, subprocess, sys, time
args = [a for a in sys.argv[1:] if a != "--non-interactive"]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
state = json.loads(open(os.environ["FAKE_STATE"]).read())
if args == ["version"]:
    print("v3.272.0")
elif args[:3] == ["stack", "ls", "--json"]:
    print(json.dumps([{{"name": name}} for name in state["tags"]]))
elif args[:4] == ["stack", "tag", "ls", "--json"]:
    print(json.dumps(state["tags"][args[-1]]))
elif args[:2] == ["stack", "export"]:
    print(json.dumps({{"version": 3, "deployment": state["deployment"]}}))
elif args[:1] == ["config"]:
    print(json.dumps({{k: {{"value": v, "secret": False}} for k, v in state["config"].items()}}))
elif args[:1] == ["destroy"]:
    plugin = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], process_group=0)
    open(os.environ["PIDS"], "w").write(f"{{os.getpid()}} {{plugin.pid}}")
    time.sleep(60)
elif args[:2] == ["stack", "rm"]:
    pass
else:
    sys.exit(f"unexpected: {{args}}")
"""


@pytest.fixture
def fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pulumi = bin_dir / "pulumi"
    pulumi.write_text(FAKE_PULUMI.format(python=sys.executable))
    pulumi.chmod(0o755)
    expired = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    (tmp_path / "state.json").write_text(
        json.dumps(
            {
                "tags": {"dev": {}, "pilot": {DEMO_TAG: "true", EXPIRES_TAG: expired}},
                "deployment": {"resources": [{"type": "pulumi:pulumi:Stack"}]},
                "config": {"b2c-signup:tenantId": "t"},
            }
        )
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "calls.log"))
    monkeypatch.setenv("FAKE_STATE", str(tmp_path / "state.json"))
    monkeypatch.setenv("PIDS", str(tmp_path / "pids"))
    return tmp_path


def test_a_hanging_destroy_through_the_pulumi_cli_is_ended_and_the_stack_stays(
    fake_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert teardown_demos.main(["--yes", "--stack-timeout", "1"]) == 1
    assert time.monotonic() - started < 30
    said = capsys.readouterr().out
    assert "destroying pilot did not finish within 1 s" in said and "left in place" in said
    calls = (fake_cli / "calls.log").read_text().splitlines()
    assert "destroy --yes --skip-preview --stack pilot" in calls
    assert not any(call.startswith("stack rm") for call in calls)
    family = [int(pid) for pid in (fake_cli / "pids").read_text().split()]
    assert wait_until_gone(family) == []


def test_the_backend_reads_through_the_cli_without_secrets_in_the_state(fake_cli: Path) -> None:
    backend = teardown_demos.PulumiBackend()
    assert backend.stacks() == ["dev", "pilot"]
    assert backend.tags("pilot")[DEMO_TAG] == "true"
    assert backend.state("pilot") == {"resources": [{"type": "pulumi:pulumi:Stack"}]}
    assert backend.config("pilot") == {"b2c-signup:tenantId": "t"}
    backend.remove("pilot")
    calls = (fake_cli / "calls.log").read_text().splitlines()
    assert "stack export --stack pilot" in calls  # no --show-secrets: the teardown reads ids and names only
    assert "stack rm --yes --stack pilot" in calls


# -- the Key Vault purge ---------------------------------------------------------------------------


class ArmDouble:
    """ARM's purge endpoint for soft-deleted vaults, answering what a test scripts per request."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers, self.paths, self.authorizations = answers, [], []
        arm = self

        class Handler(JsonHandler):
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                arm.paths.append(self.path)
                arm.authorizations.append(self.headers.get("Authorization"))
                answer = arm.answers.pop(0) if len(arm.answers) > 1 else arm.answers[0]
                if answer == "trickle":
                    return trickle(self)
                status, body, headers = answer
                if isinstance(body, bytes):
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return None
                return self.answer(status, body, headers)

        self._server = serve(Handler)

    @property
    def url(self) -> str:
        return self._server.origin

    def close(self) -> None:
        self._server.stop()


class Token:
    def get_token(self, *_: str) -> Any:
        return type("T", (), {"token": ARM_TOKEN})()


def cleaner(
    arm: ArmDouble, clock: VirtualClock | None = None, wait_seconds: float = 60
) -> teardown_demos.AzureCleaner:
    made = teardown_demos.AzureCleaner(
        arm_endpoint=arm.url,
        wait_seconds=wait_seconds,
        arm_credentials=lambda _settings: Token(),  # type: ignore[arg-type,return-value]
    )
    if clock is not None:
        made.clock, made.sleep = clock.now, clock.sleep  # type: ignore[method-assign,assignment]
    return made


VAULT = Vault(SUBSCRIPTION, "westeurope", "kv-demo")


@pytest.fixture
def eavesdropper() -> Iterator[Eavesdropper]:
    other = Eavesdropper()
    yield other
    other.close()


def test_a_purge_reply_that_trickles_ends_at_the_budget_in_real_time() -> None:
    arm = ArmDouble(["trickle"])
    try:
        started = time.monotonic()
        with pytest.raises(
            teardown_demos.PurgeError, match=r"purging Key Vault kv-demo: no answer within the 0 s budget"
        ):
            cleaner(arm).purge_vault(VAULT, 0.4)
        assert time.monotonic() - started < 3  # the reply would take 10 s
    finally:
        arm.close()


def test_a_vault_not_yet_listed_as_deleted_is_waited_for_with_growing_pauses() -> None:
    arm = ArmDouble([(404, None, {}), (404, None, {}), (404, None, {}), (404, None, {}), (202, None, {})])
    clock = VirtualClock()
    try:
        assert cleaner(arm, clock).purge_vault(VAULT, 300) is True
    finally:
        arm.close()
    assert len(arm.paths) == 5 and min(clock.slept) >= deadline.MIN_PAUSE_SECONDS
    assert clock.slept[3] > clock.slept[0]


def test_a_vault_never_listed_is_given_up_after_the_wait_bound() -> None:
    arm = ArmDouble([(404, None, {})])
    clock = VirtualClock()
    started = clock.now()
    try:
        assert cleaner(arm, clock, wait_seconds=60).purge_vault(VAULT, 300) is False
    finally:
        arm.close()
    assert clock.now() - started <= 60 and len(arm.paths) <= 15


@pytest.mark.parametrize("retry_after", ["0", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_a_throttled_purge_pauses_at_least_the_floor(retry_after: str) -> None:
    arm = ArmDouble([(429, None, {"Retry-After": retry_after})] * 3 + [(200, None, {})])
    clock = VirtualClock()
    try:
        assert cleaner(arm, clock).purge_vault(VAULT, 300) is True
    finally:
        arm.close()
    assert len(arm.paths) == 4 and clock.slept == [deadline.MIN_PAUSE_SECONDS] * 3


def test_a_throttled_purge_ends_by_its_budget() -> None:
    arm = ArmDouble([(429, None, {"Retry-After": "10"})])
    clock = VirtualClock()
    started = clock.now()
    try:
        with pytest.raises(teardown_demos.PurgeError, match=r"purging Key Vault kv-demo .*429"):
            cleaner(arm, clock).purge_vault(VAULT, 100)
    finally:
        arm.close()
    assert clock.now() - started <= 100 and len(arm.paths) <= 11


@pytest.mark.parametrize("status", [307, 308])
def test_a_purge_answered_with_a_redirect_is_never_sent_again(
    eavesdropper: Eavesdropper, status: int
) -> None:
    arm = ArmDouble([(status, None, {"Location": f"{eavesdropper.url}/purge?sig=secret-sas"})])
    try:
        with pytest.raises(
            Exception, match=rf"purging Key Vault kv-demo with a redirect \({status}\)"
        ) as raised:
            cleaner(arm, VirtualClock()).purge_vault(VAULT, 60)
    finally:
        arm.close()
    assert len(arm.paths) == 1 and eavesdropper.authorizations == []
    assert "secret-sas" not in str(raised.value)


def test_a_purge_error_never_carries_the_token() -> None:
    echo = f"Bad request; headers: Authorization: Bearer {ARM_TOKEN}"
    arm = ArmDouble([(400, ("z" * 130 + echo).encode(), {})])
    try:
        with pytest.raises(teardown_demos.PurgeError) as raised:
            cleaner(arm, VirtualClock()).purge_vault(VAULT, 60)
    finally:
        arm.close()
    assert "answered 400" in str(raised.value)
    assert not [piece for piece in ARM_TOKEN.split(".") if piece[:12] in str(raised.value)]


# -- the nightly workflow's time limit --------------------------------------------------------------


def test_the_nightly_workflow_outlasts_the_worst_run_the_tool_allows() -> None:
    workflow = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "teardown.yml").read_text())
    job = workflow["jobs"]["teardown"]
    script = next(step["run"] for step in job["steps"] if "tools.teardown_demos --yes" in step.get("run", ""))
    words = script.split()
    stack_timeout = float(words[words.index("--stack-timeout") + 1])
    max_stacks = int(words[words.index("--max-stacks") + 1])
    assert (
        stack_timeout == teardown_demos.DEFAULT_STACK_TIMEOUT
        and max_stacks == teardown_demos.DEFAULT_MAX_STACKS
    )
    worst = teardown_demos.worst_case_seconds(stack_timeout, max_stacks)
    assert job["timeout-minutes"] * 60 >= worst + SETUP_ALLOWANCE_SECONDS
    assert job["timeout-minutes"] * 60 <= worst + 2 * SETUP_ALLOWANCE_SECONDS
