//! `taxistream report`'s use case: the figures of a store's three tables, aggregated on read, and
//! the runs it keeps.

use crate::ports::PortError;
use crate::progress::Progress;
use std::future::Future;
use std::sync::Arc;
use taxistream_core::report::ReportFigures;
pub use taxistream_core::report::{Report, RunHistory};

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
