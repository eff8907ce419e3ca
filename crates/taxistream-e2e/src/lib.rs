//! Test support for the AWS roles against moto, a local AWS emulator that `scripts/test.sh`
//! installs and starts: uniquely named resources, events built from JSON fixtures of the real
//! event shapes, and dumps of the DynamoDB and SQLite tables as exact text. The tests themselves
//! are in `tests/moto/` (the Lambda handlers) and in the `taxistream` crate (the CLI).
// Test support: a failed setup step is a failed test, said with its cause.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

pub mod fault_proxy;
pub mod moto;
pub mod python;
