"""Benchmark what the language host runs during `pulumi preview`: the whole program for one stack,
against the floor of importing pulumi and the provider modules that program loads.

Usage: python -m tools.bench_preview [--stack dev] [--runs 5] [--no-cold]

Each figure is a fresh process, timed from outside (start-up to exit), the two kinds alternating:
- program: __main__.py under mocks (tools.program_check) with the real package step (the cache,
  no stand-in) and the package index made unreachable, so a run that would need pip fails instead
  of hiding a build;
- floor: `import pulumi` and every provider module the program loaded (its first run lists them),
  loaded in full: azure-native's modules load lazily, on their first attribute.
Byte code is cached in a scratch folder for both, after one untimed run of each, so the figures are
what every preview after the first costs, whatever PYTHONDONTWRITEBYTECODE says. Prints the medians
and their ratio, and the cold package build, and exits 1 when the program takes more than twice
the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from components import packaging
from tools import PROJECT_DIR

MAX_RATIO = 2.0
# Any pip the program might start finds no index: a cache miss fails instead of building quietly.
OFFLINE = {"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": ""}
PROBE = (
    "import json, sys, subprocess, types\n"
    "real = subprocess.run\n"
    "def guarded(command, *a, **k):\n"
    "    if any('pip' in str(part) for part in command):\n"
    "        raise SystemExit('the program ran pip: ' + ' '.join(map(str, command)))\n"
    "    return real(command, *a, **k)\n"
    "subprocess.run = guarded\n"
    "from tools.program_check import check_stack\n"
    "run = check_stack(sys.argv[1], real_package=True)\n"
    # Provider packages the program loaded (a lazily loaded one is not a plain module until used).
    "providers = sorted(name for name, module in sys.modules.items() if name.startswith('pulumi_')\n"
    "    and name.count('.') <= 1 and type(module) is types.ModuleType and hasattr(module, '__path__'))\n"
    "print(json.dumps({'resources': len(run.resources), 'providers': providers}))\n"
)
FLOOR = (
    "import importlib, sys\n"
    "import pulumi\n"
    "for name in sys.argv[1:]:\n"
    "    getattr(importlib.import_module(name), '__all__', None)  # loads a lazily loaded module\n"
)


@dataclass(frozen=True)
class Figures:
    program: float  # median seconds
    floor: float
    providers: tuple[str, ...]

    @property
    def ratio(self) -> float:
        return self.program / self.floor


def missed_targets(figures: Figures) -> list[str]:
    if figures.ratio <= MAX_RATIO:
        return []
    return [
        f"program evaluation {figures.program:.2f} s is {figures.ratio:.2f}x the floor "
        f"({figures.floor:.2f} s), more than {MAX_RATIO:.0f}x"
    ]


def _timed(command: list[str], env: Mapping[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    ran = subprocess.run(command, cwd=PROJECT_DIR, env=dict(env), check=False, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if ran.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} ... failed:\n{ran.stderr[-3000:]}")
    return elapsed, ran.stdout


def measure(stack: str, runs: int) -> Figures:
    # The project's own package cache, warm from here on: the figures are those of an unchanged
    # function (the build after a change of it is not what they measure).
    packaging.package_for_deploy(packaging.PYTHON_VERSIONS[-1], environ={})
    with tempfile.TemporaryDirectory(prefix="bench-preview-pycache-") as pycache:
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env.update(OFFLINE, PYTHONPYCACHEPREFIX=pycache)
        program = [sys.executable, "-c", PROBE, stack]
        # The untimed first run compiles the byte code and names the provider modules.
        _, out = _timed(program, env)
        providers = tuple(json.loads(out.strip().splitlines()[-1])["providers"])
        floor = [sys.executable, "-c", FLOOR, *providers]
        _timed(floor, env)
        programs, floors = [], []
        for _ in range(runs):  # alternating, so a busy machine weighs on both alike
            programs.append(_timed(program, env)[0])
            floors.append(_timed(floor, env)[0])
        return Figures(statistics.median(programs), statistics.median(floors), providers)


def cold_build_seconds(python_version: str) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        packaging.package_for_deploy(python_version, cache_dir=Path(scratch), environ={})
        return time.perf_counter() - started


def main(argv: list[str] | None = None, *, measure: Callable[[str, int], Figures] = measure) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench_preview", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--no-cold",
        action="store_true",
        help="skip the cold package build (PyPI is then needed only for a changed function)",
    )
    args = parser.parse_args(argv)
    version = packaging.PYTHON_VERSIONS[-1]
    if not args.no_cold:
        cold = cold_build_seconds(version)
        print(f"package build into an empty cache (what every preview ran before): {cold:.1f} s")
    figures = measure(args.stack, args.runs)
    print(
        f"floor (import pulumi and the {len(figures.providers)} provider modules the program loads): "
        f"{figures.floor:.2f} s"
    )
    print(f"program evaluation, stack {args.stack}, warm cache, index unreachable: {figures.program:.2f} s")
    print(f"ratio: {figures.ratio:.2f}x the floor (target <= {MAX_RATIO:.0f}x), medians of {args.runs} runs")
    missed = missed_targets(figures)
    for miss in missed:
        print(f"MISSED: {miss}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
