#!/usr/bin/env bash
# Creates .venv-bench at the repository root from bench/requirements.txt, or refreshes it when
# the requirements changed. Silent when it is already up to date.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv-bench"
requirements="$root/bench/requirements.txt"
python=${PYTHON:-python3}

stamp="$venv/.requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
echo "bench: installing bench/requirements.txt into .venv-bench (once)" >&2
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
echo "$want" >"$stamp"
