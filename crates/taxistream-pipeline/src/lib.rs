//! The use cases of taxistream behind narrow ports, and the embedded adapters.
//!
//! - [`produce`]: a trip file → one stream record per distinct trip (duplicates and rejects counted).
//! - [`consume`]: stream records → the three analyses → items written to the trip tables.
//! - [`ports`]: `TripSource`, `RecordSink`, `TripTables`, `RejectSink`: what AWS or local
//!   adapters implement.
//! - [`source`]: readers as trip sources, in place or on a blocking thread.
//! - [`report`]: a store's tables aggregated for `taxistream report`.
//! - [`local`]: the in-process sharded stream, SQLite tables, rejects file, and `run_local`.

pub mod consume;
pub mod local;
pub mod poison;
pub mod ports;
pub mod produce;
pub mod progress;
pub mod rejects_csv;
pub mod report;
pub mod seen;
pub mod source;

pub use consume::{BatchFailure, ConsumeOutcome, PoisonRecord, consume};
pub use ports::{
    ErrorChain, Fault, PortError, RecordSink, RejectSink, StreamRecord, TripSource, TripTables,
    WriteFailure,
};
pub use produce::{ProduceError, Produced, produce, produce_until};
pub use progress::{CountedSource, Progress};
pub use rejects_csv::RejectsCsv;
pub use report::{Report, ReportSource, RunHistory, build_report, utc_now_iso};
pub use seen::SeenTrips;
pub use source::{BackgroundSource, IteratorSource, SourceInfo, open_in_background};
