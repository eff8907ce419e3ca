//! Speeds up the text of numbers and ids on the hot path of ids, records and items.
//! Equivalent to `Display` of `Decimal` and `i64`, `{:0width$}` and `{:032x}` (tested against them).

use rust_decimal::Decimal;

/// Appends a decimal in plain notation (`-12.36`, `0.005`, `7`), as `Decimal`'s `Display` does.
pub fn push_decimal(out: &mut String, value: Decimal) {
    write_decimal_to(out, value);
}

/// [`push_decimal`] as bytes (for the trip id's encoding and the stream record).
pub fn write_decimal(out: &mut Vec<u8>, value: Decimal) {
    write_decimal_to(out, value);
}

/// Appends an integer.
pub fn push_integer(out: &mut String, value: i64) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// [`push_integer`] as bytes.
pub fn write_integer(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Text or bytes, appended to.
trait Sink {
    fn put(&mut self, text: &str);
}

impl Sink for String {
    fn put(&mut self, text: &str) {
        self.push_str(text);
    }
}

impl Sink for Vec<u8> {
    /// A short text a byte at a time: the parts of a number are a few bytes each, and a copy of
    /// variable size is a call to `memcpy`, which costs more than such a loop.
    fn put(&mut self, text: &str) {
        let bytes = text.as_bytes();
        if bytes.len() <= SHORT_TEXT {
            self.reserve(bytes.len());
            for &byte in bytes {
                self.push(byte);
            }
        } else {
            self.extend_from_slice(bytes);
        }
    }
}

/// Longest text [`Sink::put`] copies into bytes a byte at a time.
const SHORT_TEXT: usize = 8;

fn write_decimal_to(out: &mut impl Sink, value: Decimal) {
    let mantissa = value.mantissa();
    if mantissa < 0 {
        out.put("-");
    }
    let mut buffer = itoa::Buffer::new();
    let magnitude = mantissa.unsigned_abs();
    // 64-bit formatting is much faster than 128-bit, and fits every real amount.
    let digits = match u64::try_from(magnitude) {
        Ok(small) => buffer.format(small),
        Err(_) => buffer.format(magnitude),
    };
    let scale = value.scale() as usize;
    if scale == 0 {
        out.put(digits);
    } else if digits.len() > scale {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.put(whole);
        out.put(".");
        out.put(fraction);
    } else {
        const ZEROS: &str = "0.000000000000000000000000000000";
        // "0." and the fraction's leading zeros (a scale is at most 28).
        out.put(&ZEROS[..(2 + scale - digits.len()).min(ZEROS.len())]);
        out.put(digits);
    }
}

/// Appends `value` as exactly `width` digits, zero-padded (`value` < 10^width).
pub fn push_padded(out: &mut String, value: u64, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(value);
    out.extend(std::iter::repeat_n('0', width.saturating_sub(digits.len())));
    out.push_str(digits);
}

/// Appends 32 lowercase hex digits.
pub fn push_hex128(out: &mut String, value: u128) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 32];
    // A byte at a time: shifting a 128-bit value 32 times costs several times more.
    for (pair, byte) in digits.chunks_exact_mut(2).zip(value.to_be_bytes()) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
    // Hex digits are ASCII: always UTF-8.
    if let Ok(text) = std::str::from_utf8(&digits) {
        out.push_str(text);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    /// The text and the bytes of `value` are both what `Display` prints.
    fn assert_both_forms_display<T: Copy + std::fmt::Display>(
        value: T,
        push: fn(&mut String, T),
        write: fn(&mut Vec<u8>, T),
    ) {
        let mut out = String::new();
        push(&mut out, value);
        assert_eq!(out, value.to_string());
        let mut bytes = Vec::new();
        write(&mut bytes, value);
        assert_eq!(bytes, value.to_string().as_bytes());
    }

    #[test]
    fn decimals_print_as_display_does() {
        for text in [
            "0",
            "7",
            "-7",
            "12.36",
            "-0.005",
            "0.5",
            "123456789.0001",
            "79228162514264337593543950335",
            "-7922816251426433759354395033.5",
            "0.0000000000000000000000000001",
            "-0.0000000000000000000000000001",
            "0.00",
        ] {
            let value: Decimal = text.parse().unwrap();
            assert_both_forms_display(value, push_decimal, write_decimal);
        }
    }

    #[test]
    fn integers_and_padded_numbers_print_as_format_does() {
        for value in [0i64, 7, -7, 2025, i64::MIN, i64::MAX] {
            assert_both_forms_display(value, push_integer, write_integer);
        }
        for (value, width) in [
            (0u64, 2),
            (7, 2),
            (59, 2),
            (5, 9),
            (123_456_789, 9),
            (2025, 4),
        ] {
            let mut out = String::new();
            push_padded(&mut out, value, width);
            assert_eq!(out, format!("{value:0width$}"));
        }
    }

    #[test]
    fn hex_is_32_lowercase_digits() {
        let mut out = String::new();
        push_hex128(&mut out, 0xab);
        assert_eq!(out, "000000000000000000000000000000ab");
        let mut out = String::new();
        push_hex128(&mut out, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
        assert_eq!(out, "0123456789abcdeffedcba9876543210");
        let value = u128::MAX / 3;
        let mut out = String::new();
        push_hex128(&mut out, value);
        assert_eq!(out, format!("{value:032x}"));
    }
}
