#!/usr/bin/env bash
# Set up a fresh machine and run `pulumi up` for one stack (default: dev).
#   ./tools/up.sh [STACK] [--prepare | extra pulumi up flags...]
# The virtualenv comes from the hashed lock file. Without a Pulumi CLI on PATH, a pinned one is
# installed into .pulumi-cli/ (your PATH and shell profile are not changed). State goes where
# Pulumi.yaml says (./.pulumi-state) unless PULUMI_BACKEND_URL or the stack says otherwise.
# --prepare stops after selecting (or creating) the stack, so it can be configured first.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/venv.sh
PULUMI_VERSION=3.272.0  # the CLI matching the pinned Python SDK
stack="${1:-dev}"
shift || true

install_pulumi() {
  # PULUMI_INSTALLER replaces the official installer (tests use a fake; mirrors can use their own).
  if [ -n "${PULUMI_INSTALLER:-}" ]; then
    "$PULUMI_INSTALLER" --no-edit-path --install-root "$1" --version "$PULUMI_VERSION"
  else
    curl -fsSL https://get.pulumi.com | sh -s -- --no-edit-path --install-root "$1" --version "$PULUMI_VERSION"
  fi
}

if command -v pulumi >/dev/null 2>&1; then
  pulumi_cli=$(command -v pulumi)
elif [ -x .pulumi-cli/bin/pulumi ]; then
  pulumi_cli="$PWD/.pulumi-cli/bin/pulumi"
else
  echo "No Pulumi CLI on PATH: installing Pulumi $PULUMI_VERSION into $PWD/.pulumi-cli (PATH and shell profile unchanged)." >&2
  install_pulumi "$PWD/.pulumi-cli"
  pulumi_cli="$PWD/.pulumi-cli/bin/pulumi"
  echo "Run it as $pulumi_cli, or add $PWD/.pulumi-cli/bin to PATH yourself." >&2
fi

ensure_venv "${VENV:-.venv}" requirements.txt
mkdir -p .pulumi-state  # the default backend of Pulumi.yaml: file://.pulumi-state

# --create makes the stack when it does not exist; any other failure shows Pulumi's own message.
"$pulumi_cli" stack select --create "$stack"
if [ "${1:-}" = "--prepare" ]; then
  echo "Stack $stack is ready: configure it (README, step 2), then run ./tools/up.sh $stack" >&2
  exit 0
fi
exec "$pulumi_cli" up --stack "$stack" "$@"
