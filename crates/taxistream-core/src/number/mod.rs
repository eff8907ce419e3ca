//! Exact parsing of the numbers found in trip files: `12.36`, `.5`, `-1.0`, `1e-05`, Parquet doubles.
//!
//! Text is parsed here; Parquet doubles are converted in `double`, and exact rounded division is
//! in `division`.

mod division;
mod double;

pub use division::divide_rounded;
pub use double::{double_to_decimal, double_to_integer, nearest_double};

use rust_decimal::Decimal;

/// Why a numeric text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Not a decimal number at all.
    #[error("not a number")]
    NotANumber,
    /// A number, but with a fraction where an integer is required.
    #[error("not an integer")]
    NotAnInteger,
    /// Too many digits, or too large, to be held exactly.
    #[error("number out of range")]
    OutOfRange,
}

/// Largest scale a [`Decimal`] can hold.
const MAX_SCALE: i64 = 28;

/// Parses a decimal number exactly and normalizes it (no trailing fractional zeros, no `-0`).
///
/// Accepts an optional sign, digits with an optional `.` (`.5` and `5.` included) and an optional
/// exponent (`1e-05`, as Python's `json.dumps` writes small floats). Nothing else: no spaces,
/// no `_`, no `inf`/`nan`.
pub fn parse_decimal(text: &str) -> Result<Decimal, NumberError> {
    let bytes = text.as_bytes();
    match parse_short_decimal(bytes) {
        Some(value) => Ok(value),
        None => parse_any_decimal(bytes),
    }
}

/// [`parse_decimal`] in 128-bit arithmetic, for every form.
fn parse_any_decimal(bytes: &[u8]) -> Result<Decimal, NumberError> {
    let (negative, mut pos) = match bytes.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let mut mantissa: u128 = 0;
    let mut digits = 0usize;
    let mut significant = 0usize;
    let mut scale: i64 = 0;
    let mut seen_point = false;
    while let Some(&byte) = bytes.get(pos) {
        match byte {
            b'0'..=b'9' => {
                digits += 1;
                if mantissa != 0 || byte != b'0' {
                    significant += 1;
                }
                if significant > 28 {
                    return Err(NumberError::OutOfRange);
                }
                mantissa = mantissa * 10 + u128::from(byte - b'0');
                if seen_point {
                    scale += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        pos += 1;
    }
    if digits == 0 {
        return Err(NumberError::NotANumber);
    }
    if let Some(&(b'e' | b'E')) = bytes.get(pos) {
        let exponent = parse_exponent(&bytes[pos + 1..])?;
        scale -= exponent;
        pos = bytes.len();
    }
    if pos != bytes.len() {
        return Err(NumberError::NotANumber);
    }
    while scale < 0 {
        mantissa = mantissa.checked_mul(10).ok_or(NumberError::OutOfRange)?;
        scale += 1;
    }
    while scale > MAX_SCALE && mantissa.is_multiple_of(10) && mantissa != 0 {
        mantissa /= 10;
        scale -= 1;
    }
    if mantissa == 0 {
        return Ok(Decimal::ZERO);
    }
    // Normalize here, cheaply: no trailing fractional zeros.
    while scale > 0 && mantissa.is_multiple_of(10) {
        mantissa /= 10;
        scale -= 1;
    }
    if scale > MAX_SCALE || mantissa >= 1u128 << 96 {
        return Err(NumberError::OutOfRange);
    }
    let signed = i128::try_from(mantissa).map_err(|_| NumberError::OutOfRange)?;
    let signed = if negative { -signed } else { signed };
    let scale = u32::try_from(scale).map_err(|_| NumberError::OutOfRange)?;
    Decimal::try_from_i128_with_scale(signed, scale).map_err(|_| NumberError::OutOfRange)
}

/// [`parse_decimal`] for the common case, in 64-bit arithmetic: an optional sign, then at most
/// 18 digits with an optional point, no exponent. `None` for anything else (which
/// [`parse_decimal`] then parses, or refuses, the general way), never a different value.
fn parse_short_decimal(bytes: &[u8]) -> Option<Decimal> {
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.len() > 19 {
        return None;
    }
    let (mut mantissa, mut count, mut scale, mut seen_point) = (0u64, 0u32, 0u32, false);
    for &byte in digits {
        match byte {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                count += 1;
                scale += u32::from(seen_point);
            }
            b'.' if !seen_point => seen_point = true,
            _ => return None,
        }
    }
    if count == 0 || count > 18 {
        return None;
    }
    if mantissa == 0 {
        return Some(Decimal::ZERO);
    }
    while scale > 0 && mantissa.is_multiple_of(10) {
        mantissa /= 10;
        scale -= 1;
    }
    // At most 18 digits: below 10^18, so it fits an i64.
    let signed = i64::try_from(mantissa).ok()?;
    Decimal::try_new(if negative { -signed } else { signed }, scale).ok()
}

fn parse_exponent(bytes: &[u8]) -> Result<i64, NumberError> {
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 3 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(NumberError::NotANumber);
    }
    let value = digits
        .iter()
        .fold(0i64, |acc, digit| acc * 10 + i64::from(digit - b'0'));
    Ok(if negative { -value } else { value })
}

/// Parses an integer, accepting integral decimals such as `1.0` and `2.`.
pub fn parse_integer(text: &str) -> Result<i64, NumberError> {
    if let Ok(value) = text.parse::<i64>() {
        return Ok(value);
    }
    decimal_to_integer(parse_decimal(text)?)
}

/// The integer value of an integral decimal.
pub fn decimal_to_integer(value: Decimal) -> Result<i64, NumberError> {
    if !value.fract().is_zero() {
        return Err(NumberError::NotAnInteger);
    }
    i64::try_from(value).map_err(|_| NumberError::OutOfRange)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn dec(text: &str) -> String {
        parse_decimal(text)
            .map(|value| value.to_string())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn tlc_spellings_parse_exactly() {
        assert_eq!(dec("12.36"), "12.36");
        assert_eq!(dec(".5"), "0.5");
        assert_eq!(dec("-.50"), "-0.5");
        assert_eq!(dec("1.0"), "1");
        assert_eq!(dec("5."), "5");
        assert_eq!(dec("-0.00"), "0");
        assert_eq!(dec("+3"), "3");
        assert_eq!(dec("1e-05"), "0.00001");
        assert_eq!(dec("2.5E3"), "2500");
    }

    #[test]
    fn non_numbers_are_refused() {
        for text in [
            "", "-", ".", "abc", "1.2.3", "1,5", "1_000", " 1", "nan", "inf", "1e", "0x10",
        ] {
            assert_eq!(
                parse_decimal(text),
                Err(NumberError::NotANumber),
                "{text:?}"
            );
        }
        assert_eq!(parse_decimal("1e999999"), Err(NumberError::NotANumber));
        assert_eq!(
            parse_decimal("123456789012345678901234567890"),
            Err(NumberError::OutOfRange)
        );
    }

    #[test]
    fn integers_accept_integral_floats_only() {
        assert_eq!(parse_integer("1"), Ok(1));
        assert_eq!(parse_integer("1.0"), Ok(1));
        assert_eq!(parse_integer("-2"), Ok(-2));
        assert_eq!(parse_integer("1.5"), Err(NumberError::NotAnInteger));
        assert_eq!(parse_integer("N"), Err(NumberError::NotANumber));
    }

    /// A small deterministic generator (xorshift64*), so the checks below cover millions of
    /// values without a dependency and rerun identically.
    pub(super) struct Numbers(pub(super) u64);

    impl Numbers {
        pub(super) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn the_short_decimal_path_gives_what_the_general_path_gives() {
        let mut numbers = Numbers(42);
        let alphabet = b"0123456789000.-+e";
        for _ in 0..2_000_000 {
            let length = (numbers.next() % 23) as usize;
            let text: Vec<u8> = (0..length)
                .map(|_| alphabet[(numbers.next() % alphabet.len() as u64) as usize])
                .collect();
            if let Some(value) = parse_short_decimal(&text) {
                let expected = parse_any_decimal(&text);
                let text = String::from_utf8_lossy(&text);
                assert_eq!(Ok(value), expected, "{text}");
                assert_eq!(
                    (value.mantissa(), value.scale()),
                    expected
                        .map(|d| (d.mantissa(), d.scale()))
                        .unwrap_or_default(),
                    "{text}"
                );
            }
        }
    }
}
