"""Create a demo stack that tools.teardown_demos removes once its time-to-live has passed.

    python -m tools.new_demo NAME --ttl 7d [--from dev]

Copies the template stack's config (secrets included), gives the demo the names that must be
unique in a tenant the stacks may share (the user flow's name; on B2C also the App ID URI path),
and tags the stack b2c-signup:demo=true and b2c-signup:expires=<UTC time>. Works the same for a
B2C and an External ID template. Then `./tools/up.sh NAME`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from tools import PROJECT_DIR
from tools.demos import (
    DEFAULT_PLATFORM,
    ENVIRONMENT_STACKS,
    PLATFORM_KEY,
    check_demo_name,
    committed_stacks,
    demo_config,
    demo_tags,
    parse_ttl,
    tenant_wide_problem,
)
from tools.pulumi_cli import workspace


class DemoBackend(Protocol):
    def create(self, stack: str) -> None: ...
    def config(self, stack: str) -> Mapping[str, tuple[Any, bool]]: ...
    def set_config(self, stack: str, values: Mapping[str, tuple[Any, bool]]) -> None: ...
    def set_tags(self, stack: str, tags: Mapping[str, str]) -> None: ...


class PulumiDemoBackend:
    def __init__(self) -> None:
        from pulumi import automation

        self.auto = automation
        self.workspace = workspace()

    def create(self, stack: str) -> None:
        self.workspace.create_stack(stack)

    def config(self, stack: str) -> Mapping[str, tuple[Any, bool]]:
        return {
            key: (value.value, value.secret) for key, value in self.workspace.get_all_config(stack).items()
        }

    def set_config(self, stack: str, values: Mapping[str, tuple[Any, bool]]) -> None:
        config = {
            key: self.auto.ConfigValue(value=str(value), secret=secret)
            for key, (value, secret) in values.items()
        }
        self.workspace.set_all_config(stack, config)

    def set_tags(self, stack: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self.workspace.set_tag(stack, key, value)


def new_demo(
    backend: DemoBackend,
    name: str,
    ttl: str,
    template: str,
    now: datetime,
    protected: frozenset[str] = ENVIRONMENT_STACKS,
) -> datetime:
    check_demo_name(name, protected)
    expires = now + parse_ttl(ttl)
    copied = dict(backend.config(template))
    platform, _secret = copied.get(PLATFORM_KEY, (DEFAULT_PLATFORM, False))
    # Before create: a template with an unknown platform creates nothing.
    unique = demo_config(name, str(platform or DEFAULT_PLATFORM))
    if problem := tenant_wide_problem({key: value for key, (value, _secret) in copied.items()}):
        raise ValueError(problem)
    backend.create(name)
    copied.update({key: (value, False) for key, value in unique.items()})
    backend.set_config(name, copied)
    backend.set_tags(name, demo_tags(expires))
    return expires


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", help="stack name of the demo, e.g. acme-pilot")
    parser.add_argument("--ttl", required=True, help="time to live: 7d, 36h or 90m")
    parser.add_argument(
        "--from", dest="template", default="dev", help="stack whose config to copy (default dev)"
    )
    args = parser.parse_args(argv)
    protected = committed_stacks(PROJECT_DIR)
    try:
        # Input first: a wrong --ttl is reported as such, even without a Pulumi CLI.
        check_demo_name(args.name, protected)
        parse_ttl(args.ttl)
        expires = new_demo(
            PulumiDemoBackend(), args.name, args.ttl, args.template, datetime.now(UTC), protected
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(
        f"Created demo stack {args.name}, expiring {expires.isoformat(timespec='seconds')}. Next: ./tools/up.sh {args.name}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
