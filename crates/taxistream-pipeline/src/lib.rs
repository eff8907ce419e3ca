//! The use cases of taxistream behind narrow ports, and the embedded adapters.
//!
//! - [`produce`]: a trip file → one stream record per distinct trip (duplicates and rejects counted).
//! - [`consume`]: stream records → the three analyses → items written to the trip tables.
//! - [`ports`]: `RecordSink`, `TripTables`, `RejectSink`: what AWS or local adapters implement.
//! - [`local`]: the in-process sharded stream, SQLite tables, rejects file, and `run_local`.

pub mod consume;
pub mod local;
pub mod ports;
pub mod produce;
pub mod progress;

pub use consume::{ConsumeOutcome, PoisonRecord, consume};
pub use ports::{PortError, RecordSink, RejectSink, StreamRecord, TripTables};
pub use produce::{ProduceError, SeenTrips, produce};
pub use progress::Progress;
