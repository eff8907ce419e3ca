//! Thresholds from flags, environment and config file, in that order of precedence.

use crate::cli::ThresholdArgs;
use anyhow::{Context, bail};
use rust_decimal::Decimal;
use std::path::Path;
use taxistream_core::number::{double_to_decimal, parse_decimal};
use taxistream_core::{AnalysisRules, Thresholds};

/// Resolves the thresholds: a flag (or its `TAXISTREAM_*` variable, which clap folds in) wins over
/// the config file, which wins over the contract's defaults. Then validates them.
pub fn resolve(args: &ThresholdArgs, config: Option<&Path>) -> anyhow::Result<AnalysisRules> {
    let mut thresholds = match config {
        Some(path) => from_file(path)?,
        None => Thresholds::default(),
    };
    let overrides = [
        (&mut thresholds.high_value_total, args.high_value_total),
        (&mut thresholds.short_trip_minutes, args.short_trip_minutes),
        (&mut thresholds.long_trip_minutes, args.long_trip_minutes),
        (&mut thresholds.max_trip_hours, args.max_trip_hours),
        (&mut thresholds.low_fare_per_mile, args.low_fare_per_mile),
        (
            &mut thresholds.premium_fare_per_mile,
            args.premium_fare_per_mile,
        ),
    ];
    for (slot, value) in overrides {
        if let Some(value) = value {
            *slot = value;
        }
    }
    thresholds.validate().context("invalid thresholds")
}

/// Reads a TOML file with a `[thresholds]` table; unknown keys are errors (typos must not pass).
fn from_file(path: &Path) -> anyhow::Result<Thresholds> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let document: toml::Table = toml::from_str(&text)
        .with_context(|| format!("config file {} is not valid TOML", path.display()))?;
    let mut thresholds = Thresholds::default();
    for (key, value) in &document {
        let toml::Value::Table(table) = value else {
            bail!(
                "config file {}: unknown setting `{key}` (expected a [thresholds] table)",
                path.display()
            );
        };
        if key != "thresholds" {
            bail!(
                "config file {}: unknown table [{key}] (expected [thresholds])",
                path.display()
            );
        }
        for (name, value) in table {
            let number = toml_decimal(value)
                .with_context(|| format!("config file {}: thresholds.{name}", path.display()))?;
            let slot = match name.as_str() {
                "high_value_total" => &mut thresholds.high_value_total,
                "short_trip_minutes" => &mut thresholds.short_trip_minutes,
                "long_trip_minutes" => &mut thresholds.long_trip_minutes,
                "max_trip_hours" => &mut thresholds.max_trip_hours,
                "low_fare_per_mile" => &mut thresholds.low_fare_per_mile,
                "premium_fare_per_mile" => &mut thresholds.premium_fare_per_mile,
                _ => bail!(
                    "config file {}: unknown threshold `{name}` (known: {})",
                    path.display(),
                    Thresholds::NAMES.join(", ")
                ),
            };
            *slot = number;
        }
    }
    Ok(thresholds)
}

fn toml_decimal(value: &toml::Value) -> anyhow::Result<Decimal> {
    match value {
        toml::Value::Integer(integer) => Ok(Decimal::from(*integer)),
        toml::Value::Float(float) => Ok(double_to_decimal(*float, &mut String::new())?),
        toml::Value::String(text) => Ok(parse_decimal(text.trim())?),
        other => bail!("expected a number, got {}", other.type_str()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn write(text: &str) -> anyhow::Result<tempfile::NamedTempFile> {
        let mut file = tempfile::NamedTempFile::new()?;
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        Ok(file)
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() -> anyhow::Result<()> {
        let file = write("[thresholds]\nhigh_value_total = 75.5\nshort_trip_minutes = \"5\"\n")?;
        let args = ThresholdArgs {
            short_trip_minutes: Some(Decimal::from(8)),
            ..ThresholdArgs::default()
        };
        let rules = resolve(&args, Some(file.path()))?;
        assert_eq!(rules.thresholds().high_value_total.to_string(), "75.5");
        assert_eq!(rules.thresholds().short_trip_minutes, Decimal::from(8));
        assert_eq!(rules.thresholds().long_trip_minutes, Decimal::from(30));
        Ok(())
    }

    #[test]
    fn typos_and_contradictions_are_refused() -> anyhow::Result<()> {
        let file = write("[thresholds]\nhigh_value = 75\n")?;
        let error = format!(
            "{:#}",
            resolve(&ThresholdArgs::default(), Some(file.path())).unwrap_err()
        );
        assert!(error.contains("unknown threshold `high_value`"), "{error}");
        let args = ThresholdArgs {
            short_trip_minutes: Some(Decimal::from(45)),
            ..ThresholdArgs::default()
        };
        let error = format!("{:#}", resolve(&args, None).unwrap_err());
        assert!(
            error.contains("short_trip_minutes (45) must not be above long_trip_minutes (30)"),
            "{error}"
        );
        Ok(())
    }
}
