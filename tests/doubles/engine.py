"""Run a serialized dynamic provider the way the engine does: in another process."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.conftest import PROJECT_DIR


def run_in_engine(
    blob: str, config: dict[str, str], inputs: dict[str, Any], *, delete: bool = True
) -> dict[str, Any]:
    """check, create, read (and delete) in a fresh interpreter; returns the id and the read outputs."""
    job = {"provider": blob, "config": config, "inputs": inputs, "delete": delete}
    done = subprocess.run(
        [sys.executable, "-m", "tests.doubles.engine_child"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))
