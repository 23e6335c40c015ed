"""The signing-key cache and token check the web API and the External ID callout share, against a
JWKS double with its faults. Time is a virtual clock; the one real wait (a request waiting for a
fetch in flight) is given a budget of a few hundredths of a second."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import token_check
from token_check import KeysUnavailableError, RefusedError, SigningKeys, TokenCheck

from tests.doubles.clock import VirtualClock
from tests.functions.jwks_double import JwksDouble

ISSUER = "https://tenant.example/v2.0"
AUDIENCE = "api-client-id"
SHORT_WAIT = 0.05  # seconds a request waits for a fetch in flight, in these tests


@pytest.fixture
def double() -> Iterator[JwksDouble]:
    running = JwksDouble()
    yield running
    running.close()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


def keys_for(double: JwksDouble, clock: VirtualClock, **options: Any) -> SigningKeys:
    return SigningKeys(double.url, clock=clock.now, **options)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())  # PyJWT checks exp and nbf against the wall clock
    return {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "nbf": now, **overrides}


def check(keys: SigningKeys, wait: float = 5.0) -> TokenCheck:
    return TokenCheck(keys, issuers=(ISSUER,), audience=AUDIENCE, key_wait=wait)


def status(check_: TokenCheck, token: str) -> int:
    try:
        check_.claims(f"Bearer {token}")
    except RefusedError as refusal:
        return refusal.status
    return 200


def test_a_token_signed_with_a_published_key_passes(double: JwksDouble, clock: VirtualClock) -> None:
    assert check(keys_for(double, clock)).claims(f"Bearer {double.mint(claims())}")["aud"] == AUDIENCE
    assert double.fetches == 1


def test_keys_are_fetched_once_while_fresh(double: JwksDouble, clock: VirtualClock) -> None:
    checker = check(keys_for(double, clock))
    for _ in range(20):
        clock.advance(60)
        assert status(checker, double.mint(claims())) == 200
    assert double.fetches == 1  # 20 minutes, within the hour's lifetime


def test_a_withdrawn_key_stops_being_accepted_once_the_set_is_refreshed(
    double: JwksDouble, clock: VirtualClock
) -> None:
    checker = check(keys_for(double, clock))
    withdrawn = double.kid
    assert status(checker, double.mint(claims())) == 200
    new = double.roll()
    double.withdraw(withdrawn)
    assert status(checker, double.mint(claims(), kid=withdrawn)) == 200  # the set is still fresh
    clock.advance(token_check.KEY_LIFETIME_SECONDS)
    assert status(checker, double.mint(claims(), kid=new)) == 200  # refreshed on expiry
    assert status(checker, double.mint(claims(), kid=withdrawn)) == 401
    assert double.fetches == 2


def test_an_unknown_kid_refreshes_once_per_cooldown(double: JwksDouble, clock: VirtualClock) -> None:
    checker = check(keys_for(double, clock))
    assert status(checker, double.mint(claims())) == 200
    rolled_in = double.roll()  # a key the tenant rolled in after our fetch
    clock.advance(token_check.REFRESH_COOLDOWN_SECONDS)
    assert status(checker, double.mint(claims(), kid=rolled_in)) == 200
    for index in range(10):
        assert status(checker, double.mint(claims(), kid=f"forged-{index}")) == 401
    assert double.fetches == 2
    clock.advance(token_check.REFRESH_COOLDOWN_SECONDS)
    assert status(checker, double.mint(claims(), kid="forged-again")) == 401
    assert double.fetches == 3


@pytest.mark.parametrize("fault", ["html", "empty", "shape", "not-json", "503"])
def test_an_endpoint_that_answers_no_keys_is_503_with_retry_after(
    double: JwksDouble, clock: VirtualClock, fault: str
) -> None:
    double.fault = fault
    with pytest.raises(RefusedError) as refused:
        check(keys_for(double, clock)).claims(f"Bearer {double.mint(claims())}")
    assert refused.value.status == 503
    assert refused.value.retry_after == token_check.FAILURE_COOLDOWN_SECONDS


def test_a_failure_is_remembered_so_a_burst_is_one_fetch(double: JwksDouble, clock: VirtualClock) -> None:
    double.fault = "503"
    checker = check(keys_for(double, clock))
    retry_after = []
    for _ in range(20):
        clock.advance(1)
        with pytest.raises(RefusedError) as refused:
            checker.claims(f"Bearer {double.mint(claims())}")
        retry_after.append(refused.value.retry_after)
    assert double.fetches == 1
    # Retry-After counts down to the end of the cooldown, never below a second.
    assert retry_after[0] == 30 and retry_after[-1] == 11 and min(retry_after) >= 1
    clock.advance(token_check.FAILURE_COOLDOWN_SECONDS)
    double.fault = None
    assert status(checker, double.mint(claims())) == 200
    assert double.fetches == 2


def test_known_keys_keep_working_while_a_refresh_fails(double: JwksDouble, clock: VirtualClock) -> None:
    checker = check(keys_for(double, clock))
    assert status(checker, double.mint(claims())) == 200
    double.fault = "503"
    clock.advance(token_check.REFRESH_COOLDOWN_SECONDS)
    assert status(checker, double.mint(claims(), kid="rolled-in")) == 503  # could not be confirmed
    assert status(checker, double.mint(claims())) == 200


def test_a_hanging_endpoint_holds_a_request_no_longer_than_its_wait(
    double: JwksDouble, clock: VirtualClock
) -> None:
    double.fault = "hang"
    keys = keys_for(double, clock)
    with pytest.raises(KeysUnavailableError) as unavailable:
        keys.key(double.kid, wait=SHORT_WAIT)
    # It came back because its own wait ran out, while the fetch still hangs.
    assert str(unavailable.value) == f"the signing keys did not arrive within {SHORT_WAIT:g} s"
    assert unavailable.value.retry_after == token_check.FETCH_BUDGET_SECONDS


def test_at_most_one_fetch_is_in_flight(double: JwksDouble, clock: VirtualClock) -> None:
    double.fault = "hang"
    keys = keys_for(double, clock)
    outcomes: list[str] = []

    def request() -> None:
        try:
            keys.key(double.kid, wait=SHORT_WAIT)
            outcomes.append("key")
        except KeysUnavailableError:
            outcomes.append("503")

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert outcomes == ["503"] * 8
    assert double.fetches == 1 and double.most_in_flight == 1


def test_a_trickling_endpoint_is_cut_off_at_the_fetch_budget(double: JwksDouble, clock: VirtualClock) -> None:
    double.fault = "trickle"
    double.on_trickle = lambda: clock.advance(1)  # a byte a second, as far as the budget can tell
    keys = keys_for(double, clock, fetch_budget=5)
    with pytest.raises(KeysUnavailableError):
        keys.key(double.kid, wait=5)
    # Cut off after the budget's 5 bytes (and any already on their way), far before the body ends.
    assert double.trickled <= 10 < len(json.dumps(double.jwks()))


@pytest.mark.parametrize(("padding", "refused"), [(0, False), (token_check.MAX_KEY_SET_BYTES, True)])
def test_a_key_set_larger_than_any_tenant_publishes_is_refused(
    padding: int, refused: bool, double: JwksDouble, clock: VirtualClock
) -> None:
    from tools.loopback import JsonHandler, serve

    body = json.dumps(double.jwks()).encode()[:-1] + b" " * padding + b"}"  # valid JSON, the same keys

    class Padded(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = serve(Padded)
    try:
        keys = SigningKeys(f"{server.origin}/keys", clock=clock.now)
        if refused:
            with pytest.raises(KeysUnavailableError):
                keys.key(double.kid, wait=5)
        else:
            assert keys.key(double.kid, wait=5) is not None
    finally:
        server.stop()


def test_a_redirect_is_not_followed(clock: VirtualClock) -> None:
    from tools.loopback import JsonHandler, serve

    class Redirect(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
            self.answer(302, None, {"Location": "http://127.0.0.1:9/keys"})

    server = serve(Redirect)
    try:
        with pytest.raises(Exception, match="302"):
            token_check.http_get(f"{server.origin}/keys", 5, clock.now)
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("authorization", "status_"),
    [(None, 401), ("", 401), ("Basic dTpw", 401), ("Bearer", 401), ("Bearer   ", 401), ("bearer x.y", 401)],
)
def test_anything_but_a_bearer_token_is_401(
    authorization: str | None, status_: int, clock: VirtualClock
) -> None:
    checker = check(SigningKeys("https://keys.example/jwks", clock=clock.now))
    with pytest.raises(RefusedError) as refused:
        checker.claims(authorization)
    assert refused.value.status == status_ and refused.value.challenge is not None


def test_a_token_without_a_kid_is_401_without_a_fetch(double: JwksDouble, clock: VirtualClock) -> None:
    import jwt

    token = jwt.encode(claims(), double.keys[double.kid], algorithm="RS256")
    assert status(check(keys_for(double, clock)), token) == 401
    assert double.fetches == 0


def test_a_fetch_that_outlives_its_budget_is_given_up_and_tried_again(clock: VirtualClock) -> None:
    """A peer that trickles its status line or headers is held only by per-read timeouts: the fetch
    thread may run on long past its budget. It is given up then, so new fetches are not blocked."""
    release, calls = threading.Event(), []

    def stuck(_url: str, _budget: float, _clock: Any) -> bytes:
        calls.append(clock.now())
        release.wait(5)
        raise OSError("the peer went away")

    keys = SigningKeys("https://keys.example/jwks", clock=clock.now, fetch=stuck)
    try:
        with pytest.raises(KeysUnavailableError, match="did not arrive"):
            keys.key("k1", SHORT_WAIT)
        clock.advance(keys.fetch_budget + 1)
        with pytest.raises(KeysUnavailableError, match="given up") as raised:
            keys.key("k1", SHORT_WAIT)
        assert raised.value.retry_after == keys.failure_cooldown and len(calls) == 1
        clock.advance(keys.failure_cooldown)
        with pytest.raises(KeysUnavailableError):
            keys.key("k1", SHORT_WAIT)
        assert len(calls) == 2  # a new fetch, though the first has still not ended
    finally:
        release.set()
