#!/usr/bin/env bash
# Bring the deploy topology up as plain processes on 127.0.0.1, or stop it.
#   deploy/local.sh up [--state DIR] [--bucket NAME]   prints `export ...` lines
#   deploy/local.sh down [--state DIR]                 stops exactly the pids it started
#   deploy/local.sh status [--state DIR]
# Uses $PYTHON, else the repository's .venv, else python3 (see deploy/local.py).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  if [ -x "$here/../.venv/bin/python" ]; then py="$here/../.venv/bin/python"; else py=python3; fi
fi
exec "$py" "$here/local.py" "$@"
