//! SDK clients, built once per process (per Lambda cold start) from the standard configuration:
//! credentials, region and `AWS_ENDPOINT_URL` as every AWS tool reads them, so one binary runs
//! against AWS or a local emulator.

use crate::timeouts::SdkTimeouts;
use aws_config::BehaviorVersion;
use taxistream_pipeline::PortError;

/// The shared SDK configuration, from the environment, with `timeouts` on every call; an error
/// when no region is configured.
pub async fn load_config(timeouts: &SdkTimeouts) -> Result<aws_config::SdkConfig, PortError> {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts.sdk_config())
        .load()
        .await;
    if config.region().is_none() {
        return Err(PortError::permanent(
            "no AWS region configured: set AWS_REGION (or a profile with a region)",
        ));
    }
    Ok(config)
}

/// An S3 client; path-style addressing when an endpoint is set (emulators serve buckets by
/// path, not by host name).
pub fn s3(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let path_style =
        config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// A Kinesis client.
pub fn kinesis(config: &aws_config::SdkConfig) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::new(config)
}

/// A DynamoDB client.
pub fn dynamodb(config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}
