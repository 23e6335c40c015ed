"""The b2c-signup policy pack: `pulumi preview --policy-pack policy` applies it (mandatory)."""

from policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name="b2c-signup", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
