//! The consumer function's entry point: settings and clients once per cold start, then batches.

use aws_lambda_events::kinesis::KinesisEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use taxistream_aws::deadline::work_deadline;
use taxistream_aws::settings::process_environment;
use taxistream_aws::{Consumer, ConsumerSettings, S3Store, SdkTimeouts, clients};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Honours AWS_LAMBDA_LOG_FORMAT=JSON and AWS_LAMBDA_LOG_LEVEL (else RUST_LOG).
    lambda_runtime::tracing::init_default_subscriber();
    let settings = ConsumerSettings::from_env(&process_environment())
        .inspect_err(|error| tracing::error!("cold start failed: {error}"))?;
    let timeouts = SdkTimeouts::from_env(&process_environment())
        .inspect_err(|error| tracing::error!("cold start failed: {error}"))?;
    let config = clients::load_config(&timeouts)
        .await
        .inspect_err(|error| tracing::error!("cold start failed: {error}"))?;
    let consumer = Consumer::new(
        clients::dynamodb(&config),
        S3Store::new(clients::s3(&config)).with_body_stall(timeouts.attempt),
        settings,
    );
    let consumer = &consumer;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            let deadline = work_deadline(event.context.deadline, consumer.deadline_margin());
            if deadline.is_none() {
                tracing::warn!(
                    deadline_ms = event.context.deadline,
                    "the runtime gave no plausible deadline: writing without one"
                );
            }
            let (response, _) =
                lambda_kinesis_consumer::handle(consumer, &event.payload, deadline).await;
            Ok::<_, lambda_runtime::Error>(response)
        },
    ))
    .await
}
