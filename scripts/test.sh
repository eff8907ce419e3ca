#!/usr/bin/env bash
# Runs every test: unit, property, golden and CLI tests, the AWS tests against moto (a local AWS
# emulator this script installs into .venv/aws, starts on 127.0.0.1 and stops on exit), and the
# infrastructure checks (scripts/check_infra.sh: cfn-lint, checkov, parliament, a moto deployment),
# and the report page in headless Chromium (Debian's package, installed when missing).
# The README's second command. Arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
source scripts/lib/python_env.sh
source scripts/lib/moto.sh
source scripts/lib/chromium.sh

python_env .venv/aws scripts/requirements-aws.txt
start_moto .venv/aws
ensure_chromium
cargo test --workspace --locked "$@"
PATH="$PWD/.venv/aws/bin:$PATH" .venv/aws/bin/python scripts/lambda_runtime_test.py
scripts/check_infra.sh
