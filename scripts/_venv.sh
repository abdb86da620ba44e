# Sourced by the other scripts: make sure .venv exists and holds the project (with extras $1).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
EXTRAS="${1:-}"
if [ ! -x .venv/bin/python ]; then
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "Switchboard needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)." >&2
        exit 1
    fi
    echo "Creating the virtual environment in .venv ..."
    if ! "$PYTHON" -m venv .venv; then
        echo "Could not create a virtual environment. On Debian/Ubuntu: sudo apt-get install python3-venv" >&2
        rm -rf .venv
        exit 1
    fi
fi
STAMP=".venv/.installed${EXTRAS:+-$EXTRAS}"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    echo "Installing dependencies ..."
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".${EXTRAS:+[$EXTRAS]}"
    touch "$STAMP"
fi
mkdir -p var
