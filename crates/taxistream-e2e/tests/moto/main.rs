//! The AWS roles against moto, a local AWS emulator that `scripts/test.sh` installs and starts.
//! Every test creates its own uniquely named bucket, stream and tables.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use taxistream_e2e::moto as common;

mod continued;
mod events;
mod faults;
mod foreign;
mod inputs;
mod kpl;
mod limits;
mod network;
mod parity;
mod part_faults;
mod ranged;
