//! What real AWS enforces and moto does not: wrappers that refuse, as AWS would, a PutRecords
//! call over 500 records or 5 MiB (or a record over 1 MiB), and a BatchWriteItem call over 25
//! requests or writing one key twice. The parity and fault tests write through them.

use std::collections::HashSet;
use taxistream_aws::dynamodb::RequestItems;
use taxistream_aws::{BatchWriteApi, EntryOutcome, PutRecordsApi};
use taxistream_pipeline::{PortError, StreamRecord};

/// Kinesis with its PutRecords limits enforced.
#[derive(Clone)]
pub struct StrictKinesis<A>(pub A);

impl<A: PutRecordsApi> PutRecordsApi for StrictKinesis<A> {
    async fn put_records(
        &self,
        stream: &str,
        records: &[StreamRecord],
    ) -> Result<Vec<EntryOutcome>, PortError> {
        let bytes: usize = records.iter().map(StreamRecord::billed_size).sum();
        let largest = records
            .iter()
            .map(StreamRecord::billed_size)
            .max()
            .unwrap_or(0);
        if records.is_empty() || records.len() > 500 || bytes > 5 << 20 || largest > 1 << 20 {
            return Err(PortError::permanent(format!(
                "ValidationException (as AWS would say): {} records, {bytes} bytes, largest {largest}",
                records.len()
            )));
        }
        self.0.put_records(stream, records).await
    }
}

/// DynamoDB with its BatchWriteItem limits enforced.
#[derive(Clone)]
pub struct StrictDynamo<A>(pub A);

impl<A: BatchWriteApi> BatchWriteApi for StrictDynamo<A> {
    async fn batch_write(&self, requests: &RequestItems) -> Result<RequestItems, PortError> {
        let count: usize = requests.values().map(Vec::len).sum();
        let mut keys = HashSet::new();
        for (table, writes) in requests {
            for write in writes {
                let id = write
                    .put_request()
                    .and_then(|put| put.item().get("trip_id"))
                    .or_else(|| {
                        write
                            .delete_request()
                            .and_then(|delete| delete.key().get("trip_id"))
                    })
                    .map(|value| format!("{value:?}"));
                if !keys.insert((table.clone(), id.clone())) {
                    return Err(PortError::permanent(format!(
                        "ValidationException (as AWS would say): item keys contain duplicates: {table} {id:?}"
                    )));
                }
            }
        }
        if count == 0 || count > 25 {
            return Err(PortError::permanent(format!(
                "ValidationException (as AWS would say): {count} requests in one BatchWriteItem"
            )));
        }
        self.0.batch_write(requests).await
    }
}
