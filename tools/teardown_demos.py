"""Tear down demo stacks whose time-to-live has passed, and leave the tenant clean.

    python -m tools.teardown_demos          # dry run: print what would go
    python -m tools.teardown_demos --yes    # destroy, purge what destroy leaves, remove the stacks

For each expired demo stack (tag b2c-signup:demo=true, b2c-signup:expires in the past), oldest
first: read from its state what destroy will leave behind, destroy it, permanently delete its
soft-deleted app registrations in the B2C tenant and purge its soft-deleted Key Vaults, then
remove the stack. A stack whose destroy fails is reported and left in place, never removed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from azure.core.credentials import TokenCredential

from components.code_deployment import MANAGEMENT_SCOPE
from components.credentials import B2CSettings, SubscriptionSettings, make_subscription_credential
from components.graph.gateway import GraphGateway
from tools import PROJECT_DIR
from tools.demos import ENVIRONMENT_STACKS, Leftovers, Vault, committed_stacks, leftovers, select_expired
from tools.pulumi_cli import workspace

KEY_VAULT_API = "2023-07-01"


class Backend(Protocol):
    def stacks(self) -> list[str]: ...
    def tags(self, stack: str) -> Mapping[str, str]: ...
    def state(self, stack: str) -> Mapping[str, Any]: ...
    def config(self, stack: str) -> Mapping[str, Any]: ...
    def destroy(self, stack: str) -> None: ...
    def remove(self, stack: str) -> None: ...


class Cleaner(Protocol):
    def purge_application(self, config: Mapping[str, Any], object_id: str) -> bool: ...
    def purge_vault(self, vault: Vault) -> bool: ...


class PulumiBackend:
    """The stacks of this project through the Automation API (the Pulumi CLI must be installed)."""

    def __init__(self) -> None:
        from pulumi import automation

        self.auto = automation
        self.workspace = workspace()

    def stacks(self) -> list[str]:
        return [summary.name for summary in self.workspace.list_stacks()]

    def tags(self, stack: str) -> Mapping[str, str]:
        return self.workspace.list_tags(stack)

    def state(self, stack: str) -> Mapping[str, Any]:
        return dict(self.workspace.export_stack(stack).deployment or {})

    def config(self, stack: str) -> Mapping[str, Any]:
        return {key: value.value for key, value in self.workspace.get_all_config(stack).items()}

    def destroy(self, stack: str) -> None:
        self.auto.Stack.select(stack, self.workspace).destroy(on_output=print)

    def remove(self, stack: str) -> None:
        self.workspace.remove_stack(stack)


class AzureCleaner:
    """Purges through Microsoft Graph (B2C-tenant identity of the stack's config) and ARM
    (the subscription identity, as azure-native finds it)."""

    def __init__(
        self,
        arm_endpoint: str = "https://management.azure.com",
        wait_seconds: float = 60,
        connect: Callable[..., GraphGateway] = GraphGateway,
        arm_credentials: Callable[[SubscriptionSettings], TokenCredential] = make_subscription_credential,
    ) -> None:
        self.arm_endpoint = arm_endpoint.rstrip("/")
        self.wait_seconds = wait_seconds
        # How a Graph session opens and an ARM token is had; tests pass doubles.
        self.connect, self.arm_credentials = connect, arm_credentials

    def purge_application(self, config: Mapping[str, Any], object_id: str) -> bool:
        settings = B2CSettings.from_config(config.get)

        async def purge() -> bool:
            async with self.connect(settings) as graph:
                return await graph.purge_deleted_application(object_id)

        return asyncio.run(purge())

    def purge_vault(self, vault: Vault) -> bool:
        token = (
            self.arm_credentials(SubscriptionSettings.from_config(lambda _key: None))
            .get_token(MANAGEMENT_SCOPE)
            .token
        )
        url = (
            f"{self.arm_endpoint}/subscriptions/{vault.subscription_id}/providers/Microsoft.KeyVault/locations/"
            f"{vault.location}/deletedVaults/{vault.name}/purge"
        )
        # Right after destroy the vault may not be listed as deleted yet: wait for it, within a bound.
        deadline = time.monotonic() + self.wait_seconds
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            while True:
                reply = client.post(url, params={"api-version": KEY_VAULT_API})
                if reply.status_code in (200, 202):
                    return True
                if reply.status_code != 404 or time.monotonic() + 5 > deadline:
                    if reply.status_code == 404:
                        return False
                    raise RuntimeError(
                        f"purging Key Vault {vault.name} answered {reply.status_code}: {reply.text[:200]}"
                    )
                time.sleep(5)


def _clean(
    cleaner: Cleaner, config: Mapping[str, Any], gone: Leftovers, say: Callable[[str], None]
) -> list[str]:
    problems: list[str] = []
    for object_id in gone.applications:
        try:
            purged = cleaner.purge_application(config, object_id)
            say(
                f"  purged deleted app registration {object_id}"
                if purged
                else f"  app registration {object_id} was not in the recycle bin"
            )
        except Exception as exc:  # noqa: BLE001 - reported, and the run goes on with the next object
            problems.append(
                f"app registration {object_id}: {exc} (purge it under Entra ID > App registrations > Deleted applications)"
            )
    for vault in gone.vaults:
        try:
            purged = cleaner.purge_vault(vault)
            say(
                f"  purged Key Vault {vault.name}"
                if purged
                else f"  Key Vault {vault.name} was not soft-deleted"
            )
        except Exception as exc:  # noqa: BLE001
            problems.append(
                f"Key Vault {vault.name}: {exc} (az keyvault purge --name {vault.name} --location {vault.location})"
            )
    return problems


def _tagged(backend: Backend, say: Callable[[str], None]) -> tuple[list[tuple[str, Mapping[str, str]]], bool]:
    """Every stack with its tags; a stack whose tags cannot be read is reported and left alone."""
    found, failed = [], False
    for name in backend.stacks():
        try:
            found.append((name, backend.tags(name)))
        except Exception as exc:  # noqa: BLE001 - one unreadable stack must not stop the others
            say(f"warning: {name}: its tags could not be read, left alone: {exc}")
            failed = True
    return found, failed


def teardown(
    backend: Backend,
    cleaner: Cleaner,
    *,
    now: datetime,
    act: bool,
    say: Callable[[str], None] = print,
    protected: Iterable[str] = ENVIRONMENT_STACKS,
) -> int:
    """Returns the exit status: 0 when everything expired is gone, 1 when something was left."""
    stacks, failed = _tagged(backend, say)
    expired, problems = select_expired(stacks, now, protected)
    for problem in problems:
        say(f"warning: {problem}")
    if not expired:
        say("No expired demo stacks.")
        return 1 if failed else 0
    for item in expired:
        gone = leftovers(backend.state(item.stack))
        summary = f"{item.stack} (expired {item.expires.isoformat()}): destroy, purge {len(gone.applications)} app registrations and {len(gone.vaults)} Key Vaults, remove the stack"
        if not act:
            say(f"would {summary}")
            continue
        say(f"tearing down {summary}")
        config = backend.config(item.stack)
        try:
            backend.destroy(item.stack)
        except Exception as exc:  # noqa: BLE001 - one stack's failure must not stop the others
            say(f"error: destroying {item.stack} failed, the stack is left in place: {exc}")
            failed = True
            continue
        for problem in _clean(cleaner, config, gone, say):
            say(f"warning: {item.stack}: {problem}")
            failed = True
        try:
            backend.remove(item.stack)
        except Exception as exc:  # noqa: BLE001 - reported; the remaining stacks still go
            say(
                f"error: removing {item.stack} failed after its destroy (pulumi stack rm {item.stack}): {exc}"
            )
            failed = True
            continue
        say(f"  removed stack {item.stack}")
    if not act:
        say("Dry run: nothing was changed. Run with --yes to act.")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--yes", action="store_true", help="act; without it, only print what would go")
    args = parser.parse_args(argv)
    return teardown(
        PulumiBackend(),
        AzureCleaner(),
        now=datetime.now(UTC),
        act=args.yes,
        protected=committed_stacks(PROJECT_DIR),
    )


if __name__ == "__main__":
    sys.exit(main())
