//! Parquet doubles as exact numbers: integral doubles as integers, others as their shortest decimal.

use super::{NumberError, parse_decimal};
use rust_decimal::Decimal;
use std::fmt::Write as _;

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
    use super::super::parse_any_decimal;
    use super::super::tests::Numbers;
    use super::*;

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
