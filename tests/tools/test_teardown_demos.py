"""Demo stacks: selection, ordering and cleanup of tools.teardown_demos and tools.new_demo, with
fakes of the Automation API and of the purges (no Pulumi CLI here), plus the real purges against
loopback doubles of Graph and ARM."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.components.graph.conftest import connect, stack_config
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
    def __init__(self, stacks: dict[str, dict[str, str]], failing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self._tags = stacks
        self.failing = failing
        self.calls: list[tuple[str, str]] = []

    def stacks(self) -> list[str]:
        return list(self._tags)

    def tags(self, stack: str) -> Mapping[str, str]:
        return self._tags[stack]

    def state(self, stack: str) -> Mapping[str, Any]:
        self.calls.append(("state", stack))
        return state(vault=f"kv-{stack}")

    def config(self, stack: str) -> Mapping[str, Any]:
        return {"b2c-signup:tenantId": "t"}

    def destroy(self, stack: str) -> None:
        self.calls.append(("destroy", stack))
        if stack in self.failing:
            raise RuntimeError("resource deletion failed: conflict")

    def remove(self, stack: str) -> None:
        self.calls.append(("remove", stack))
        del self._tags[stack]


class FakeCleaner:
    def __init__(self, calls: list[tuple[str, str]], broken: bool = False) -> None:
        self.calls = calls
        self.broken = broken

    def purge_application(self, config: Mapping[str, Any], object_id: str) -> bool:
        self.calls.append(("purge-app", object_id))
        if self.broken:
            raise RuntimeError("403 Application.ReadWrite.All missing")
        return True

    def purge_vault(self, vault: Vault) -> bool:
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
        {"stuck": demo(NOW - timedelta(days=2)), "fine": demo(NOW - timedelta(days=1))}, failing={"stuck"}
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
        assert cleaner.purge_application(config, "6d5c4b3a-2918-4e7d-8c6b-5a4938271605") is True
        assert cleaner.purge_application(config, "6d5c4b3a-2918-4e7d-8c6b-5a4938271605") is False
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
    assert cleaner.purge_vault(Vault(SUBSCRIPTION, "westeurope", "kv-deleted")) is True
    assert (
        seen[0]
        == f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv-deleted/purge?api-version=2023-07-01"
    )
    assert cleaner.purge_vault(Vault(SUBSCRIPTION, "westeurope", "kv-never")) is False


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
