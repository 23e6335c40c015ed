"""FunctionCodeDeployment: publish the function package to a Flex Consumption app through One Deploy.

Flex Consumption deploys only through One Deploy (`POST /api/publish` on the SCM host): a blob
dropped into the deployment container is not deployed, and azure-native has no onedeploy
resource. This dynamic resource posts the zip with an Entra token of the subscription identity
(basic-auth publishing stays off), polls the deployment until it finishes within a bound, and
redeploys only when the package's SHA-256 changes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

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
    SubscriptionSettings,
    make_subscription_credential,
    origin_problem,
)

# Kudu's deployment status codes: pending, building and deploying are still running.
STATUS_RUNNING = (0, 1, 2)
STATUS_FAILED, STATUS_SUCCESS = 3, 4
MANAGEMENT_SCOPE = "https://management.azure.com/.default"
DEPLOYER = "b2c-signup"


class OneDeployError(Exception):
    """A deployment failure, worded for the person running `pulumi up`."""


class _UnreachableError(OneDeployError):
    """The SCM site did not answer; while polling, worth another try within the bound."""


# Where the subscription identity lives now; the old name stays importable because the state of
# existing stacks holds this provider pickled with a DeploymentSettings of this module.
DeploymentSettings = SubscriptionSettings


def check_scm_url(url: str) -> str | None:
    if problem := origin_problem(url):
        return f"scm_url {url!r} {problem}: the app's SCM site, e.g. https://func-x.scm.azurewebsites.net"
    return None


class FunctionCodeDeploymentProvider(ResourceProvider):
    # How a call gets its ARM token. A class attribute, never pickled; tests set it on an instance.
    credentials: Callable[[SubscriptionSettings], TokenCredential] = staticmethod(
        make_subscription_credential
    )

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
        try:
            token = self.credentials(self._settings).get_token(MANAGEMENT_SCOPE).token
        except (ClientAuthenticationError, OidcUnavailableError) as exc:
            raise OneDeployError(
                f"Could not get an Entra token for One Deploy as {self._settings.describe()}: {str(exc).splitlines()[0]}"
            ) from None
        publisher = _Publisher(
            props["scm_url"], token, float(props["timeout_seconds"]), float(props["poll_seconds"])
        )
        try:
            return publisher.publish(data)
        finally:
            publisher.close()


class _Publisher:
    """One publish: POST the zip, then poll its status, always and only on the app's SCM origin."""

    def __init__(self, scm_url: str, token: str, timeout: float, poll: float) -> None:
        self.scm_url = scm_url.rstrip("/")
        self.client = httpx.Client(
            base_url=self.scm_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        self.deadline = time.monotonic() + timeout
        self.timeout, self.poll = timeout, poll

    def close(self) -> None:
        self.client.close()

    def _home(self, link: str | None) -> str | None:
        """The path of a link Kudu gave, if it is on the SCM origin; None for any other origin.
        The bearer token may manage the app: it is never sent where a reply points elsewhere."""
        if not link:
            return None
        target, home = urlsplit(urljoin(self.scm_url + "/", link)), urlsplit(self.scm_url)
        if (target.scheme, target.hostname, target.port) != (home.scheme, home.hostname, home.port):
            return None
        return target.path + (f"?{target.query}" if target.query else "")

    def _send(self, method: str, path: str, action: str, **kwargs: Any) -> httpx.Response:
        try:
            reply = self.client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise _UnreachableError(
                f"Could not reach the SCM site {self.scm_url} while {action} ({type(exc).__name__}): check that "
                "the function app is running and its SCM site is reachable from here, then run `pulumi up` again."
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
        except ValueError:
            found = None
            problem = "not JSON"
        else:
            problem = "" if isinstance(found, kind) else f"not a deployment status ({type(found).__name__})"
        if problem:
            raise OneDeployError(
                f"The SCM site {self.scm_url} answered {reply.status_code} while {action}, and the reply is "
                f"{problem}: {reply.text[:200]!r}. Run `pulumi up` again; if it persists, check the app's SCM site."
            )
        return found

    def _expired(self, extra: float = 0.0) -> bool:
        return time.monotonic() + extra > self.deadline

    def publish(self, data: bytes) -> str:
        while True:
            reply = self._send(
                "POST",
                "/api/publish",
                "publishing the package",
                params={"RemoteBuild": "false", "Deployer": DEPLOYER},
                content=data,
                headers={"Content-Type": "application/zip"},
            )
            if reply.status_code != 409:
                break
            # Another deployment (the portal, a second `up`) holds the app: wait for it, then publish.
            self._wait_for_running()
        if reply.status_code not in (200, 202):
            raise OneDeployError(
                f"One Deploy refused the package ({reply.status_code}): {reply.text[:300] or 'no details'}"
            )
        return self._wait(self._home(reply.headers.get("Location")) or "/api/deployments/latest")

    def _wait_for_running(self) -> None:
        while True:
            status = self._status("/api/deployments/latest", "waiting for the deployment in progress")
            if status is None or status.get("complete") is not False:
                return
            if self._expired(self.poll):
                raise OneDeployError(
                    f"another deployment of the app was still in progress after {self.timeout:.0f} s "
                    f"({status.get('status_text') or status.get('status')}); wait for it to finish "
                    f"({self.scm_url}/api/deployments/latest), then run `pulumi up` again."
                )
            time.sleep(self.poll)

    def _status(self, path: str, action: str) -> dict[str, Any] | None:
        reply = self._send("GET", path, action)
        if reply.status_code != 200:
            return None
        status: dict[str, Any] = self._json(reply, action, dict)
        return status

    def _wait(self, status_path: str) -> str:
        last = "not started"
        while True:
            try:
                status = self._status(status_path, "reading the deployment status")
            except _UnreachableError:
                if self._expired(self.poll):
                    raise
                status, last = None, "status unavailable"
            if status is not None:
                code, text = status.get("status"), status.get("status_text") or ""
                last = f"status {code} {text}".strip()
                if code == STATUS_SUCCESS:
                    return str(status.get("id") or "latest")
                if code == STATUS_FAILED:
                    raise OneDeployError(
                        f"The deployment {status.get('id')} failed: {self._failure(status)} "
                        f"(deployment log: {self.scm_url}/api/deployments/{status.get('id')}/log)"
                    )
                if status.get("complete") is True or code not in STATUS_RUNNING:
                    # Finished, or a code outside Kudu's documented ones: polling would not change it.
                    raise OneDeployError(
                        f"The deployment {status.get('id')} ended with {last}, not success. Check "
                        f"{self.scm_url}/api/deployments/{status.get('id')}/log, then run `pulumi up` again."
                    )
            if self._expired(self.poll):
                raise OneDeployError(
                    f"The deployment did not finish within {self.timeout:.0f} s (last: {last}). It may still complete: "
                    f"check {self.scm_url}/api/deployments/latest, then run `pulumi up` again."
                )
            time.sleep(self.poll)

    def _failure(self, status: dict[str, Any]) -> str:
        """The deployment log's error lines (following details on the SCM origin), else its last line."""
        lines: list[str] = []
        try:
            entries = self._json(
                self._send("GET", f"/api/deployments/{status.get('id')}/log", "reading the log"),
                "reading the log",
                list,
            )
            for entry in (e for e in entries if isinstance(e, dict)):
                details = self._home(entry.get("details_url"))
                if details:
                    more = self._json(self._send("GET", details, "reading the log"), "reading the log", list)
                    lines += [
                        d.get("message", "") for d in more if isinstance(d, dict) and d.get("type") == 2
                    ]
                if entry.get("type") == 2:
                    lines.append(entry.get("message", ""))
            lines = [line for line in lines if line] or [
                str(e.get("message", "")) for e in entries[-1:] if isinstance(e, dict)
            ]
        except OneDeployError:
            lines = []
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
