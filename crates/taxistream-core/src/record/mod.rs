//! The stream record: one JSON object per trip, the exact bytes put on Kinesis.
//!
//! `{"trip_id":"…","vendor_id":1,"pickup_datetime":"2025-01-01T00:18:38",…,"pickup_longitude":"-73.99"}`:
//! the trip id first, then the present canonical fields in canonical order (numbers as JSON numbers
//! in exact decimal, codes as numbers or strings, timestamps as ISO 8601 strings), then the carried
//! columns as strings under their own names. In our records only canonical names fill fields: a
//! carried column named like an alias (`Total_Amt` beside an empty `total_amount`) stays carried,
//! as the producer left it. A record without a `trip_id` is another producer's (the tutorial's
//! sends a file's rows under the file's own header names): it is read as a row of a file with
//! that header. [`kpl`] reads the Kinesis Producer Library's aggregated records.

pub mod aggregation;
mod decode;
mod encode;
mod flat;
pub mod kpl;

pub use decode::decode;
pub use encode::{encode, surely_fits};

use crate::identity::TripId;
use crate::trip::Trip;
use std::borrow::Cow;

/// A member of a record: its key, and its value as text (`None` for `null`).
type Member<'a> = (Cow<'a, str>, Option<Cow<'a, str>>);

/// A record that is not a trip record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Not a JSON object.
    #[error("not a JSON object: {0}")]
    Json(String),
    /// A field's value is not valid for its field.
    #[error("field {field}: {detail}")]
    Field {
        /// The JSON key.
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// No pickup or dropoff timestamp.
    #[error("no {0}")]
    MissingTimestamp(&'static str),
    /// An aggregated record that cannot be read (set aside whole).
    #[error(transparent)]
    Aggregate(#[from] kpl::AggregateError),
    /// A trip whose largest table item could pass DynamoDB's item limit.
    #[error(
        "its largest table item would be {0} bytes, over DynamoDB's {max}-byte item limit",
        max = crate::item_size::MAX_ITEM_BYTES
    )]
    ItemTooLarge(usize),
}

/// A decoded record: the trip and its id (given, or generated as the producer would).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedRecord {
    /// The id to write under.
    pub id: TripId,
    /// The trip.
    pub trip: Trip,
}

/// Kinesis limit: bytes per record (data plus partition key).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
