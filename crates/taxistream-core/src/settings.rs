//! The analysis thresholds (every number of contract §3), their validation, and the compiled rules.

use crate::categories::{DurationCategory, Profitability};
use crate::speed::decimal_order::compare_to_product;
use rust_decimal::Decimal;
use std::cmp::Ordering;

/// The thresholds a user can change. `Default` gives the contract's values.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Thresholds {
    /// A trip is high value when `total_amount` is over this (USD). Default 50.00.
    pub high_value_total: Decimal,
    /// Trips under this many minutes are `short`. Default 10.
    pub short_trip_minutes: Decimal,
    /// Trips over this many minutes are `long`. Default 30.
    pub long_trip_minutes: Decimal,
    /// Trips over this many hours are `invalid`. Default 24.
    pub max_trip_hours: Decimal,
    /// Under this fare per mile (USD) a trip is `low`. Default 3.00.
    pub low_fare_per_mile: Decimal,
    /// Over this fare per mile (USD) a trip is `premium`. Default 7.00.
    pub premium_fare_per_mile: Decimal,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            high_value_total: Decimal::new(5000, 2),
            short_trip_minutes: Decimal::from(10),
            long_trip_minutes: Decimal::from(30),
            max_trip_hours: Decimal::from(24),
            low_fare_per_mile: Decimal::new(300, 2),
            premium_fare_per_mile: Decimal::new(700, 2),
        }
    }
}

/// Thresholds that contradict each other or the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    /// A threshold below zero.
    #[error("{name} must not be negative (got {value})")]
    Negative {
        /// The setting's name.
        name: &'static str,
        /// The value given.
        value: Decimal,
    },
    /// Two bounds in the wrong order.
    #[error("{lower_name} ({lower}) must not be above {upper_name} ({upper})")]
    Order {
        /// The bound that should be lower.
        lower_name: &'static str,
        /// Its value.
        lower: Decimal,
        /// The bound that should be higher.
        upper_name: &'static str,
        /// Its value.
        upper: Decimal,
    },
    /// A duration too large to compute with.
    #[error("{name} is too large (got {value})")]
    TooLarge {
        /// The setting's name.
        name: &'static str,
        /// The value given.
        value: Decimal,
    },
}

/// Validated thresholds, compiled for fast per-trip use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisRules {
    /// The high-value threshold (USD).
    pub high_value_total: Decimal,
    short_nanos: i128,
    long_nanos: i128,
    max_nanos: i128,
    low_fare_per_mile: Decimal,
    premium_fare_per_mile: Decimal,
    thresholds: Thresholds,
}

impl Thresholds {
    /// The setting names, as in config files and flags (with `-` for `_`).
    pub const NAMES: [&'static str; 6] = [
        "high_value_total",
        "short_trip_minutes",
        "long_trip_minutes",
        "max_trip_hours",
        "low_fare_per_mile",
        "premium_fare_per_mile",
    ];

    /// The values, in the order of [`Thresholds::NAMES`].
    pub fn values(&self) -> [Decimal; 6] {
        [
            self.high_value_total,
            self.short_trip_minutes,
            self.long_trip_minutes,
            self.max_trip_hours,
            self.low_fare_per_mile,
            self.premium_fare_per_mile,
        ]
    }

    /// Checks the thresholds and compiles them.
    pub fn validate(&self) -> Result<AnalysisRules, ThresholdError> {
        for (name, value) in Thresholds::NAMES.into_iter().zip(self.values()) {
            if value.is_sign_negative() && !value.is_zero() {
                return Err(ThresholdError::Negative { name, value });
            }
        }
        let max_minutes =
            self.max_trip_hours
                .checked_mul(Decimal::from(60))
                .ok_or(ThresholdError::TooLarge {
                    name: "max_trip_hours",
                    value: self.max_trip_hours,
                })?;
        order(
            "short_trip_minutes",
            self.short_trip_minutes,
            "long_trip_minutes",
            self.long_trip_minutes,
        )?;
        order(
            "long_trip_minutes",
            self.long_trip_minutes,
            "max_trip_hours × 60",
            max_minutes,
        )?;
        order(
            "low_fare_per_mile",
            self.low_fare_per_mile,
            "premium_fare_per_mile",
            self.premium_fare_per_mile,
        )?;
        Ok(AnalysisRules {
            high_value_total: self.high_value_total.normalize(),
            short_nanos: minutes_to_nanos("short_trip_minutes", self.short_trip_minutes)?,
            long_nanos: minutes_to_nanos("long_trip_minutes", self.long_trip_minutes)?,
            max_nanos: minutes_to_nanos("max_trip_hours", max_minutes).map_err(|_| {
                ThresholdError::TooLarge {
                    name: "max_trip_hours",
                    value: self.max_trip_hours,
                }
            })?,
            low_fare_per_mile: self.low_fare_per_mile,
            premium_fare_per_mile: self.premium_fare_per_mile,
            thresholds: self.clone(),
        })
    }
}

fn order(
    lower_name: &'static str,
    lower: Decimal,
    upper_name: &'static str,
    upper: Decimal,
) -> Result<(), ThresholdError> {
    if lower > upper {
        return Err(ThresholdError::Order {
            lower_name,
            lower,
            upper_name,
            upper,
        });
    }
    Ok(())
}

fn minutes_to_nanos(name: &'static str, minutes: Decimal) -> Result<i128, ThresholdError> {
    let too_large = ThresholdError::TooLarge {
        name,
        value: minutes,
    };
    let nanos = minutes
        .checked_mul(Decimal::from(60_000_000_000i64))
        .ok_or_else(|| too_large.clone())?
        .round();
    i128::try_from(nanos).map_err(|_| too_large)
}

impl AnalysisRules {
    /// The thresholds these rules were compiled from.
    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// The category of a trip lasting `nanos` nanoseconds.
    pub fn duration_category(&self, nanos: i128) -> DurationCategory {
        if nanos <= 0 || nanos > self.max_nanos {
            DurationCategory::Invalid
        } else if nanos < self.short_nanos {
            DurationCategory::Short
        } else if nanos <= self.long_nanos {
            DurationCategory::Medium
        } else {
            DurationCategory::Long
        }
    }

    /// The tier of `fare` over `distance` miles (`distance` > 0), compared exactly.
    pub fn profitability(&self, fare: Decimal, distance: Decimal) -> Profitability {
        // A bound too large for a decimal is above every fare.
        let below = |per_mile: Decimal| {
            compare_to_product(fare, per_mile, distance).is_none_or(Ordering::is_lt)
        };
        let above = |per_mile: Decimal| {
            compare_to_product(fare, per_mile, distance).is_some_and(Ordering::is_gt)
        };
        if below(self.low_fare_per_mile) {
            Profitability::Low
        } else if above(self.premium_fare_per_mile) {
            Profitability::Premium
        } else {
            Profitability::Standard
        }
    }
}

impl Default for AnalysisRules {
    fn default() -> Self {
        // The contract's defaults are consistent; a failure here is a bug caught by tests.
        Thresholds::default()
            .validate()
            .unwrap_or_else(|error| unreachable!("default thresholds are valid: {error}"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    const MINUTE: i128 = 60_000_000_000;

    #[test]
    fn duration_bounds_are_as_the_contract_says() {
        let rules = AnalysisRules::default();
        assert_eq!(rules.duration_category(0), DurationCategory::Invalid);
        assert_eq!(rules.duration_category(-1), DurationCategory::Invalid);
        assert_eq!(
            rules.duration_category(10 * MINUTE - 1),
            DurationCategory::Short
        );
        assert_eq!(
            rules.duration_category(10 * MINUTE),
            DurationCategory::Medium
        );
        assert_eq!(
            rules.duration_category(30 * MINUTE),
            DurationCategory::Medium
        );
        assert_eq!(
            rules.duration_category(30 * MINUTE + 1),
            DurationCategory::Long
        );
        assert_eq!(
            rules.duration_category(24 * 60 * MINUTE),
            DurationCategory::Long
        );
        assert_eq!(
            rules.duration_category(24 * 60 * MINUTE + 1),
            DurationCategory::Invalid
        );
    }

    #[test]
    fn tiers_compare_exactly() {
        let rules = AnalysisRules::default();
        let d = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        // 0.3 / 0.1 is exactly 3 (a float would say 2.9999999999999996).
        assert_eq!(
            rules.profitability(d("0.3"), d("0.1")),
            Profitability::Standard
        );
        assert_eq!(rules.profitability(d("2.99"), d("1")), Profitability::Low);
        assert_eq!(rules.profitability(d("7"), d("1")), Profitability::Standard);
        assert_eq!(
            rules.profitability(d("7.01"), d("1")),
            Profitability::Premium
        );
        assert_eq!(rules.profitability(d("-5"), d("1")), Profitability::Low);
    }

    #[test]
    fn contradictory_settings_are_refused() {
        let mut thresholds = Thresholds {
            short_trip_minutes: Decimal::from(40),
            ..Thresholds::default()
        };
        let error = thresholds.validate().unwrap_err().to_string();
        assert_eq!(
            error,
            "short_trip_minutes (40) must not be above long_trip_minutes (30)"
        );
        thresholds = Thresholds {
            high_value_total: Decimal::from(-1),
            ..Thresholds::default()
        };
        let error = thresholds.validate().unwrap_err().to_string();
        assert_eq!(error, "high_value_total must not be negative (got -1)");
    }
}
