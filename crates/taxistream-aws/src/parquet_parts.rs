//! Which rows of a Parquet object an invocation reads: the row groups, and rows within them,
//! between two row numbers; and how an object splits into parts of whole row groups.

use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
use parquet::arrow::push_decoder::RowGroupSelection;
use serde::{Deserialize, Serialize};

/// Rows of an object, by 1-based row number: those after `after` up to `through` (inclusive;
/// `None`: to the end).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowRange {
    /// Rows on this row and before are not in the range; 0: none.
    pub after: u64,
    /// The last row in the range; `None`: the object's last row.
    pub through: Option<u64>,
}

/// One row group: its rows and its compressed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowGroupSize {
    /// Rows.
    pub rows: u64,
    /// Compressed bytes of its column chunks.
    pub bytes: u64,
}

/// The row groups, and the rows within them, that `range` covers.
pub fn rows_between(row_counts: &[u64], range: RowRange) -> Vec<RowGroupSelection> {
    let through = range.through.unwrap_or(u64::MAX);
    let mut before = 0u64;
    let mut selections = Vec::with_capacity(row_counts.len());
    for (index, &rows) in row_counts.iter().enumerate() {
        let first = before;
        before += rows;
        if first >= through {
            break;
        }
        let skip = range.after.saturating_sub(first).min(rows);
        let take = (through - first).min(rows).saturating_sub(skip);
        if take == 0 {
            continue;
        }
        let selection = (skip > 0 || skip + take < rows).then(|| {
            // Rows in one row group fit in usize wherever a row group fits in memory.
            let size = |rows: u64| usize::try_from(rows).unwrap_or(usize::MAX);
            let mut selectors = Vec::with_capacity(3);
            if skip > 0 {
                selectors.push(RowSelector::skip(size(skip)));
            }
            selectors.push(RowSelector::select(size(take)));
            if skip + take < rows {
                selectors.push(RowSelector::skip(size(rows - skip - take)));
            }
            RowSelection::from(selectors)
        });
        selections.push(RowGroupSelection::new(index, selection));
    }
    selections
}

/// Splits an object into parts of whole row groups, each at least `part_bytes` compressed
/// (the last one may be smaller): one part when the object is no larger than that. Every part
/// but a lone one has rows (row groups without rows join a neighbour).
pub fn plan_parts(groups: &[RowGroupSize], part_bytes: u64) -> Vec<RowRange> {
    let total: u64 = groups.iter().map(|group| group.rows).sum();
    let mut parts = Vec::new();
    let (mut after, mut rows, mut bytes) = (0u64, 0u64, 0u64);
    for group in groups {
        rows += group.rows;
        bytes += group.bytes;
        if bytes >= part_bytes.max(1) && after < rows && rows < total {
            parts.push(RowRange {
                after,
                through: Some(rows),
            });
            (after, bytes) = (rows, 0);
        }
    }
    parts.push(RowRange {
        after,
        through: None,
    });
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(index: usize) -> RowGroupSelection {
        RowGroupSelection::new(index, None)
    }

    fn after(after: u64) -> RowRange {
        RowRange {
            after,
            through: None,
        }
    }

    #[test]
    fn a_resume_skips_whole_row_groups_and_the_rows_read_of_the_next() {
        let counts = [10, 10, 5];
        assert_eq!(
            rows_between(&counts, after(0)),
            [whole(0), whole(1), whole(2)]
        );
        assert_eq!(rows_between(&counts, after(10)), [whole(1), whole(2)]);
        let rest = RowSelection::from(vec![RowSelector::skip(3), RowSelector::select(7)]);
        assert_eq!(
            rows_between(&counts, after(13)),
            [RowGroupSelection::new(1, Some(rest)), whole(2)]
        );
        assert!(rows_between(&counts, after(25)).is_empty());
        assert!(rows_between(&counts, after(99)).is_empty());
    }

    #[test]
    fn a_part_ends_at_its_last_row() {
        let counts = [10, 10, 5];
        let part = |after, through| RowRange {
            after,
            through: Some(through),
        };
        assert_eq!(rows_between(&counts, part(0, 10)), [whole(0)]);
        assert_eq!(rows_between(&counts, part(10, 25)), [whole(1), whole(2)]);
        let middle = RowSelection::from(vec![
            RowSelector::skip(2),
            RowSelector::select(5),
            RowSelector::skip(3),
        ]);
        assert_eq!(
            rows_between(&counts, part(12, 17)),
            [RowGroupSelection::new(1, Some(middle))]
        );
        assert!(rows_between(&counts, part(10, 10)).is_empty());
    }

    #[test]
    fn parts_are_whole_row_groups_of_at_least_the_part_size() {
        let groups = [
            RowGroupSize {
                rows: 10,
                bytes: 40,
            },
            RowGroupSize {
                rows: 10,
                bytes: 70,
            },
            RowGroupSize {
                rows: 10,
                bytes: 100,
            },
            RowGroupSize { rows: 5, bytes: 10 },
        ];
        let part = |after, through| RowRange { after, through };
        assert_eq!(
            plan_parts(&groups, 100),
            [part(0, Some(20)), part(20, Some(30)), part(30, None)]
        );
        assert_eq!(plan_parts(&groups, 1_000), [part(0, None)]);
        assert_eq!(plan_parts(&groups[..1], 1), [part(0, None)]);
        assert_eq!(plan_parts(&[], 1), [part(0, None)]);
        // Each part's rows follow the last one's, and together they cover every row.
        let parts = plan_parts(&groups, 1);
        assert_eq!(parts.len(), 4);
        for pair in parts.windows(2) {
            assert_eq!(pair[0].through, Some(pair[1].after));
        }
    }

    #[test]
    fn row_groups_without_rows_make_no_part_of_their_own() {
        let group = |rows| RowGroupSize { rows, bytes: 50 };
        let part = |after, through| RowRange { after, through };
        let groups = [group(0), group(10), group(0), group(0), group(5), group(0)];
        assert_eq!(plan_parts(&groups, 1), [part(0, Some(10)), part(10, None)]);
        assert_eq!(plan_parts(&[group(0), group(0)], 1), [part(0, None)]);
    }
}
