"""Replies we did not expect end as the provider's own error naming the operation and what came
back (cut, redacted), never a traceback; a write whose reply could not be read is a lost answer."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from components.graph import permissions
from components.graph.api_connector import ApiConnectorProvider
from components.graph.gateway import MAX_REPLY_BYTES, GraphError, GraphGateway
from components.redaction import EXCERPT_CHARS, excerpt
from tests.components.graph.conftest import configured
from tests.doubles.scripted_graph import Reply, ScriptedGraph, error

CONNECTORS = "v1.0/identity/apiConnectors"
HTML = b"<html><body><h1>502 Bad Gateway</h1>\n<p>The proxy could not reach the upstream.</p></body></html>"


@pytest.fixture
def graph() -> Any:
    with ScriptedGraph() as double:
        yield double


async def read_object(gateway: GraphGateway) -> Any:
    return await gateway.call(
        "reading API connector 1",
        permissions.CONNECTORS,
        lambda: gateway.send_object("GET", f"{CONNECTORS}/1"),
    )


async def read(gateway: GraphGateway) -> Any:
    return await gateway.call(
        "reading API connector 1", permissions.CONNECTORS, lambda: gateway.send("GET", f"{CONNECTORS}/1")
    )


@pytest.mark.parametrize(
    ("reply", "what"),
    [
        (Reply(200, raw=HTML), r"not JSON.*502 Bad Gateway"),
        (Reply(200, raw=b'{"id": "1", "displayName": '), r"not JSON"),
        (Reply(200, raw=b"\xff\xfe\x00garbage"), r"not JSON"),
        (Reply(200, raw=b"[" * 100_000), r"not JSON"),  # nested past the parser's recursion limit
    ],
)
def test_a_read_answered_with_what_is_not_json_is_explained(
    graph: ScriptedGraph, reply: Reply, what: str
) -> None:
    graph.script("GET", f"/{CONNECTORS}/1$", reply)
    with pytest.raises(GraphError, match=rf"reading API connector 1.*200.*{what}") as raised:
        graph.run(read)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert (
        len(graph.requests("GET")) == 1
    )  # a read has no effect to lose: the same request gets the same reply


@pytest.mark.parametrize(
    ("body", "got"),
    [([{"id": "1"}], r"a list"), ("1", r"a string"), (None, r"nothing"), (7, r"a number")],
)
def test_a_reply_of_the_wrong_shape_is_explained(graph: ScriptedGraph, body: Any, got: str) -> None:
    graph.script("GET", f"/{CONNECTORS}/1$", Reply(200, body))
    with pytest.raises(GraphError, match=rf"reading API connector 1.*expected a JSON object.*{got}"):
        graph.run(read_object)


def test_expect_object_and_list_name_the_operation_and_the_field(graph: ScriptedGraph) -> None:
    async def check(gateway: GraphGateway) -> list[str]:
        found = []
        assert gateway.expect_object({"a": 1}, "reading X", "the configuration") == {"a": 1}
        assert gateway.expect_list([1], "reading X", "the choices") == [1]
        for probe in (
            lambda: gateway.expect_object(["a"], "reading X", "the configuration"),
            lambda: gateway.expect_list({"a": 1}, "reading X", "the choices"),
        ):
            with pytest.raises(GraphError) as raised:
                probe()
            found.append(str(raised.value))
        return found

    as_object, as_list = graph.run(check)
    assert "reading X" in as_object and "the configuration" in as_object and "a list" in as_object
    assert "reading X" in as_list and "the choices" in as_list and "an object" in as_list


def test_a_create_whose_reply_could_not_be_read_looks_before_sending_again(graph: ScriptedGraph) -> None:
    graph.script("POST", f"/{CONNECTORS}$", Reply(201, raw=HTML))
    graph.script("GET", f"/{CONNECTORS}/1$", Reply(200, {"id": "1", "displayName": "gate"}))

    async def create(gateway: GraphGateway) -> Any:
        return await gateway.call(
            "creating API connector 'gate'",
            permissions.CONNECTORS,
            lambda: gateway.send_object("POST", CONNECTORS, {"displayName": "gate"}),
            recover=lambda: gateway.send_object("GET", f"{CONNECTORS}/1"),
        )

    assert graph.run(create) == {"id": "1", "displayName": "gate"}
    assert len(graph.requests("POST")) == 1


def test_a_create_answered_with_the_wrong_shape_that_did_not_land_is_sent_again(graph: ScriptedGraph) -> None:
    graph.script("POST", f"/{CONNECTORS}$", Reply(201, [{"id": "1"}]), Reply(201, {"id": "1"}))
    graph.script("GET", f"/{CONNECTORS}/1$", error(404, "Request_ResourceNotFound"))

    async def create(gateway: GraphGateway) -> Any:
        return await gateway.call(
            "creating API connector 'gate'",
            permissions.CONNECTORS,
            lambda: gateway.send_object("POST", CONNECTORS, {"displayName": "gate"}),
            recover=lambda: gateway.send_object("GET", f"{CONNECTORS}/1"),
        )

    assert graph.run(create) == {"id": "1"}
    assert [s.method for s in graph.seen] == ["POST", "GET", "POST"]


def test_an_update_whose_reply_is_never_readable_gives_up_saying_what_came_back(graph: ScriptedGraph) -> None:
    graph.script("PATCH", f"/{CONNECTORS}/1$", Reply(200, raw=HTML), repeat=True)

    async def update(gateway: GraphGateway) -> Any:
        return await gateway.call(
            "updating API connector 1",
            permissions.CONNECTORS,
            lambda: gateway.send("PATCH", f"{CONNECTORS}/1", {"displayName": "gate"}),
        )

    with pytest.raises(
        GraphError, match=r"Gave up updating API connector 1 after \d+ attempts.*not JSON.*502 Bad"
    ):
        graph.run(update, max_wait=5)
    assert len(graph.requests("PATCH")) > 1  # a lost answer to an idempotent write: sent again


@pytest.mark.parametrize(
    "body",
    [
        {"error": "server_error"},
        {"error": {"code": ["a"], "message": {"text": "m"}, "details": "none", "innerError": 3}},
        {"error": {"details": [1, "x", {"target": ["t"]}]}},
        ["error"],
        "error",
    ],
)
def test_an_error_of_unknown_shape_is_explained(graph: ScriptedGraph, body: Any) -> None:
    graph.script("POST", f"/{CONNECTORS}$", Reply(400, body))

    async def create(gateway: GraphGateway) -> Any:
        return await gateway.call(
            "creating API connector 'gate'",
            permissions.CONNECTORS,
            lambda: gateway.send("POST", CONNECTORS, {}),
        )

    with pytest.raises(GraphError, match=r"rejected creating API connector 'gate' \(400") as raised:
        graph.run(create)
    assert raised.value.status == 400


def test_a_server_error_of_unknown_shape_is_retried_and_shown(graph: ScriptedGraph) -> None:
    graph.script("GET", f"/{CONNECTORS}/1$", Reply(502, raw=HTML), repeat=True)
    with pytest.raises(
        GraphError, match=r"Gave up reading API connector 1 after \d+ attempts.*502.*Bad Gateway"
    ):
        graph.run(read, max_wait=3)


@pytest.mark.parametrize("chunked", [False, True])
def test_a_reply_larger_than_the_cap_is_refused_unread(graph: ScriptedGraph, chunked: bool) -> None:
    # Chunked: no Content-Length to trust, the cap counts the bytes as they come.
    huge = {"value": [{"id": "x" * 1000}] * (MAX_REPLY_BYTES // 1000 + 10)}
    graph.script("GET", f"/{CONNECTORS}/1$", Reply(200, huge, chunked=chunked))
    with pytest.raises(
        GraphError, match=rf"reading API connector 1.*more than {MAX_REPLY_BYTES // 2**20} MiB"
    ):
        graph.run(read)


def test_a_reply_compressed_unasked_is_refused_unread(graph: ScriptedGraph) -> None:
    # The cap counts the bytes that arrive: they are the bytes kept only when nothing inflates them.
    bomb = gzip.compress(b'{"id": "' + b"1" * MAX_REPLY_BYTES + b'"}')
    graph.script("GET", f"/{CONNECTORS}/1$", Reply(200, raw=bomb, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(
        GraphError, match=r"reading API connector 1.*compressed \(gzip\) although none was asked"
    ):
        graph.run(read)
    assert graph.seen[0].headers["accept-encoding"] == "identity"
    assert len(bomb) < MAX_REPLY_BYTES // 100


def test_the_provider_reports_a_listing_that_is_not_json(graph: ScriptedGraph) -> None:
    graph.script("GET", f"/{CONNECTORS}$", Reply(200, raw=HTML))
    provider = configured(ApiConnectorProvider(), graph.endpoint)
    inputs = provider.check(
        {},
        {
            "display_name": "gate",
            "target_url": "https://f.example/x",
            "username": "u",
            "password": "pw-123456",
        },
    ).inputs
    with pytest.raises(GraphError, match=r"listing API connectors.*not JSON") as raised:
        provider.create(inputs)
    assert raised.value.__cause__ is None


# -- redaction: canary secrets in every field a reply can echo -----------------------------------

SECRET = "Canary-Secret-9f8e7d"
QUOTED = 'Canary"Quote\\Secret-5b4a'  # one whose JSON form differs from the text
CLIENT_SECRET = "b2c-deployer-Secret~1234"  # the deployer's own, from the settings


def envelope(**error: Any) -> dict[str, Any]:
    return {"error": {"code": "BadRequest", "message": "Refused.", **error}}


@pytest.mark.parametrize(
    "reply",
    [
        Reply(400, envelope(code=f"Bad_{SECRET}")),
        Reply(400, envelope(message=f"Password '{SECRET}' is too weak.")),
        Reply(400, envelope(target=f"password={SECRET}")),
        Reply(400, envelope(details=[{"code": SECRET, "message": f"no {SECRET}", "target": SECRET}])),
        Reply(400, envelope(innerError={"request-id": SECRET, "date": SECRET, "correlationId": SECRET})),
        Reply(400, envelope(message=f"Password '{QUOTED}' is too weak.")),
        Reply(400, envelope(message=f"Client secret {CLIENT_SECRET} is not allowed here.")),
        Reply(400, {"error": f"server_error {SECRET}"}),
        Reply(400, raw=f"<html>{SECRET} {QUOTED}</html>".encode()),
        Reply(400, raw=json.dumps({"weird": QUOTED}).encode()),
        Reply(403, envelope(code=f"Denied_{SECRET}")),
        Reply(401, envelope(code=f"Token_{SECRET}")),
        # Cut through the secret: cutting first would leave more than its first half.
        Reply(400, envelope(message="x" * (EXCERPT_CHARS - 14) + SECRET)),
        Reply(400, envelope(details=[{"message": "y" * (EXCERPT_CHARS - 16) + QUOTED}])),
        Reply(400, raw=b"z" * (EXCERPT_CHARS - 14) + SECRET.encode()),
        Reply(302, headers={"Location": f"https://elsewhere.example/?password={SECRET}"}),
        Reply(200, raw=f"not json {SECRET}".encode()),
    ],
)
def test_no_field_of_an_error_reply_leaks_a_secret(graph: ScriptedGraph, reply: Reply) -> None:
    graph.script("POST", f"/{CONNECTORS}$", reply, repeat=True)

    async def create(gateway: GraphGateway) -> Any:
        return await gateway.call(
            "creating API connector 'gate'",
            permissions.CONNECTORS,
            lambda: gateway.send_object("POST", CONNECTORS, {"password": SECRET}),
        )

    with pytest.raises(GraphError) as raised:
        graph.run(create, secrets=(SECRET, QUOTED), max_wait=3)
    message = str(raised.value)
    assert "creating API connector 'gate'" in message
    for secret in (SECRET, QUOTED, json.dumps(QUOTED)[1:-1], CLIENT_SECRET):
        assert secret[: len(secret) // 2] not in message, message


@pytest.mark.parametrize("secret", [SECRET, QUOTED])
def test_a_secret_cut_by_the_excerpt_leaks_no_part(secret: str) -> None:
    for offset in range(EXCERPT_CHARS - len(secret) - 2, EXCERPT_CHARS + 2):
        text = excerpt("x" * offset + secret + " and more", (secret,))
        assert len(text) <= EXCERPT_CHARS and secret[:4] not in text, (offset, text)


def test_an_unredacted_field_would_have_been_shown(graph: ScriptedGraph) -> None:
    # The canaries above prove something only if each field reaches the message at all.
    graph.script(
        "POST",
        f"/{CONNECTORS}$",
        Reply(
            400,
            envelope(
                code="Bad_code",
                target="the_target",
                details=[{"code": "d_code", "message": "d_message", "target": "d_target"}],
                innerError={"request-id": "r-id", "date": "r-date", "correlationId": "c-id"},
            ),
        ),
    )

    async def create(gateway: GraphGateway) -> Any:
        return await gateway.call(
            "creating API connector 'gate'",
            permissions.CONNECTORS,
            lambda: gateway.send("POST", CONNECTORS, {}),
        )

    with pytest.raises(GraphError) as raised:
        graph.run(create)
    message = str(raised.value)
    for shown in (
        "Bad_code",
        "Refused.",
        "the_target",
        "d_code",
        "d_message",
        "d_target",
        "r-id",
        "r-date",
        "c-id",
    ):
        assert shown in message, (shown, message)
