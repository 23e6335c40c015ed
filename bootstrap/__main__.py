"""Bootstrap: the identities b2c-signup deploys with. Wiring only; see identities.py."""

import pulumi
from identities import BootstrapArgs, build

config = pulumi.Config()
build(
    BootstrapArgs.validated(
        repository=config.require("githubRepository"),
        b2c_tenant_id=config.require("b2cTenantId"),
        environments=tuple(config.get_object("environments") or ("dev", "prod")),
        demo_environment=config.get("demoEnvironment") or "demos",
        location=config.get("location") or "westeurope",
        team_backend=config.get_bool("teamBackend") or False,
        secrets_provider=config.get_bool("secretsProvider") or False,
    )
)
