//! No library: this crate holds the end-to-end tests of the AWS roles against moto
//! (`tests/moto/`), which `scripts/test.sh` runs with the emulator started.
