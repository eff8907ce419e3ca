//! Work-queue messages: an object continued where an earlier invocation stopped before its
//! deadline. A message whose object cannot be produced is reported failed (SQS delivers it
//! again, then to the work dead-letter queue); the others are done.

use serde::{Deserialize, Serialize};
use taxistream_aws::{
    Continuation, ObjectRef, ObjectReport, ProduceObjectError, Producer, PutRecordsApi, WorkQueue,
};
use taxistream_pipeline::ErrorChain;
use tokio::time::Instant;

/// Where continuations go, and when this invocation stops starting PutRecords calls.
pub struct Work<'a, Q> {
    /// The work queue.
    pub queue: &'a Q,
    /// The moment to stop and continue in a new invocation.
    pub until: Instant,
    /// The invocation's time limit less its safety margin (`None`: not known): what nothing may
    /// run past, not even planning an object's parts, which cannot stop half way.
    pub deadline: Option<Instant>,
}

/// An SQS event: the fields this function reads.
#[derive(Debug, Clone, Deserialize)]
pub struct SqsEvent {
    /// The messages (one, with the template's batch size).
    #[serde(rename = "Records")]
    pub records: Vec<SqsMessage>,
}

/// One SQS message.
#[derive(Debug, Clone, Deserialize)]
pub struct SqsMessage {
    /// Its id, named in a partial batch response.
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// A [`Continuation`] as JSON.
    pub body: String,
}

/// The partial batch response of an SQS event: the messages to deliver again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchResponse {
    /// Messages that failed.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// One failed message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchItemFailure {
    /// Its message id.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// Produces `object` (from where `continued` says), and if it stops before the end, queues its
/// continuation: only then is this invocation's part done.
pub async fn produce_and_continue<K: PutRecordsApi + Clone, Q: WorkQueue>(
    producer: &Producer<K>,
    object: &ObjectRef,
    version: Version<'_>,
    work: Option<&Work<'_, Q>>,
) -> Result<ObjectReport, ProduceObjectError> {
    let until = work.map(|work| work.until);
    let deadline = work.and_then(|work| work.deadline);
    let outcome = producer
        .produce_version_until(
            object,
            version.etag,
            version.continued,
            (until, deadline),
            work.map(|work| work.queue),
        )
        .await?;
    if let (Some(continuation), Some(work)) = (&outcome.continuation, work) {
        work.queue
            .send(continuation)
            .await
            .map_err(|error| ProduceObjectError::Continuation {
                source_name: object.to_string(),
                error,
            })?;
        tracing::info!(
            after_line = continuation.after_line,
            invocation = continuation.invocation,
            "{object}: continued in a new invocation"
        );
    } else if !outcome.report.last_part {
        tracing::info!(
            invocations = outcome.report.invocation + 1,
            "{object}: a part done (`taxistream status` tells when all are)"
        );
    } else {
        tracing::info!(
            invocations = outcome.report.invocation + 1,
            "{object}: last part done"
        );
    }
    Ok(outcome.report)
}

/// Which version of an object an invocation reads: the one an S3 event names (its ETag), or
/// where an earlier invocation stopped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Version<'a> {
    /// The event's ETag, for an object read from its start.
    pub etag: Option<&'a str>,
    /// The earlier invocation's continuation.
    pub continued: Option<&'a Continuation>,
}

/// Handles a work-queue event: each message's object goes on where it stopped.
pub async fn handle_work<K: PutRecordsApi + Clone, Q: WorkQueue>(
    producer: &Producer<K>,
    event: &SqsEvent,
    work: &Work<'_, Q>,
) -> BatchResponse {
    let mut response = BatchResponse::default();
    for message in &event.records {
        let result = match Continuation::from_json(&message.body) {
            Ok(continuation) => {
                let object = continuation.object();
                let version = Version {
                    etag: None,
                    continued: Some(&continuation),
                };
                produce_and_continue(producer, &object, version, Some(work))
                    .await
                    .map(|report| {
                        tracing::info!(
                            report = %serde_json::to_string(&report).unwrap_or_default(),
                            "produced {object}"
                        );
                    })
                    .or_else(|error| match error {
                        // Deleted since: nothing is left to send, and retrying cannot help.
                        ProduceObjectError::Object(taxistream_aws::ObjectError::Missing(_)) => {
                            tracing::warn!(%object, "skipped: no such object (deleted since)");
                            Ok(())
                        }
                        // Replaced since: the newer upload is read on its own event.
                        ProduceObjectError::Object(taxistream_aws::ObjectError::Replaced(_)) => {
                            tracing::warn!(%object, "skipped: replaced by a newer upload since");
                            Ok(())
                        }
                        error => Err(ErrorChain(&error).to_string()),
                    })
            }
            Err(error) => Err(ErrorChain(&error).to_string()),
        };
        if let Err(message_error) = result {
            tracing::error!(message_id = %message.message_id, "{message_error}");
            response.batch_item_failures.push(BatchItemFailure {
                item_identifier: message.message_id.clone(),
            });
        }
    }
    response
}
