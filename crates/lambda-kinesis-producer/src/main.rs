//! The producer function's entry point: settings and clients once per cold start, then events:
//! S3 object-created events, and continuations from its work queue.
// The handler future nests the SDK's deeply: its layout needs more than the default 128 levels.
#![recursion_limit = "256"]

use aws_lambda_events::s3::S3Event;
use lambda_kinesis_producer::{SqsEvent, Work, handle_with, handle_work};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use std::time::Duration;
use taxistream_aws::deadline::work_deadline;
use taxistream_aws::settings::process_environment;
use taxistream_aws::{Producer, ProducerSettings, S3Store, SdkTimeouts, SqsWorkQueue, clients};
use tokio::time::Instant;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Honours AWS_LAMBDA_LOG_FORMAT=JSON and AWS_LAMBDA_LOG_LEVEL (else RUST_LOG).
    lambda_runtime::tracing::init_default_subscriber();
    let settings = ProducerSettings::from_env(&process_environment())
        .inspect_err(|error| tracing::error!("cold start failed: {error}"))?;
    let timeouts = SdkTimeouts::from_env(&process_environment())
        .inspect_err(|error| tracing::error!("cold start failed: {error}"))?;
    let config = clients::load_config(&timeouts)
        .await
        .inspect_err(|error| tracing::error!("cold start failed: {error}"))?;
    let queue = settings
        .work_queue_url
        .clone()
        .map(|url| SqsWorkQueue::new(aws_sdk_sqs::Client::new(&config), url));
    let (max_work, margin) = (settings.max_work, settings.deadline_margin);
    let producer = Producer::new(
        S3Store::new(clients::s3(&config)).with_body_stall(timeouts.attempt),
        clients::kinesis(&config),
        settings,
    );
    let (producer, queue) = (&producer, &queue);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let started = Instant::now();
        let deadline = work_deadline(event.context.deadline, margin);
        let until = [deadline, max_work.map(|max| started + max)]
            .into_iter()
            .flatten()
            .min()
            // No deadline known and no cap: an hour is past any Lambda time limit.
            .unwrap_or(started + Duration::from_secs(3_600));
        let work = queue.as_ref().map(|queue| Work {
            queue,
            until,
            deadline,
        });
        match event_source(&event.payload) {
            Some("aws:sqs") => {
                let Some(work) = &work else {
                    return Err(refused(
                        "a work-queue event, but TAXISTREAM_WORK_QUEUE_URL is not set",
                    ));
                };
                let sqs: SqsEvent = serde_json::from_value(event.payload)
                    .map_err(|error| refused(&format!("unreadable SQS event: {error}")))?;
                let response = handle_work(producer, &sqs, work).await;
                Ok(serde_json::to_value(response).unwrap_or_default())
            }
            _ => {
                let s3: S3Event = serde_json::from_value(event.payload)
                    .map_err(|error| refused(&format!("unreadable S3 event: {error}")))?;
                let response = handle_with(producer, &s3, work.as_ref()).await?;
                Ok(serde_json::to_value(response).unwrap_or_default())
            }
        }
    }))
    .await
}

/// The `eventSource` of the event's first record (`aws:s3`, `aws:sqs`).
fn event_source(payload: &Value) -> Option<&str> {
    payload.get("Records")?.get(0)?.get("eventSource")?.as_str()
}

/// An event this function cannot take.
fn refused(message: &str) -> Diagnostic {
    tracing::error!("{message}");
    Diagnostic {
        error_type: "UnexpectedEvent".to_owned(),
        error_message: message.to_owned(),
    }
}
