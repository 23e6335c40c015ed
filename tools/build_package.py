"""Build the deployable function package (One Deploy's released-package.zip), reproducibly.

Usage: python -m tools.build_package --out dist/released-package.zip [--python-version 3.12]

The program builds (and caches) the package itself; this builds one to a path of your choice, so
CI can build once and hand the same bytes to `preview` and `up` with B2C_SIGNUP_PACKAGE=<zip>.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from components.packaging import PYTHON_VERSIONS, build_package


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.build_package", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=Path("dist/released-package.zip"))
    parser.add_argument(
        "--python-version", default="3.12", choices=PYTHON_VERSIONS, help="the Functions runtime version"
    )
    args = parser.parse_args(argv)
    package = build_package(args.out, args.python_version)
    print(f"{package.path}  {package.size} bytes ({package.size / 1048576:.2f} MiB)  sha256 {package.sha256}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
