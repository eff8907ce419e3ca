//! SDK errors as port errors: one line saying what failed, whose fault it is, and whether trying
//! again may help. The SDK's own error says only "service error": its code and message are the
//! detail, so it is not kept as the cause.

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

/// Error codes for a request the service refuses as it is (an item too large, a malformed
/// value): the data's fault, and sending it again fails again.
const DATA_CODES: [&str; 2] = ["ValidationException", "InvalidArgumentException"];

/// True for an error code that blames the request's data.
fn is_data_code(code: &str) -> bool {
    DATA_CODES.contains(&code)
}

/// True for an error code worth retrying (throttling, a service's passing trouble).
pub fn is_retryable_code(code: &str) -> bool {
    RETRYABLE_CODES.contains(&code)
}

/// Turns an SDK error of `operation` into a port error, classified as retryable or not, said in
/// one line: `GetObject s3://b/k: NoSuchKey: The specified key does not exist.`
///
/// Every SDK crate's errors share the same HTTP response type, so this serves S3, Kinesis and
/// DynamoDB alike.
pub fn port_error<E>(operation: &str, error: &SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (retryable, detail) = match error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let retryable =
                error.code().is_some_and(is_retryable_code) || status >= 500 || status == 429;
            let detail = match (error.code(), error.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                (None, _) => format!("HTTP status {status}"),
            };
            (retryable, detail)
        }
        SdkError::TimeoutError(_) => (true, "timed out".to_owned()),
        SdkError::DispatchFailure(_) => (
            true,
            format!("cannot reach the service: {}", DisplayErrorContext(error)),
        ),
        SdkError::ResponseError(_) => (
            true,
            format!("unreadable response: {}", DisplayErrorContext(error)),
        ),
        _ => (false, DisplayErrorContext(error).to_string()),
    };
    let message = format!("{operation}: {detail}");
    if error.code().is_some_and(is_data_code) {
        PortError::refused_data(message)
    } else {
        PortError::environment(message, retryable)
    }
}
