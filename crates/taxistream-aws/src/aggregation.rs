//! How the producer puts trips on the stream: KPL aggregated records (the default), or one record
//! per trip; from `TAXISTREAM_AGGREGATION` and `TAXISTREAM_AGGREGATE_MAX_BYTES`.

use crate::settings::{Environment, SettingsError};
use taxistream_core::record::aggregation::DEFAULT_AGGREGATE_BYTES;

/// Aggregation variable: `kpl` (the default) or `none`.
pub const AGGREGATION: &str = "TAXISTREAM_AGGREGATION";
/// Variable of the bound on an aggregated record's bytes; default 51,200 (50 KiB).
pub const AGGREGATE_MAX_BYTES: &str = "TAXISTREAM_AGGREGATE_MAX_BYTES";
/// The largest bound: an aggregate and its partition key within Kinesis' 1 MiB record limit.
pub const MAX_AGGREGATE_BYTES: usize = (1 << 20) - 256;

/// How trips are put on the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// One stream record per trip.
    None,
    /// KPL aggregated records of at most this many bytes (see
    /// [`taxistream_core::record::aggregation::pack`]).
    Kpl {
        /// The bound on an aggregated record's bytes.
        max_bytes: usize,
    },
}

impl Default for Aggregation {
    fn default() -> Self {
        Aggregation::Kpl {
            max_bytes: DEFAULT_AGGREGATE_BYTES,
        }
    }
}

impl Aggregation {
    /// From `kpl` or `none`, and a bound on an aggregate's bytes (the default when `None`).
    pub fn parse(mode: &str, max_bytes: Option<&str>) -> Result<Self, String> {
        let max_bytes = match max_bytes {
            None => DEFAULT_AGGREGATE_BYTES,
            Some(text) => text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|bytes| (1024..=MAX_AGGREGATE_BYTES).contains(bytes))
                .ok_or_else(|| {
                    format!("{text:?}: a number of bytes from 1024 to {MAX_AGGREGATE_BYTES}")
                })?,
        };
        match mode.trim().to_ascii_lowercase().as_str() {
            "kpl" => Ok(Aggregation::Kpl { max_bytes }),
            "none" => Ok(Aggregation::None),
            other => Err(format!("{other:?}: `kpl` or `none`")),
        }
    }

    /// From [`AGGREGATION`] and [`AGGREGATE_MAX_BYTES`].
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Environment<F>,
    ) -> Result<Self, SettingsError> {
        let max_bytes = env.get(AGGREGATE_MAX_BYTES);
        let mode = env.get(AGGREGATION).unwrap_or_else(|| "kpl".to_owned());
        Self::parse(&mode, max_bytes.as_deref()).map_err(|problem| SettingsError {
            variable: if problem.starts_with(&format!("{mode:?}")) {
                AGGREGATION.to_owned()
            } else {
                AGGREGATE_MAX_BYTES.to_owned()
            },
            problem,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn from(values: &'static [(&'static str, &'static str)]) -> Result<Aggregation, SettingsError> {
        Aggregation::from_env(&Environment(|variable: &str| {
            values
                .iter()
                .find(|(name, _)| *name == variable)
                .map(|(_, value)| (*value).to_owned())
        }))
    }

    #[test]
    fn aggregation_is_kpl_of_50_kib_unless_told() {
        assert_eq!(from(&[]).unwrap(), Aggregation::Kpl { max_bytes: 51_200 });
        assert_eq!(from(&[(AGGREGATION, "none")]).unwrap(), Aggregation::None);
        assert_eq!(
            from(&[(AGGREGATION, "KPL"), (AGGREGATE_MAX_BYTES, "200000")]).unwrap(),
            Aggregation::Kpl { max_bytes: 200_000 }
        );
        let error = from(&[(AGGREGATION, "gzip")]).unwrap_err();
        assert_eq!(error.variable, AGGREGATION);
        let error = from(&[(AGGREGATE_MAX_BYTES, "2000000")]).unwrap_err();
        assert_eq!(error.variable, AGGREGATE_MAX_BYTES);
    }
}
