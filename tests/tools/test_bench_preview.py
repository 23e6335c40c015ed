"""tools.bench_preview holds the program to twice the floor measured in the same run, and exits 1,
naming the figures, when it misses; its floor really loads the provider modules azure-native
loads lazily."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_DIR
from tools import bench_preview
from tools.bench_preview import Figures, missed_targets


def test_a_ratio_within_twice_the_floor_passes_and_above_it_is_named() -> None:
    assert missed_targets(Figures(program=1.9, floor=1.0, providers=("pulumi_random",))) == []
    assert missed_targets(Figures(program=2.0, floor=1.0, providers=("pulumi_random",))) == []
    assert missed_targets(Figures(program=3.3, floor=1.1, providers=("pulumi_random",))) == [
        "program evaluation 3.30 s is 3.00x the floor (1.10 s), more than 2x"
    ]


@pytest.mark.parametrize(("program", "code"), [(1.5, 0), (2.6, 1)])
def test_the_command_prints_the_floor_and_ratio_and_exits_1_on_a_miss(
    program: float, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = Figures(program=program, floor=1.0, providers=("pulumi", "pulumi_azuread", "pulumi_random"))
    assert bench_preview.main(["--runs", "3", "--no-cold"], measure=lambda stack, runs: figures) == code
    out, err = capsys.readouterr()
    assert "floor (import pulumi and the 3 provider modules the program loads): 1.00 s" in out
    assert f"program evaluation, stack dev, warm cache, index unreachable: {program:.2f} s" in out
    assert f"ratio: {program:.2f}x the floor (target <= 2x)" in out
    assert ("MISSED: program evaluation" in err) == bool(code)


def test_the_floor_loads_what_azure_native_would_load_lazily() -> None:
    # `from pulumi_azure_native import web` alone loads nothing of web: a floor that stopped there
    # would be a third of the real one.
    probe = (
        bench_preview.FLOOR
        + "\nimport sys, json\n"
        + "print(json.dumps(sorted(n for n in sys.modules if n.startswith('pulumi_azure_native.web.'))))\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    ran = subprocess.run(
        [sys.executable, "-c", probe, "pulumi_azure_native", "pulumi_azure_native.web"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = json.loads(ran.stdout.splitlines()[-1])
    assert "pulumi_azure_native.web.web_app" in loaded and "pulumi_azure_native.web._inputs" in loaded
