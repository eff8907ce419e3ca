//! The report's reading of the three DynamoDB tables: a parallel Scan of each, segments at once,
//! only the attributes the report reads, throttling retried with backoff.

use crate::dynamodb::TableNames;
use crate::error::port_error;
use crate::retry::RetryPolicy;
use aws_sdk_dynamodb::types::AttributeValue as DynamoValue;
use futures_util::future::try_join_all;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use taxistream_core::Table;
use taxistream_core::report::{ItemFields, ReportFigures, report_attributes, whole_number};
use taxistream_pipeline::report::{ReportSource, RunHistory};
use taxistream_pipeline::{PortError, Progress};

/// An item as Scan returns it.
pub type ScannedItem = HashMap<String, DynamoValue>;

/// One page of one segment of a Scan.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanPage {
    /// The DynamoDB table.
    pub table: String,
    /// The attributes to return.
    pub attributes: &'static [&'static str],
    /// This segment, of `total_segments`.
    pub segment: i32,
    /// Segments of the parallel Scan.
    pub total_segments: i32,
    /// Where the previous page ended (none: the segment's start).
    pub start_key: Option<ScannedItem>,
}

/// The one DynamoDB call the report makes, narrow so that tests can inject throttling.
pub trait ScanApi: Send + Sync {
    /// One Scan call: the page's items and where the next page starts (none: the segment is done).
    fn scan(
        &self,
        page: &ScanPage,
    ) -> impl Future<Output = Result<(Vec<ScannedItem>, Option<ScannedItem>), PortError>> + Send;

    /// The table's item count as DynamoDB last estimated it (about every six hours), for the
    /// progress bar.
    fn item_count(&self, table: &str) -> impl Future<Output = Result<u64, PortError>> + Send;
}

impl ScanApi for aws_sdk_dynamodb::Client {
    async fn scan(
        &self,
        page: &ScanPage,
    ) -> Result<(Vec<ScannedItem>, Option<ScannedItem>), PortError> {
        // The scan retries pages itself; the SDK's own retries would multiply them.
        let no_sdk_retries = aws_sdk_dynamodb::config::Builder::default()
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled());
        let mut request = self
            .scan()
            .table_name(&page.table)
            .segment(page.segment)
            .total_segments(page.total_segments)
            .set_exclusive_start_key(page.start_key.clone());
        let mut projection = Vec::with_capacity(page.attributes.len());
        for (index, attribute) in page.attributes.iter().enumerate() {
            let placeholder = format!("#a{index}");
            request = request.expression_attribute_names(&placeholder, *attribute);
            projection.push(placeholder);
        }
        let output = request
            .projection_expression(projection.join(", "))
            .customize()
            .config_override(no_sdk_retries)
            .send()
            .await
            .map_err(|error| port_error(&format!("Scan {}", page.table), &error))?;
        Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
    }

    async fn item_count(&self, table: &str) -> Result<u64, PortError> {
        let output = self
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|error| port_error(&format!("DescribeTable {table}"), &error))?;
        let count = output.table.and_then(|table| table.item_count).unwrap_or(0);
        Ok(count.unsigned_abs())
    }
}

/// The three DynamoDB tables, for the report.
#[derive(Debug, Clone)]
pub struct DynamoReportSource<A> {
    api: Arc<A>,
    names: TableNames,
    segments: i32,
    policy: RetryPolicy,
}

impl<A: ScanApi + 'static> DynamoReportSource<A> {
    /// Scans the tables `names` with `segments` segments each.
    pub fn new(api: A, names: TableNames, segments: u16, policy: RetryPolicy) -> Self {
        DynamoReportSource {
            api: Arc::new(api),
            names,
            segments: i32::from(segments.max(1)),
            policy,
        }
    }

    async fn scan_segment(
        &self,
        table: Table,
        segment: i32,
        progress: &Progress,
    ) -> Result<ReportFigures, PortError> {
        let mut figures = ReportFigures::default();
        let mut page = ScanPage {
            table: self.names.name(table).to_owned(),
            attributes: report_attributes(table),
            segment,
            total_segments: self.segments,
            start_key: None,
        };
        loop {
            let (items, next) = self.scan_with_retries(&page).await?;
            for item in &items {
                figures.add(table, &item_fields(item));
            }
            progress.add_rows(items.len() as u64);
            match next {
                Some(key) if !key.is_empty() => page.start_key = Some(key),
                _ => return Ok(figures),
            }
        }
    }

    async fn scan_with_retries(
        &self,
        page: &ScanPage,
    ) -> Result<(Vec<ScannedItem>, Option<ScannedItem>), PortError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.api.scan(page).await {
                Ok(output) => return Ok(output),
                Err(error) if error.retryable() && self.policy.may_retry(attempts) => {
                    tracing::debug!("{}: {error}; retrying", page.table);
                    tokio::time::sleep(self.policy.delay(attempts)).await;
                }
                Err(error) if attempts > 1 => {
                    return Err(error.with_detail(format!("(after {attempts} attempts)")));
                }
                Err(error) => return Err(error),
            }
        }
    }
}

impl<A: ScanApi + 'static> ReportSource for DynamoReportSource<A> {
    fn describe(&self) -> String {
        let names: Vec<&str> = Table::ALL
            .iter()
            .map(|table| self.names.name(*table))
            .collect();
        format!("DynamoDB tables {}", names.join(", "))
    }

    async fn figures(&self, progress: Arc<Progress>) -> Result<ReportFigures, PortError> {
        for table in Table::ALL {
            // Only for the bar: a table that cannot be described fails its scan, which says why.
            if let Ok(count) = self.api.item_count(self.names.name(table)).await {
                progress.expect_rows(count);
            }
        }
        let scans = Table::ALL.into_iter().flat_map(|table| {
            let progress = Arc::clone(&progress);
            (0..self.segments).map(move |segment| {
                let progress = Arc::clone(&progress);
                async move { self.scan_segment(table, segment, &progress).await }
            })
        });
        let parts = try_join_all(scans).await?;
        let mut figures = ReportFigures::default();
        for part in &parts {
            figures.merge(part);
        }
        Ok(figures)
    }

    async fn runs(&self) -> Result<RunHistory, PortError> {
        Ok(RunHistory::NotKept(
            "DynamoDB holds the items only; each uploaded object's accounting and rejected rows \
             are in S3 (`taxistream status s3://bucket/key`)"
                .to_owned(),
        ))
    }
}

/// The report's attributes of an item; a value of another type is left out (counted unreadable).
fn item_fields(item: &ScannedItem) -> ItemFields<'_> {
    let text = |name: &str| match item.get(name) {
        Some(DynamoValue::S(text)) => Some(text.as_str()),
        _ => None,
    };
    let number = |name: &str| match item.get(name) {
        Some(DynamoValue::N(number)) => number.trim().parse::<f64>().ok(),
        _ => None,
    };
    let integer = |name: &str| match item.get(name) {
        Some(DynamoValue::N(number)) => number
            .trim()
            .parse::<i64>()
            .ok()
            .or_else(|| number.trim().parse::<f64>().ok().and_then(whole_number)),
        _ => None,
    };
    ItemFields {
        pickup_datetime: text("pickup_datetime"),
        pickup_location_id: integer("pickup_location_id"),
        duration_minutes: number("duration_minutes"),
        duration_category: text("duration_category"),
        fare_per_mile: number("fare_per_mile"),
        profitability: text("profitability"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
