#!/usr/bin/env bash
# The local AWS emulator for tests: moto's server in a git-ignored virtual environment.
#
#   infra/emulator.sh install        create/refresh .venv-aws from infra/requirements.txt
#   infra/emulator.sh start          start on a free loopback port, create the table, print env
#   infra/emulator.sh stop           stop the emulator started by `start`
#   infra/emulator.sh run -- CMD...  start, run CMD with the emulator's env, always stop after
#
# State lives in .emulator/ (pid, port, log). Tests find the emulator through
# CLIENTWATCH_EMULATOR_URL and clone the template's table (CLIENTWATCH_TEMPLATE_TABLE).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv-aws"
state="$root/.emulator"
table="clientwatch-template"
python=${PYTHON:-python3}

install() {
  local stamp="$venv/.requirements.sha256" want
  want=$(sha256sum "$root/infra/requirements.txt" | cut -d' ' -f1)
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  echo "emulator: installing moto, cfn-lint, schemathesis and standardwebhooks into .venv-aws (about a minute, once)" >&2
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/infra/requirements.txt"
  echo "$want" >"$stamp"
}

running() {
  [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null
}

start() {
  install
  mkdir -p "$state"
  if running; then
    echo "emulator: already running on port $(cat "$state/port")" >&2
    print_env
    return
  fi
  : >"$state/log"
  # One request at a time, so transactions are atomic as on DynamoDB (infra/moto_serial.py).
  "$venv/bin/python" "$root/infra/moto_serial.py" -H 127.0.0.1 -p 0 >"$state/log" 2>&1 &
  echo $! >"$state/pid"
  local port="" url
  for _ in $(seq 1 150); do
    port=$(grep -oE 'Running on http://127\.0\.0\.1:[0-9]+' "$state/log" | grep -oE '[0-9]+$' | head -1 || true)
    if [[ -n "$port" ]] && "$venv/bin/python" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/moto-api/data.json', timeout=2)" 2>/dev/null; then
      break
    fi
    if ! running; then
      echo "emulator: moto exited while starting:" >&2
      cat "$state/log" >&2
      exit 1
    fi
    port=""
    sleep 0.2
  done
  if [[ -z "$port" ]]; then
    echo "emulator: moto did not answer within 30 s; its log:" >&2
    cat "$state/log" >&2
    stop
    exit 1
  fi
  echo "$port" >"$state/port"
  url="http://127.0.0.1:$port"
  "$venv/bin/python" "$root/infra/create_table.py" "$url" "$table" "$root/template.yaml"
  echo "emulator: moto on $url (pid $(cat "$state/pid")), table $table" >&2
  print_env
}

print_env() {
  echo "export CLIENTWATCH_EMULATOR_URL=http://127.0.0.1:$(cat "$state/port")"
  echo "export CLIENTWATCH_TEMPLATE_TABLE=$table"
}

stop() {
  if running; then
    kill "$(cat "$state/pid")" 2>/dev/null || true
    for _ in $(seq 1 50); do running || break; sleep 0.1; done
    running && kill -9 "$(cat "$state/pid")" 2>/dev/null || true
  fi
  rm -f "$state/pid" "$state/port"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  run)
    shift
    [[ "${1:-}" == "--" ]] && shift
    [[ $# -gt 0 ]] || { echo "usage: $0 run -- CMD..." >&2; exit 2; }
    trap stop EXIT
    eval "$(start)"
    "$@"
    ;;
  *)
    echo "usage: $0 install | start | stop | run -- CMD..." >&2
    exit 2
    ;;
esac
