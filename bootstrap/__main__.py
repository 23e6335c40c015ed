"""Bootstrap: the identities b2c-signup deploys with. Wiring only; see identities.py."""

import sys
from pathlib import Path

# Pulumi runs this program from bootstrap/: the project root goes on the path so identities.py can
# take the role ids and Graph permissions from their one owner in components/ (as policy/ does).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi
from identities import BootstrapArgs, build

from functions.app_settings import PLATFORM_B2C

config = pulumi.Config()
build(
    BootstrapArgs.validated(
        repository=config.require("githubRepository"),
        platform=config.get("platform") or PLATFORM_B2C,
        # tenantId was b2cTenantId before External ID: existing stacks keep working.
        tenant_id=config.get("tenantId") or "",
        legacy_tenant_id=config.get("b2cTenantId") or "",
        environments=tuple(config.get_object("environments") or ("dev", "prod")),
        demo_environment=config.get("demoEnvironment") or "demos",
        location=config.get("location") or "westeurope",
        team_backend=config.get_bool("teamBackend") or False,
        secrets_provider=config.get_bool("secretsProvider") or False,
    )
)
