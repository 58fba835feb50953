# Shared by scripts/demo and scripts/test: make a virtual environment once, reinstall
# only when the files that decide its contents change (so a second run is fast).
# usage: ensure_env VENV EXTRAS CONSTRAINTS
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"

ensure_env() {
  local venv="$ROOT/$1" extras="$2" constraints="$ROOT/$3"
  local stamp="$venv/.precheck-stamp"
  local want
  want="$(cat "$ROOT/pyproject.toml" "$constraints" | sha256sum | cut -d' ' -f1) $extras"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  [ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$constraints" -e "$ROOT[$extras]"
  echo "$want" > "$stamp"
}
