"""What both Graph providers share: configuration from stack config, the async bridge, clean errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pulumi.dynamic import CheckFailure, CheckResult, ConfigureRequest, ResourceProvider

from components.credentials import B2CSettings, IdentityConfigError, PickledUnconfigured
from components.graph.gateway import GraphError, GraphGateway
from components.graph.model import Checked

T = TypeVar("T")


class GraphProvider(PickledUnconfigured, ResourceProvider):
    """Base of the Graph dynamic providers.

    The engine unpickles the provider in its own process and calls `configure` there with the
    stack's decrypted config; settings are kept from then on. Nothing secret is held at
    construction, and a configured provider pickles without its settings, so the serialized
    provider in state carries no credential.
    """

    # How a call opens its Graph session. A class attribute, so it is never pickled into state;
    # tests set it on an instance to reach a double (credential, virtual clock), the one seam.
    connect: Callable[..., GraphGateway] = GraphGateway

    def __init__(self) -> None:
        super().__init__()
        self._settings: B2CSettings | None = None
        self._config_error: str | None = None

    def configure(self, req: ConfigureRequest) -> None:
        try:
            self._settings = B2CSettings.from_config(req.config.get)
        except IdentityConfigError as exc:
            # Kept for the first call that needs Graph: check and diff work without it.
            self._config_error = str(exc)

    def _run(self, work: Callable[[GraphGateway], Awaitable[T]], secrets: tuple[str, ...] = ()) -> T:
        if self._settings is None:
            raise GraphError(
                self._config_error or "the Graph provider was not configured with b2c-signup:* settings"
            )
        settings = self._settings

        async def main() -> T:
            async with self.connect(settings, secrets=secrets) as graph:
                return await work(graph)

        try:
            return asyncio.run(main())
        except GraphError as exc:
            # Re-raised bare: the engine prints the traceback of whatever escapes, so keep it short.
            raise type(exc)(str(exc), exc.status) from None
        except IdentityConfigError as exc:  # e.g. githubOidc outside GitHub Actions, met signing in
            raise GraphError(str(exc)) from None


def check_result(checked: Checked) -> CheckResult:
    return CheckResult(checked.inputs, [CheckFailure(prop, reason) for prop, reason in checked.failures])


def secrets_of(props: Mapping[str, Any], names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(str(props[name]) for name in names if props.get(name))


def refused_outright(exc: BaseException) -> bool:
    """A create's POST was refused outright (bad input, credential, permission): nothing was made.
    Any other failure of it may have landed, and is rolled back (an absent flow counts as deleted)."""
    return isinstance(exc, GraphError) and exc.status in (400, 401, 403)


async def roll_back(
    graph: GraphGateway,
    remove: Callable[[GraphGateway], Awaitable[None]],
    cause: BaseException,
    *,
    what: str,
    fix: str,
) -> None:
    """Undo a half-made create in a session of its own: a fresh token, the rollback budget, and
    sending even while the host stops, since the create's own session may be spent. When the undo
    fails too, the error says both and what to remove by hand (`fix`)."""
    try:
        async with graph.session(graph.settings.rollback_seconds) as cleanup:
            await remove(cleanup)
    except GraphError as exc:
        raise GraphError(
            f"{cause} Removing {what} failed as well ({exc}): {fix} before running again.",
            getattr(cause, "status", None),
        ) from None


def half_applied(exc: GraphError) -> GraphError:
    """An update that failed after some of its changes: planned from what Graph holds, the next
    `up` finishes it."""
    return GraphError(
        f"{exc} The changes before this one are applied; run `pulumi up` again to finish (it starts from "
        "what Graph holds).",
        exc.status,
    )
