//! The pure core of taxistream: no I/O beyond reading a given source, no async, no AWS.
//!
//! - [`schema`]: canonical trip fields and the column-name aliases of every TLC vintage.
//! - [`read`]: CSV, gzip CSV and Parquet readers yielding trips or rejected rows.
//! - [`identity`]: the trip id, given or a stable 128-bit hash.
//! - [`analytics`], [`categories`] and [`settings`]: the contract's three analyses, the labels they
//!   give and their thresholds.
//! - [`record`]: the JSON stream record, the exact bytes put on Kinesis.
//! - [`accounting`]: rows read = trips + duplicates + rejected, and items per table.
//! - [`report`]: the report's figures, aggregated from the tables' items.
//! - [`speed`]: hot-path helpers, each a faster equivalent of a plain computation
//!   ([`fingerprints`]: a compact set of 128-bit hashes; [`text`]: numbers and ids as text).

pub mod accounting;
pub mod analytics;
pub mod categories;
pub mod identity;
pub mod item_size;
pub mod number;
pub mod read;
pub mod record;
pub mod reject;
pub mod report;
pub mod schema;
pub mod settings;
pub mod speed;
pub mod timestamp;
pub mod trip;

pub use speed::{fingerprints, text};

pub use accounting::{Accounting, AnalysisSummary};
pub use analytics::{AttributeValue, Item, Table, TripAnalysis, analyse};
pub use categories::{DurationCategory, Profitability};
pub use identity::TripId;
pub use read::{Format, InputError, ReadItem, TripReader, open_path, open_stream};
pub use reject::{RawEncoding, RejectReason, RowRejection};
pub use settings::{AnalysisRules, ThresholdError, Thresholds};
pub use trip::Trip;
