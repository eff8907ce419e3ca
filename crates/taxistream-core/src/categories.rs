//! A trip's duration category and fare-per-mile tier: the labels the analyses give.

use serde::{Deserialize, Serialize};

/// A trip's duration class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurationCategory {
    /// Under the short bound.
    Short,
    /// From the short to the long bound, inclusive.
    Medium,
    /// Over the long bound.
    Long,
    /// Dropoff not after pickup, or longer than the maximum.
    Invalid,
}

/// A trip's fare-per-mile tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profitability {
    /// Under the low bound per mile.
    Low,
    /// From the low to the premium bound, inclusive.
    Standard,
    /// Over the premium bound.
    Premium,
}

impl DurationCategory {
    /// Every category, in a stable order.
    pub const ALL: [DurationCategory; 4] = [
        DurationCategory::Short,
        DurationCategory::Medium,
        DurationCategory::Long,
        DurationCategory::Invalid,
    ];

    /// The stable lowercase name.
    pub const fn name(self) -> &'static str {
        match self {
            DurationCategory::Short => "short",
            DurationCategory::Medium => "medium",
            DurationCategory::Long => "long",
            DurationCategory::Invalid => "invalid",
        }
    }
}

impl Profitability {
    /// Every tier, in a stable order.
    pub const ALL: [Profitability; 3] = [
        Profitability::Low,
        Profitability::Standard,
        Profitability::Premium,
    ];

    /// The stable lowercase name.
    pub const fn name(self) -> &'static str {
        match self {
            Profitability::Low => "low",
            Profitability::Standard => "standard",
            Profitability::Premium => "premium",
        }
    }
}
