#!/usr/bin/env bash
# Runs every test of the workspace, then the contract fuzzing of the API against openapi.yaml
# (infra/contract.sh, which prints its own `contract:` line), and ends with one line that sums
# them up: the tests of every crate plus the contract's operations. Fails if either failed.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/infra/contract.sh" 2>&1 | tee -a "$log"
contract=${PIPESTATUS[0]}
awk '/^test result:/ {
       for (i = 2; i <= NF; i++) {
         if ($i == "passed;") passed += $(i - 1)
         if ($i == "failed;") failed += $(i - 1)
       }
     }
     /^contract: [0-9]+ passed, [0-9]+ failed$/ { passed += $2; failed += $4 }
     END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
if [[ $status -ne 0 ]]; then exit "$status"; fi
exit "$contract"
