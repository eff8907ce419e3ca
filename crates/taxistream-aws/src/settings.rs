//! Settings of the AWS roles from environment variables, with the tutorial's names as defaults.
//! A malformed value fails at start-up with a message naming the variable.

use crate::dynamodb::TableNames;
use crate::retry::RetryPolicy;
use crate::s3::ReadSettings;
use std::path::PathBuf;
use std::time::Duration;
use taxistream_core::number::parse_decimal;
use taxistream_core::{AnalysisRules, Table, Thresholds};

/// Stream name variable; default `taxi_trips`.
pub const STREAM: &str = "TAXISTREAM_STREAM";
/// Rejects bucket variable (producer default: the bucket of the object read).
pub const REJECTS_BUCKET: &str = "TAXISTREAM_REJECTS_BUCKET";
/// Rejects key prefix variable; default `rejects/`.
pub const REJECTS_PREFIX: &str = "TAXISTREAM_REJECTS_PREFIX";
/// Key prefix of the producer's per-invocation reports (`taxistream status`); default `reports/`.
pub const REPORTS_PREFIX: &str = "TAXISTREAM_REPORTS_PREFIX";
/// Bytes of a part of an object split into parts (Parquet: compressed); default 32 MiB.
pub const PART_BYTES: &str = "TAXISTREAM_PART_BYTES";
/// The default part size.
pub const DEFAULT_PART_BYTES: u64 = 32 * 1024 * 1024;
/// Directory rejected rows gather in before upload; default the system's temporary directory.
pub const SPILL_DIR: &str = "TAXISTREAM_SPILL_DIR";
/// Seconds before the invocation's end at which a function stops starting work; default 5.
pub const DEADLINE_MARGIN_SECONDS: &str = "TAXISTREAM_DEADLINE_MARGIN_SECONDS";
/// The default deadline margin: time to upload rejects and answer after the last write.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_secs(5);
/// The producer's work queue URL (continuations); unset: no continuations.
pub const WORK_QUEUE_URL: &str = "TAXISTREAM_WORK_QUEUE_URL";
/// Seconds a producer invocation works before it continues in a new one; unset: no cap.
pub const MAX_WORK_SECONDS: &str = "TAXISTREAM_MAX_WORK_SECONDS";
/// The producer's default deadline margin: time to send its last batch (with retries), upload
/// its rejects and queue its continuation.
pub const DEFAULT_PRODUCER_DEADLINE_MARGIN: Duration = Duration::from_secs(60);
/// The table-name variables, in the order of [`Table::ALL`].
pub const TABLE_VARIABLES: [&str; 3] = [
    "TAXISTREAM_TABLE_HIGH_VALUE_TRIPS",
    "TAXISTREAM_TABLE_TRIP_DURATION_ANALYSIS",
    "TAXISTREAM_TABLE_DISTANCE_TO_FARE_RATIO",
];
/// The threshold variables, in the order of [`Thresholds::NAMES`].
pub const THRESHOLD_VARIABLES: [&str; 6] = [
    "TAXISTREAM_HIGH_VALUE_TOTAL",
    "TAXISTREAM_SHORT_TRIP_MINUTES",
    "TAXISTREAM_LONG_TRIP_MINUTES",
    "TAXISTREAM_MAX_TRIP_HOURS",
    "TAXISTREAM_LOW_FARE_PER_MILE",
    "TAXISTREAM_PREMIUM_FARE_PER_MILE",
];

/// The default stream, as in the tutorial.
pub const DEFAULT_STREAM: &str = "taxi_trips";
/// The default rejects prefix.
pub const DEFAULT_REJECTS_PREFIX: &str = "rejects/";
/// The default reports prefix.
pub const DEFAULT_REPORTS_PREFIX: &str = "reports/";

/// A setting that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {variable}: {problem}")]
pub struct SettingsError {
    /// The variable.
    pub variable: String,
    /// What is wrong.
    pub problem: String,
}

fn problem(variable: &str, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        variable: variable.to_owned(),
        problem: problem.into(),
    }
}

/// Reads variables; an empty value counts as unset (templates often pass empty parameters).
pub struct Environment<F>(pub F);

impl<F: Fn(&str) -> Option<String>> Environment<F> {
    pub(crate) fn get(&self, variable: &str) -> Option<String> {
        (self.0)(variable)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    fn get_or(&self, variable: &str, default: &str) -> String {
        self.get(variable).unwrap_or_else(|| default.to_owned())
    }
}

/// The process environment.
pub fn process_environment() -> Environment<impl Fn(&str) -> Option<String>> {
    Environment(|variable: &str| std::env::var(variable).ok())
}

/// What the producer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerSettings {
    /// The Kinesis stream.
    pub stream: String,
    /// Where rejected rows go; `None`: the bucket of the object read.
    pub rejects_bucket: Option<String>,
    /// Key prefix of rejects objects; keys under it are never read as input.
    pub rejects_prefix: String,
    /// Key prefix of the invocations' reports (in the rejects bucket); never read as input.
    pub reports_prefix: String,
    /// How objects are read.
    pub read: ReadSettings,
    /// Retries of PutRecords.
    pub retry: RetryPolicy,
    /// An object larger than this is split into parts (Parquet: whole row groups, by compressed
    /// bytes; plain CSV: whole records), each queued for its own invocation (with a work queue
    /// only).
    pub part_bytes: u64,
    /// The work queue continuations go to; without it an invocation reads its object to the end.
    pub work_queue_url: Option<String>,
    /// The longest an invocation works before it continues in a new one (besides its deadline).
    pub max_work: Option<Duration>,
    /// How long before the invocation's end it stops and queues a continuation.
    pub deadline_margin: Duration,
    /// KPL aggregated records, or one record per trip.
    pub aggregation: crate::aggregation::Aggregation,
}

impl ProducerSettings {
    /// From `TAXISTREAM_STREAM`, `TAXISTREAM_REJECTS_BUCKET`, `TAXISTREAM_REJECTS_PREFIX`,
    /// `TAXISTREAM_REPORTS_PREFIX`, `TAXISTREAM_SPILL_DIR`, `TAXISTREAM_WORK_QUEUE_URL`,
    /// `TAXISTREAM_MAX_WORK_SECONDS`, `TAXISTREAM_DEADLINE_MARGIN_SECONDS`,
    /// `TAXISTREAM_PART_BYTES`, `TAXISTREAM_AGGREGATION` and `TAXISTREAM_AGGREGATE_MAX_BYTES`.
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Environment<F>,
    ) -> Result<Self, SettingsError> {
        Ok(ProducerSettings {
            stream: env.get_or(STREAM, DEFAULT_STREAM),
            rejects_bucket: env.get(REJECTS_BUCKET),
            rejects_prefix: rejects_prefix(env)?,
            reports_prefix: {
                let prefix = env.get_or(REPORTS_PREFIX, DEFAULT_REPORTS_PREFIX);
                check_rejects_prefix(REPORTS_PREFIX, &prefix)?;
                prefix
            },
            read: ReadSettings {
                spill_dir: env
                    .get(SPILL_DIR)
                    .map_or_else(std::env::temp_dir, PathBuf::from),
                reader_workers: std::thread::available_parallelism().map_or(1, usize::from),
            },
            retry: RetryPolicy::default(),
            part_bytes: match env.get(PART_BYTES) {
                None => DEFAULT_PART_BYTES,
                Some(text) => text
                    .parse()
                    .ok()
                    .filter(|&bytes| bytes > 0)
                    .ok_or_else(|| {
                        problem(
                            PART_BYTES,
                            format!("expected a number of bytes above 0, got {text:?}"),
                        )
                    })?,
            },
            work_queue_url: env.get(WORK_QUEUE_URL),
            max_work: match env.get(MAX_WORK_SECONDS) {
                None => None,
                Some(_) => Some(seconds(env, MAX_WORK_SECONDS, Duration::ZERO)?),
            },
            deadline_margin: seconds(
                env,
                DEADLINE_MARGIN_SECONDS,
                DEFAULT_PRODUCER_DEADLINE_MARGIN,
            )?,
            aggregation: crate::aggregation::Aggregation::from_env(env)?,
        })
    }
}

/// What the consumer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// The DynamoDB table names.
    pub tables: TableNames,
    /// The analysis thresholds, validated.
    pub rules: AnalysisRules,
    /// Where undecodable records go.
    pub rejects_bucket: String,
    /// Key prefix of rejects objects (poison records go under `<prefix>stream/`).
    pub rejects_prefix: String,
    /// Retries of BatchWriteItem.
    pub retry: RetryPolicy,
    /// How long before the invocation's end writing stops.
    pub deadline_margin: Duration,
}

impl ConsumerSettings {
    /// From the table-name and threshold variables, `TAXISTREAM_REJECTS_BUCKET` (required),
    /// `TAXISTREAM_REJECTS_PREFIX` and `TAXISTREAM_DEADLINE_MARGIN_SECONDS`.
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Environment<F>,
    ) -> Result<Self, SettingsError> {
        let rejects_bucket = env.get(REJECTS_BUCKET).ok_or_else(|| {
            problem(
                REJECTS_BUCKET,
                "not set: the bucket that receives undecodable stream records",
            )
        })?;
        Ok(ConsumerSettings {
            tables: table_names(env)?,
            rules: rules_from_env(env)?,
            rejects_bucket,
            rejects_prefix: rejects_prefix(env)?,
            retry: RetryPolicy::default(),
            deadline_margin: seconds(env, DEADLINE_MARGIN_SECONDS, DEFAULT_DEADLINE_MARGIN)?,
        })
    }
}

/// A duration in seconds (a decimal number, up to a day), or `default` when unset.
pub fn seconds<F: Fn(&str) -> Option<String>>(
    env: &Environment<F>,
    variable: &str,
    default: Duration,
) -> Result<Duration, SettingsError> {
    let Some(text) = env.get(variable) else {
        return Ok(default);
    };
    text.parse::<f64>()
        .ok()
        .filter(|seconds| (0.0..=86_400.0).contains(seconds))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            problem(
                variable,
                format!("expected a number of seconds from 0 to 86400, got {text:?}"),
            )
        })
}

/// The table names from their variables, defaulting to the tutorial's; three distinct names.
pub fn table_names<F: Fn(&str) -> Option<String>>(
    env: &Environment<F>,
) -> Result<TableNames, SettingsError> {
    let names = TABLE_VARIABLES.map(|variable| env.get(variable));
    let mut resolved: Vec<String> = Vec::with_capacity(3);
    for ((table, variable), name) in Table::ALL.iter().zip(TABLE_VARIABLES).zip(names) {
        let name = name.unwrap_or_else(|| table.name().to_owned());
        if resolved.contains(&name) {
            return Err(problem(
                variable,
                format!("{name:?} is already the name of another of the three tables"),
            ));
        }
        resolved.push(name);
    }
    let [high_value, duration, ratio]: [String; 3] = resolved
        .try_into()
        .map_err(|_| problem(TABLE_VARIABLES[0], "three table names expected"))?;
    Ok(TableNames::new([high_value, duration, ratio]))
}

/// The thresholds from their variables (the contract's defaults otherwise), validated.
pub fn rules_from_env<F: Fn(&str) -> Option<String>>(
    env: &Environment<F>,
) -> Result<AnalysisRules, SettingsError> {
    let mut thresholds = Thresholds::default();
    let slots = [
        &mut thresholds.high_value_total,
        &mut thresholds.short_trip_minutes,
        &mut thresholds.long_trip_minutes,
        &mut thresholds.max_trip_hours,
        &mut thresholds.low_fare_per_mile,
        &mut thresholds.premium_fare_per_mile,
    ];
    for (slot, variable) in slots.into_iter().zip(THRESHOLD_VARIABLES) {
        if let Some(text) = env.get(variable) {
            *slot = parse_decimal(&text)
                .map_err(|error| problem(variable, format!("{error}: {text:?}")))?;
        }
    }
    thresholds.validate().map_err(|error| {
        problem(
            "TAXISTREAM_* thresholds",
            format!("contradictory thresholds: {error}"),
        )
    })
}

fn rejects_prefix<F: Fn(&str) -> Option<String>>(
    env: &Environment<F>,
) -> Result<String, SettingsError> {
    let prefix = env.get_or(REJECTS_PREFIX, DEFAULT_REJECTS_PREFIX);
    check_rejects_prefix(REJECTS_PREFIX, &prefix)?;
    Ok(prefix)
}

/// Refuses a rejects (or reports) prefix that is not a folder (`rejects/`): with `rejects`, an input named
/// `rejects_2025.csv` would be taken for a rejects object and skipped. `setting` names the
/// variable or flag in the message.
pub fn check_rejects_prefix(setting: &str, prefix: &str) -> Result<(), SettingsError> {
    if prefix.starts_with('/') || !prefix.ends_with('/') {
        return Err(problem(
            setting,
            format!(
                "expected a folder such as \"rejects/\" (ending with '/', not starting with it), got {prefix:?}"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Environment<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Environment(move |variable: &str| map.get(variable).cloned())
    }

    #[test]
    fn defaults_are_the_tutorials_names() {
        let producer = ProducerSettings::from_env(&env(&[])).unwrap();
        assert_eq!(producer.stream, "taxi_trips");
        assert_eq!(producer.rejects_prefix, "rejects/");
        assert_eq!(producer.reports_prefix, "reports/");
        assert_eq!(producer.part_bytes, DEFAULT_PART_BYTES);
        let small = ProducerSettings::from_env(&env(&[(PART_BYTES, "4096")])).unwrap();
        assert_eq!(small.part_bytes, 4096);
        let error = ProducerSettings::from_env(&env(&[(PART_BYTES, "0")])).unwrap_err();
        assert_eq!(error.variable, PART_BYTES);
        let consumer = ConsumerSettings::from_env(&env(&[(REJECTS_BUCKET, "bucket")])).unwrap();
        assert_eq!(
            consumer.tables.name(Table::HighValueTrips),
            "high_value_trips"
        );
        assert_eq!(consumer.rules, Thresholds::default().validate().unwrap());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let error = ConsumerSettings::from_env(&env(&[
            (REJECTS_BUCKET, "bucket"),
            ("TAXISTREAM_HIGH_VALUE_TOTAL", "fifty"),
        ]))
        .unwrap_err();
        assert_eq!(error.variable, "TAXISTREAM_HIGH_VALUE_TOTAL");
        let error = ConsumerSettings::from_env(&env(&[])).unwrap_err();
        assert_eq!(error.variable, REJECTS_BUCKET);
        for bad in ["-1", "soon", "1e9"] {
            let error = ConsumerSettings::from_env(&env(&[
                (REJECTS_BUCKET, "bucket"),
                (DEADLINE_MARGIN_SECONDS, bad),
            ]))
            .unwrap_err();
            assert_eq!(error.variable, DEADLINE_MARGIN_SECONDS);
        }
        let consumer = ConsumerSettings::from_env(&env(&[
            (REJECTS_BUCKET, "bucket"),
            (DEADLINE_MARGIN_SECONDS, "2.5"),
        ]))
        .unwrap();
        assert_eq!(consumer.deadline_margin, Duration::from_millis(2500));
        let error = ConsumerSettings::from_env(&env(&[
            (REJECTS_BUCKET, "bucket"),
            ("TAXISTREAM_SHORT_TRIP_MINUTES", "45"),
        ]))
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("short_trip_minutes (45) must not be above"),
            "{error}"
        );
    }

    #[test]
    fn table_names_must_differ_and_the_rejects_prefix_be_a_folder() {
        let error = ConsumerSettings::from_env(&env(&[
            (REJECTS_BUCKET, "bucket"),
            (
                "TAXISTREAM_TABLE_DISTANCE_TO_FARE_RATIO",
                "high_value_trips",
            ),
        ]))
        .unwrap_err();
        assert_eq!(error.variable, "TAXISTREAM_TABLE_DISTANCE_TO_FARE_RATIO");
        let error = ProducerSettings::from_env(&env(&[(REJECTS_PREFIX, "rejects")])).unwrap_err();
        assert_eq!(error.variable, REJECTS_PREFIX);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let producer = ProducerSettings::from_env(&env(&[(STREAM, "  ")])).unwrap();
        assert_eq!(producer.stream, "taxi_trips");
    }
}
