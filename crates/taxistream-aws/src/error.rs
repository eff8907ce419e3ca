//! SDK errors as port errors: one line saying what failed, and whether trying again may help.

use aws_sdk_kinesis::config::http::HttpResponse;
use aws_sdk_kinesis::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use taxistream_pipeline::PortError;

/// Error codes AWS services use for throttling and passing trouble: worth retrying.
const RETRYABLE_CODES: [&str; 12] = [
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "RequestThrottledException",
    "SlowDown",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "KMSThrottlingException",
];

/// True for an error code worth retrying (throttling, a service's passing trouble).
pub fn is_retryable_code(code: &str) -> bool {
    RETRYABLE_CODES.contains(&code)
}

/// Turns an SDK error of `operation` into a port error, classified as retryable or not.
///
/// Every SDK crate's errors share the same HTTP response type, so this serves S3, Kinesis and
/// DynamoDB alike.
pub fn port_error<E>(operation: &str, error: &SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let retryable = match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            error.code().is_some_and(is_retryable_code) || status >= 500 || status == 429
        }
        _ => false,
    };
    PortError {
        message: format!("{operation}: {}", DisplayErrorContext(error)),
        retryable,
    }
}
