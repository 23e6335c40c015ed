"""FunctionCodeDeployment: publish the function package to a Flex Consumption app through One Deploy.

Flex Consumption deploys only through One Deploy (`POST /api/publish` on the SCM host): a blob
dropped into the deployment container is not deployed, and azure-native has no onedeploy
resource. This dynamic resource posts the zip with an Entra token of the subscription identity
(basic-auth publishing stays off), polls the deployment until it finishes, and redeploys only
when the package's SHA-256 changes.

The whole publish (every post, poll and log read) ends by the resource's `timeout_seconds`, in
real time too (components/deadline.py). The requests carrying the token go through TokenSession,
which the teardown's Key Vault purge shares: one deadline, no write re-sent after a redirect,
reads redirected on their own origin only, and no error text carrying the token.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pulumi
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ClientAuthenticationError
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime.rpc import UNKNOWN  # what check receives for a value not known yet

from components.credentials import (
    OidcUnavailableError,
    PickledUnconfigured,
    SubscriptionSettings,
    make_subscription_credential,
    origin_problem,
)
from components.deadline import Deadline, DeadlineExceededError, pause, retry_after_seconds
from components.redaction import redact
from components.token_session import SessionError, TokenSession, UnreachableError

# Kudu's deployment status codes: pending, building and deploying are still running.
STATUS_RUNNING = (0, 1, 2)
STATUS_FAILED, STATUS_SUCCESS = 3, 4
MANAGEMENT_SCOPE = "https://management.azure.com/.default"
DEPLOYER = "b2c-signup"


class OneDeployError(Exception):
    """A deployment failure, worded for the person running `pulumi up`."""


class _UnreachableError(OneDeployError):
    """The SCM site did not answer; while polling, worth another try within the bound."""


class _UnreadableError(OneDeployError):
    """The SCM site answered something that is not what the call reads (not JSON, wrong shape)."""


# Where the subscription identity lives now; the old name stays importable because the state of
# existing stacks holds this provider pickled with a DeploymentSettings of this module.
DeploymentSettings = SubscriptionSettings


def check_scm_url(url: str) -> str | None:
    if problem := origin_problem(url):
        return f"scm_url {url!r} {problem}: the app's SCM site, e.g. https://func-x.scm.azurewebsites.net"
    return None


class FunctionCodeDeploymentProvider(PickledUnconfigured, ResourceProvider):
    # How a call gets its ARM token, and the clock and sleep a publish spends its budget on. Class
    # attributes, never pickled into state; tests set them on an instance.
    credentials: Callable[[SubscriptionSettings], TokenCredential] = staticmethod(
        make_subscription_credential
    )
    clock: Callable[[], float] = staticmethod(time.monotonic)
    sleep: Callable[[float], Awaitable[None]] = staticmethod(asyncio.sleep)

    def __init__(self) -> None:
        super().__init__()
        self._settings = SubscriptionSettings()

    def configure(self, req: ConfigureRequest) -> None:
        self._settings = SubscriptionSettings.from_config(req.config.get)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        url = news.get("scm_url")
        if url != UNKNOWN:
            problem = check_scm_url(url) if isinstance(url, str) else "scm_url is required"
            if problem:
                failures.append(CheckFailure("scm_url", problem))
        digest = news.get("package_sha256")
        if digest != UNKNOWN and not (isinstance(digest, str) and len(digest) == 64):
            failures.append(
                CheckFailure("package_sha256", "package_sha256 must be the zip's SHA-256 as 64 hex digits")
            )
        for name, low, high in (("timeout_seconds", 30, 3600), ("poll_seconds", 0.05, 60)):
            number = news.get(name)
            if not isinstance(number, int | float) or not low <= number <= high:
                failures.append(
                    CheckFailure(name, f"{name} {number!r} must be a number from {low} to {high}")
                )
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # A new app (new id) has no code at all: deploy to it as a new resource.
        replaces = ["app_id"] if olds.get("app_id") != news.get("app_id") else []
        changes = replaces or [
            name for name in ("package_sha256", "scm_url") if olds.get(name) != news.get(name)
        ]
        return DiffResult(changes=bool(changes), replaces=replaces, stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        deployment_id = self._deploy(props)
        return CreateResult(deployment_id, {**props, "deployment_id": deployment_id})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if olds.get("package_sha256") == news["package_sha256"] and olds.get("scm_url") == news["scm_url"]:
            return UpdateResult({**news, "deployment_id": olds.get("deployment_id")})
        return UpdateResult({**news, "deployment_id": self._deploy(news)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # What runs on the app cannot be read back as a hash; the last deployment stands.
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to do: the code goes with the app."""

    def _deploy(self, props: dict[str, Any]) -> str:
        path = Path(props["package_path"])
        if not path.is_file():
            raise OneDeployError(
                f"The function package {path} is missing: build it with `python -m tools.build_package`."
            )
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != props["package_sha256"]:
            raise OneDeployError(
                f"The function package {path} changed after the plan was made (its SHA-256 differs): run `pulumi up` again."
            )
        deadline = Deadline(float(props["timeout_seconds"]), self.clock)
        secrets = [self._settings.client_secret or ""]

        async def publish() -> str:
            # The token comes out of the publish's budget: `az` or a token endpoint that never
            # answers would otherwise hold `pulumi up` without end.
            credential = self.credentials(self._settings)
            try:
                token = await deadline.in_thread(
                    lambda: credential.get_token(MANAGEMENT_SCOPE).token,
                    "getting an Entra token for One Deploy",
                )
            except (ClientAuthenticationError, OidcUnavailableError) as exc:
                raise OneDeployError(
                    f"Could not get an Entra token for One Deploy as {self._settings.describe()}: "
                    f"{str(exc).splitlines()[0]}"
                ) from None
            except DeadlineExceededError as exc:
                raise OneDeployError(
                    f"{exc}, signing in as {self._settings.describe()}. Check that `az account show` "
                    "answers (or the ARM_* / OIDC settings) and run `pulumi up` again."
                ) from None
            secrets.append(token)
            async with TokenSession(
                props["scm_url"], token, deadline, name="the SCM site", secrets=tuple(secrets[:1])
            ) as session:
                return await _Publisher(session, float(props["poll_seconds"]), self.sleep).publish(data)

        try:
            return asyncio.run(publish())
        except OneDeployError as exc:
            # Every text a Kudu reply brought (status texts, log lines, error pages) passes here.
            raise OneDeployError(redact(str(exc), tuple(secrets))) from None


class _Publisher:
    """One publish: POST the zip, then poll its status, always and only on the app's SCM origin."""

    def __init__(self, session: TokenSession, poll: float, sleep: Callable[[float], Awaitable[None]]) -> None:
        self.session, self.poll, self.sleep = session, poll, sleep
        self.scm_url, self.deadline = session.origin, session.deadline

    async def _send(self, method: str, path: str, action: str, **kwargs: Any) -> httpx.Response:
        """A request on the SCM origin; DeadlineExceededError passes through for the caller to word."""
        try:
            reply = await self.session.send(method, path, action, **kwargs)
        except UnreachableError as exc:
            raise _UnreachableError(
                f"{exc}: check that the function app is running and its SCM site is reachable from here, "
                "then run `pulumi up` again."
            ) from None
        except SessionError as exc:
            raise OneDeployError(
                f"{exc}. Run `pulumi up` again; if it persists, check the app's SCM site."
            ) from None
        if reply.status_code == 401:
            raise OneDeployError(
                f"The SCM site {self.scm_url} refused the Entra token while {action} (401). The subscription identity "
                "must be able to sign in to the SCM site: check the azure-native credentials (az login, ARM_* or OIDC)."
            )
        if reply.status_code == 403:
            raise OneDeployError(
                f"The SCM site {self.scm_url} denied {action} (403): the subscription identity needs the Website "
                "Contributor (or Contributor) role on the function app to publish with One Deploy."
            )
        return reply

    def _json(self, reply: httpx.Response, action: str, kind: type) -> Any:
        try:
            found = reply.json()
        except (ValueError, RecursionError):  # nested past the parser's limit is no status either
            found = None
            problem = "not JSON"
        else:
            problem = "" if isinstance(found, kind) else f"not a deployment status ({type(found).__name__})"
        if problem:
            raise _UnreadableError(
                f"The SCM site {self.scm_url} answered {reply.status_code} while {action}, and the reply is "
                f"{problem}: {self.session.redact(reply.text, 200)!r}. Run `pulumi up` again; if it persists, "
                "check the app's SCM site."
            )
        return found

    async def publish(self, data: bytes) -> str:
        attempt = 0
        while True:
            try:
                reply = await self._send(
                    "POST",
                    "/api/publish",
                    "publishing the package",
                    params={"RemoteBuild": "false", "Deployer": DEPLOYER},
                    content=data,
                    headers={"Content-Type": "application/zip"},
                )
            except DeadlineExceededError:
                raise OneDeployError(
                    f"One Deploy did not take the package within {self.deadline.budget:.0f} s (the upload or its "
                    f"answer never finished). Check {self.scm_url}/api/deployments/latest, then run `pulumi up` again."
                ) from None
            if reply.status_code != 409:
                break
            # Another deployment (the portal, a second `up`) holds the app: wait while it runs, then
            # publish again. A 409 re-sends the whole package, so the pause grows whatever
            # Retry-After says (a longer one is honoured), and only while the budget lasts: a Kudu
            # answering 409 with nothing in progress must not get the package hundreds of times a minute.
            attempt += 1
            running = await self._wait_for_running()
            wait = max(pause(attempt), pause(attempt, retry_after_seconds(reply.headers.get("Retry-After"))))
            if not self.deadline.allows(wait):
                raise OneDeployError(
                    f"One Deploy answered 409 to {attempt} publishes in {self.deadline.elapsed():.0f} s: another "
                    f"deployment of the app was still in progress after {self.deadline.budget:.0f} s ({running}); "
                    f"wait for it to finish ({self.scm_url}/api/deployments/latest), then run `pulumi up` again."
                )
            await self.sleep(wait)
        if reply.status_code not in (200, 202):
            raise OneDeployError(
                f"One Deploy refused the package ({reply.status_code}): "
                f"{self.session.redact(reply.text, 300) or 'no details'}"
            )
        return await self._wait(self.session.home(reply.headers.get("Location")) or "/api/deployments/latest")

    async def _wait_for_running(self) -> str:
        """Wait while /api/deployments/latest says a deployment is running; what it said last.
        Anything else it says (nothing, complete, not a status, no answer) ends the wait."""
        action, said = "waiting for the deployment in progress", "/api/deployments/latest did not answer"
        while True:
            try:
                status = await self._status("/api/deployments/latest", action)
            except (_UnreadableError, _UnreachableError):
                return "/api/deployments/latest unreadable"
            except DeadlineExceededError:
                return said
            if status is None:
                return "/api/deployments/latest lists none"
            said = str(status.get("status_text") or status.get("status"))
            if status.get("complete") is not False:
                return f"the latest, {said}, is complete"
            if not self.deadline.allows(self.poll):
                return said
            await self.sleep(self.poll)

    async def _status(self, path: str, action: str) -> dict[str, Any] | None:
        reply = await self._send("GET", path, action)
        if reply.status_code != 200:
            return None
        status: dict[str, Any] = self._json(reply, action, dict)
        return status

    def _unfinished(self, last: str) -> OneDeployError:
        return OneDeployError(
            f"The deployment did not finish within {self.deadline.budget:.0f} s (last: {last}). It may still complete: "
            f"check {self.scm_url}/api/deployments/latest, then run `pulumi up` again."
        )

    async def _wait(self, status_path: str) -> str:
        last = "not started"
        while True:
            try:
                status = await self._status(status_path, "reading the deployment status")
            except _UnreachableError:
                if not self.deadline.allows(self.poll):
                    raise
                status, last = None, "status unavailable"
            except DeadlineExceededError:
                raise self._unfinished(last) from None
            if status is not None:
                code, text = status.get("status"), status.get("status_text") or ""
                last = f"status {code} {text}".strip()
                if code == STATUS_SUCCESS:
                    return str(status.get("id") or "latest")
                if code == STATUS_FAILED:
                    raise OneDeployError(
                        f"The deployment {status.get('id')} failed: {await self._failure(status)} "
                        f"(deployment log: {self.scm_url}/api/deployments/{status.get('id')}/log)"
                    )
                if status.get("complete") is True or code not in STATUS_RUNNING:
                    # Finished, or a code outside Kudu's documented ones: polling would not change it.
                    raise OneDeployError(
                        f"The deployment {status.get('id')} ended with {last}, not success. Check "
                        f"{self.scm_url}/api/deployments/{status.get('id')}/log, then run `pulumi up` again."
                    )
            if not self.deadline.allows(self.poll):
                raise self._unfinished(last)
            await self.sleep(self.poll)

    async def _failure(self, status: dict[str, Any]) -> str:
        """The deployment log's error lines (following details on the SCM origin), else its last line."""
        lines: list[str] = []
        try:
            entries = self._json(
                await self._send("GET", f"/api/deployments/{status.get('id')}/log", "reading the log"),
                "reading the log",
                list,
            )
            for entry in (e for e in entries if isinstance(e, dict)):
                details = self.session.home(entry.get("details_url"))
                if details:
                    more = self._json(
                        await self._send("GET", details, "reading the log"), "reading the log", list
                    )
                    lines += [
                        str(d.get("message") or "")
                        for d in more
                        if isinstance(d, dict) and d.get("type") == 2
                    ]
                if entry.get("type") == 2:
                    lines.append(str(entry.get("message") or ""))
            lines = [line for line in lines if line] or [
                str(e.get("message", "")) for e in entries[-1:] if isinstance(e, dict)
            ]
        except (OneDeployError, DeadlineExceededError):
            lines = []  # the log is a courtesy: the status already says the deployment failed
        return "; ".join(lines) or str(status.get("status_text") or status.get("message") or "no log message")


class FunctionCodeDeployment(Resource, module="azure", name="FunctionCodeDeployment"):
    """The function package, published through One Deploy; redeployed only when its SHA-256 changes."""

    deployment_id: pulumi.Output[str]
    package_sha256: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        app_id: pulumi.Input[str],
        scm_url: pulumi.Input[str],
        package_path: str,
        package_sha256: str,
        timeout_seconds: float = 600,
        poll_seconds: float = 3,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            FunctionCodeDeploymentProvider(),
            resource_name,
            {
                "app_id": app_id,
                "scm_url": scm_url,
                "package_path": package_path,
                "package_sha256": package_sha256,
                "timeout_seconds": timeout_seconds,
                "poll_seconds": poll_seconds,
                "deployment_id": None,
            },
            opts,
        )
