"""Demo stacks: selection, ordering and cleanup of tools.teardown_demos and tools.new_demo, with
fakes of the Automation API and of the purges (no Pulumi CLI here), plus the real purges against
loopback doubles of Graph and ARM."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.components.graph.conftest import connect, stack_config
from tests.doubles.clock import VirtualClock
from tools import demos, new_demo, teardown_demos
from tools.demos import DEMO_TAG, EXPIRES_TAG, Vault
from tools.graph_double import GraphDouble
from tools.loopback import JsonHandler, serve

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SUBSCRIPTION = "9f8e7d6c-5b4a-4321-8765-43210fedcba9"


def state(apps: tuple[str, ...] = ("app-1", "app-2"), vault: str | None = "kv-demo-abc") -> dict[str, Any]:
    resources: list[dict[str, Any]] = [{"type": "pulumi:pulumi:Stack", "outputs": {}}]
    resources += [
        {
            "type": "azuread:index/application:Application",
            "id": f"/applications/{a}",
            "outputs": {"objectId": a},
        }
        for a in apps
    ]
    if vault:
        resources.append(
            {
                "type": "azure-native:keyvault:Vault",
                "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{vault}",
                "outputs": {"name": vault, "location": "westeurope"},
            }
        )
    return {"resources": resources}


class FakeBackend:
    def __init__(
        self,
        stacks: dict[str, dict[str, str]],
        failing: frozenset[str] = frozenset(),
        hanging: frozenset[str] = frozenset(),
    ) -> None:
        self._tags = stacks
        self.failing, self.hanging = failing, hanging
        self.calls: list[tuple[str, str]] = []
        self.limits: list[float] = []

    def stacks(self) -> list[str]:
        return list(self._tags)

    def tags(self, stack: str) -> Mapping[str, str]:
        return self._tags[stack]

    def state(self, stack: str) -> Mapping[str, Any]:
        self.calls.append(("state", stack))
        return state(vault=f"kv-{stack}")

    def config(self, stack: str) -> Mapping[str, Any]:
        return {"b2c-signup:tenantId": "t"}

    def destroy(self, stack: str, limit: float) -> None:
        self.calls.append(("destroy", stack))
        self.limits.append(limit)
        if stack in self.failing:
            raise RuntimeError("resource deletion failed: conflict")
        if stack in self.hanging:
            raise teardown_demos.CommandTimeoutError(f"`pulumi destroy` did not finish within {limit:.0f} s")

    def remove(self, stack: str) -> None:
        self.calls.append(("remove", stack))
        del self._tags[stack]


class FakeCleaner:
    def __init__(self, calls: list[tuple[str, str]], broken: bool = False) -> None:
        self.calls = calls
        self.broken = broken

    def purge_application(self, config: Mapping[str, Any], object_id: str, budget: float) -> bool:
        self.calls.append(("purge-app", object_id))
        if self.broken:
            raise RuntimeError("403 Application.ReadWrite.All missing")
        return True

    def purge_vault(self, vault: Vault, budget: float) -> bool:
        self.calls.append(("purge-vault", vault.name))
        return True


def demo(expires: datetime) -> dict[str, str]:
    return {DEMO_TAG: "true", EXPIRES_TAG: expires.isoformat()}


def test_only_expired_demo_stacks_are_chosen_oldest_first() -> None:
    stacks = {
        "dev": {},
        "prod": {EXPIRES_TAG: (NOW - timedelta(days=9)).isoformat()},  # not a demo
        "young": demo(NOW + timedelta(hours=1)),
        "late": demo(NOW - timedelta(hours=1)),
        "oldest": demo(NOW - timedelta(days=3)),
        "broken": {DEMO_TAG: "true", EXPIRES_TAG: "next week"},
        "naive": {DEMO_TAG: "true", EXPIRES_TAG: "2026-01-01T00:00:00"},
    }
    expired, problems = demos.select_expired(stacks.items(), NOW)
    assert [item.stack for item in expired] == ["oldest", "late"]
    assert [p.split(":")[0] for p in problems] == ["broken", "naive"]


def test_dry_run_changes_nothing_and_says_what_would_go() -> None:
    backend = FakeBackend({"pilot": demo(NOW - timedelta(days=1)), "dev": {}})
    said: list[str] = []
    assert (
        teardown_demos.teardown(backend, FakeCleaner(backend.calls), now=NOW, act=False, say=said.append) == 0
    )
    assert [c for c in backend.calls if c[0] != "state"] == []
    assert (
        "would pilot (expired 2026-11-21T12:00:00+00:00): destroy, purge 2 app registrations and 1 Key Vaults, remove the stack"
        in said
    )
    assert said[-1].startswith("Dry run")


def test_destroy_then_purge_then_remove_in_that_order() -> None:
    backend = FakeBackend({"old": demo(NOW - timedelta(days=2)), "new": demo(NOW - timedelta(days=1))})
    assert (
        teardown_demos.teardown(backend, FakeCleaner(backend.calls), now=NOW, act=True, say=lambda _: None)
        == 0
    )
    assert backend.calls == [
        ("state", "old"),
        ("destroy", "old"),
        ("purge-app", "app-1"),
        ("purge-app", "app-2"),
        ("purge-vault", "kv-old"),
        ("remove", "old"),
        ("state", "new"),
        ("destroy", "new"),
        ("purge-app", "app-1"),
        ("purge-app", "app-2"),
        ("purge-vault", "kv-new"),
        ("remove", "new"),
    ]
    assert backend.stacks() == []


def test_a_failed_destroy_leaves_the_stack_and_the_others_go_on() -> None:
    backend = FakeBackend(
        {"stuck": demo(NOW - timedelta(days=2)), "fine": demo(NOW - timedelta(days=1))},
        failing=frozenset({"stuck"}),
    )
    said: list[str] = []
    assert (
        teardown_demos.teardown(backend, FakeCleaner(backend.calls), now=NOW, act=True, say=said.append) == 1
    )
    assert ("remove", "stuck") not in backend.calls and "stuck" in backend.stacks()
    assert not any(call == ("purge-vault", "kv-stuck") for call in backend.calls)
    assert ("remove", "fine") in backend.calls
    assert any("destroying stuck failed, the stack is left in place" in line for line in said)


def test_a_failed_purge_is_reported_with_the_manual_fix() -> None:
    backend = FakeBackend({"pilot": demo(NOW - timedelta(days=1))})
    said: list[str] = []
    assert (
        teardown_demos.teardown(
            backend, FakeCleaner(backend.calls, broken=True), now=NOW, act=True, say=said.append
        )
        == 1
    )
    assert any("Deleted applications" in line for line in said)
    assert ("purge-vault", "kv-pilot") in backend.calls and ("remove", "pilot") in backend.calls


def test_leftovers_come_from_the_exported_state() -> None:
    gone = demos.leftovers(state(apps=("a", "b"), vault="kv-x"))
    assert gone.applications == ("a", "b")
    assert gone.vaults == (Vault(SUBSCRIPTION, "westeurope", "kv-x"),)


def test_purging_a_deleted_app_registration_through_graph() -> None:
    with GraphDouble() as graph:
        graph.deleted_items.add("6d5c4b3a-2918-4e7d-8c6b-5a4938271605")
        cleaner = teardown_demos.AzureCleaner(connect=connect())
        config = stack_config(graph.endpoint)
        assert cleaner.purge_application(config, "6d5c4b3a-2918-4e7d-8c6b-5a4938271605", 60) is True
        assert cleaner.purge_application(config, "6d5c4b3a-2918-4e7d-8c6b-5a4938271605", 60) is False
        assert (
            graph.log[0].method == "DELETE"
            and graph.log[0].path == "/v1.0/directory/deletedItems/6d5c4b3a-2918-4e7d-8c6b-5a4938271605"
        )


@pytest.fixture
def arm() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(JsonHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
            seen.append(self.path)
            self.answer(202 if "kv-deleted" in self.path else 404)

    server = serve(Handler)
    yield server.origin, seen
    server.stop()


def test_purging_a_soft_deleted_vault_through_arm(arm: tuple[str, list[str]]) -> None:
    class Token:
        def get_token(self, *_: str) -> Any:
            return type("T", (), {"token": "arm-token"})()

    endpoint, seen = arm
    cleaner = teardown_demos.AzureCleaner(
        arm_endpoint=endpoint,
        wait_seconds=0,
        arm_credentials=lambda _settings: Token(),  # type: ignore[arg-type,return-value]
    )
    assert cleaner.purge_vault(Vault(SUBSCRIPTION, "westeurope", "kv-deleted"), 60) is True
    assert (
        seen[0]
        == f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv-deleted/purge?api-version=2023-07-01"
    )
    assert cleaner.purge_vault(Vault(SUBSCRIPTION, "westeurope", "kv-never"), 60) is False


def test_a_token_that_never_comes_ends_the_purge_within_its_budget(arm: tuple[str, list[str]]) -> None:
    release = threading.Event()

    class HungToken:  # `az account get-access-token` that never returns
        def get_token(self, *_: str) -> Any:
            release.wait(30)
            return type("T", (), {"token": "arm-token"})()

    endpoint, seen = arm
    cleaner = teardown_demos.AzureCleaner(
        arm_endpoint=endpoint,
        wait_seconds=0,
        arm_credentials=lambda _settings: HungToken(),  # type: ignore[arg-type,return-value]
    )
    started = time.monotonic()
    try:
        with pytest.raises(
            teardown_demos.PurgeError, match="getting an Entra token for purging Key Vault kv-deleted"
        ):
            cleaner.purge_vault(Vault(SUBSCRIPTION, "westeurope", "kv-deleted"), 0.1)
        assert time.monotonic() - started < 1.0 and seen == []
    finally:
        release.set()


class FakeDemoBackend:
    def __init__(self) -> None:
        self.stacks: dict[str, dict[str, Any]] = {
            "dev": {
                "config": {
                    "b2c-signup:tenantName": ("contosob2c", False),
                    "b2c-signup:b2cClientSecret": ("s3cret", True),
                }
            }
        }

    def create(self, stack: str) -> None:
        if stack in self.stacks:
            raise RuntimeError(f"stack {stack} already exists")
        self.stacks[stack] = {"config": {}, "tags": {}}

    def config(self, stack: str) -> Mapping[str, tuple[Any, bool]]:
        return self.stacks[stack]["config"]

    def set_config(self, stack: str, values: Mapping[str, tuple[Any, bool]]) -> None:
        self.stacks[stack]["config"] = dict(values)

    def set_tags(self, stack: str, tags: Mapping[str, str]) -> None:
        self.stacks[stack]["tags"] = dict(tags)


def test_a_new_demo_copies_config_keeps_secrets_secret_and_gets_unique_names() -> None:
    backend = FakeDemoBackend()
    expires = new_demo.new_demo(backend, "acme-pilot", "7d", "dev", NOW)
    created = backend.stacks["acme-pilot"]
    assert expires == NOW + timedelta(days=7)
    assert created["tags"] == {DEMO_TAG: "true", EXPIRES_TAG: "2026-11-29T12:00:00+00:00"}
    assert created["config"]["b2c-signup:b2cClientSecret"] == ("s3cret", True)
    assert created["config"]["b2c-signup:userFlowName"] == ("signupsignin_acme_pilot", False)
    assert created["config"]["b2c-signup:apiIdentifier"] == ("api-acme-pilot", False)
    expired, _ = demos.select_expired([("acme-pilot", created["tags"])], NOW + timedelta(days=8))
    assert [item.stack for item in expired] == ["acme-pilot"]


@pytest.mark.parametrize(
    ("name", "ttl", "fragment"),
    [
        ("Acme!", "7d", "demo name"),
        ("acme", "7 days", "--ttl"),
        ("acme", "200d", "from 10m to 90d"),
        ("acme", "1m", "from 10m"),
    ],
)
def test_bad_demo_arguments_create_nothing(name: str, ttl: str, fragment: str) -> None:
    backend = FakeDemoBackend()
    with pytest.raises(ValueError, match=fragment):
        new_demo.new_demo(backend, name, ttl, "dev", NOW)
    assert list(backend.stacks) == ["dev"]


def test_protected_stacks_are_never_torn_down_whatever_their_tags() -> None:
    expired_long_ago = demo(NOW - timedelta(days=30))
    backend = FakeBackend(
        {
            "dev": dict(expired_long_ago),
            "prod": dict(expired_long_ago),
            "qa": dict(expired_long_ago),
            "pilot": dict(expired_long_ago),
        }
    )
    protected = demos.protected_stacks(
        ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.qa.yaml", "bootstrap/Pulumi.x.yaml"]
    )
    assert protected == {"dev", "prod", "qa"}
    said: list[str] = []
    teardown_demos.teardown(
        backend, FakeCleaner(backend.calls), now=NOW, act=True, say=said.append, protected=protected
    )
    assert [stack for call, stack in backend.calls if call == "destroy"] == ["pilot"]
    assert sum("protected" in line for line in said) == 3


@pytest.mark.parametrize("name", ["dev", "prod", "qa"])
def test_a_demo_cannot_take_a_protected_name(name: str) -> None:
    with pytest.raises(ValueError, match="protected"):
        new_demo.new_demo(
            FakeDemoBackend(), name, "7d", "dev", NOW, protected=frozenset({"dev", "prod", "qa"})
        )


def test_a_stack_is_left_alone_until_fifteen_minutes_past_its_expiry() -> None:
    stacks = {"fast-clock": demo(NOW - timedelta(minutes=14)), "gone": demo(NOW - timedelta(minutes=15))}
    expired, _ = demos.select_expired(stacks.items(), NOW)
    assert [item.stack for item in expired] == ["gone"]


def test_unreadable_tags_and_a_failed_remove_are_reported_and_the_others_go_on() -> None:
    class Flaky(FakeBackend):
        def tags(self, stack: str) -> Mapping[str, str]:
            if stack == "unreadable":
                raise RuntimeError("backend timed out")
            return super().tags(stack)

        def remove(self, stack: str) -> None:
            if stack == "sticky":
                raise RuntimeError("stack still has resources")
            super().remove(stack)

    old = demo(NOW - timedelta(days=2))
    backend = Flaky({"unreadable": {}, "sticky": dict(old), "pilot": demo(NOW - timedelta(days=1))})
    said: list[str] = []
    status = teardown_demos.teardown(backend, FakeCleaner(backend.calls), now=NOW, act=True, say=said.append)
    assert status == 1
    assert ("remove", "pilot") in backend.calls and ("destroy", "sticky") in backend.calls
    assert any("unreadable" in line and "backend timed out" in line for line in said)
    assert any("sticky" in line and "stack still has resources" in line for line in said)


def test_committed_stack_files_are_protected(tmp_path: Any) -> None:
    from tests.conftest import PROJECT_DIR

    assert demos.committed_stacks(PROJECT_DIR) >= {"dev", "prod"}
    (tmp_path / "Pulumi.qa.yaml").write_text("config: {}\n")
    assert demos.committed_stacks(tmp_path) == {"dev", "prod"}  # not a checkout: nothing is committed


def test_without_a_pulumi_cli_the_tools_say_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    from tools import pulumi_cli

    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi anywhere
    monkeypatch.setattr(pulumi_cli, "LOCAL_CLI", tmp_path / "none")
    for command in (lambda: teardown_demos.main([]), lambda: new_demo.main(["acme-pilot", "--ttl", "7d"])):
        with pytest.raises(SystemExit) as raised:
            command()
        message = str(raised.value)
        assert "Pulumi CLI is not installed" in message and "./tools/up.sh <stack> --prepare" in message
        assert "\n" not in message and "Traceback" not in capsys.readouterr().err


def test_bad_demo_input_is_reported_before_the_cli_is_needed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit) as raised:
        new_demo.main(["acme-pilot", "--ttl", "7days"])
    assert raised.value.code == 2 and "--ttl '7days' must be a number and a unit" in capsys.readouterr().err


# -- every step of one stack may fail or hang: reported, and the others still go (issue 17) --------


class Unreadable(FakeBackend):
    """A backend where one stack's state, or its config, cannot be read."""

    def __init__(self, stacks: dict[str, dict[str, str]], state_of: str = "", config_of: str = "") -> None:
        super().__init__(stacks)
        self.state_of, self.config_of = state_of, config_of

    def state(self, stack: str) -> Mapping[str, Any]:
        if stack == self.state_of:
            raise teardown_demos.CommandFailedError(
                "`pulumi stack export` exited with status 255: blob not found"
            )
        return super().state(stack)

    def config(self, stack: str) -> Mapping[str, Any]:
        if stack == self.config_of:
            raise teardown_demos.CommandFailedError(
                "`pulumi config` exited with status 255: incorrect passphrase"
            )
        return super().config(stack)


@pytest.mark.parametrize("act", [True, False])
def test_a_stack_whose_state_cannot_be_read_is_reported_and_the_others_go_on(act: bool) -> None:
    backend = Unreadable(
        {"lost": demo(NOW - timedelta(days=2)), "pilot": demo(NOW - timedelta(days=1))}, state_of="lost"
    )
    said: list[str] = []
    status = teardown_demos.teardown(backend, FakeCleaner(backend.calls), now=NOW, act=act, say=said.append)
    assert status == 1
    assert any(
        "lost" in line and "state could not be read" in line and "blob not found" in line for line in said
    )
    assert ("destroy", "lost") not in backend.calls and "lost" in backend.stacks()
    assert (("remove", "pilot") in backend.calls) is act


def test_a_stack_whose_config_cannot_be_read_is_left_alone_and_the_others_go_on() -> None:
    backend = Unreadable(
        {"locked": demo(NOW - timedelta(days=2)), "pilot": demo(NOW - timedelta(days=1))}, config_of="locked"
    )
    said: list[str] = []
    status = teardown_demos.teardown(backend, FakeCleaner(backend.calls), now=NOW, act=True, say=said.append)
    assert status == 1
    assert ("destroy", "locked") not in backend.calls and "locked" in backend.stacks()
    assert any("locked" in line and "config could not be read" in line for line in said)
    assert ("remove", "pilot") in backend.calls


def test_a_destroy_that_hangs_is_stopped_at_the_stack_timeout_and_the_stack_stays() -> None:
    backend = FakeBackend(
        {"hung": demo(NOW - timedelta(days=2)), "pilot": demo(NOW - timedelta(days=1))},
        hanging=frozenset({"hung"}),
    )
    said: list[str] = []
    status = teardown_demos.teardown(
        backend, FakeCleaner(backend.calls), now=NOW, act=True, say=said.append, stack_timeout=900
    )
    assert status == 1 and backend.limits == [900, 900]
    assert "hung" in backend.stacks() and ("remove", "hung") not in backend.calls
    assert not any(call[0].startswith("purge") and call[1] == "kv-hung" for call in backend.calls)
    assert any("hung" in line and "within 900 s" in line and "left in place" in line for line in said)
    assert ("remove", "pilot") in backend.calls


def test_a_run_tears_down_at_most_max_stacks_oldest_first_and_says_what_waits() -> None:
    stacks = {f"demo-{day}": demo(NOW - timedelta(days=day)) for day in range(1, 6)}
    backend = FakeBackend(stacks)
    said: list[str] = []
    status = teardown_demos.teardown(
        backend, FakeCleaner(backend.calls), now=NOW, act=True, say=said.append, max_stacks=3
    )
    assert status == 0
    assert [stack for call, stack in backend.calls if call == "destroy"] == ["demo-5", "demo-4", "demo-3"]
    assert any("2 more expired demo stacks wait for the next run: demo-2, demo-1" in line for line in said)


def test_the_purges_of_a_stack_share_one_budget() -> None:
    class Slow(FakeCleaner):
        """Each purge spends 100 s of the virtual clock."""

        def __init__(self, calls: list[tuple[str, str]], clock: VirtualClock) -> None:
            super().__init__(calls)
            self.clock = clock
            self.budgets: list[float] = []

        def purge_application(self, config: Mapping[str, Any], object_id: str, budget: float) -> bool:
            self.budgets.append(budget)
            self.clock.advance(100)
            return super().purge_application(config, object_id, budget)

        def purge_vault(self, vault: Vault, budget: float) -> bool:
            self.budgets.append(budget)
            self.clock.advance(100)
            return super().purge_vault(vault, budget)

    clock = VirtualClock()
    backend = FakeBackend({"pilot": demo(NOW - timedelta(days=1))})
    cleaner = Slow(backend.calls, clock)
    said: list[str] = []
    teardown_demos.teardown(
        backend, cleaner, now=NOW, act=True, say=said.append, clock=clock.now, purge_budget=150
    )
    # The first purge may take the whole budget; the second only what is left; the third none.
    assert cleaner.budgets == [150, 50]
    assert ("purge-vault", "kv-pilot") not in backend.calls
    assert any("kv-pilot" in line and "purge budget" in line and "az keyvault purge" in line for line in said)
    assert ("remove", "pilot") in backend.calls


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_a_bad_stack_timeout_is_refused_before_anything_runs(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        teardown_demos.main(["--stack-timeout", value])
    assert (
        raised.value.code == 2
        and "--stack-timeout: must be a number of seconds above 0" in capsys.readouterr().err
    )


# -- External ID demos (issue 18 §6) ---------------------------------------------------------------


def external_id_state(apps: tuple[str, ...]) -> dict[str, Any]:
    """What an External ID stack's state holds: app registrations (one through azuread's
    ApplicationRegistration), the Graph objects, and no Key Vault (no connector password)."""
    resources: list[dict[str, Any]] = [{"type": "pulumi:pulumi:Stack", "outputs": {}}]
    resources += [
        {
            "type": "azuread:index/application:Application",
            "id": f"/applications/{a}",
            "outputs": {"objectId": a},
        }
        for a in apps[:-1]
    ]
    resources.append(
        {
            "type": "azuread:index/applicationRegistration:ApplicationRegistration",
            "id": f"/applications/{apps[-1]}",
            "outputs": {"objectId": apps[-1]},
        }
    )
    resources += [
        {"type": "pulumi-python:dynamic/externalid:CustomExtension", "id": "ext-1", "outputs": {}},
        {"type": "pulumi-python:dynamic/externalid:SignUpFlow", "id": "flow-1", "outputs": {}},
    ]
    return {"resources": resources}


EXTERNAL_ID_APPS = ("web-api", "flow-client", "test-app", "extension-resource")


def test_leftovers_of_an_external_id_stack_are_its_app_registrations_and_no_vault() -> None:
    gone = demos.leftovers(external_id_state(EXTERNAL_ID_APPS))
    assert gone.applications == EXTERNAL_ID_APPS and gone.vaults == ()


def test_an_external_id_demo_is_torn_down_without_a_key_vault() -> None:
    class ExternalIdBackend(FakeBackend):
        def state(self, stack: str) -> Mapping[str, Any]:
            self.calls.append(("state", stack))
            return external_id_state(EXTERNAL_ID_APPS)

        def config(self, stack: str) -> Mapping[str, Any]:
            return {"b2c-signup:platform": "externalId", "b2c-signup:tenantId": "t"}

    backend = ExternalIdBackend({"ciam-pilot": demo(NOW - timedelta(days=1))})
    said: list[str] = []
    assert (
        teardown_demos.teardown(backend, FakeCleaner(backend.calls), now=NOW, act=True, say=said.append) == 0
    )
    assert backend.calls == [
        ("state", "ciam-pilot"),
        ("destroy", "ciam-pilot"),
        *(("purge-app", app) for app in EXTERNAL_ID_APPS),
        ("remove", "ciam-pilot"),
    ]


def test_a_destroyed_external_id_demos_app_registrations_are_purged_through_graph() -> None:
    deleted = "0e1d2c3b-4a59-4687-9a8b-7c6d5e4f3a21"
    with GraphDouble() as graph:
        graph.deleted_items.add(deleted)
        config = stack_config(graph.endpoint, **{"b2c-signup:platform": "externalId"})
        cleaner = teardown_demos.AzureCleaner(connect=connect())
        assert cleaner.purge_application(config, deleted, 60) is True
        assert [(c.method, c.path) for c in graph.log] == [
            ("DELETE", f"/v1.0/directory/deletedItems/{deleted}")
        ]


class ExternalIdTemplate(FakeDemoBackend):
    def __init__(self) -> None:
        super().__init__()
        self.stacks["ciam"] = {
            "config": {
                "b2c-signup:platform": ("externalId", False),
                "b2c-signup:tenantName": ("contosoexternal", False),
                "b2c-signup:b2cClientSecret": ("s3cret", True),
            }
        }


def test_a_new_external_id_demo_gets_a_unique_flow_name_and_no_b2c_only_key() -> None:
    backend = ExternalIdTemplate()
    new_demo.new_demo(backend, "ciam-pilot", "7d", "ciam", NOW)
    config = backend.stacks["ciam-pilot"]["config"]
    assert config["b2c-signup:userFlowName"] == ("signupsignin_ciam_pilot", False)
    assert "b2c-signup:apiIdentifier" not in config
    assert config["b2c-signup:platform"] == ("externalId", False)
    assert config["b2c-signup:b2cClientSecret"] == ("s3cret", True)


def test_demo_config_by_platform() -> None:
    assert demos.demo_config("acme") == {
        "b2c-signup:userFlowName": "signupsignin_acme",
        "b2c-signup:apiIdentifier": "api-acme",
    }
    assert demos.demo_config("acme", "b2c") == demos.demo_config("acme")
    assert demos.demo_config("acme", "externalId") == {"b2c-signup:userFlowName": "signupsignin_acme"}
    with pytest.raises(ValueError, match=r"b2c-signup:platform 'adb2c' .* b2c or externalId"):
        demos.demo_config("acme", "adb2c")


def test_the_keys_a_demo_changes_are_stack_config_keys_of_that_platform() -> None:
    """demos.py stays free of the program's imports (tools/up.sh loads it in a bare checkout), so it
    names the tenant-unique keys itself; this holds them to stack_config's declarations."""
    import stack_config

    assert set(demos.TENANT_UNIQUE_KEYS) == set(stack_config.PLATFORMS)
    for platform, keys in demos.TENANT_UNIQUE_KEYS.items():
        for key in keys:
            namespace, name = key.split(":", 1)
            assert namespace == stack_config.NAMESPACE and platform in stack_config.KEYS[name].platforms, key
    assert (
        f"{stack_config.NAMESPACE}:platform" == demos.PLATFORM_KEY
        and stack_config.KEYS["platform"].default == "b2c"
    )


def test_tags_are_read_only_within_the_listing_budget() -> None:
    clock = VirtualClock()

    class Slow(FakeBackend):
        def tags(self, stack: str) -> Mapping[str, str]:
            clock.advance(250)  # each read takes most of a READ_LIMIT on a slow backend
            return super().tags(stack)

    old = NOW - timedelta(days=1)
    backend = Slow({"a-pilot": demo(old), "b-pilot": demo(old), "c-pilot": demo(old), "d-pilot": demo(old)})
    said: list[str] = []
    status = teardown_demos.teardown(
        backend, FakeCleaner(backend.calls), now=NOW, act=True, say=said.append, clock=clock.now
    )
    assert status == 1
    assert [stack for call, stack in backend.calls if call == "destroy"] == ["a-pilot", "b-pilot", "c-pilot"]
    assert any("d-pilot" in line and "listing budget" in line for line in said)


def test_a_template_that_creates_tenant_wide_attributes_makes_no_demo() -> None:
    """A custom attribute is the tenant's: a demo declaring it again would fail to create it
    (and, destroyed, would take every user's value with it)."""
    backend = ExternalIdTemplate()
    backend.stacks["ciam"]["config"]["b2c-signup:customAttributes"] = (
        '{"plan": {"dataType": "string"}}',
        False,
    )
    with pytest.raises(
        ValueError,
        match=r"b2c-signup:customAttributes, which creates the tenant's own custom attributes.*extension_<appId>_<name>",
    ):
        new_demo.new_demo(backend, "ciam-pilot", "7d", "ciam", NOW)
    assert "ciam-pilot" not in backend.stacks
