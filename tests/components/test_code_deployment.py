"""FunctionCodeDeployment against a One Deploy double on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider

from components.code_deployment import FunctionCodeDeploymentProvider, OneDeployError
from tests.doubles.clock import VirtualClock
from tests.doubles.engine import run_in_engine
from tests.doubles.one_deploy_double import TOKEN, Eavesdropper, OneDeployDouble

ARM_SECRET = "arm-client-Secret~987"


class FakeCredential:
    def get_token(self, *_: str, **__: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)


def news(kudu: OneDeployDouble, package: Path, **extra: Any) -> dict[str, Any]:
    """The resource's inputs as the program gives them, before check."""
    return {
        "app_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/func-x",
        "scm_url": kudu.url,
        "package_path": str(package),
        "package_sha256": hashlib.sha256(package.read_bytes()).hexdigest(),
        "timeout_seconds": 30,
        "poll_seconds": 0.05,
        **extra,
    }


def inputs(kudu: OneDeployDouble, package: Path, **extra: Any) -> dict[str, Any]:
    result = FunctionCodeDeploymentProvider().check({}, news(kudu, package, **extra))
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return result.inputs


def provider(clock: VirtualClock | None = None) -> FunctionCodeDeploymentProvider:
    """A provider configured as the engine does it; on `clock`, its pauses cost no real time."""
    deployer = FunctionCodeDeploymentProvider()
    deployer.configure(ConfigureRequest(Config({"azure-native:clientSecret": ARM_SECRET}, "b2c-signup")))
    deployer.credentials = lambda _settings: FakeCredential()  # type: ignore[method-assign,assignment,return-value]
    if clock is not None:
        deployer.clock = clock.now  # type: ignore[method-assign,assignment]
        deployer.sleep = clock.sleep  # type: ignore[method-assign,assignment]
    return deployer


def test_publishes_with_one_deploy_and_waits_for_success(kudu: OneDeployDouble, package: Path) -> None:
    kudu.polls_until_done = 3
    props = inputs(kudu, package)
    created = provider().create(props)
    (publish,) = kudu.publishes
    assert publish.query == "RemoteBuild=false&Deployer=b2c-signup"
    assert publish.content_type == "application/zip"
    assert publish.sha256 == props["package_sha256"]
    assert kudu.polls == 3 and created.id == kudu.deployment_id
    assert created.outs is not None and created.outs["deployment_id"] == kudu.deployment_id


def test_a_failed_deployment_surfaces_the_log_message(kudu: OneDeployDouble, package: Path) -> None:
    kudu.outcome = "failure"
    with pytest.raises(
        OneDeployError, match=r"failed: ModuleNotFoundError: No module named 'email_validator'"
    ):
        provider().create(inputs(kudu, package))


def test_a_slow_deployment_within_the_bound_succeeds(kudu: OneDeployDouble, package: Path) -> None:
    kudu.polls_until_done = 10
    provider(VirtualClock()).create(inputs(kudu, package, timeout_seconds=30))
    assert kudu.polls == 10


def test_a_deployment_beyond_the_bound_fails_and_says_how_long(kudu: OneDeployDouble, package: Path) -> None:
    kudu.polls_until_done = 10_000
    deployer = provider(VirtualClock())  # the 30 s pass on the virtual clock
    props = inputs(kudu, package, timeout_seconds=30, poll_seconds=1)
    with pytest.raises(OneDeployError, match=r"did not finish within 30 s \(last: status 1 Building\)"):
        deployer.create(props)


def test_a_token_that_never_comes_ends_within_the_publish_budget(
    kudu: OneDeployDouble, package: Path
) -> None:
    release = threading.Event()

    class HungCredential:  # `az account get-access-token` that never returns
        def get_token(self, *_: str, **__: Any) -> AccessToken:
            release.wait(30)
            return AccessToken(TOKEN, int(time.time()) + 3600)

    deployer = provider()
    deployer.credentials = lambda _settings: HungCredential()  # type: ignore[method-assign,assignment,return-value]
    started = time.monotonic()
    try:
        with pytest.raises(
            OneDeployError,
            match=r"getting an Entra token for One Deploy: no answer within .*`az account show`",
        ):
            deployer.create({**inputs(kudu, package), "timeout_seconds": 0.1})
        assert time.monotonic() - started < 1.0 and kudu.publishes == []
    finally:
        release.set()


@pytest.mark.parametrize(
    ("status", "fragment"), [(401, "refused the Entra token"), (403, "Website Contributor")]
)
def test_refusals_say_what_to_fix(kudu: OneDeployDouble, package: Path, status: int, fragment: str) -> None:
    kudu.status_code = status
    with pytest.raises(OneDeployError, match=fragment) as raised:
        provider().create(inputs(kudu, package))
    assert TOKEN not in str(raised.value) and ARM_SECRET not in str(raised.value)


def test_an_unchanged_package_is_not_redeployed(kudu: OneDeployDouble, package: Path) -> None:
    deployer = provider()
    olds = deployer.create(inputs(kudu, package)).outs
    assert olds is not None
    same = inputs(kudu, package)
    assert deployer.diff("d", olds, same).changes is False
    deployer.update("d", olds, same)
    assert len(kudu.publishes) == 1

    package.write_bytes(package.read_bytes() + b"changed")
    changed = inputs(kudu, package)
    diff = deployer.diff("d", olds, changed)
    assert diff.changes is True and diff.replaces == []
    deployer.update("d", olds, changed)
    assert len(kudu.publishes) == 2


def test_a_new_app_gets_the_code_again(kudu: OneDeployDouble, package: Path) -> None:
    olds = inputs(kudu, package)
    diff = provider().diff("d", olds, {**olds, "app_id": olds["app_id"] + "-2"})
    assert diff.replaces == ["app_id"]


def test_a_package_changed_since_the_plan_is_refused(kudu: OneDeployDouble, package: Path) -> None:
    props = inputs(kudu, package)
    package.write_bytes(b"other bytes")
    with pytest.raises(OneDeployError, match="changed after the plan was made"):
        provider().create(props)
    assert kudu.publishes == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scm_url": "http://func-x.scm.azurewebsites.net"}, "scm_url"),
        ({"scm_url": "https://func-x.scm.azurewebsites.net/api"}, "scm_url"),
        ({"package_sha256": "abc"}, "package_sha256"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
    ],
)
def test_check_names_the_field(
    kudu: OneDeployDouble, package: Path, change: dict[str, Any], field: str
) -> None:
    news = {**inputs(kudu, package), **change}
    assert [f.property for f in FunctionCodeDeploymentProvider().check({}, news).failures] == [field]


def test_the_provider_survives_the_engine_round_trip(kudu: OneDeployDouble, package: Path) -> None:
    # A provider configured with a secret in this process: the blob must still not carry it.
    blob = serialize_provider(provider())
    assert ARM_SECRET.encode() not in base64.b64decode(blob) and TOKEN.encode() not in base64.b64decode(blob)
    done = run_in_engine(blob, {}, inputs(kudu, package))
    assert done["id"] == kudu.deployment_id and len(kudu.publishes) == 1


def test_the_token_goes_only_to_the_apps_own_scm_origin(
    kudu: OneDeployDouble, package: Path, eavesdropper: Eavesdropper
) -> None:
    kudu.foreign_origin = eavesdropper.url  # Location points elsewhere: the status is read at home
    kudu.polls_until_done = 2
    provider().create(inputs(kudu, package))
    assert kudu.polls == 2 and eavesdropper.authorizations == []
    kudu.outcome = "failure"  # the log's details_url points elsewhere: it is not followed
    with pytest.raises(OneDeployError, match="failed"):
        provider().create(inputs(kudu, package))
    assert eavesdropper.authorizations == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"<html>Service Unavailable</html>", "not JSON"),
        (["a", "list"], "not a deployment status"),
        (b"[" * 100_000, "not JSON"),  # nested past the parser's recursion limit
    ],
)
def test_a_status_reply_that_is_not_a_status_is_a_clear_error(
    kudu: OneDeployDouble, package: Path, body: Any, fragment: str
) -> None:
    kudu.status_body = body
    with pytest.raises(OneDeployError, match=fragment) as raised:
        provider().create(inputs(kudu, package))
    assert raised.value.__cause__ is None and TOKEN not in str(raised.value)


def test_a_refused_connection_is_a_clear_error(package: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    props = inputs(type("Closed", (), {"url": f"http://127.0.0.1:{closed_port}"})(), package)  # type: ignore[arg-type]
    with pytest.raises(
        OneDeployError, match=r"Could not reach the SCM site http://127\.0\.0\.1:\d+ .*ConnectError"
    ):
        provider().create(props)


def test_a_deployment_in_progress_is_waited_for_then_published(kudu: OneDeployDouble, package: Path) -> None:
    kudu.busy_publishes, kudu.polls_until_done = 2, 2
    created = provider(VirtualClock()).create(inputs(kudu, package))
    assert len(kudu.publishes) == 1 and created.id == kudu.deployment_id


def test_a_deployment_in_progress_beyond_the_bound_fails_and_says_so(
    kudu: OneDeployDouble, package: Path
) -> None:
    kudu.busy_publishes, kudu.polls_until_done = 1_000, 10_000
    props = inputs(kudu, package, timeout_seconds=30, poll_seconds=1)
    with pytest.raises(OneDeployError, match=r"another deployment .* still in progress"):
        provider(VirtualClock()).create(props)
    assert kudu.publishes == []


@pytest.mark.parametrize(("code", "text"), [(5, "PartiallySucceeded"), (-1, "BuildFailed")])
def test_an_unknown_terminal_status_fails_fast_with_its_text(
    kudu: OneDeployDouble, package: Path, code: int, text: str
) -> None:
    kudu.terminal_status = (code, text)
    started = time.monotonic()
    with pytest.raises(OneDeployError, match=rf"status {code} {text}"):
        provider().create(inputs(kudu, package))
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("message", [{"code": 5, "text": "disk full"}, 42, ["a", "b"]])
def test_a_log_message_that_is_not_text_is_shown_not_a_traceback(
    kudu: OneDeployDouble, package: Path, message: Any
) -> None:
    kudu.outcome, kudu.failure_message = "failure", message
    with pytest.raises(OneDeployError, match=r"The deployment .* failed: ") as raised:
        provider().create(inputs(kudu, package))
    assert str(message)[:10] in str(raised.value)
