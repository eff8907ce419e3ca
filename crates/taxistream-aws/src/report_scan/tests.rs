use super::*;
use std::sync::Mutex;
use std::time::Duration;

/// Serves each segment of each table from a list of items, `page_size` at a time, and refuses
/// the first `throttles` calls as DynamoDB does when throttled.
struct FakeTables {
    items: HashMap<String, Vec<ScannedItem>>,
    page_size: usize,
    throttles: Mutex<u32>,
    calls: Mutex<Vec<(String, i32, i32)>>,
}

impl ScanApi for FakeTables {
    async fn scan(
        &self,
        page: &ScanPage,
    ) -> Result<(Vec<ScannedItem>, Option<ScannedItem>), PortError> {
        self.calls
            .lock()
            .unwrap()
            .push((page.table.clone(), page.segment, page.total_segments));
        {
            let mut throttles = self.throttles.lock().unwrap();
            if *throttles > 0 {
                *throttles -= 1;
                return Err(PortError::transient(
                    "Scan: ProvisionedThroughputExceededException: slow down",
                ));
            }
        }
        // Segment s holds the items at positions ≡ s (mod total); the key is the next position.
        let mine: Vec<&ScannedItem> = self.items[&page.table]
            .iter()
            .skip(usize::try_from(page.segment).unwrap())
            .step_by(usize::try_from(page.total_segments).unwrap())
            .collect();
        let start = match &page.start_key {
            Some(key) => match &key["position"] {
                DynamoValue::N(position) => position.parse().unwrap(),
                _ => unreachable!(),
            },
            None => 0,
        };
        let end = (start + self.page_size).min(mine.len());
        let next = (end < mine.len())
            .then(|| HashMap::from([("position".to_owned(), DynamoValue::N(end.to_string()))]));
        Ok((
            mine[start..end]
                .iter()
                .map(|item| (*item).clone())
                .collect(),
            next,
        ))
    }

    async fn item_count(&self, table: &str) -> Result<u64, PortError> {
        Ok(self.items.get(table).map_or(0, Vec::len) as u64)
    }
}

fn duration_item(pickup: &str, minutes: &str, category: &str) -> ScannedItem {
    HashMap::from([
        (
            "pickup_datetime".to_owned(),
            DynamoValue::S(pickup.to_owned()),
        ),
        (
            "duration_minutes".to_owned(),
            DynamoValue::N(minutes.to_owned()),
        ),
        (
            "duration_category".to_owned(),
            DynamoValue::S(category.to_owned()),
        ),
    ])
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
    }
}

fn fake(throttles: u32) -> FakeTables {
    let durations: Vec<ScannedItem> = (0..25)
        .map(|minute| {
            duration_item(
                &format!("2025-01-0{}T0{}:00:00", 1 + minute % 3, minute % 10),
                &format!("{minute}.5"),
                if minute < 10 { "short" } else { "medium" },
            )
        })
        .collect();
    let ratios = vec![HashMap::from([
        (
            "fare_per_mile".to_owned(),
            DynamoValue::N("7.25".to_owned()),
        ),
        (
            "profitability".to_owned(),
            DynamoValue::S("premium".to_owned()),
        ),
    ])];
    let high_value = vec![HashMap::from([
        (
            "pickup_datetime".to_owned(),
            DynamoValue::S("2025-01-01T05:00:00".to_owned()),
        ),
        (
            "pickup_location_id".to_owned(),
            DynamoValue::N("132".to_owned()),
        ),
    ])];
    FakeTables {
        items: HashMap::from([
            ("durations".to_owned(), durations),
            ("ratios".to_owned(), ratios),
            ("high".to_owned(), high_value),
        ]),
        page_size: 2,
        throttles: Mutex::new(throttles),
        calls: Mutex::new(Vec::new()),
    }
}

fn names() -> TableNames {
    TableNames::new([
        "high".to_owned(),
        "durations".to_owned(),
        "ratios".to_owned(),
    ])
}

#[tokio::test]
async fn every_segment_of_every_table_is_read_page_by_page_into_the_figures() {
    let source = DynamoReportSource::new(fake(0), names(), 4, quick_retries());
    let progress = Arc::new(Progress::default());
    let figures = source.figures(Arc::clone(&progress)).await.unwrap();
    assert_eq!(figures.trips(), 25);
    assert_eq!(figures.items_of(Table::HighValueTrips), 1);
    assert_eq!(figures.high_value_pickup_zones[&132], 1);
    assert_eq!(figures.items_of(Table::DistanceToFareRatio), 1);
    assert_eq!(
        figures.duration_categories[&taxistream_core::DurationCategory::Short],
        10
    );
    assert!(figures.unreadable.is_empty());
    assert_eq!(progress.rows(), 27);
    assert_eq!(
        progress.expected_rows(),
        Some(27),
        "the bar's length, from the item counts"
    );
    let calls = source.api.calls.lock().unwrap();
    let segments: std::collections::BTreeSet<(String, i32)> = calls
        .iter()
        .map(|(table, segment, _)| (table.clone(), *segment))
        .collect();
    assert_eq!(segments.len(), 12);
    assert!(calls.iter().all(|(_, _, total)| *total == 4));
}

#[tokio::test]
async fn a_throttled_scan_is_retried_and_the_figures_are_the_same() {
    let calm = DynamoReportSource::new(fake(0), names(), 3, quick_retries());
    let throttled = DynamoReportSource::new(fake(3), names(), 3, quick_retries());
    let progress = Arc::new(Progress::default());
    let expected = calm.figures(Arc::clone(&progress)).await.unwrap();
    let figures = throttled.figures(progress).await.unwrap();
    assert!(figures == expected);
}

#[tokio::test]
async fn throttling_past_the_attempts_fails_saying_how_many_were_made() {
    let source = DynamoReportSource::new(fake(1_000), names(), 1, quick_retries());
    let error = source
        .figures(Arc::new(Progress::default()))
        .await
        .unwrap_err();
    assert!(error.retryable());
    assert!(error.to_string().contains("after 4 attempts"), "{error}");
}
