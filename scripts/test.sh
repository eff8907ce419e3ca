#!/usr/bin/env bash
# Runs every test of the workspace: unit, property, golden, CLI. The README's second command.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
cargo test --workspace --locked "$@"
