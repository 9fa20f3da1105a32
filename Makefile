# The project's commands. `make test` is what CI runs (with the lint gates, see .ci/run).

.PHONY: run test lint fmt-check clippy template-lint ci emulator-start emulator-stop

# The whole system in one process on the embedded store (no cloud, no Python).
run:
	cargo run -p clientwatch-local

# Every test: installs the local AWS emulator and the headless browser if needed, starts the
# emulator, runs the tests, stops it.
test:
	infra/browser.sh install
	infra/emulator.sh run -- infra/run-tests.sh

fmt-check:
	cargo fmt --all --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

template-lint:
	infra/emulator.sh install
	.venv-aws/bin/cfn-lint template.yaml

lint: fmt-check clippy template-lint

ci: lint test

emulator-start:
	@infra/emulator.sh start

emulator-stop:
	@infra/emulator.sh stop
