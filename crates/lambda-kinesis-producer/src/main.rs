//! The producer function's entry point: settings and clients once per cold start, then events.

use aws_lambda_events::s3::S3Event;
use lambda_runtime::{LambdaEvent, service_fn};
use taxistream_aws::settings::process_environment;
use taxistream_aws::{Producer, ProducerSettings, S3Store, SdkTimeouts, clients};

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
    let producer = Producer::new(
        S3Store::new(clients::s3(&config)).with_body_stall(timeouts.attempt),
        clients::kinesis(&config),
        settings,
    );
    let producer = &producer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| async move {
        lambda_kinesis_producer::handle(producer, &event.payload).await
    }))
    .await
}
