//! Exact parsing of the numbers found in trip files: `12.36`, `.5`, `-1.0`, `1e-05`, Parquet doubles.

use rust_decimal::Decimal;
use std::fmt::Write as _;

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

/// `numerator / denominator`, rounded half away from zero to an integer (`denominator` ≠ 0).
pub fn divide_rounded(numerator: i128, denominator: i128) -> i128 {
    // Every duration and fare of a trip fits 64 bits, where division is one instruction instead
    // of a library call (i64::MIN / -1 overflows: left to the general case).
    if let (Ok(numerator), Ok(denominator)) = (i64::try_from(numerator), i64::try_from(denominator))
        && denominator != 0
        && (numerator != i64::MIN || denominator != -1)
    {
        let quotient = numerator / denominator;
        let remainder = numerator % denominator;
        let away =
            u128::from(remainder.unsigned_abs()) * 2 >= u128::from(denominator.unsigned_abs());
        let step = if (numerator < 0) == (denominator < 0) {
            1
        } else {
            -1
        };
        return i128::from(if away { quotient + step } else { quotient });
    }
    divide_rounded_wide(numerator, denominator)
}

/// [`divide_rounded`] in 128 bits.
fn divide_rounded_wide(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder.unsigned_abs() * 2 >= denominator.unsigned_abs() {
        quotient
            + if (numerator < 0) == (denominator < 0) {
                1
            } else {
                -1
            }
    } else {
        quotient
    }
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

/// The integer value of an integral double (`1.0` → 1).
pub fn double_to_integer(value: f64) -> Result<i64, NumberError> {
    if !value.is_finite() {
        return Err(NumberError::NotANumber);
    }
    if value.fract() != 0.0 {
        return Err(NumberError::NotAnInteger);
    }
    if !(-9.2e18..=9.2e18).contains(&value) {
        return Err(NumberError::OutOfRange);
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(value as i64)
}

/// The shortest decimal that reads back as `value` (12.36, never 12.359999999999999).
pub fn double_to_decimal(value: f64, scratch: &mut String) -> Result<Decimal, NumberError> {
    if !value.is_finite() {
        return Err(NumberError::NotANumber);
    }
    if let Some(decimal) = short_decimal_of_double(value) {
        return Ok(decimal);
    }
    scratch.clear();
    // `Display` for f64 prints the shortest representation that round-trips, without exponent.
    let _ = write!(scratch, "{value}");
    parse_decimal(scratch)
}

/// [`double_to_decimal`] without formatting, for doubles below 2^30 whose shortest decimal has
/// at most 6 fractional digits (every amount and distance in trip files): the decimal with the
/// fewest fractional digits that reads back as `value`. `None` otherwise, never a different value.
///
/// Why it is the same value as `Display`'s shortest round-trip text: below 2^30 a double's
/// rounding interval is narrower than 10^-6, so it holds at most one decimal with k ≤ 6 fractional
/// digits for each k; the one with the fewest fractional digits has the fewest significant digits
/// (the shortest form). `value × 10^k` is within 0.2 of that decimal's digits, so rounding finds
/// them; `digits / 10^k` is one correctly rounded division of exact operands (digits < 2^53,
/// 10^k exact), which equals `value` exactly when the decimal text would parse to `value`.
fn short_decimal_of_double(value: f64) -> Option<Decimal> {
    const POWERS: [f64; 7] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6];
    if value.abs() >= 1_073_741_824.0 || value.is_nan() {
        return None;
    }
    for (scale, power) in (0u32..).zip(POWERS) {
        let scaled = value * power;
        // The nearest integer when `scaled` is within 0.2 of one (the only case that matters:
        // the check below refuses anything else). |scaled| < 2^30 × 10^6 < 2^50: exact in an
        // i64 and as a double. (`f64::round` is a library call on baseline x86-64.)
        #[allow(clippy::cast_possible_truncation)]
        let mut mantissa = (scaled + 0.5f64.copysign(scaled)) as i64;
        #[allow(clippy::cast_precision_loss)]
        if mantissa as f64 / power == value {
            if mantissa == 0 {
                return Some(Decimal::ZERO);
            }
            let mut scale = scale;
            while scale > 0 && mantissa % 10 == 0 {
                mantissa /= 10;
                scale -= 1;
            }
            return Decimal::try_new(mantissa, scale).ok();
        }
    }
    None
}

/// The double nearest to a decimal whose mantissa is below 2^53 and scale ≤ 22, without text:
/// mantissa and 10^scale are exact doubles, and one division of exact operands is correctly
/// rounded, so this is the double that parsing the decimal's text gives. `None` otherwise.
pub fn nearest_double(decimal: Decimal) -> Option<f64> {
    const POWERS: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let mantissa = i64::try_from(decimal.mantissa()).ok()?;
    if mantissa.unsigned_abs() >= 1 << 53 {
        return None;
    }
    let power = POWERS.get(usize::try_from(decimal.scale()).ok()?)?;
    #[allow(clippy::cast_precision_loss)] // below 2^53: exact
    Some(mantissa as f64 / power)
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
    fn division_rounds_half_away_from_zero() {
        assert_eq!(divide_rounded(5, 2), 3);
        assert_eq!(divide_rounded(-5, 2), -3);
        assert_eq!(divide_rounded(5, -2), -3);
        assert_eq!(divide_rounded(7, 3), 2);
        assert_eq!(divide_rounded(-7, 3), -2);
        assert_eq!(divide_rounded(8, 3), 3);
        assert_eq!(divide_rounded(0, 3), 0);
    }

    proptest::proptest! {
        #[test]
        fn division_in_64_bits_rounds_as_in_128(
            numerator in proptest::prelude::any::<i64>(),
            denominator in proptest::prelude::any::<i64>(),
            small in -1000i64..1000,
        ) {
            for (n, d) in [(numerator, denominator), (numerator, small), (small, denominator), (i64::MIN, -1), (i64::MIN, small)] {
                if d != 0 {
                    let (n, d) = (i128::from(n), i128::from(d));
                    proptest::prop_assert_eq!(divide_rounded(n, d), divide_rounded_wide(n, d));
                }
            }
        }
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
    struct Numbers(u64);

    impl Numbers {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    /// The formatting path alone: `Display`'s shortest round-trip text, parsed.
    fn via_display(value: f64) -> Result<Decimal, NumberError> {
        parse_any_decimal(format!("{value}").as_bytes())
    }

    #[test]
    fn the_fast_double_path_gives_what_display_gives() {
        let mut numbers = Numbers(0x9e37_79b9_7f4a_7c15);
        let mut fast = 0;
        for round in 0..3_000_000u64 {
            let bits = numbers.next();
            let value = match round % 4 {
                // Any double at all.
                0 => f64::from_bits(bits),
                // Amounts and distances: a few digits after the point, signs, up to 2^31.
                1 => {
                    let scale = 10f64.powi((bits % 9) as i32);
                    let digits = ((bits >> 8) % 3_000_000_000_000) as f64;
                    if bits >> 63 == 1 {
                        -digits / scale
                    } else {
                        digits / scale
                    }
                }
                // Doubles next to such amounts (one ulp off) and near the 2^30 bound.
                2 => {
                    let base = ((bits >> 8) % 100_000_000) as f64 / 100.0;
                    f64::from_bits(base.to_bits().wrapping_add(bits % 3).wrapping_sub(1))
                }
                _ => (1u64 << 30) as f64 - ((bits % 1_000_000) as f64) / 1e6 * (bits % 3) as f64,
            };
            if let Some(decimal) = short_decimal_of_double(value) {
                fast += 1;
                let expected = via_display(value);
                assert_eq!(Ok(decimal), expected, "{value:e}");
                assert_eq!(
                    (decimal.mantissa(), decimal.scale()),
                    expected
                        .map(|d| (d.mantissa(), d.scale()))
                        .unwrap_or_default(),
                    "{value:e}"
                );
            }
        }
        assert!(fast > 1_000_000, "the fast path was taken {fast} times");
        for value in [0.0, -0.0, 12.36, 0.1 + 0.2, 1e-7, 2.5, -52.0, 1073741823.5] {
            let mut scratch = String::new();
            assert_eq!(
                double_to_decimal(value, &mut scratch),
                via_display(value),
                "{value}"
            );
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

    #[test]
    fn decimals_bind_as_the_double_their_text_reads_as() {
        for text in [
            "8.35",
            "-0.1",
            "12.36",
            "0.0000001",
            "123456789.123456",
            "1e-22",
        ] {
            let decimal: Decimal = text.parse().unwrap();
            let expected: f64 = decimal.to_string().parse().unwrap();
            assert_eq!(nearest_double(decimal), Some(expected), "{text}");
        }
        assert_eq!(nearest_double(Decimal::MAX), None);
    }

    #[test]
    fn doubles_become_their_shortest_decimal() {
        let mut scratch = String::new();
        let value = double_to_decimal(12.36, &mut scratch).map(|d| d.to_string());
        assert_eq!(value, Ok("12.36".to_owned()));
        let value = double_to_decimal(0.1 + 0.2, &mut scratch).map(|d| d.to_string());
        assert_eq!(value, Ok("0.30000000000000004".to_owned()));
        assert_eq!(
            double_to_decimal(f64::NAN, &mut scratch),
            Err(NumberError::NotANumber)
        );
        assert_eq!(double_to_integer(2.0), Ok(2));
        assert_eq!(double_to_integer(2.5), Err(NumberError::NotAnInteger));
    }
}
