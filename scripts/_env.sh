# Shared by scripts/demo and scripts/test: make a virtual environment once, reinstall
# only when the files that decide its contents change (so a second run is fast).
# usage: ensure_env VENV EXTRAS CONSTRAINTS
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"

# The stamp holds the digest of the files and the extras installed with them: an environment that
# already has the extras asked for (scripts/test's include scripts/demo's) is reused as it is.
ensure_env() {
  local venv="$ROOT/$1" extras="$2" constraints="$ROOT/$3"
  local stamp="$venv/.precheck-stamp"
  local digest have=""
  digest="$(cat "$ROOT/pyproject.toml" "$constraints" | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cut -d' ' -f1 "$stamp")" = "$digest" ]; then
    have="$(cut -s -d' ' -f2 "$stamp")"
    local missing=0 extra
    for extra in ${extras//,/ }; do
      case ",$have," in *",$extra,"*) ;; *) missing=1 ;; esac
    done
    [ "$missing" -eq 0 ] && return 0
    extras="$have,$extras"
  fi
  [ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
  local pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
  "${pip[@]}" --upgrade pip
  # The project's requirements first (scripts/test installs both environments at once: this is the long
  # part), then the project itself, editable, one environment at a time: setuptools writes
  # precheck_st.egg-info into the source folder while it builds, and two builds at once would write the
  # same files under each other. The lock is taken on pyproject.toml, a file every checkout has. (Python
  # 3.10 has no tomllib: there the list is empty and the second step installs everything, locked.)
  local requirements
  mapfile -t requirements < <("$venv/bin/python" - "$ROOT/pyproject.toml" "$extras" <<'PYTHON'
import sys
try:
    import tomllib
except ImportError:
    sys.exit()
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
extras = project.get("optional-dependencies", {})
print("\n".join(project["dependencies"] + [r for name in sys.argv[2].split(",") if name for r in extras[name]]))
PYTHON
  )
  [ "${#requirements[@]}" -eq 0 ] || "${pip[@]}" -c "$constraints" "${requirements[@]}"
  flock "$ROOT/pyproject.toml" "${pip[@]}" -c "$constraints" -e "$ROOT[$extras]"
  echo "$digest $extras" > "$stamp"
}

# Debian's chromium for the browser test of the --html page: installed once (as root, where apt-get
# exists), quietly; elsewhere one line says what to install, and the browser test fails without it.
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 \
      || echo "scripts/test: apt-get install chromium failed: tests/report/test_html.py will fail" >&2
  else
    echo "scripts/test: no chromium on PATH; install it (apt-get install -y chromium): tests/report/test_html.py needs it" >&2
  fi
}
