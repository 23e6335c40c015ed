#!/usr/bin/env bash
# Set up a fresh machine and run `pulumi up` for one stack (default: dev).
#   ./tools/up.sh [STACK] [extra pulumi up flags...]
# State goes to the local file backend in ./.pulumi-state unless PULUMI_BACKEND_URL is set or
# `pulumi login` has selected another backend.
set -euo pipefail
cd "$(dirname "$0")/.."
stack="${1:-dev}"
shift || true

if ! command -v pulumi >/dev/null 2>&1; then
  echo "The Pulumi CLI is not installed: see https://www.pulumi.com/docs/install/ and run this again." >&2
  exit 1
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt

logged_in() {
  python3 - <<'PY'
import json, pathlib, sys
path = pathlib.Path.home() / ".pulumi" / "credentials.json"
try:
    sys.exit(0 if json.loads(path.read_text()).get("current") else 1)
except (OSError, ValueError):
    sys.exit(1)
PY
}
if [ -z "${PULUMI_BACKEND_URL:-}" ] && ! logged_in; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
  echo "State backend: $PULUMI_BACKEND_URL (set PULUMI_BACKEND_URL or run 'pulumi login' for another)."
fi

pulumi stack select "$stack" 2>/dev/null || pulumi stack init "$stack"
exec pulumi up --stack "$stack" "$@"
