//! Fast text forms of values, on the hot path of ids, records and items (no `fmt` machinery).

use rust_decimal::Decimal;

/// Appends a decimal in plain notation (`-12.36`, `0.005`, `7`), as `Decimal`'s `Display` does.
pub fn push_decimal(out: &mut String, value: Decimal) {
    let mantissa = value.mantissa();
    if mantissa < 0 {
        out.push('-');
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
        out.push_str(digits);
    } else if digits.len() > scale {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.push_str(whole);
        out.push('.');
        out.push_str(fraction);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(digits);
    }
}

/// Appends an integer.
pub fn push_integer(out: &mut String, value: i64) {
    out.push_str(itoa::Buffer::new().format(value));
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
    for (index, digit) in digits.iter_mut().enumerate() {
        let nibble = (value >> ((31 - index) * 4)) & 0xf;
        *digit = HEX[nibble as usize];
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
        ] {
            let value: Decimal = text.parse().unwrap();
            let mut out = String::new();
            push_decimal(&mut out, value);
            assert_eq!(out, value.to_string());
        }
    }

    #[test]
    fn hex_is_32_lowercase_digits() {
        let mut out = String::new();
        push_hex128(&mut out, 0xab);
        assert_eq!(out, "000000000000000000000000000000ab");
    }
}
