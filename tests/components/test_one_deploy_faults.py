"""One Deploy under faults (issue 17): every wait ends by the deployment's own timeout_seconds, in
real time too; a 409 is retried with a growing pause, whatever Retry-After and
/api/deployments/latest say; a write never follows a redirect, a read follows one on the SCM
origin only; no error text carries the token, whichever field of a Kudu reply echoes it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from components import deadline
from components.code_deployment import OneDeployError
from tests.components.test_code_deployment import ARM_SECRET, inputs, provider
from tests.doubles.clock import VirtualClock
from tests.doubles.one_deploy_double import TOKEN, Eavesdropper, OneDeployDouble

BUDGET = 600.0  # the resource's default timeout_seconds


def props_with(kudu: OneDeployDouble, package: Path, timeout: float, **extra: Any) -> dict[str, Any]:
    props = inputs(kudu, package, **extra)
    props["timeout_seconds"] = timeout  # check allows 30 s and more; tests spend less
    return props


# -- 409: retried within the budget, with a growing pause --------------------------------------


@pytest.mark.parametrize(
    "latest",
    [
        pytest.param({"latest_missing": True}, id="latest-missing"),
        pytest.param({"status_body": {"id": "x", "status": 4, "complete": True}}, id="latest-complete"),
        pytest.param({"status_body": b"<html>Service Unavailable</html>"}, id="latest-not-json"),
    ],
)
def test_a_409_with_nothing_in_progress_is_retried_only_within_the_budget_with_growing_pauses(
    kudu: OneDeployDouble, package: Path, latest: dict[str, Any]
) -> None:
    for name, value in latest.items():
        setattr(kudu, name, value)
    kudu.busy_publishes = 400  # more than a bounded retry ever sends; the double then gives in
    clock = VirtualClock()
    started = clock.now()
    with pytest.raises(OneDeployError, match=r"409.* another deployment .* still in progress") as raised:
        provider(clock).create(inputs(kudu, package, timeout_seconds=BUDGET))
    assert clock.now() - started <= BUDGET
    # Pauses of at least the floor, growing to the backoff cap: ~80 posts in 10 minutes, not thousands.
    assert 10 <= kudu.posts <= 100, kudu.posts
    assert kudu.publishes == []
    assert min(clock.slept) >= deadline.MIN_PAUSE_SECONDS
    assert clock.slept[4] > 2 * clock.slept[0]
    assert "/api/deployments/latest" in str(raised.value)


@pytest.mark.parametrize("retry_after", ["0", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_a_retry_after_of_zero_or_in_the_past_still_pauses_and_grows(
    kudu: OneDeployDouble, package: Path, retry_after: str
) -> None:
    kudu.busy_publishes, kudu.retry_after, kudu.latest_missing = 400, retry_after, True
    clock = VirtualClock()
    with pytest.raises(OneDeployError, match="still in progress"):
        provider(clock).create(inputs(kudu, package, timeout_seconds=BUDGET))
    assert min(clock.slept) >= deadline.MIN_PAUSE_SECONDS and kudu.posts <= 100
    assert clock.slept[4] > 2 * clock.slept[0]


def test_a_longer_retry_after_is_honoured(kudu: OneDeployDouble, package: Path) -> None:
    kudu.busy_publishes, kudu.retry_after = 3, "20"
    clock = VirtualClock()
    created = provider(clock).create(inputs(kudu, package, timeout_seconds=BUDGET))
    assert created.id == kudu.deployment_id and kudu.posts == 4
    assert clock.slept[:3] == [20.0, 20.0, 20.0]


def test_a_409_while_another_deployment_runs_waits_for_it_then_publishes_once(
    kudu: OneDeployDouble, package: Path
) -> None:
    kudu.busy_publishes, kudu.polls_until_done = 1, 5  # latest says "Building" for four polls
    clock = VirtualClock()
    created = provider(clock).create(inputs(kudu, package, timeout_seconds=BUDGET))
    assert created.id == kudu.deployment_id and kudu.posts == 2 and len(kudu.publishes) == 1


def test_a_deployment_in_progress_beyond_the_budget_fails_on_the_virtual_clock(
    kudu: OneDeployDouble, package: Path
) -> None:
    kudu.busy_publishes, kudu.polls_until_done = 1_000, 10_000_000
    clock = VirtualClock()
    started = clock.now()
    with pytest.raises(
        OneDeployError, match=r"another deployment .* still in progress after 600 s \(Building\)"
    ):
        provider(clock).create(inputs(kudu, package, timeout_seconds=BUDGET, poll_seconds=3))
    assert clock.now() - started <= BUDGET and kudu.publishes == []


def test_polling_spends_the_budget_on_the_injected_clock(kudu: OneDeployDouble, package: Path) -> None:
    kudu.polls_until_done = 10_000_000
    clock = VirtualClock()
    real = time.monotonic()
    with pytest.raises(OneDeployError, match=r"did not finish within 600 s \(last: status 1 Building\)"):
        provider(clock).create(inputs(kudu, package, timeout_seconds=BUDGET, poll_seconds=3))
    assert 190 <= kudu.polls <= 201 and time.monotonic() - real < 10


# -- the deadline wins over per-read timeouts ----------------------------------------------------


@pytest.mark.parametrize("where", ["publish", "status"])
def test_a_reply_that_trickles_ends_at_the_deadline(kudu: OneDeployDouble, package: Path, where: str) -> None:
    kudu.trickle = where  # a byte every 50 ms for 10 s: each read is quick, the whole reply is not
    started = time.monotonic()
    with pytest.raises(OneDeployError, match=r"within 0 s") as raised:
        provider().create(props_with(kudu, package, 0.4))
    assert time.monotonic() - started < 3  # the budget, and setting up a client on a busy machine
    assert TOKEN not in str(raised.value)


# -- redirects: writes never follow, reads only at home --------------------------------------------


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("where", ["elsewhere", "home"])
def test_a_publish_answered_with_a_redirect_is_never_sent_again(
    kudu: OneDeployDouble, package: Path, eavesdropper: Eavesdropper, status: int, where: str
) -> None:
    target = eavesdropper.url if where == "elsewhere" else kudu.url
    kudu.redirect = ("POST", status, target.replace("://", "://thief:pw-1234@") + "/api/publish?stolen=1")
    with pytest.raises(OneDeployError, match=rf"publishing the package .*redirect \({status}\)") as raised:
        provider().create(inputs(kudu, package))
    assert kudu.posts == 1 and kudu.publishes == []
    assert eavesdropper.authorizations == [] and eavesdropper.bodies == []
    assert "stolen" not in str(raised.value) and "pw-1234" not in str(raised.value)


def test_a_status_read_follows_a_redirect_on_the_scm_origin(kudu: OneDeployDouble, package: Path) -> None:
    kudu.redirect = ("GET", 302, f"{kudu.url}/api/deployments/moved")
    created = provider().create(inputs(kudu, package))
    assert created.id == kudu.deployment_id and kudu.redirected_reads == 1


def test_a_status_read_redirected_elsewhere_is_not_followed(
    kudu: OneDeployDouble, package: Path, eavesdropper: Eavesdropper
) -> None:
    kudu.redirect = ("GET", 307, f"{eavesdropper.url}/api/deployments/latest")
    clock = VirtualClock()
    with pytest.raises(OneDeployError, match=r"reading the deployment status.*another origin"):
        provider(clock).create(inputs(kudu, package, timeout_seconds=BUDGET))
    assert eavesdropper.authorizations == []


def test_a_redirect_loop_on_the_scm_origin_ends(kudu: OneDeployDouble, package: Path) -> None:
    kudu.redirect = ("GET", 302, f"{kudu.url}/api/deployments/latest")
    clock = VirtualClock()
    with pytest.raises(OneDeployError, match="too many redirects"):
        provider(clock).create(inputs(kudu, package, timeout_seconds=BUDGET))


# -- redaction: canaries in every field a Kudu reply can echo ------------------------------------

ECHO = f"Request headers: Authorization: Bearer {TOKEN}; x-ms-client-secret: {ARM_SECRET}"


def leaked(text: str) -> list[str]:
    """Any piece of the token or the ARM secret long enough to matter."""
    pieces = [piece[:12] for piece in TOKEN.split(".")] + [ARM_SECRET[:8]]
    return [piece for piece in pieces if piece in text]


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status_code": 400, "refusal": {"Message": ECHO}}, id="refusal-message"),
        pytest.param(
            {"status_code": 400, "refusal": {"Message": "bad", "ExceptionMessage": ECHO, "StackTrace": ECHO}},
            id="refusal-other-fields",
        ),
        pytest.param({"status_code": 500, "refusal": ("x" * 240 + ECHO).encode()}, id="refusal-text-cut"),
        pytest.param({"status_code": 400, "refusal": ECHO.lower().encode()}, id="refusal-lowercase"),
        pytest.param({"status_body": ("<html>" + "y" * 130 + ECHO).encode()}, id="status-not-json-cut"),
        pytest.param({"terminal_status": (5, ECHO)}, id="status-text"),
        pytest.param({"outcome": "failure", "failure_message": ECHO}, id="deployment-log"),
    ],
)
def test_no_error_text_carries_the_token_or_a_secret(
    kudu: OneDeployDouble, package: Path, fault: dict[str, Any]
) -> None:
    for name, value in fault.items():
        setattr(kudu, name, value)
    with pytest.raises(OneDeployError) as raised:
        provider(VirtualClock()).create(inputs(kudu, package, timeout_seconds=BUDGET))
    assert leaked(str(raised.value)) == [], str(raised.value)
