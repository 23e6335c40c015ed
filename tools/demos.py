"""What demo stacks are and how to find what `destroy` leaves behind: tags, time-to-live, the
names a demo must not share with its template, and the soft-deleted objects a destroyed stack
leaves in its tenant (B2C or External ID) and the subscription.

Pure but for committed_stacks, which asks git: tools.new_demo and tools.teardown_demos do the talking."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from functions.app_settings import PLATFORM_B2C, PLATFORM_EXTERNAL_ID

DEMO_TAG = "b2c-signup:demo"
EXPIRES_TAG = "b2c-signup:expires"
# Never torn down, and never a demo's name, whatever the tags say.
ENVIRONMENT_STACKS = frozenset({"dev", "prod"})
# A runner's clock may run fast: a stack is torn down only this long after its expiry.
GRACE = timedelta(minutes=15)
_TTL = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
MAX_TTL = timedelta(days=90)
_NAME = re.compile(r"^[a-z][a-z0-9-]{1,29}$")


def parse_ttl(text: str) -> timedelta:
    """`7d`, `36h` or `90m`; at least ten minutes, at most 90 days."""
    match = _TTL.match(text.strip())
    if not match:
        raise ValueError(f"--ttl {text!r} must be a number and a unit, e.g. 7d, 36h or 90m")
    ttl = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if not timedelta(minutes=10) <= ttl <= MAX_TTL:
        raise ValueError(f"--ttl {text!r} must be from 10m to 90d")
    return ttl


def protected_stacks(tracked_files: Iterable[str]) -> frozenset[str]:
    """dev, prod and every stack whose Pulumi.<stack>.yaml is committed at the project root."""
    committed = set()
    for path in map(PurePosixPath, tracked_files):
        if len(path.parts) == 1 and path.name.startswith("Pulumi.") and path.suffix == ".yaml":
            name = path.name[len("Pulumi.") : -len(".yaml")]
            if name:
                committed.add(name)
    return ENVIRONMENT_STACKS | committed


def check_demo_name(name: str, protected: Iterable[str] = ENVIRONMENT_STACKS) -> str:
    if not _NAME.match(name):
        raise ValueError(
            f"demo name {name!r} must be 2 to 30 lowercase letters, digits and '-', starting with a letter"
        )
    if name in set(protected):
        raise ValueError(f"demo name {name!r} is a protected environment stack: choose another name")
    return name


def demo_tags(expires: datetime) -> dict[str, str]:
    return {DEMO_TAG: "true", EXPIRES_TAG: expires.isoformat(timespec="seconds")}


# The stack's identity platform (stack_config owns the key; absent means b2c). This module stays
# free of the program's installed imports (functions.app_settings is plain data): tools/up.sh
# loads it before anything else is installed.
PLATFORM_KEY = "b2c-signup:platform"
DEFAULT_PLATFORM = PLATFORM_B2C
# What must differ between two stacks sharing a tenant, by platform: the user flow's name (B2C's
# policy id, External ID's sign-up flow display name) and B2C's App ID URI path. External ID App
# ID URIs are api://<appId>, unique by themselves, and apiIdentifier is refused there.
TENANT_UNIQUE_KEYS: Mapping[str, tuple[str, ...]] = {
    PLATFORM_B2C: ("b2c-signup:userFlowName", "b2c-signup:apiIdentifier"),
    PLATFORM_EXTERNAL_ID: ("b2c-signup:userFlowName",),
}


# Keys that create what belongs to the tenant rather than the stack: a second stack declaring the
# same again fails (a custom attribute's id is derived from its name), and destroying it would
# take the tenant's object with it.
TENANT_WIDE_KEYS = ("b2c-signup:customAttributes",)


def tenant_wide_problem(config: Mapping[str, object]) -> str | None:
    """Why a stack with this config cannot be copied into another of the same tenant, or None."""
    for key in TENANT_WIDE_KEYS:
        value = config.get(key)
        if value not in (None, "", "{}", {}):
            return (
                f"the template sets {key}, which creates the tenant's own custom attributes: a copy would "
                "declare them a second time. Copy a stack without it, and collect the attributes there by "
                "their full id (extension_<appId>_<name>, Entra admin center > External Identities > "
                "Custom user attributes)"
            )
    return None


def demo_config(name: str, platform: str = DEFAULT_PLATFORM) -> dict[str, str]:
    """Keys that must differ from the template stack's: the tenant may be shared, and what
    TENANT_UNIQUE_KEYS names is unique in a tenant."""
    if platform not in TENANT_UNIQUE_KEYS:
        raise ValueError(
            f"{PLATFORM_KEY} {platform!r} of the template stack must be b2c or externalId: "
            f"pulumi config set {PLATFORM_KEY} b2c"
        )
    values = {
        "b2c-signup:userFlowName": f"signupsignin_{name.replace('-', '_')}",
        "b2c-signup:apiIdentifier": f"api-{name}",
    }
    return {key: values[key] for key in TENANT_UNIQUE_KEYS[platform]}


@dataclass(frozen=True)
class Expired:
    stack: str
    expires: datetime


def select_expired(
    stacks: Iterable[tuple[str, Mapping[str, str]]],
    now: datetime,
    protected: Iterable[str] = ENVIRONMENT_STACKS,
) -> tuple[list[Expired], list[str]]:
    """Demo stacks at least GRACE past their time-to-live, oldest first, and problems with demo tags.
    A protected stack is never chosen, whatever its tags."""
    expired: list[Expired] = []
    problems: list[str] = []
    protected = set(protected)
    for name, tags in stacks:
        if tags.get(DEMO_TAG) != "true":
            continue
        if name in protected:
            problems.append(f"{name}: carries demo tags but is a protected environment stack; left alone")
            continue
        try:
            expires = datetime.fromisoformat(tags.get(EXPIRES_TAG, ""))
        except ValueError:
            problems.append(
                f"{name}: tag {EXPIRES_TAG} is {tags.get(EXPIRES_TAG)!r}, not an ISO time; left alone"
            )
            continue
        if expires.tzinfo is None:
            problems.append(f"{name}: tag {EXPIRES_TAG} {expires.isoformat()} has no time zone; left alone")
        elif expires + GRACE <= now:
            expired.append(Expired(name, expires))
    return sorted(expired, key=lambda item: (item.expires, item.stack)), problems


@dataclass(frozen=True)
class Vault:
    subscription_id: str
    location: str
    name: str


@dataclass(frozen=True)
class Leftovers:
    """What survives `destroy` in soft-deleted form."""

    applications: tuple[str, ...]  # object ids of app registrations (directory/deletedItems)
    vaults: tuple[Vault, ...]


# azuread's two resources that register an application; both leave it in directory/deletedItems.
APPLICATION_TYPES = frozenset(
    {
        "azuread:index/application:Application",
        "azuread:index/applicationRegistration:ApplicationRegistration",
    }
)


def leftovers(deployment: Mapping[str, Any]) -> Leftovers:
    """Read from the stack's exported state before it is destroyed. The same on both platforms:
    app registrations, and Key Vaults where the stack has one (an External ID stack has none)."""
    applications: list[str] = []
    vaults: list[Vault] = []
    for resource in deployment.get("resources") or []:
        outputs = resource.get("outputs") or {}
        if resource.get("type") in APPLICATION_TYPES:
            object_id = outputs.get("objectId") or str(resource.get("id", "")).rsplit("/", 1)[-1]
            if object_id:
                applications.append(object_id)
        elif resource.get("type") == "azure-native:keyvault:Vault":
            match = re.match(r"^/subscriptions/([^/]+)/", str(resource.get("id", "")))
            if match and outputs.get("name") and outputs.get("location"):
                vaults.append(Vault(match.group(1), str(outputs["location"]), str(outputs["name"])))
    return Leftovers(tuple(applications), tuple(vaults))


def committed_stacks(project_dir: Path) -> frozenset[str]:
    """protected_stacks of the files git tracks in `project_dir`; dev and prod alone outside a checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--", "Pulumi.*.yaml"],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=project_dir,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ENVIRONMENT_STACKS
    return protected_stacks(listed.split())
