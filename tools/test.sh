#!/usr/bin/env bash
# Set up the virtualenv (.venv unless VENV says otherwise) from the hashed lock files and run the
# test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/venv.sh
venv="${VENV:-.venv}"
ensure_venv "$venv" requirements-dev.txt
# paconn's declared dependencies do not install on Python 3.11: its file lists what it needs.
"$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --no-deps -r requirements-paconn.txt
# A warm run reuses byte code: without it every worker and every subprocess the tests start
# compiles each module it imports again (collection alone goes from about 1 s to 4 s).
unset PYTHONDONTWRITEBYTECODE
exec "$venv/bin/python" -m pytest "$@"
