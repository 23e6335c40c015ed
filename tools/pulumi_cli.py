"""The Pulumi CLI the developer tools drive through the Automation API: the one on PATH, else the
one tools/up.sh installed into .pulumi-cli/. Without either, one line says what to do."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from tools import PROJECT_DIR

if TYPE_CHECKING:
    from pulumi.automation import LocalWorkspace

LOCAL_CLI = PROJECT_DIR / ".pulumi-cli"


class PulumiCliMissingError(SystemExit):
    def __init__(self) -> None:
        super().__init__(
            "The Pulumi CLI is not installed: ./tools/up.sh <stack> --prepare installs a pinned one into "
            ".pulumi-cli/ (or see https://www.pulumi.com/docs/install/), then run this again."
        )


def workspace() -> LocalWorkspace:
    """The project's workspace: its Pulumi.yaml (and so its backend), with the CLI found here."""
    from pulumi import automation

    if shutil.which("pulumi"):
        command = automation.PulumiCommand()
    elif (LOCAL_CLI / "bin" / "pulumi").is_file():
        command = automation.PulumiCommand(root=str(LOCAL_CLI))
    else:
        raise PulumiCliMissingError()
    return automation.LocalWorkspace(work_dir=str(PROJECT_DIR), pulumi_command=command)
