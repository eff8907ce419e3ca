use super::*;
use taxistream_core::report::RunRecord;
use taxistream_core::{Accounting, RejectReason, Thresholds};

fn report_of(figures: ReportFigures, runs: Vec<RunRecord>) -> Report {
    Report {
        store: "test".to_owned(),
        figures,
        runs: RunHistory::Recorded {
            runs,
            unreadable: Vec::new(),
        },
    }
}

fn run_of(inputs: &[&str], bad_timestamps: u64) -> RunRecord {
    let mut accounting = Accounting::default();
    accounting
        .rejected_by_reason
        .insert(RejectReason::BadTimestamp, bad_timestamps);
    RunRecord {
        started_at: "2026-12-06T00:00:00Z".to_owned(),
        finished_at: "2026-12-06T00:00:01Z".to_owned(),
        version: "0".to_owned(),
        inputs: inputs.iter().map(|input| (*input).to_owned()).collect(),
        accounting,
        thresholds: Thresholds::default(),
        unavailable_analyses: Vec::new(),
    }
}

fn plot<'a>(plots: &'a [Plot], id: &str) -> &'a Plot {
    plots.iter().find(|plot| plot.id == id).unwrap()
}

#[test]
fn an_hour_without_trips_or_with_more_high_value_trips_than_trips_has_no_share() {
    let mut figures = ReportFigures::default();
    figures.trips_by_hour[1] = 4;
    figures.high_value_by_hour[1] = 1;
    figures.trips_by_hour[2] = 2;
    figures.high_value_by_hour[2] = 3;
    figures.items.insert(Table::HighValueTrips, 4);
    let plots = plots(&report_of(figures, Vec::new()), &ZoneNames::default());
    let share = plot(&plots, "high-value-share-by-hour");
    let (chart, _) = share.content.as_ref().unwrap();
    assert_eq!(chart.series[0].values[1], 25.0);
    assert!(chart.series[0].values.iter().all(|value| *value <= 100.0));
    assert_eq!(chart.series[0].values[2], 0.0);
    assert!(
        share.notes[0].starts_with("No share for hours 00, 02, 03,"),
        "{:?}",
        share.notes
    );
}

#[test]
fn zones_that_no_high_value_trip_has_make_no_chart() {
    let mut figures = ReportFigures::default();
    figures.items.insert(Table::HighValueTrips, 7);
    figures.high_value_without_zone = 7;
    let plots = plots(&report_of(figures, Vec::new()), &ZoneNames::default());
    let zones = plot(&plots, "top-high-value-pickup-zones");
    let why = zones.content.as_ref().unwrap_err();
    assert!(
        why.starts_with("no high-value trip has a pickup zone"),
        "{why}"
    );
}

#[test]
fn rejected_rows_of_a_rerun_count_once_and_other_inputs_add_up() {
    let runs = vec![
        run_of(&["a.csv"], 3),
        run_of(&["b.csv"], 2),
        run_of(&["a.csv"], 3),
    ];
    let plots = plots(
        &report_of(ReportFigures::default(), runs),
        &ZoneNames::default(),
    );
    let rejected = plot(&plots, "rejected-rows-by-reason");
    let (chart, _) = rejected.content.as_ref().unwrap();
    assert_eq!(chart.series[0].values, [5.0]);
    assert!(
        rejected.notes[0].contains("(2 of 3 runs)"),
        "{:?}",
        rejected.notes
    );
}
