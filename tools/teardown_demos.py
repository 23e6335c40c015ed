"""Tear down demo stacks whose time-to-live has passed, and leave the tenant clean.

    python -m tools.teardown_demos          # dry run: print what would go
    python -m tools.teardown_demos --yes    # destroy, purge what destroy leaves, remove the stacks
        [--stack-timeout SECONDS] [--max-stacks N]

For each expired demo stack (tag b2c-signup:demo=true, b2c-signup:expires in the past), oldest
first and at most --max-stacks per run: read from its state what destroy will leave behind,
destroy it within --stack-timeout, permanently delete its soft-deleted app registrations in its
tenant (B2C or External ID alike) and purge its soft-deleted Key Vault where it has one, then
remove the stack. A stack whose tags, state or config cannot be read, or whose destroy fails or
does not finish in time, is reported and left in place, never removed; the others still go.

Every step has a bound, so a run ends within worst_case_seconds() (the nightly workflow's
timeout-minutes is held to it by a test): each Pulumi command runs within a time limit that
actually ends it and every process it started; the purges of one stack share one budget.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from azure.core.credentials import TokenCredential

from components.code_deployment import MANAGEMENT_SCOPE
from components.credentials import B2CSettings, SubscriptionSettings, make_subscription_credential
from components.deadline import Deadline, DeadlineExceededError, pause, retry_after_seconds
from components.graph.gateway import GraphGateway
from components.token_session import SessionError, TokenSession
from tools import PROJECT_DIR
from tools.demos import (
    ENVIRONMENT_STACKS,
    Expired,
    Leftovers,
    Vault,
    committed_stacks,
    leftovers,
    select_expired,
)
from tools.pulumi_cli import workspace

KEY_VAULT_API = "2023-07-01"
# A real destroy of a stack (Flex app and plan, storage, Key Vault, Log Analytics and App Insights,
# identity and role assignments, the resource group, app registrations, Graph objects) takes
# several minutes, the resource group's deletion alone often five to ten. Twenty minutes lets a
# slow but healthy destroy finish; a hung one is stopped within one such slot.
DEFAULT_STACK_TIMEOUT = 1200.0
# Expired stacks torn down per run, oldest first; the rest wait for the next night. With the
# limits below this keeps a nightly run under two hours, whatever piles up.
DEFAULT_MAX_STACKS = 3
# Each other Pulumi command (list, tags, export, config, stack rm): seconds on a slow backend.
READ_LIMIT_SECONDS = 120.0
# Listing the stacks and reading every stack's tags, together.
LISTING_BUDGET_SECONDS = 600.0
# After Ctrl-C, how long Pulumi may take to cancel cleanly (finish in-flight operations, save
# the state) before every process of the command is killed.
KILL_GRACE_SECONDS = 30.0
# All purges of one stack together (Graph's own budget is 90 s an operation): a few seconds each
# normally; a tenant that throttles cannot hold the run.
PURGE_BUDGET_SECONDS = 300.0
# A vault destroy just deleted may take a while to be listed as deleted (404 until then).
VAULT_LISTING_WAIT_SECONDS = 60.0
# ARM's answers to a purge that may change if asked again later.
_PURGE_RETRIED = (404, 409, 429, 500, 502, 503, 504)


def worst_case_seconds(stack_timeout: float, max_stacks: int) -> float:
    """The longest a run with these settings can take: the listing, then for each stack its
    reads (state, config), its destroy, its purges and its removal, each to its limit."""
    command = READ_LIMIT_SECONDS + KILL_GRACE_SECONDS
    per_stack = 3 * command + stack_timeout + KILL_GRACE_SECONDS + PURGE_BUDGET_SECONDS
    return LISTING_BUDGET_SECONDS + command + max_stacks * per_stack


# -- Pulumi commands, each within a limit ------------------------------------------------------------


class CommandFailedError(Exception):
    """A Pulumi command ended with an error; the message has its last words."""


class CommandTimeoutError(Exception):
    """A Pulumi command did not finish within its limit and was ended, with every process it started."""


def _session(sid: int) -> list[int]:
    """Every process of session `sid`. A command started in a session of its own keeps there all
    it starts, also what it puts in process groups of their own (Pulumi does that with its plugins,
    so that Ctrl-C reaches only the CLI), and also after their parent has died. Written by hand:
    `ps` and os.getsid are POSIX, and psutil is not among our dependencies."""
    try:
        listed = subprocess.run(
            ["ps", "-A", "-o", "pid="],  # noqa: S607 - ps from PATH, as a shell would find it
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return [sid]
    members = []
    for word in listed.split():
        with contextlib.suppress(ValueError, OSError):
            if os.getsid(int(word)) == sid:
                members.append(int(word))
    return members


def _end(process: subprocess.Popen[str], grace: float) -> None:
    """Ctrl-C first (Pulumi then cancels, lets in-flight operations end and saves the state),
    then, after `grace`, SIGKILL to every process of the command's session."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=grace)
    for pid in _session(process.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=5)


def run_bounded(
    command: Sequence[str],
    limit: float,
    *,
    name: str,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    capture: bool = True,
    grace: float = KILL_GRACE_SECONDS,
) -> str:
    """Run `command` (`name` in messages) and return its standard output; uncaptured, its output
    goes straight to ours, as it comes. Past `limit` seconds the command is ended with every
    process it started, and CommandTimeoutError says so."""
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        text=True,
        start_new_session=True,  # everything it starts stays findable by its session, see _session
    )
    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _end(process, grace)
        raise CommandTimeoutError(
            f"`{name}` did not finish within {limit:.0f} s; it was stopped, with every process it started"
        ) from None
    if process.returncode != 0:
        last = next((line for line in reversed((err or "").splitlines()) if line.strip()), "")
        raise CommandFailedError(
            f"`{name}` exited with status {process.returncode}: {last[:300] or 'its output is above'}"
        )
    return out or ""


class Backend(Protocol):
    def stacks(self) -> list[str]: ...
    def tags(self, stack: str) -> Mapping[str, str]: ...
    def state(self, stack: str) -> Mapping[str, Any]: ...
    def config(self, stack: str) -> Mapping[str, Any]: ...
    def destroy(self, stack: str, limit: float) -> None: ...
    def remove(self, stack: str) -> None: ...


class PulumiBackend:
    """The stacks of this project through the Pulumi CLI the workspace finds.

    The Automation API runs this same CLI, but offers no time limit and no handle on the process
    it starts: a destroy hung on a provider would hold the run until the job is killed, with its
    plugins left running. So every command runs here through run_bounded, which ends it; the
    commands and their JSON are the ones the Automation API uses.
    """

    def __init__(self, read_limit: float = READ_LIMIT_SECONDS, grace: float = KILL_GRACE_SECONDS) -> None:
        found = workspace()  # the CLI on PATH or in .pulumi-cli; one line saying what to do without
        self.command, self.cwd = found.pulumi_command.command, found.work_dir
        self.read_limit, self.grace = read_limit, grace
        env = {**os.environ, **found.env_vars, "PULUMI_SKIP_UPDATE_CHECK": "true"}
        if found.pulumi_home:
            env["PULUMI_HOME"] = found.pulumi_home
        if os.path.isabs(self.command):
            # As the Automation API does: the CLI finds its language plugins beside itself.
            env["PATH"] = os.pathsep.join((os.path.dirname(self.command), env.get("PATH", "")))
        self.env = env

    def _run(self, *args: str, limit: float | None = None, capture: bool = True) -> str:
        return run_bounded(
            [self.command, "--non-interactive", *args],
            self.read_limit if limit is None else limit,
            name=f"pulumi {' '.join(a for a in args[:2] if not a.startswith('-'))}",
            env=self.env,
            cwd=self.cwd,
            capture=capture,
            grace=self.grace,
        )

    def stacks(self) -> list[str]:
        return [str(item["name"]) for item in json.loads(self._run("stack", "ls", "--json"))]

    def tags(self, stack: str) -> Mapping[str, str]:
        return dict(json.loads(self._run("stack", "tag", "ls", "--json", "--stack", stack)))

    def state(self, stack: str) -> Mapping[str, Any]:
        # Without --show-secrets: the teardown reads ids, names and locations, never a secret.
        return dict(json.loads(self._run("stack", "export", "--stack", stack)).get("deployment") or {})

    def config(self, stack: str) -> Mapping[str, Any]:
        listed = json.loads(self._run("config", "--show-secrets", "--json", "--stack", stack))
        return {key: value.get("value") for key, value in listed.items()}

    def destroy(self, stack: str, limit: float) -> None:
        self._run("destroy", "--yes", "--skip-preview", "--stack", stack, limit=limit, capture=False)

    def remove(self, stack: str) -> None:
        self._run("stack", "rm", "--yes", "--stack", stack)


# -- purging what destroy leaves ---------------------------------------------------------------------


class PurgeError(Exception):
    """A purge that failed, worded for the report."""


class Cleaner(Protocol):
    def purge_application(self, config: Mapping[str, Any], object_id: str, budget: float) -> bool: ...
    def purge_vault(self, vault: Vault, budget: float) -> bool: ...


class AzureCleaner:
    """Purges through Microsoft Graph (the tenant identity of the stack's config, the same keys on
    B2C and External ID) and ARM (the subscription identity, as azure-native finds it), each
    within the budget the caller gives."""

    # The clock and sleep a purge spends its budget on; tests set them on an instance.
    clock: Callable[[], float] = staticmethod(time.monotonic)
    sleep: Callable[[float], Awaitable[None]] = staticmethod(asyncio.sleep)

    def __init__(
        self,
        arm_endpoint: str = "https://management.azure.com",
        wait_seconds: float = VAULT_LISTING_WAIT_SECONDS,
        connect: Callable[..., GraphGateway] = GraphGateway,
        arm_credentials: Callable[[SubscriptionSettings], TokenCredential] = make_subscription_credential,
    ) -> None:
        self.arm_endpoint = arm_endpoint.rstrip("/")
        self.wait_seconds = wait_seconds
        # How a Graph session opens and an ARM token is had; tests pass doubles.
        self.connect, self.arm_credentials = connect, arm_credentials

    def purge_application(self, config: Mapping[str, Any], object_id: str, budget: float) -> bool:
        settings = B2CSettings.from_config(config.get)
        # The gateway's own budget per operation, or what is left of the stack's if that is less.
        settings = dataclasses.replace(settings, max_wait_seconds=min(settings.max_wait_seconds, budget))

        async def purge() -> bool:
            async with self.connect(settings) as graph:
                return await graph.purge_deleted_application(object_id)

        return asyncio.run(purge())

    def purge_vault(self, vault: Vault, budget: float) -> bool:
        """Purge a soft-deleted vault; False when it never showed up as deleted."""
        credential = self.arm_credentials(SubscriptionSettings.from_config(lambda _key: None))
        deadline = Deadline(budget, self.clock)
        action = f"purging Key Vault {vault.name}"
        path = (
            f"/subscriptions/{vault.subscription_id}/providers/Microsoft.KeyVault/locations/"
            f"{vault.location}/deletedVaults/{vault.name}/purge"
        )

        async def purge() -> bool:
            # The token comes out of the purge's budget: an `az` that never answers would hold the run.
            token = await deadline.in_thread(
                lambda: credential.get_token(MANAGEMENT_SCOPE).token, f"getting an Entra token for {action}"
            )
            async with TokenSession(self.arm_endpoint, token, deadline, name="Azure Resource Manager") as arm:
                attempt, last = 0, ""
                while True:
                    if last and deadline.expired():
                        raise PurgeError(f"{action} still answered {last} after {deadline.elapsed():.0f} s")
                    reply = await arm.send("POST", path, action, params={"api-version": KEY_VAULT_API})
                    if reply.status_code in (200, 202):
                        return True
                    last = f"{reply.status_code}: {arm.redact(reply.text, 200)}".rstrip(": ")
                    if reply.status_code not in _PURGE_RETRIED:
                        raise PurgeError(f"{action} answered {last}")
                    attempt += 1
                    wait = pause(attempt, retry_after_seconds(reply.headers.get("Retry-After")))
                    if reply.status_code == 404 and deadline.elapsed() + wait > self.wait_seconds:
                        return False  # never listed as deleted: nothing to purge
                    if not deadline.allows(wait):
                        raise PurgeError(f"{action} still answered {last} after {deadline.elapsed():.0f} s")
                    await self.sleep(wait)

        try:
            return asyncio.run(purge())
        except (DeadlineExceededError, SessionError) as exc:
            raise PurgeError(str(exc)) from None


def _clean(
    cleaner: Cleaner, config: Mapping[str, Any], gone: Leftovers, budget: Deadline, say: Callable[[str], None]
) -> list[str]:
    problems: list[str] = []
    spent = f"not purged, the stack's purge budget of {budget.budget:.0f} s was spent"
    for object_id in gone.applications:
        fix = "(purge it under Entra ID > App registrations > Deleted applications)"
        if budget.expired():
            problems.append(f"app registration {object_id}: {spent} {fix}")
            continue
        try:
            purged = cleaner.purge_application(config, object_id, budget.remaining())
            say(
                f"  purged deleted app registration {object_id}"
                if purged
                else f"  app registration {object_id} was not in the recycle bin"
            )
        except Exception as exc:  # noqa: BLE001 - reported, and the run goes on with the next object
            problems.append(f"app registration {object_id}: {exc} {fix}")
    for vault in gone.vaults:
        fix = f"(az keyvault purge --name {vault.name} --location {vault.location})"
        if budget.expired():
            problems.append(f"Key Vault {vault.name}: {spent} {fix}")
            continue
        try:
            purged = cleaner.purge_vault(vault, budget.remaining())
            say(
                f"  purged Key Vault {vault.name}"
                if purged
                else f"  Key Vault {vault.name} was not soft-deleted"
            )
        except Exception as exc:  # noqa: BLE001
            problems.append(f"Key Vault {vault.name}: {exc} {fix}")
    return problems


# -- the run -----------------------------------------------------------------------------------------


def _tagged(
    backend: Backend, say: Callable[[str], None], listing: Deadline
) -> tuple[list[tuple[str, Mapping[str, str]]], bool]:
    """Every stack with its tags; a stack whose tags cannot be read (or are not read before the
    listing budget ends) is reported and left alone."""
    found, failed = [], False
    for name in backend.stacks():
        if listing.expired():
            say(
                f"warning: {name}: its tags were not read within the {listing.budget:.0f} s listing budget, left alone"
            )
            failed = True
            continue
        try:
            found.append((name, backend.tags(name)))
        except Exception as exc:  # noqa: BLE001 - one unreadable stack must not stop the others
            say(f"warning: {name}: its tags could not be read, left alone: {exc}")
            failed = True
    return found, failed


@dataclasses.dataclass(frozen=True)
class _Run:
    backend: Backend
    cleaner: Cleaner
    act: bool
    say: Callable[[str], None]
    stack_timeout: float
    purge_budget: float
    clock: Callable[[], float]

    def tear_down(self, item: Expired) -> bool:
        """One stack, every step reported; False when something was left."""
        stack, say = item.stack, self.say
        try:
            gone = leftovers(self.backend.state(stack))
        except Exception as exc:  # noqa: BLE001 - reported; the remaining stacks still go
            say(f"error: {stack}: its state could not be read, left alone: {exc}")
            return False
        summary = (
            f"{stack} (expired {item.expires.isoformat()}): destroy, purge {len(gone.applications)} app "
            f"registrations and {len(gone.vaults)} Key Vaults, remove the stack"
        )
        if not self.act:
            say(f"would {summary}")
            return True
        say(f"tearing down {summary}")
        try:
            config = self.backend.config(stack)
        except Exception as exc:  # noqa: BLE001
            say(f"error: {stack}: its config could not be read, left alone (nothing was destroyed): {exc}")
            return False
        try:
            self.backend.destroy(stack, self.stack_timeout)
        except CommandTimeoutError as exc:
            say(
                f"error: destroying {stack} did not finish within {self.stack_timeout:.0f} s and was stopped; the "
                f"stack is left in place for the next run (pulumi refresh --stack {stack} shows what is left): {exc}"
            )
            return False
        except Exception as exc:  # noqa: BLE001
            say(f"error: destroying {stack} failed, the stack is left in place: {exc}")
            return False
        problems = _clean(self.cleaner, config, gone, Deadline(self.purge_budget, self.clock), say)
        for problem in problems:
            say(f"warning: {stack}: {problem}")
        try:
            self.backend.remove(stack)
        except Exception as exc:  # noqa: BLE001
            say(f"error: removing {stack} failed after its destroy (pulumi stack rm {stack}): {exc}")
            return False
        say(f"  removed stack {stack}")
        return not problems


def teardown(
    backend: Backend,
    cleaner: Cleaner,
    *,
    now: datetime,
    act: bool,
    say: Callable[[str], None] = print,
    protected: Iterable[str] = ENVIRONMENT_STACKS,
    stack_timeout: float = DEFAULT_STACK_TIMEOUT,
    max_stacks: int = DEFAULT_MAX_STACKS,
    purge_budget: float = PURGE_BUDGET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Returns the exit status: 0 when everything chosen is gone, 1 when something was left."""
    try:
        stacks, failed = _tagged(backend, say, Deadline(LISTING_BUDGET_SECONDS, clock))
    except Exception as exc:  # noqa: BLE001 - nothing to tear down without the list
        say(f"error: the stacks could not be listed: {exc}")
        return 1
    expired, problems = select_expired(stacks, now, protected)
    for problem in problems:
        say(f"warning: {problem}")
    if not expired:
        say("No expired demo stacks.")
        return 1 if failed else 0
    run = _Run(backend, cleaner, act, say, stack_timeout, purge_budget, clock)
    for item in expired[:max_stacks]:
        failed = not run.tear_down(item) or failed
    if waiting := expired[max_stacks:]:
        say(
            f"note: {len(waiting)} more expired demo stacks wait for the next run: "
            f"{', '.join(item.stack for item in waiting)} (at most {max_stacks} a run: --max-stacks)"
        )
    if not act:
        say("Dry run: nothing was changed. Run with --yes to act.")
    return 1 if failed else 0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds above 0, e.g. {DEFAULT_STACK_TIMEOUT:.0f}"
        )
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1, e.g. {DEFAULT_MAX_STACKS}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--yes", action="store_true", help="act; without it, only print what would go")
    parser.add_argument(
        "--stack-timeout",
        type=_seconds,
        default=DEFAULT_STACK_TIMEOUT,
        metavar="SECONDS",
        help="time limit of one stack's destroy: past it the destroy is stopped and the stack left in place "
        f"(default {DEFAULT_STACK_TIMEOUT:.0f}; a real destroy takes several minutes)",
    )
    parser.add_argument(
        "--max-stacks",
        type=_count,
        default=DEFAULT_MAX_STACKS,
        metavar="N",
        help=f"expired stacks torn down in this run, oldest first; the rest wait (default {DEFAULT_MAX_STACKS})",
    )
    args = parser.parse_args(argv)
    return teardown(
        PulumiBackend(),
        AzureCleaner(),
        now=datetime.now(UTC),
        act=args.yes,
        protected=committed_stacks(PROJECT_DIR),
        stack_timeout=args.stack_timeout,
        max_stacks=args.max_stacks,
    )


if __name__ == "__main__":
    sys.exit(main())
