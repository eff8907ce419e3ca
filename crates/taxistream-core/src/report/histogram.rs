//! Counts of values in equal-width bins, one series per label (a category or a tier).

use serde::{Deserialize, Serialize};

/// Equal-width bins from `lower`, plus one bin below and one at or above the last edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// The first bin's lower edge.
    pub lower: f64,
    /// Every bin's width.
    pub width: f64,
    /// Number of bins between `lower` and `lower + bins * width`.
    pub bins: usize,
    /// One series per label, in the order given at construction.
    pub series: Vec<HistogramSeries>,
}

/// One label's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramSeries {
    /// The label (a duration category or a profitability tier).
    pub label: String,
    /// Values under `lower`.
    pub below: u64,
    /// Values per bin: `counts[i]` holds `lower + i * width <= value < lower + (i + 1) * width`.
    pub counts: Vec<u64>,
    /// Values at or above the last edge.
    pub above: u64,
}

impl Histogram {
    /// Empty bins for `labels`.
    pub fn new(lower: f64, width: f64, bins: usize, labels: &[&str]) -> Histogram {
        Histogram {
            lower,
            width,
            bins,
            series: labels
                .iter()
                .map(|label| HistogramSeries {
                    label: (*label).to_owned(),
                    below: 0,
                    counts: vec![0; bins],
                    above: 0,
                })
                .collect(),
        }
    }

    /// Counts `value` in the series at `series` (ignored when out of range: the caller's labels
    /// come from the same list).
    pub fn add(&mut self, series: usize, value: f64) {
        let Some(series) = self.series.get_mut(series) else {
            return;
        };
        let position = (value - self.lower) / self.width;
        if position < 0.0 {
            series.below += 1;
        } else if position >= self.bins as f64 || position.is_nan() {
            series.above += 1;
        } else if let Some(count) = series.counts.get_mut(position.floor() as usize) {
            *count += 1;
        }
    }

    /// Adds another histogram of the same bins.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.series.iter_mut().zip(&other.series) {
            mine.below += theirs.below;
            mine.above += theirs.above;
            for (count, more) in mine.counts.iter_mut().zip(&theirs.counts) {
                *count += more;
            }
        }
    }

    /// The lower edge of bin `index`.
    pub fn edge(&self, index: usize) -> f64 {
        self.lower + index as f64 * self.width
    }

    /// Every value counted, all series.
    pub fn total(&self) -> u64 {
        self.series
            .iter()
            .map(|series| series.below + series.above + series.counts.iter().sum::<u64>())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_on_an_edge_counts_in_the_bin_it_starts() {
        let mut histogram = Histogram::new(0.0, 2.0, 3, &["a", "b"]);
        for value in [0.0, 1.99, 2.0, 5.99, 6.0, -0.01, f64::NAN] {
            histogram.add(1, value);
        }
        let series = &histogram.series[1];
        assert_eq!(series.counts, vec![2, 1, 1]);
        assert_eq!((series.below, series.above), (1, 2));
        assert_eq!(histogram.series[0].counts, vec![0, 0, 0]);
        assert_eq!(histogram.total(), 7);
    }

    #[test]
    fn merging_adds_bin_by_bin() {
        let mut left = Histogram::new(0.0, 1.0, 2, &["a"]);
        let mut right = left.clone();
        left.add(0, 0.5);
        right.add(0, 0.5);
        right.add(0, 9.0);
        left.merge(&right);
        assert_eq!(left.series[0].counts, vec![2, 0]);
        assert_eq!(left.series[0].above, 1);
    }
}
