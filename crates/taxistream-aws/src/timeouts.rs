//! Time limits on every SDK call, so that a half-open connection or a silent service fails the
//! call (as retryable) instead of hanging a function or the CLI.

use crate::settings::{Environment, SettingsError, seconds};
use std::time::Duration;

/// Seconds to open a connection; default 3.1 (as the AWS SDKs advise: just over a TCP retry).
pub const CONNECT_TIMEOUT_SECONDS: &str = "TAXISTREAM_CONNECT_TIMEOUT_SECONDS";
/// Seconds one attempt of a call may take until its response starts, and the longest an S3
/// object's body may go without sending a byte; default 30.
pub const ATTEMPT_TIMEOUT_SECONDS: &str = "TAXISTREAM_ATTEMPT_TIMEOUT_SECONDS";
/// Seconds a call may take with the SDK's own retries; default 90.
pub const OPERATION_TIMEOUT_SECONDS: &str = "TAXISTREAM_OPERATION_TIMEOUT_SECONDS";

/// The time limits of SDK calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdkTimeouts {
    /// To open a connection.
    pub connect: Duration,
    /// One attempt, until its response starts; also the longest silence of a streamed body.
    pub attempt: Duration,
    /// A call, all its attempts included.
    pub operation: Duration,
}

impl Default for SdkTimeouts {
    fn default() -> Self {
        SdkTimeouts {
            connect: Duration::from_millis(3_100),
            attempt: Duration::from_secs(30),
            operation: Duration::from_secs(90),
        }
    }
}

impl SdkTimeouts {
    /// From `TAXISTREAM_CONNECT_TIMEOUT_SECONDS`, `TAXISTREAM_ATTEMPT_TIMEOUT_SECONDS` and
    /// `TAXISTREAM_OPERATION_TIMEOUT_SECONDS`; each must be above zero.
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Environment<F>,
    ) -> Result<Self, SettingsError> {
        let defaults = SdkTimeouts::default();
        let positive = |variable: &str, default: Duration| {
            let value = seconds(env, variable, default)?;
            if value.is_zero() {
                return Err(SettingsError {
                    variable: variable.to_owned(),
                    problem: "must be above 0 seconds".to_owned(),
                });
            }
            Ok(value)
        };
        Ok(SdkTimeouts {
            connect: positive(CONNECT_TIMEOUT_SECONDS, defaults.connect)?,
            attempt: positive(ATTEMPT_TIMEOUT_SECONDS, defaults.attempt)?,
            operation: positive(OPERATION_TIMEOUT_SECONDS, defaults.operation)?,
        })
    }

    /// As the SDK takes them.
    pub fn sdk_config(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .read_timeout(self.attempt)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment<impl Fn(&str) -> Option<String>> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Environment(move |variable: &str| {
            pairs
                .iter()
                .find(|(name, _)| name == variable)
                .map(|(_, value)| value.clone())
        })
    }

    #[test]
    fn every_call_has_limits_by_default_and_each_can_be_set() {
        let timeouts = SdkTimeouts::from_env(&env(&[])).unwrap();
        assert_eq!(timeouts, SdkTimeouts::default());
        let config = timeouts.sdk_config();
        assert_eq!(config.connect_timeout(), Some(Duration::from_millis(3_100)));
        assert_eq!(config.operation_timeout(), Some(Duration::from_secs(90)));
        let timeouts = SdkTimeouts::from_env(&env(&[(ATTEMPT_TIMEOUT_SECONDS, "1.5")])).unwrap();
        assert_eq!(timeouts.attempt, Duration::from_millis(1_500));
        assert_eq!(
            timeouts.sdk_config().operation_attempt_timeout(),
            Some(Duration::from_millis(1_500))
        );
    }

    #[test]
    fn a_zero_or_malformed_limit_names_its_variable() {
        for (variable, value) in [
            (CONNECT_TIMEOUT_SECONDS, "0"),
            (OPERATION_TIMEOUT_SECONDS, "a minute"),
        ] {
            let error = SdkTimeouts::from_env(&env(&[(variable, value)])).unwrap_err();
            assert_eq!(error.variable, variable);
        }
    }
}
