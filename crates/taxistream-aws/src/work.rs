//! The producer's work queue: an object that one invocation could not finish before its deadline
//! goes on as a continuation message, read by the next invocation of the same function.

use crate::error::port_error;
use crate::s3::{ObjectRef, ReadFrom};
use serde::{Deserialize, Serialize};
use std::future::Future;
use taxistream_core::Accounting;
use taxistream_core::read::CsvPart;
use taxistream_pipeline::PortError;

/// Where an object goes on: the exact resume position and the counts so far. Sent as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// The object.
    pub bucket: String,
    /// Its key (decoded).
    pub key: String,
    /// The version being read: a continuation never mixes two versions.
    pub etag: Option<String>,
    /// Rows on this line (Parquet: row) and before are done (or another part's).
    pub after_line: u64,
    /// For a part of a Parquet object split into parts: its last row; `None`: to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub through_line: Option<u64>,
    /// For a part of a CSV object split into parts: its header and bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv_part: Option<CsvPart>,
    /// Which invocation of this object this is: 1 for the first continuation.
    pub invocation: u32,
    /// The accounting of the rows done, by the invocations before.
    pub accounting: Accounting,
}

impl Continuation {
    /// The object it continues.
    pub fn object(&self) -> ObjectRef {
        ObjectRef {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
        }
    }

    /// Where reading starts.
    pub fn read_from(&self) -> ReadFrom {
        ReadFrom {
            after_line: self.after_line,
            through_line: self.through_line,
            etag: self.etag.clone(),
            csv_part: self.csv_part,
            split_into: None,
            plan_until: None,
        }
    }

    /// The message body.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A message body back; an error names what is wrong with it.
    pub fn from_json(body: &str) -> Result<Continuation, PortError> {
        serde_json::from_str(body)
            .map_err(|error| PortError::refused_data("not a continuation message").caused_by(error))
    }
}

/// Where continuations go.
pub trait WorkQueue: Send + Sync {
    /// Queues one continuation.
    fn send(
        &self,
        continuation: &Continuation,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// The work queue on SQS.
#[derive(Debug, Clone)]
pub struct SqsWorkQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsWorkQueue {
    /// The queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> Self {
        SqsWorkQueue { client, url }
    }
}

impl WorkQueue for SqsWorkQueue {
    async fn send(&self, continuation: &Continuation) -> Result<(), PortError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(continuation.to_json())
            .send()
            .await
            .map_err(|error| port_error(&format!("SendMessage to {}", self.url), &error))?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_continuation_survives_its_message_body() {
        let mut accounting = Accounting::default();
        accounting.count_trip();
        accounting.count_rejection(taxistream_core::RejectReason::BadNumber);
        let continuation = Continuation {
            bucket: "b".into(),
            key: "incoming/jan 2025.csv".into(),
            etag: Some("\"abc\"".into()),
            after_line: 501,
            through_line: Some(900),
            csv_part: None,
            invocation: 2,
            accounting,
        };
        let back = Continuation::from_json(&continuation.to_json()).unwrap();
        assert_eq!(back, continuation);
        // Without a part's end the field is left out, as in messages from before parts existed.
        let whole = Continuation {
            through_line: None,
            ..continuation.clone()
        };
        assert!(!whole.to_json().contains("through_line"));
        assert!(!whole.to_json().contains("csv_part"));
        assert_eq!(Continuation::from_json(&whole.to_json()).unwrap(), whole);
        let error = Continuation::from_json("{\"bucket\": 3}").unwrap_err();
        assert_eq!(error.fault(), taxistream_pipeline::Fault::Data);
    }
}
