# Sourced by tools/test.sh, tools/up.sh and tools/lock.sh: the project's virtualenv, set up from
# the hashed lock files with uv (pinned, hash-checked itself), which installs in seconds what pip
# takes minutes for. Only PyPI is used; nothing is installed outside the virtualenv.

# The platform's certificate store, as pip and curl use it: a TLS-intercepting proxy's CA is there.
export UV_SYSTEM_CERTS="${UV_SYSTEM_CERTS:-1}"

# ensure_venv DIR [LOCK FILE...]: create DIR if needed, give it uv, install the lock files into it.
ensure_venv() {
  local venv=$1
  shift
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if ! "$venv/bin/uv" --version 2>/dev/null | grep -q "^uv $(sed -n 's/^uv==\([^ ]*\).*/\1/p' requirements-uv.txt) "; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-uv.txt
  fi
  local lock
  for lock in "$@"; do
    "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --require-hashes -r "$lock"
  done
}
