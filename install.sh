#!/usr/bin/env bash
# Digital Vaccine set-up: finds a Python >= 3.12, creates .venv/ in this checkout and installs
# the `vaccine` command into it. Safe to run again: it updates the same .venv in place.
#
#   ./install.sh          the proxy and the dashboard
#   ./install.sh --dev    also the test and lint tools (pytest, hypothesis, ruff, mypy)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
venv="$here/.venv"
extras=""
for arg in "$@"; do
    case "$arg" in
        --dev) extras="[dev]" ;;
        -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

say() { printf '==> %s\n' "$*"; }

# True when "$1" runs and is Python >= 3.12. Version shims (pyenv) may exist but refuse to
# run, so every candidate is actually executed.
good_python() {
    "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
    local c
    if [ -n "${VACCINE_PYTHON:-}" ]; then
        good_python "$VACCINE_PYTHON" && { echo "$VACCINE_PYTHON"; return; }
        echo "install.sh: VACCINE_PYTHON=$VACCINE_PYTHON is not a Python >= 3.12" >&2; exit 1
    fi
    for c in python3.13 python3.12 python3; do
        if command -v "$c" >/dev/null 2>&1 && good_python "$(command -v "$c")"; then
            command -v "$c"; return
        fi
    done
    # pyenv installs versions that its shims only expose when selected; look inside directly.
    local root
    root="$( (command -v pyenv >/dev/null 2>&1 && pyenv root) || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
    for c in $(ls -d "$root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do
        good_python "$c" && { echo "$c"; return; }
    done
    # uv-managed interpreters, then ask uv to fetch one.
    if command -v uv >/dev/null 2>&1; then
        c="$(uv python find '>=3.12' 2>/dev/null || true)"
        if [ -z "$c" ]; then
            say "no Python >= 3.12 found; installing one with uv" >&2
            uv python install 3.12 >&2
            c="$(uv python find '>=3.12')"
        fi
        good_python "$c" && { echo "$c"; return; }
    fi
    return 1
}

if [ -x "$venv/bin/python" ] && good_python "$venv/bin/python"; then
    say "using the existing virtual environment $venv ($("$venv/bin/python" -V))"
else
    if ! py="$(find_python)"; then
        cat >&2 <<MSG
install.sh: no Python >= 3.12 found (mitmproxy 12 needs it).
Install one, then run ./install.sh again, for example:
  Debian/Ubuntu:  sudo apt install python3.12 python3.12-venv
  any Linux/macOS: curl -LsSf https://astral.sh/uv/install.sh | sh   (install.sh then uses uv)
or point VACCINE_PYTHON at an interpreter: VACCINE_PYTHON=/opt/python3.12/bin/python3 ./install.sh
MSG
        exit 1
    fi
    say "creating $venv with $py ($("$py" -V))"
    rm -rf "$venv"
    "$py" -m venv "$venv"
fi

say "installing Digital Vaccine${extras:+ with the developer tools} into .venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".$extras"

"$venv/bin/vaccine" --version >/dev/null
say "installed: $venv/bin/vaccine"
cat <<MSG

Next:
  .venv/bin/vaccine check          validate policies/ and blocklists/
  .venv/bin/vaccine run            start the proxy (listens on the address in policies/settings.yaml)
  .venv/bin/vaccine explain https://example.com --profile emma
MSG
if [ -n "$extras" ]; then
    echo "  .venv/bin/pytest                run the tests"
fi
