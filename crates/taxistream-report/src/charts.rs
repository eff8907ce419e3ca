//! Bar charts as SVG, drawn with plotters: vertical (stacked) or horizontal bars over categories.

use plotters::coord::Shift;
use plotters::prelude::*;

/// Series colours, in order (colour-blind safe, from the Okabe–Ito palette).
const PALETTE: [RGBColor; 4] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
];

/// Numbers on a value axis, at most (plotters' own default).
const DEFAULT_VALUE_LABELS: usize = 10;

/// A bar chart's data: one bar per category, one stacked part per series.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Category labels, in drawing order.
    pub categories: Vec<String>,
    /// Series, each with one value per category.
    pub series: Vec<Series>,
    /// What the values measure (the value axis' caption).
    pub value_caption: String,
    /// Bars along the vertical axis, categories labelled on the left (for long names).
    pub horizontal: bool,
}

/// One series of a bar chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its legend label (empty: no legend).
    pub label: String,
    /// One value per category.
    pub values: Vec<f64>,
}

/// Plotters failed to draw (an SVG string backend does not fail on input; this is a bug).
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        ChartError(error.to_string())
    }
}

impl BarChart {
    /// The chart as an `<svg>` element of `width` × `height` pixels.
    pub fn to_svg(&self, width: u32, height: u32) -> Result<String, ChartError> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            root.fill(&WHITE)?;
            if self.horizontal {
                self.draw_horizontal(&root)?;
            } else {
                self.draw_vertical(&root, width)?;
            }
            root.present()?;
        }
        Ok(svg)
    }

    /// The tallest stacked bar, with headroom (1 when every value is 0).
    fn value_range(&self) -> f64 {
        let top = (0..self.categories.len())
            .map(|index| {
                self.series
                    .iter()
                    .filter_map(|series| series.values.get(index))
                    .sum::<f64>()
            })
            .fold(0.0_f64, f64::max);
        if top > 0.0 { top * 1.08 } else { 1.0 }
    }

    /// How many numbers the value axis shows: for counts, no more than there are whole numbers
    /// on it, so that no tick reads 0.5 trips.
    fn value_labels(&self) -> usize {
        let counts = self
            .series
            .iter()
            .flat_map(|series| &series.values)
            .all(|value| value.fract() == 0.0);
        if counts {
            (self.value_range().floor() as usize + 1).clamp(2, DEFAULT_VALUE_LABELS)
        } else {
            DEFAULT_VALUE_LABELS
        }
    }

    /// Per series, per category: the bar part's `(start, end)` along the value axis.
    fn stacked_parts(&self) -> Vec<Vec<(f64, f64)>> {
        let mut base = vec![0.0; self.categories.len()];
        self.series
            .iter()
            .map(|series| {
                base.iter_mut()
                    .enumerate()
                    .map(|(index, start)| {
                        let value = series.values.get(index).copied().unwrap_or(0.0);
                        let part = (*start, *start + value);
                        *start += value;
                        part
                    })
                    .collect()
            })
            .collect()
    }

    fn label_of(&self, index: i32) -> String {
        usize::try_from(index)
            .ok()
            .and_then(|index| self.categories.get(index))
            .cloned()
            .unwrap_or_default()
    }

    /// As many category labels as fit side by side under a chart `width` pixels wide.
    fn fitting_labels(&self, width: u32) -> usize {
        let widest = self
            .categories
            .iter()
            .map(|label| label.chars().count())
            .max()
            .unwrap_or(1);
        // About 7.5 px per character at 13 px, and a gap.
        let per_label = widest as f64 * 7.5 + 12.0;
        let room = f64::from(width.saturating_sub(100));
        ((room / per_label) as usize).clamp(1, self.categories.len().max(1))
    }

    fn draw_vertical<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        width: u32,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let count = i32::try_from(self.categories.len()).unwrap_or(i32::MAX);
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d((0..count).into_segmented(), 0.0..self.value_range())?;
        let label = |value: &SegmentValue<i32>| match value {
            SegmentValue::CenterOf(index) | SegmentValue::Exact(index) => self.label_of(*index),
            SegmentValue::Last => String::new(),
        };
        chart
            .configure_mesh()
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .disable_x_mesh()
            .x_labels(self.fitting_labels(width))
            .x_label_formatter(&label)
            .y_desc(self.value_caption.as_str())
            .y_labels(self.value_labels())
            .y_label_formatter(&|value| short_number(*value))
            .draw()?;
        for (series, parts) in self.series.iter().zip(self.stacked_parts()) {
            let colour = colour_of(&self.series, series);
            let bars = parts
                .into_iter()
                .enumerate()
                .map(move |(index, (low, high))| {
                    let index = i32::try_from(index).unwrap_or(i32::MAX);
                    let mut bar = Rectangle::new(
                        [
                            (SegmentValue::Exact(index), low),
                            (SegmentValue::Exact(index + 1), high),
                        ],
                        colour.filled(),
                    );
                    bar.set_margin(0, 0, 1, 1);
                    bar
                });
            let drawn = chart.draw_series(bars)?;
            if !series.label.is_empty() {
                drawn.label(series.label.as_str()).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                });
            }
        }
        if self.series.iter().any(|series| !series.label.is_empty()) {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font(("sans-serif", 13))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .draw()?;
        }
        Ok(())
    }

    fn draw_horizontal<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let count = i32::try_from(self.categories.len()).unwrap_or(i32::MAX);
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(260)
            .build_cartesian_2d(0.0..self.value_range(), (0..count).into_segmented())?;
        // The first category on top.
        let label = |value: &SegmentValue<i32>| match value {
            SegmentValue::CenterOf(index) | SegmentValue::Exact(index) => {
                self.label_of(count - 1 - *index)
            }
            SegmentValue::Last => String::new(),
        };
        chart
            .configure_mesh()
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .disable_y_mesh()
            .y_labels(self.categories.len())
            .y_label_formatter(&label)
            .x_desc(self.value_caption.as_str())
            .x_labels(self.value_labels())
            .x_label_formatter(&|value| short_number(*value))
            .draw()?;
        for (series, parts) in self.series.iter().zip(self.stacked_parts()) {
            let colour = colour_of(&self.series, series);
            chart.draw_series(parts.into_iter().enumerate().map(|(index, (low, high))| {
                let row = count - 1 - i32::try_from(index).unwrap_or(i32::MAX);
                let mut bar = Rectangle::new(
                    [
                        (low, SegmentValue::Exact(row)),
                        (high, SegmentValue::Exact(row + 1)),
                    ],
                    colour.filled(),
                );
                bar.set_margin(2, 2, 0, 0);
                bar
            }))?;
        }
        Ok(())
    }
}

fn colour_of(all: &[Series], series: &Series) -> RGBColor {
    let position = all
        .iter()
        .position(|candidate| std::ptr::eq(candidate, series))
        .unwrap_or(0);
    PALETTE[position % PALETTE.len()]
}

/// `1234567` as `1.2M`, `12000` as `12k`, `0.25` as `0.25`.
fn short_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if magnitude >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(horizontal: bool) -> BarChart {
        BarChart {
            categories: vec!["a".into(), "b".into(), "c".into()],
            series: vec![
                Series {
                    label: "one".into(),
                    values: vec![1.0, 2.0, 0.0],
                },
                Series {
                    label: "two".into(),
                    values: vec![3.0, 0.0, 0.0],
                },
            ],
            value_caption: "trips".into(),
            horizontal,
        }
    }

    #[test]
    fn stacked_bars_start_where_the_series_below_ends() {
        let parts = chart(false).stacked_parts();
        assert_eq!(parts[0], vec![(0.0, 1.0), (0.0, 2.0), (0.0, 0.0)]);
        assert_eq!(parts[1], vec![(1.0, 4.0), (2.0, 2.0), (0.0, 0.0)]);
    }

    #[test]
    fn both_orientations_draw_an_svg_with_a_bar_per_part_and_the_labels() {
        for horizontal in [false, true] {
            let svg = chart(horizontal).to_svg(600, 300).unwrap_or_default();
            assert!(svg.starts_with("<svg"), "{svg:.80}");
            assert!(svg.matches("<rect").count() >= 6);
            assert!(svg.contains("\na\n") && svg.contains("\ntrips\n"));
        }
    }

    #[test]
    fn a_count_axis_shows_whole_numbers_only() {
        // Top 4 (with headroom 4.32): 0, 1, 2, 3, 4.
        assert_eq!(chart(false).value_labels(), 5);
        let svg = chart(false).to_svg(600, 300).unwrap_or_default();
        assert!(!svg.contains("\n0.5\n") && svg.contains("\n3\n"), "{svg}");
        let mut shares = chart(false);
        shares.series[0].values[0] = 0.5;
        assert_eq!(shares.value_labels(), DEFAULT_VALUE_LABELS);
    }

    #[test]
    fn axis_numbers_are_short() {
        assert_eq!(short_number(1_234_567.0), "1.2M");
        assert_eq!(short_number(12_000.0), "12k");
        assert_eq!(short_number(250.0), "250");
        assert_eq!(short_number(0.25), "0.25");
    }
}
