#!/usr/bin/env bash
# Install the test and lint tools into a virtualenv (.venv unless VENV says otherwise) and run
# the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# paconn's declared dependencies do not install on Python 3.11: its file lists what it needs.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-paconn.txt
exec "$venv/bin/python" -m pytest "$@"
