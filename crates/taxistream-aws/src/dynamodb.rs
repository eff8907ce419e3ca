//! The three tables in DynamoDB: BatchWriteItem of at most 25 puts (or deletes, for absences),
//! unprocessed items retried.

use crate::deadline::would_pass;
use crate::error::port_error;
use crate::retry::{DeliveryStats, RetryPolicy};
use aws_sdk_dynamodb::types::{
    AttributeValue as DynamoValue, DeleteRequest, PutRequest, WriteRequest,
};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use taxistream_core::{Item, Table};
use taxistream_pipeline::{PortError, TripTables, WriteFailure};
use tokio::time::Instant;

/// DynamoDB limit: requests in one BatchWriteItem call.
pub const MAX_ITEMS_PER_BATCH_WRITE: usize = 25;
/// BatchWriteItem calls in flight at once for one batch of items.
const CONCURRENT_CALLS: usize = 4;

/// Requests per table name, as BatchWriteItem takes and returns them.
pub type RequestItems = HashMap<String, Vec<WriteRequest>>;

/// The one DynamoDB call the consumer makes, narrow so that tests can inject faults around it.
pub trait BatchWriteApi: Send + Sync {
    /// One BatchWriteItem call; returns the unprocessed requests (empty when all were written).
    fn batch_write(
        &self,
        requests: &RequestItems,
    ) -> impl Future<Output = Result<RequestItems, PortError>> + Send;
}

impl BatchWriteApi for aws_sdk_dynamodb::Client {
    async fn batch_write(&self, requests: &RequestItems) -> Result<RequestItems, PortError> {
        // The tables retry (only unprocessed items); the SDK's own retries would multiply them.
        let no_sdk_retries = aws_sdk_dynamodb::config::Builder::default()
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled());
        let output = self
            .batch_write_item()
            .set_request_items(Some(requests.clone()))
            .customize()
            .config_override(no_sdk_retries)
            .send()
            .await
            .map_err(|error| port_error("BatchWriteItem", &error))?;
        Ok(output.unprocessed_items.unwrap_or_default())
    }
}

/// The DynamoDB table name of each of the three tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames([String; 3]);

impl Default for TableNames {
    /// The tutorial's names: `high_value_trips`, `trip_duration_analysis`,
    /// `distance_to_fare_ratio`.
    fn default() -> Self {
        TableNames(Table::ALL.map(|table| table.name().to_owned()))
    }
}

impl TableNames {
    /// Names in the order of [`Table::ALL`].
    pub fn new(names: [String; 3]) -> Self {
        TableNames(names)
    }

    /// The DynamoDB name of `table`.
    pub fn name(&self, table: Table) -> &str {
        &self.0[table.index()]
    }
}

/// The trip tables in DynamoDB. Items are written as puts (whole items replaced: upserts).
#[derive(Debug)]
pub struct DynamoTables<A> {
    api: A,
    names: TableNames,
    policy: RetryPolicy,
    /// No call or retry starts after it, and calls still in flight then are abandoned.
    deadline: Option<Instant>,
    stats: DeliveryStats,
}

impl<A: BatchWriteApi> DynamoTables<A> {
    /// Tables named `names`, written through `api`.
    pub fn new(api: A, names: TableNames, policy: RetryPolicy) -> Self {
        DynamoTables {
            api,
            names,
            policy,
            deadline: None,
            stats: DeliveryStats::default(),
        }
    }

    /// The same tables, written only until `deadline`: what is not written by then fails as
    /// retryable, so that the batch reports the first record not written instead of running
    /// into the invocation's time limit.
    pub fn until(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Calls made and items retried so far.
    pub fn stats(&self) -> DeliveryStats {
        self.stats
    }
}

impl<A: BatchWriteApi> TripTables for DynamoTables<A> {
    /// Writes the items in calls of at most 25, a few calls at a time, each retried (only its
    /// unprocessed items) with jittered backoff. An item whose key comes again later in `items`
    /// is left out: every write is a whole-item put, so the last one is what stays (and in-flight
    /// calls cannot reorder two writes of one key). On a failure that outlasts the retries, says
    /// how many leading items are done: written, or replaced by a later item of the same key.
    async fn write_items(&mut self, items: Vec<Item>) -> Result<(), WriteFailure> {
        let mut calls = Vec::new();
        for indices in plan_calls(&items) {
            let requests = request_items(indices.iter().map(|&index| &items[index]), &self.names)
                .map_err(|error| WriteFailure {
                items_written: 0,
                error,
            })?;
            calls.push((indices[0], requests));
        }
        let (api, policy, deadline) = (&self.api, &self.policy, self.deadline);
        let mut results = futures_util::stream::iter(calls)
            .map(|(start, requests)| async move {
                let (result, stats) = write_with_retries(api, policy, deadline, requests).await;
                (start, result, stats)
            })
            .buffered(CONCURRENT_CALLS);
        while let Some((start, result, stats)) = results.next().await {
            self.stats.merge(&stats);
            if let Err(error) = result {
                return Err(WriteFailure {
                    items_written: start,
                    error,
                });
            }
        }
        Ok(())
    }
}

/// The BatchWriteItem calls for `items`, as positions in `items`, in order: at most 25 each, and
/// only the last item of each key (a call may not write one key twice, and the last write is
/// the one that stays anyway).
pub fn plan_calls(items: &[Item]) -> Vec<Vec<usize>> {
    let mut last: HashMap<(Table, &str), usize> = HashMap::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        last.insert((item.table, &*item.trip_id), index);
    }
    let kept: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(index, item)| last.get(&(item.table, &*item.trip_id)) == Some(index))
        .map(|(index, _)| index)
        .collect();
    kept.chunks(MAX_ITEMS_PER_BATCH_WRITE)
        .map(<[usize]>::to_vec)
        .collect()
}

/// The put requests of `items`, grouped by table name.
pub fn request_items<'a>(
    items: impl IntoIterator<Item = &'a Item>,
    names: &TableNames,
) -> Result<RequestItems, PortError> {
    let mut requests = RequestItems::new();
    for item in items {
        requests
            .entry(names.name(item.table).to_owned())
            .or_default()
            .push(put_request(item)?);
    }
    Ok(requests)
}

/// One item as a put request: `trip_id` (S), numbers as N in exact decimal, the rest as S. An
/// absence ([`Item::absence`]) is a delete request of its `trip_id`.
pub fn put_request(item: &Item) -> Result<WriteRequest, PortError> {
    if item.is_absence() {
        let key = HashMap::from([(
            "trip_id".to_owned(),
            DynamoValue::S(item.trip_id.to_string()),
        )]);
        let delete = DeleteRequest::builder()
            .set_key(Some(key))
            .build()
            .map_err(|error| PortError::internal("delete request").caused_by(error))?;
        return Ok(WriteRequest::builder().delete_request(delete).build());
    }
    let mut attributes = HashMap::with_capacity(item.attributes.len() + 1);
    attributes.insert(
        "trip_id".to_owned(),
        DynamoValue::S(item.trip_id.to_string()),
    );
    for (name, value) in &item.attributes {
        let text = value.to_text();
        let value = if value.is_number() {
            DynamoValue::N(text)
        } else {
            DynamoValue::S(text)
        };
        attributes.insert((*name).to_owned(), value);
    }
    let put = PutRequest::builder()
        .set_item(Some(attributes))
        .build()
        .map_err(|error| PortError::internal("put request").caused_by(error))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// One call's requests, retried until none is unprocessed, the policy gives up, or the deadline
/// comes.
async fn write_with_retries<A: BatchWriteApi>(
    api: &A,
    policy: &RetryPolicy,
    deadline: Option<Instant>,
    requests: RequestItems,
) -> (Result<(), PortError>, DeliveryStats) {
    let mut stats = DeliveryStats::default();
    let mut pending = requests;
    let mut attempts = 0;
    loop {
        attempts += 1;
        stats.calls += 1;
        if would_pass(deadline, Duration::ZERO) {
            let error = PortError::transient("BatchWriteItem not started: the deadline came")
                .with_detail(format_args!("(after {} attempts)", attempts - 1));
            return (Err(error), stats);
        }
        let call = api.batch_write(&pending);
        let outcome = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, call)
                .await
                .unwrap_or_else(|_| {
                    Err(PortError::transient(
                        "BatchWriteItem abandoned at the deadline",
                    ))
                }),
            None => call.await,
        };
        let (error, whole_call) = match outcome {
            Ok(unprocessed) => {
                let left: usize = unprocessed.values().map(Vec::len).sum();
                if left == 0 {
                    return (Ok(()), stats);
                }
                pending = unprocessed;
                let error = PortError::transient(format!(
                    "{left} items left unprocessed by BatchWriteItem"
                ));
                (error, false)
            }
            Err(error) => (error, true),
        };
        let delay = policy.delay(attempts);
        if !error.retryable() || !policy.may_retry(attempts) {
            let error = error.with_detail(format_args!("(after {attempts} attempts)"));
            return (Err(error), stats);
        }
        if would_pass(deadline, delay) {
            let error = error.with_detail(format_args!(
                "(after {attempts} attempts; no time left to retry before the deadline)"
            ));
            return (Err(error), stats);
        }
        // Counted only when it is retried.
        if whole_call {
            stats.retried_calls += 1;
        } else {
            stats.retried_entries += pending.values().map(Vec::len).sum::<usize>() as u64;
        }
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use taxistream_core::AttributeValue;

    fn item(table: Table, id: &str) -> Item {
        Item {
            table,
            trip_id: id.into(),
            attributes: vec![
                (
                    "duration_minutes",
                    AttributeValue::Decimal(rust_decimal::Decimal::new(123, 1)),
                ),
                ("duration_category", AttributeValue::Label("medium")),
            ],
        }
    }

    #[test]
    fn calls_hold_at_most_25_items() {
        let items: Vec<Item> = (0..60)
            .map(|n| item(Table::TripDurationAnalysis, &n.to_string()))
            .collect();
        let calls = plan_calls(&items);
        let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
        assert_eq!(sizes, [25, 25, 10]);
        assert_eq!(calls[1][0], 25);
    }

    #[test]
    fn only_the_last_write_of_a_key_is_sent() {
        let items = [
            item(Table::TripDurationAnalysis, "a"),
            item(Table::DistanceToFareRatio, "a"),
            item(Table::TripDurationAnalysis, "b"),
            item(Table::TripDurationAnalysis, "a"),
            item(Table::TripDurationAnalysis, "c"),
        ];
        assert_eq!(plan_calls(&items), [vec![1, 2, 3, 4]]);
    }

    #[test]
    fn numbers_are_exact_decimal_n_and_the_rest_s() {
        let request = put_request(&item(Table::TripDurationAnalysis, "t1")).unwrap();
        let attributes = request.put_request().unwrap().item();
        assert_eq!(attributes["trip_id"], DynamoValue::S("t1".into()));
        assert_eq!(
            attributes["duration_minutes"],
            DynamoValue::N("12.3".into())
        );
        assert_eq!(
            attributes["duration_category"],
            DynamoValue::S("medium".into())
        );
    }

    #[test]
    fn requests_are_grouped_by_table_name() {
        let names = TableNames::new(["hv".into(), "dur".into(), "ratio".into()]);
        let items = [
            item(Table::TripDurationAnalysis, "a"),
            item(Table::DistanceToFareRatio, "a"),
        ];
        let requests = request_items(&items, &names).unwrap();
        assert_eq!(requests["dur"].len(), 1);
        assert_eq!(requests["ratio"].len(), 1);
        assert!(!requests.contains_key("hv"));
    }
}
