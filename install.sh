#!/usr/bin/env bash
# Digital Vaccine set-up: finds a Python >= 3.12, creates .venv/ in this checkout and installs
# the `vaccine` command into it. Safe to run again: it updates the same .venv in place.
#
#   ./install.sh              the proxy and the dashboard
#   ./install.sh --dev        also the test and lint tools (pytest, hypothesis, ruff, mypy)
#   ./install.sh --service    also a systemd service that starts at boot (needs root)
#   ./install.sh --find-python  only say which Python >= 3.12 it would use (getting one if needed)
#
# Without a Python >= 3.12 (Debian 12 has 3.11) it installs uv from the package index into
# .bootstrap/ and lets uv install Python 3.12 (VACCINE_UV=/path/to/uv: use that uv instead).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
venv="$here/.venv"
extras=""
service=""
find_only=""
for arg in "$@"; do
    case "$arg" in
        --dev) extras="[dev]" ;;
        --service) service=1 ;;
        --find-python) find_only=1 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
    # uv-managed interpreters, then ask uv to fetch one; without uv, get uv itself first.
    local uv="${VACCINE_UV:-}"
    if [ -z "$uv" ] && command -v uv >/dev/null 2>&1; then uv="$(command -v uv)"; fi
    if [ -z "$uv" ]; then
        uv="$(bootstrap_uv)" || return 1
    fi
    c="$("$uv" python find '>=3.12' 2>/dev/null || true)"
    if [ -z "$c" ]; then
        say "no Python >= 3.12 on this machine; installing Python 3.12 with uv ($uv)" >&2
        "$uv" python install 3.12 >&2 || return 1
        c="$("$uv" python find '>=3.12' 2>/dev/null || true)"
    fi
    if [ -n "$c" ] && good_python "$c"; then
        say "using Python $("$c" -c 'import platform; print(platform.python_version())') installed by uv at $c" >&2
        echo "$c"; return
    fi
    return 1
}

# uv from the package index, in a virtual environment of the system's own python3 (any 3.x
# with venv), so nothing is installed system-wide.
bootstrap_uv() {
    local boot="$here/.bootstrap" sys_py
    if [ -x "$boot/bin/uv" ]; then echo "$boot/bin/uv"; return; fi
    sys_py="$(command -v python3 || true)"
    if [ -z "$sys_py" ]; then
        echo "install.sh: no python3 at all; install it (sudo apt install python3 python3-venv)" >&2
        return 1
    fi
    say "no Python >= 3.12 found; installing uv into $boot (with $sys_py) to get one" >&2
    if ! "$sys_py" -m venv "$boot" >/dev/null 2>&1; then
        rm -rf "$boot"
        echo "install.sh: $sys_py cannot make a virtual environment; sudo apt install python3-venv, then run ./install.sh again" >&2
        return 1
    fi
    if ! "$boot/bin/python" -m pip install --quiet --disable-pip-version-check uv >&2; then
        echo "install.sh: could not install uv from the package index into $boot" >&2
        return 1
    fi
    echo "$boot/bin/uv"
}

if [ -n "$find_only" ]; then
    if py="$(find_python)"; then echo "$py"; exit 0; fi
    echo "install.sh: no Python >= 3.12 found or installed" >&2; exit 1
fi

if [ -x "$venv/bin/python" ] && good_python "$venv/bin/python"; then
    say "using the existing virtual environment $venv ($("$venv/bin/python" -V))"
else
    if ! py="$(find_python)"; then
        cat >&2 <<MSG
install.sh: no Python >= 3.12 found, and none could be installed (mitmproxy 12 needs it).
uv needs the internet to download Python once. Or install one yourself, then run ./install.sh
again: Ubuntu 24.04 and Debian 13 have it (sudo apt install python3 python3-venv); or point
VACCINE_PYTHON at an interpreter: VACCINE_PYTHON=/opt/python3.12/bin/python3 ./install.sh
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
# Installed in place (-e), the checkout's modules have no bytecode until Python writes it, and
# where PYTHONDONTWRITEBYTECODE is set (containers, CI, some service managers) it never does:
# every start would compile them again, ~70 ms of `vaccine run`'s start-up. Compiled once here;
# a file changed later is still read afresh (its bytecode is then out of date and ignored).
"$venv/bin/python" -m compileall -q -j 0 proxy dashboard >/dev/null 2>&1 || true

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
if [ -n "$service" ]; then
    echo
    say "installing the systemd service"
    "$venv/bin/vaccine" service install ${VACCINE_SERVICE_ROOT:+--root "$VACCINE_SERVICE_ROOT"}
fi
