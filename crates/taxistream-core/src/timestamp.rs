//! Local (offset-free) timestamps: parsing `YYYY-MM-DD HH:MM:SS[.fffffffff]` and ISO 8601 output.

use std::fmt;

/// A NYC local time without offset, as TLC records it, to the nanosecond.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTimestamp {
    /// Whole seconds since 1970-01-01 00:00:00 of the same (offset-free) clock (floor).
    seconds: i64,
    /// Nanoseconds past `seconds`, below 1e9 (so field order is time order).
    subsec_nanos: u32,
}

/// Why a timestamp text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not of the form `YYYY-MM-DD HH:MM:SS[.fraction]`.
    #[error("not of the form YYYY-MM-DD HH:MM:SS[.fraction]")]
    BadFormat,
    /// Of the right form, but not a real date or time (month 13, 25:00, Feb 30).
    #[error("not a valid date or time")]
    OutOfRange,
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;
/// Timestamps are kept within years 0000–9999, the range the text form can express.
const MIN_SECONDS: i64 = -62_167_219_200;
const MAX_SECONDS: i64 = 253_402_300_799;

/// The last date a parser saw (a valid `YYYY-MM-DD` and its day number): trips of one file share
/// few dates, so most timestamps skip the calendar arithmetic.
#[derive(Debug, Clone, Copy, Default)]
pub struct DateMemo {
    /// The date's text, once one was parsed.
    text: Option<[u8; 10]>,
    /// Days since 1970-01-01.
    days: i64,
}

impl LocalTimestamp {
    /// Parses `YYYY-MM-DD HH:MM:SS` with an optional `T` separator and optional 1–9 fractional digits.
    pub fn parse(text: &str) -> Result<LocalTimestamp, TimestampError> {
        LocalTimestamp::parse_with(text, &mut DateMemo::default())
    }

    /// [`LocalTimestamp::parse`], remembering the last date in `memo` (same results).
    pub fn parse_with(text: &str, memo: &mut DateMemo) -> Result<LocalTimestamp, TimestampError> {
        let bytes = text.as_bytes();
        if bytes.len() < 19 {
            return Err(TimestampError::BadFormat);
        }
        let date: [u8; 10] = bytes[..10]
            .try_into()
            .map_err(|_| TimestampError::BadFormat)?;
        if memo.text == Some(date) {
            // A date already found valid: only the time is left to check (format, then range,
            // as below).
            let (second_of_day, subsec_nanos) = parse_time(bytes)?;
            return Ok(LocalTimestamp {
                seconds: memo.days * SECONDS_PER_DAY + second_of_day,
                subsec_nanos,
            });
        }
        let number = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            bytes[range].iter().try_fold(0i64, |acc, &byte| {
                if byte.is_ascii_digit() {
                    Ok(acc * 10 + i64::from(byte - b'0'))
                } else {
                    Err(TimestampError::BadFormat)
                }
            })
        };
        if bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(TimestampError::BadFormat);
        }
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        // Every format error (date or time) comes before any range error.
        let time = parse_time(bytes);
        if let Err(TimestampError::BadFormat) = time {
            return Err(TimestampError::BadFormat);
        }
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(TimestampError::OutOfRange);
        }
        let (second_of_day, subsec_nanos) = time?;
        let days = days_from_civil(year, month, day);
        *memo = DateMemo {
            text: Some(date),
            days,
        };
        Ok(LocalTimestamp {
            seconds: days * SECONDS_PER_DAY + second_of_day,
            subsec_nanos,
        })
    }

    /// A timestamp from a count of `unit_per_second`ths of a second since the epoch (Parquet's encoding).
    pub fn from_epoch_units(
        value: i64,
        units_per_second: i64,
    ) -> Result<LocalTimestamp, TimestampError> {
        if units_per_second <= 0 || NANOS_PER_SECOND % units_per_second != 0 {
            return Err(TimestampError::OutOfRange);
        }
        let seconds = value.div_euclid(units_per_second);
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
            return Err(TimestampError::OutOfRange);
        }
        // Below 1e9: a remainder below `units_per_second`, times 1e9 / `units_per_second`.
        let subsec = value.rem_euclid(units_per_second) * (NANOS_PER_SECOND / units_per_second);
        let subsec_nanos = u32::try_from(subsec).map_err(|_| TimestampError::OutOfRange)?;
        Ok(LocalTimestamp {
            seconds,
            subsec_nanos,
        })
    }

    /// Nanoseconds from `earlier` to `self` (negative when `self` is before).
    pub fn nanos_since(self, earlier: LocalTimestamp) -> i128 {
        i128::from(self.seconds - earlier.seconds) * i128::from(NANOS_PER_SECOND)
            + (i128::from(self.subsec_nanos) - i128::from(earlier.subsec_nanos))
    }
}

impl LocalTimestamp {
    /// Appends ISO 8601 without offset: `2025-01-01T00:18:38`, the fraction only when non-zero.
    pub fn push_iso(&self, out: &mut String) {
        let (text, length) = self.iso_bytes();
        // ASCII digits and separators: always UTF-8.
        if let Ok(text) = std::str::from_utf8(&text[..length]) {
            out.push_str(text);
        }
    }

    /// [`LocalTimestamp::push_iso`] as bytes (for the trip id's encoding and the stream record).
    pub fn write_iso(&self, out: &mut Vec<u8>) {
        let (text, length) = self.iso_bytes();
        out.extend_from_slice(&text[..length]);
    }

    /// The ISO 8601 text in an array, and its length (this runs twice per trip for the id alone).
    fn iso_bytes(&self) -> ([u8; 29], usize) {
        let mut text = *b"0000-00-00T00:00:00.000000000";
        let days = self.seconds.div_euclid(SECONDS_PER_DAY);
        // In 0..86_400: fits a u32.
        let second_of_day = u32::try_from(self.seconds.rem_euclid(SECONDS_PER_DAY)).unwrap_or(0);
        text[..10].copy_from_slice(&date_text(days));
        write_two_digits(&mut text[11..13], second_of_day / 3600);
        write_two_digits(&mut text[14..16], second_of_day / 60 % 60);
        write_two_digits(&mut text[17..19], second_of_day % 60);
        let mut length = 19;
        if self.subsec_nanos != 0 {
            let mut fraction = self.subsec_nanos;
            for digit in text[20..29].iter_mut().rev() {
                *digit = b'0' + (fraction % 10) as u8;
                fraction /= 10;
            }
            length = 29;
            while text[length - 1] == b'0' {
                length -= 1;
            }
        }
        (text, length)
    }
}

thread_local! {
    /// The last date written by this thread, as `(days, text)`: consecutive trips share dates.
    static LAST_DATE: std::cell::Cell<(i64, [u8; 10])> = const {
        std::cell::Cell::new((i64::MIN, *b"0000-00-00"))
    };
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
fn date_text(days: i64) -> [u8; 10] {
    let (last_days, last_text) = LAST_DATE.get();
    if last_days == days {
        return last_text;
    }
    let mut text = *b"0000-00-00";
    let (year, month, day) = civil_from_days(days);
    // Within years 0000–9999 by construction; clamped so the digits below stay digits.
    let year = u32::try_from(year.clamp(0, 9999)).unwrap_or(0);
    write_two_digits(&mut text[0..2], year / 100);
    write_two_digits(&mut text[2..4], year % 100);
    write_two_digits(&mut text[5..7], u32::try_from(month).unwrap_or(0));
    write_two_digits(&mut text[8..10], u32::try_from(day).unwrap_or(0));
    LAST_DATE.set((days, text));
    text
}

/// Writes `value` (< 100) as two decimal digits.
fn write_two_digits(out: &mut [u8], value: u32) {
    if let [tens, units] = out {
        *tens = b'0' + (value / 10 % 10) as u8;
        *units = b'0' + (value % 10) as u8;
    }
}

impl fmt::Display for LocalTimestamp {
    /// ISO 8601 without offset, as [`LocalTimestamp::push_iso`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(29);
        self.push_iso(&mut out);
        f.write_str(&out)
    }
}

/// The time of a timestamp text (19 bytes or more, date not checked): from byte 10, ` ` or `T`,
/// `HH:MM:SS`, optional `.` and 1–9 digits. Seconds of the day and nanoseconds; `BadFormat`
/// before `OutOfRange`.
fn parse_time(bytes: &[u8]) -> Result<(i64, u32), TimestampError> {
    let separators_ok =
        (bytes[10] == b' ' || bytes[10] == b'T') && bytes[13] == b':' && bytes[16] == b':';
    let digit = |index: usize| -> Result<i64, TimestampError> {
        let value = bytes[index].wrapping_sub(b'0');
        if value < 10 {
            Ok(i64::from(value))
        } else {
            Err(TimestampError::BadFormat)
        }
    };
    if !separators_ok {
        return Err(TimestampError::BadFormat);
    }
    let hour = digit(11)? * 10 + digit(12)?;
    let minute = digit(14)? * 10 + digit(15)?;
    let second = digit(17)? * 10 + digit(18)?;
    let mut subsec_nanos = 0u32;
    if bytes.len() > 19 {
        let digits = &bytes[20..];
        if bytes[19] != b'.' || digits.is_empty() || digits.len() > 9 {
            return Err(TimestampError::BadFormat);
        }
        let mut value = 0u32;
        for index in 20..bytes.len() {
            // At most 9 digits: below 1e9.
            value = value * 10 + u32::try_from(digit(index)?).unwrap_or(0);
        }
        subsec_nanos = value * 10u32.pow(u32::try_from(29 - bytes.len()).unwrap_or(0));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(TimestampError::OutOfRange);
    }
    Ok((hour * 3600 + minute * 60 + second, subsec_nanos))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn iso(text: &str) -> String {
        LocalTimestamp::parse(text)
            .map(|t| t.to_string())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn tlc_forms_parse_and_print_as_iso() {
        assert_eq!(iso("2025-01-01 00:18:38.000000000"), "2025-01-01T00:18:38");
        assert_eq!(iso("2018-01-11T18:24:44"), "2018-01-11T18:24:44");
        assert_eq!(iso("2020-02-29 23:59:59.5"), "2020-02-29T23:59:59.5");
        assert_eq!(iso("1969-12-31 23:59:59.25"), "1969-12-31T23:59:59.25");
        assert_eq!(iso("0001-01-01 00:00:00"), "0001-01-01T00:00:00");
    }

    #[test]
    fn malformed_and_impossible_times_are_refused() {
        for text in [
            "",
            "2025-01-01",
            "2025/01/01 00:00:00",
            "2025-01-01 00:00:00Z",
            "2025-01-01 00:00:00.",
            "1/4/2009 2:52",
        ] {
            assert_eq!(
                LocalTimestamp::parse(text),
                Err(TimestampError::BadFormat),
                "{text}"
            );
        }
        for text in [
            "2025-13-01 00:00:00",
            "2019-02-29 00:00:00",
            "2025-01-01 24:00:00",
            "2025-01-00 00:00:00",
        ] {
            assert_eq!(
                LocalTimestamp::parse(text),
                Err(TimestampError::OutOfRange),
                "{text}"
            );
        }
    }

    #[test]
    fn parquet_units_agree_with_text() {
        let text = LocalTimestamp::parse("2024-01-01 00:57:55").ok();
        let seconds = 1_704_070_675;
        assert_eq!(
            LocalTimestamp::from_epoch_units(seconds * 1000, 1000).ok(),
            text
        );
        assert_eq!(
            LocalTimestamp::from_epoch_units(seconds * 1_000_000, 1_000_000).ok(),
            text
        );
        assert_eq!(
            LocalTimestamp::from_epoch_units(seconds * 1_000_000_000, 1_000_000_000).ok(),
            text
        );
        assert!(LocalTimestamp::from_epoch_units(i64::MAX, 1).is_err());
    }

    #[test]
    fn times_before_1970_and_fractions_of_every_unit_print_exactly() {
        let iso = |value, units| {
            LocalTimestamp::from_epoch_units(value, units)
                .map(|t| t.to_string())
                .unwrap_or_default()
        };
        assert_eq!(iso(-1, 1_000), "1969-12-31T23:59:59.999");
        assert_eq!(iso(-1, 1_000_000_000), "1969-12-31T23:59:59.999999999");
        assert_eq!(iso(1_500, 1_000_000), "1970-01-01T00:00:00.0015");
        assert_eq!(iso(-62_167_219_200, 1), "0000-01-01T00:00:00");
        assert_eq!(iso(253_402_300_799_999, 1_000), "9999-12-31T23:59:59.999");
        assert!(LocalTimestamp::from_epoch_units(-62_167_219_201, 1).is_err());
        let (Ok(a), Ok(b)) = (
            LocalTimestamp::from_epoch_units(-1, 1_000),
            LocalTimestamp::parse("1970-01-01 00:00:00.001"),
        ) else {
            panic!("fixtures parse");
        };
        assert_eq!(b.nanos_since(a), 2_000_000);
        assert_eq!(a.nanos_since(b), -2_000_000);
        assert!(a < b);
    }

    #[test]
    fn a_remembered_date_gives_the_same_results_as_a_fresh_parse() {
        let mut memo = DateMemo::default();
        for text in [
            "2025-01-01 00:18:38",
            "2025-01-01 23:59:59.000000001",
            "2025-01-01T00:00:00",
            "2025-01-01 24:00:00",
            "2025-01-01 00:60:00",
            "2025-01-01 0:00:00",
            "2025-01-01 00:00:00.",
            "2025-01-01 00:00:00.1234567890",
            "2025-01-01x00:00:00",
            "2025-01-02 00:00:00",
            "2025-02-30 00:00:00",
            "2025-02-30 25:00:00",
            "2025-02-3x 25:00:00",
            "2025-01-02 00:00:0",
            "2024-02-29 12:00:00.5",
            "2024-02-29 12:00:00.50",
        ] {
            assert_eq!(
                LocalTimestamp::parse_with(text, &mut memo),
                LocalTimestamp::parse(text),
                "{text}"
            );
            assert_eq!(
                LocalTimestamp::parse(text).map(|t| t.to_string()),
                LocalTimestamp::parse(text).map(|t| {
                    let mut out = Vec::new();
                    t.write_iso(&mut out);
                    String::from_utf8(out).unwrap()
                })
            );
        }
        assert_eq!(iso("2025-01-01 24:00:00"), "not a valid date or time");
        assert_eq!(
            iso("2025-02-30 0:00:00"),
            "not of the form YYYY-MM-DD HH:MM:SS[.fraction]"
        );
    }

    #[test]
    fn durations_are_plain_differences() {
        let (Ok(a), Ok(b)) = (
            LocalTimestamp::parse("2025-01-01 00:18:38"),
            LocalTimestamp::parse("2025-01-01 00:26:59.5"),
        ) else {
            panic!("fixtures parse");
        };
        assert_eq!(b.nanos_since(a), 501_500_000_000);
    }
}
