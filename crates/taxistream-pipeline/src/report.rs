//! `taxistream report`'s use case: the figures of a store's three tables, aggregated on read, and
//! the runs it keeps.

use crate::ports::PortError;
use crate::progress::Progress;
use std::future::Future;
use std::sync::Arc;
pub use taxistream_core::report::{Report, RunHistory};
use taxistream_core::report::{ReportFigures, utc_iso};

/// A store the report reads: its items feed [`ReportFigures::add`], nothing else computes.
pub trait ReportSource {
    /// The store, for people.
    fn describe(&self) -> String;

    /// Every item of the three tables, aggregated; `progress` counts items read.
    fn figures(
        &self,
        progress: Arc<Progress>,
    ) -> impl Future<Output = Result<ReportFigures, PortError>> + Send;

    /// The runs recorded beside the tables.
    fn runs(&self) -> impl Future<Output = Result<RunHistory, PortError>> + Send;
}

/// Reads a store for its report.
pub async fn build_report(
    source: &impl ReportSource,
    progress: Arc<Progress>,
) -> Result<Report, PortError> {
    let figures = source.figures(progress).await?;
    let runs = source.runs().await?;
    Ok(Report {
        store: source.describe(),
        figures,
        runs,
    })
}

/// Now, as ISO 8601 UTC (the epoch on a clock set before it): the core is given times, it
/// reads no clock.
pub fn utc_now_iso() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        });
    utc_iso(seconds)
}
