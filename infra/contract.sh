#!/usr/bin/env bash
# Contract fuzzing: schemathesis generates requests from openapi.yaml and checks every answer of
# the local server (`clientwatch-local serve` on a fresh embedded store, seeded with the demo
# tenant, called with its admin key) against the document: no 5xx, statuses, content types,
# headers and bodies as documented, bad input refused, and the stateful phase (create, read,
# change and delete through the document's links).
#
#   infra/contract.sh [extra schemathesis options]
#
# Bounded: a fixed seed, a fixed number of examples per operation, one worker, and a time
# budget. Settings are in infra/schemathesis.toml. Ends with one line, `contract: N passed,
# N failed`, and a non-zero exit when any check failed.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv-aws"
bin="${CLIENTWATCH_LOCAL_BIN:-$root/target/debug/clientwatch-local}"

"$root/infra/emulator.sh" install
if [[ -z "${CLIENTWATCH_LOCAL_BIN:-}" ]]; then
  # A no-op after `cargo test --workspace`, which builds it.
  (cd "$root" && cargo build --quiet -p clientwatch-local) || {
    echo "contract: 0 passed, 1 failed"
    exit 1
  }
fi

work=$(mktemp -d)
server=""
cleanup() {
  if [[ -n "$server" ]]; then
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --addr 127.0.0.1:0 --data "$work/data" >"$work/server.out" 2>"$work/server.log" &
server=$!
base=""
for _ in $(seq 1 300); do
  base=$(sed -n 's|^ *API: *\(http://[^ ]*\)/v1 .*|\1|p' "$work/server.out" | head -1)
  [[ -n "$base" ]] && break
  if ! kill -0 "$server" 2>/dev/null; then
    echo "contract: clientwatch-local exited while starting:" >&2
    cat "$work/server.out" "$work/server.log" >&2
    echo "contract: 0 passed, 1 failed"
    exit 1
  fi
  sleep 0.2
done
if [[ -z "$base" ]]; then
  echo "contract: clientwatch-local did not say where it listens within 60 s" >&2
  echo "contract: 0 passed, 1 failed"
  exit 1
fi
# The key reaches schemathesis through the environment (infra/schemathesis.toml), not argv.
CLIENTWATCH_CONTRACT_KEY=$(cat "$work/data/demo-api-key")
export CLIENTWATCH_CONTRACT_KEY

report="$root/target/contract"
mkdir -p "$report"
"$venv/bin/schemathesis" --config-file "$root/infra/schemathesis.toml" run "$root/openapi.yaml" \
  --url "$base" \
  --report junit --report-junit-path "$report/junit.xml" \
  "$@" 2>&1 | tee "$work/run.log"
status=${PIPESTATUS[0]}
cp "$work/server.log" "$report/server.log" 2>/dev/null

# One summary line, counted per operation from the JUnit report.
"$venv/bin/python" - "$report/junit.xml" "$status" <<'EOF'
import sys
import xml.etree.ElementTree as ET

path, status = sys.argv[1], int(sys.argv[2])
try:
    cases = ET.parse(path).getroot().iter("testcase")
    passed = failed = 0
    for case in cases:
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is None:
            passed += 1
except (OSError, ET.ParseError):
    passed, failed = 0, 1
if status != 0 and failed == 0:
    failed = 1
print(f"contract: {passed} passed, {failed} failed")
EOF
exit "$status"
