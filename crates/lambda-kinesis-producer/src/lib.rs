//! `lambda-kinesis-producer`: an S3 object-created event → the object's trips on the Kinesis
//! stream, one record per distinct trip, rejected rows to a CSV object under the rejects prefix.
//! The handler is here (testable with events from JSON); `main.rs` only wires it to the runtime.

use aws_lambda_events::s3::S3Event;
use lambda_runtime::Diagnostic;
use serde::Serialize;
use taxistream_aws::s3::decode_event_key;
use taxistream_core::read::{TRIP_FILE_SUFFIXES, is_trip_file_name};
mod work;

pub use work::{BatchResponse, SqsEvent, Version, Work, handle_work, produce_and_continue};

use taxistream_aws::{
    ObjectError, ObjectRef, ObjectReport, ProduceObjectError, Producer, PutRecordsApi,
    SqsWorkQueue, WorkQueue,
};
use taxistream_pipeline::ErrorChain;

/// What the function returns (and logs): per object, the contract's accounting.
#[derive(Debug, Default, Serialize)]
pub struct ProducerResponse {
    /// Objects produced.
    pub objects: Vec<ObjectReport>,
    /// Event records not produced, and why (not an object creation, a rejects object, an
    /// object deleted since).
    pub skipped: Vec<Skipped>,
}

/// An event record left alone.
#[derive(Debug, Serialize)]
pub struct Skipped {
    /// The object, or the event name when there is no object.
    pub object: String,
    /// Why.
    pub reason: String,
}

/// An object named by an event record, or why the record names none to read.
pub enum EventObject {
    /// An object was created: read it, the version the event names (its ETag).
    Created(ObjectRef, Option<String>),
    /// Nothing to read.
    Skipped(Skipped),
}

/// Every record of the event, each an object to read or a reason to skip it: only
/// `ObjectCreated:*` events count; keys are URL-decoded (`+` is a space).
pub fn event_objects(event: &S3Event) -> Vec<EventObject> {
    event
        .records
        .iter()
        .map(|record| {
            let name = record.event_name.as_deref().unwrap_or("");
            let bucket = record.s3.bucket.name.as_deref().unwrap_or("");
            let key = record.s3.object.key.as_deref().unwrap_or("");
            if !name.starts_with("ObjectCreated:") {
                return EventObject::Skipped(Skipped {
                    object: format!("s3://{bucket}/{key}"),
                    reason: format!("event {name:?} is not an object creation"),
                });
            }
            if bucket.is_empty() || key.is_empty() {
                return EventObject::Skipped(Skipped {
                    object: format!("s3://{bucket}/{key}"),
                    reason: "event names no bucket or key".to_owned(),
                });
            }
            let object = ObjectRef {
                bucket: bucket.to_owned(),
                key: decode_event_key(key),
            };
            EventObject::Created(object, record.s3.object.e_tag.clone())
        })
        .collect()
}

/// Handles an event: every object it names is produced, even when one of them fails. Fails
/// (so that S3 retries the event, and the error metric shows it) when an object could not be
/// produced; trip ids make the replay write the same items.
pub async fn handle<K: PutRecordsApi + Clone>(
    producer: &Producer<K>,
    event: &S3Event,
) -> Result<ProducerResponse, Diagnostic> {
    handle_with(producer, event, None::<&Work<'_, SqsWorkQueue>>).await
}

/// [`handle`], continuing an object on the work queue when it is not done by `work.until`.
pub async fn handle_with<K: PutRecordsApi + Clone, Q: WorkQueue>(
    producer: &Producer<K>,
    event: &S3Event,
    work: Option<&Work<'_, Q>>,
) -> Result<ProducerResponse, Diagnostic> {
    let mut response = ProducerResponse::default();
    let mut failures = Vec::new();
    for object in event_objects(event) {
        let (object, etag) = match object {
            EventObject::Created(object, etag) => (object, etag),
            EventObject::Skipped(skipped) => {
                tracing::info!(object = %skipped.object, reason = %skipped.reason, "skipped");
                response.skipped.push(skipped);
                continue;
            }
        };
        if let Some(output) = producer.own_output_of(&object.key) {
            let reason = format!("under the {output} prefix: written by this function, never read");
            tracing::warn!(%object, %reason, "skipped");
            response.skipped.push(Skipped {
                object: object.to_string(),
                reason,
            });
            continue;
        }
        // The trigger has no suffix filter (S3's are case-sensitive): trip files are told here.
        if !is_trip_file_name(&object.key) {
            let reason = format!(
                "not a trip file: its name does not end in {TRIP_FILE_SUFFIXES} (in any case)"
            );
            tracing::info!(%object, %reason, "skipped");
            response.skipped.push(Skipped {
                object: object.to_string(),
                reason,
            });
            continue;
        }
        let version = Version {
            etag: etag.as_deref(),
            continued: None,
        };
        match produce_and_continue(producer, &object, version, work).await {
            Ok(report) => {
                tracing::info!(
                    report = %serde_json::to_string(&report).unwrap_or_default(),
                    "produced {object}"
                );
                response.objects.push(report);
            }
            Err(ProduceObjectError::Object(
                error @ (ObjectError::Missing(_) | ObjectError::Replaced(_)),
            )) => {
                let reason = match error {
                    ObjectError::Replaced(_) => {
                        "replaced by a newer upload since the event: that upload's own event reads it"
                    }
                    _ => "no such object: deleted before it was read",
                }
                .to_owned();
                tracing::warn!(%object, %reason, "skipped");
                response.skipped.push(Skipped {
                    object: object.to_string(),
                    reason,
                });
            }
            Err(error) => {
                let message = ErrorChain(&error).to_string();
                tracing::error!(retryable = error.is_retryable(), "{message}");
                failures.push(message);
            }
        }
    }
    if failures.is_empty() {
        Ok(response)
    } else {
        Err(Diagnostic {
            error_type: "ObjectNotProduced".to_owned(),
            error_message: failures.join("; "),
        })
    }
}
