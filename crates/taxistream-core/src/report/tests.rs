use super::*;

fn duration<'a>(pickup: &'a str, minutes: f64, category: &'a str) -> ItemFields<'a> {
    ItemFields {
        pickup_datetime: Some(pickup),
        duration_minutes: Some(minutes),
        duration_category: Some(category),
        ..ItemFields::default()
    }
}

#[test]
fn duration_items_count_per_category_day_hour_and_bin() {
    let mut figures = ReportFigures::default();
    figures.add(
        Table::TripDurationAnalysis,
        &duration("2025-01-01T00:18:38", 8.5, "short"),
    );
    figures.add(
        Table::TripDurationAnalysis,
        &duration("2025-01-01T23:59:59", 31.0, "long"),
    );
    figures.add(
        Table::TripDurationAnalysis,
        &duration("2025-01-02T23:00:00", -3.0, "invalid"),
    );
    assert_eq!(figures.trips(), 3);
    assert_eq!(figures.duration_categories[&DurationCategory::Short], 1);
    assert_eq!(figures.duration_categories[&DurationCategory::Medium], 0);
    assert_eq!(figures.trips_per_day["2025-01-01"], 2);
    assert_eq!(figures.trips_per_day["2025-01-02"], 1);
    assert_eq!(figures.trips_by_hour[23], 2);
    assert_eq!(figures.duration_minutes.series[0].counts[4], 1);
    assert_eq!(figures.duration_minutes.series[2].counts[15], 1);
    assert_eq!(figures.duration_minutes.series[3].below, 1);
    assert!(figures.unreadable.is_empty());
}

#[test]
fn high_value_items_count_per_hour_and_pickup_zone() {
    let mut figures = ReportFigures::default();
    for zone in [Some(132), Some(132), None] {
        figures.add(
            Table::HighValueTrips,
            &ItemFields {
                pickup_datetime: Some("2025-01-01 05:10:00"),
                pickup_location_id: zone,
                ..ItemFields::default()
            },
        );
    }
    figures.add(
        Table::TripDurationAnalysis,
        &duration("2025-01-01T05:00:00", 1.0, "short"),
    );
    assert_eq!(figures.high_value_by_hour[5], 3);
    assert_eq!(figures.high_value_pickup_zones[&132], 2);
    assert_eq!(figures.high_value_without_zone, 1);
    assert!((figures.high_value_share() - 3.0).abs() < 1e-12);
}

#[test]
fn items_the_report_cannot_read_are_counted_as_such() {
    let mut figures = ReportFigures::default();
    figures.add(
        Table::TripDurationAnalysis,
        &duration("yesterday", 1.0, "short"),
    );
    figures.add(
        Table::TripDurationAnalysis,
        &duration("2025-01-01T25:00:00", 1.0, "short"),
    );
    figures.add(
        Table::TripDurationAnalysis,
        &duration("2025-01-01T01:00:00", 1.0, "brief"),
    );
    figures.add(Table::DistanceToFareRatio, &ItemFields::default());
    assert_eq!(figures.unreadable[&Table::TripDurationAnalysis], 3);
    assert_eq!(figures.unreadable[&Table::DistanceToFareRatio], 1);
    assert_eq!(figures.trips(), 3);
    assert!(figures.trips_per_day.is_empty());
}

#[test]
fn figures_gathered_apart_merge_into_the_figures_gathered_together() {
    let items = [
        (
            Table::TripDurationAnalysis,
            duration("2025-01-01T00:18:38", 8.5, "short"),
        ),
        (
            Table::TripDurationAnalysis,
            duration("2025-01-03T10:00:00", 12.0, "medium"),
        ),
        (
            Table::DistanceToFareRatio,
            ItemFields {
                fare_per_mile: Some(7.5),
                profitability: Some("premium"),
                ..ItemFields::default()
            },
        ),
        (
            Table::HighValueTrips,
            ItemFields {
                pickup_datetime: Some("2025-01-03T10:00:00"),
                pickup_location_id: Some(1),
                ..ItemFields::default()
            },
        ),
    ];
    let mut together = ReportFigures::default();
    let mut left = ReportFigures::default();
    let mut right = ReportFigures::default();
    for (index, (table, item)) in items.iter().enumerate() {
        together.add(*table, item);
        if index % 2 == 0 {
            &mut left
        } else {
            &mut right
        }
        .add(*table, item);
    }
    left.merge(&right);
    assert_eq!(left, together);
    assert_eq!(together.fare_per_mile.series[2].counts[15], 1);
}
