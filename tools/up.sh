#!/usr/bin/env bash
# Set up a fresh machine and run `pulumi up`, with the policy pack as CI applies it, for one stack:
# by default one of your own. ./tools/up.sh --help says how.
set -euo pipefail
cd "$(dirname "$0")/.."
PULUMI_VERSION=3.272.0  # the CLI matching the pinned Python SDK

# local-<user>: stable for a person on a machine, and never one of CI's stacks (dev, prod).
default_stack() {
  local user
  user=$(printf '%s' "${USER:-$(id -un 2>/dev/null || true)}" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9' '-' \
    | tr -s '-' | sed 's/^-*//' | cut -c1-24 | sed 's/-*$//')
  printf 'local-%s\n' "${user:-user}"
}

usage() {
  cat <<EOF
Usage: ./tools/up.sh [STACK] [--prepare | pulumi up flags...]

Sets up .venv from the hashed lock file, finds the Pulumi CLI (Pulumi $PULUMI_VERSION; without one on
PATH it installs it into .pulumi-cli/, leaving PATH and your shell profile alone), selects or
creates STACK and runs \`pulumi up --policy-pack policy\` on it.

  STACK        default $(default_stack): your own stack ("local-" and your user name). dev and prod
               are CI's stacks, deployed from the team backend by .github/workflows/deploy.yml.
  --prepare    stop after selecting or creating the stack, to configure it (README, step 2)
  -h, --help   this text

A stack of your own gets a user flow name and an App ID URI of its own on its first up (both are
unique in a tenant that several stacks may share), unless its Pulumi.<stack>.yaml sets them.
State goes where Pulumi.yaml says (.pulumi-state) unless PULUMI_BACKEND_URL names another backend.
PULUMI_INSTALLER replaces the official installer (it is called with --no-edit-path
--install-root DIR --version VERSION), e.g. to install from a mirror behind a proxy.
EOF
}

case "${1:-}" in -h | --help) usage; exit 0 ;; esac
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  stack=$1
  shift
else
  stack=$(default_stack)
fi
prepare=false
if [ "${1:-}" = "--prepare" ]; then
  prepare=true
  shift
fi

. tools/venv.sh
venv="${VENV:-.venv}"
ensure_venv "$venv" requirements.txt

install_pulumi() {
  # PULUMI_INSTALLER replaces the official installer (tests use a fake; mirrors can use their own).
  if [ -n "${PULUMI_INSTALLER:-}" ]; then
    "$PULUMI_INSTALLER" --no-edit-path --install-root "$1" --version "$PULUMI_VERSION"
  else
    curl -fsSL https://get.pulumi.com | sh -s -- --no-edit-path --install-root "$1" --version "$PULUMI_VERSION"
  fi
}

install_into_project() {  # REASON
  echo "$1: installing Pulumi $PULUMI_VERSION into $PWD/.pulumi-cli (PATH and shell profile unchanged)." >&2
  if ! install_pulumi "$PWD/.pulumi-cli" || [ ! -x .pulumi-cli/bin/pulumi ]; then
    cat >&2 <<EOF

Could not install the Pulumi CLI: there is none on PATH, and the installer failed (above).
The virtualenv ($venv) is ready. To go on, either:
  - Install Pulumi $PULUMI_VERSION yourself (https://www.pulumi.com/docs/install/, or your package
    manager) and put it on PATH, then run ./tools/up.sh again; or
  - set PULUMI_INSTALLER to an installer that can reach a mirror (it is called with
    --no-edit-path --install-root DIR --version $PULUMI_VERSION), then run ./tools/up.sh again.
EOF
    exit 1
  fi
  echo "Run it as $PWD/.pulumi-cli/bin/pulumi, or add $PWD/.pulumi-cli/bin to PATH yourself." >&2
}

cli_version() {
  "$1" version 2>/dev/null | sed -n 's/^v\{0,1\}\([0-9][0-9.]*\).*/\1/p' | head -n 1
}

if command -v pulumi >/dev/null 2>&1; then
  pulumi_cli=$(command -v pulumi)
  found=$(cli_version "$pulumi_cli")
  if [ "$found" != "$PULUMI_VERSION" ]; then
    echo "Warning: Pulumi ${found:-of unknown version} on PATH ($pulumi_cli); this project pins $PULUMI_VERSION," \
      "the CLI matching its Python SDK and policy pack. Install $PULUMI_VERSION, or take pulumi off PATH" \
      "and ./tools/up.sh installs it into .pulumi-cli/." >&2
  fi
else
  pulumi_cli="$PWD/.pulumi-cli/bin/pulumi"
  if [ ! -x "$pulumi_cli" ]; then
    install_into_project "No Pulumi CLI on PATH"
  else
    found=$(cli_version "$pulumi_cli")
    if [ "$found" != "$PULUMI_VERSION" ]; then
      install_into_project "$pulumi_cli is Pulumi ${found:-of unknown version}, not the pinned $PULUMI_VERSION"
    fi
  fi
fi

mkdir -p .pulumi-state  # the default backend of Pulumi.yaml: file://.pulumi-state

# CI's stacks: dev, prod and every committed Pulumi.<stack>.yaml (tools/demos.py).
is_ci_stack() {
  "$venv/bin/python" -c 'import sys; from pathlib import Path; from tools.demos import committed_stacks
sys.exit(sys.argv[1] not in committed_stacks(Path.cwd()))' "$1"
}

# KEY<TAB>VALUE for each tenant-unique key (tools/demos.py demo_config) that the stack file does not
# set and that the stack's platform uses (stack_config.KEYS, which refuses the others).
unique_keys() {
  "$venv/bin/python" - "$1" <<'PY'
import sys
from pathlib import Path

import yaml

import stack_config
from tools.demos import demo_config

stack = sys.argv[1]
path = Path(f"Pulumi.{stack}.yaml")
config = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config") or {} if path.is_file() else {}
platform = config.get(f"{stack_config.NAMESPACE}:platform") or stack_config.KEYS["platform"].default
for key, value in demo_config(stack).items():
    if key not in config and platform in stack_config.KEYS[key.split(":", 1)[1]].platforms:
        print(f"{key}\t{value}")
PY
}

ci_stack=false
if is_ci_stack "$stack"; then
  ci_stack=true
  case "${PULUMI_BACKEND_URL:-file://}" in
    file://*)
      echo "Warning: $stack is a stack CI deploys (.github/workflows/deploy.yml, from the team backend)." \
        "Here its state is local (.pulumi-state): two states owning the same tenant objects stop each other" \
        "with \"already exists\". Use a stack of your own (./tools/up.sh, stack $(default_stack)), or set" \
        "PULUMI_BACKEND_URL to the team backend." >&2
      ;;
  esac
fi

# --create makes the stack when it does not exist; any other failure shows Pulumi's own message.
"$pulumi_cli" stack select --create "$stack"
if [ "$prepare" = true ]; then
  echo "Stack $stack is ready: configure it (README, step 2), then run ./tools/up.sh $stack" >&2
  exit 0
fi

if [ "$ci_stack" = false ]; then
  keys=$(unique_keys "$stack")
  while IFS=$'\t' read -r key value; do
    [ -n "$key" ] || continue
    "$pulumi_cli" config set --stack "$stack" "$key" "$value"
    echo "Stack $stack: $key is $value, unique in the tenant (pulumi config set it to choose another)." >&2
  done <<<"$keys"
fi

# The policy pack runs in policy/venv (policy/PulumiPolicy.yaml), from its own hashed lock file.
ensure_venv policy/venv policy/requirements-lock.txt
exec "$pulumi_cli" up --stack "$stack" --policy-pack policy "$@"
