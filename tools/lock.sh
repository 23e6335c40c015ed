#!/usr/bin/env bash
# Regenerate the hashed lock files (requirements.txt, requirements-dev.txt) from the .in files
# that name the direct dependencies, and the policy pack's lock, held to the versions the tests
# run. Run it after changing a .in file (or policy/requirements.txt), and commit them all.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/venv.sh
ensure_venv "${VENV:-.venv}"
for name in requirements requirements-dev; do
  "${VENV:-.venv}/bin/uv" pip compile "$name.in" --universal --generate-hashes --python-version 3.11 \
    --custom-compile-command ./tools/lock.sh --quiet --output-file "$name.txt"
done
"${VENV:-.venv}/bin/uv" pip compile policy/requirements.txt -c requirements-dev.txt --universal --generate-hashes \
  --python-version 3.11 --custom-compile-command ./tools/lock.sh --quiet --output-file policy/requirements-lock.txt
