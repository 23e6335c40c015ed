"""b2c-signup: the composition root. Wiring only; the components hold the resources."""

import pulumi

pulumi.export("project", pulumi.get_project())
