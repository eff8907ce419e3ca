//! Speeds up the analyses' decimal comparisons, in 64-bit integer arithmetic when the numbers fit.
//! Equivalent to `Decimal`'s `cmp`, and to `checked_mul` then `cmp` (property-tested against them).

use rust_decimal::Decimal;
use std::cmp::Ordering;

/// Powers of ten that fit an `i64`: 10^0 … 10^18.
const POWERS_OF_TEN: [i64; 19] = {
    let mut powers = [1i64; 19];
    let mut exponent = 1;
    while exponent < powers.len() {
        powers[exponent] = powers[exponent - 1] * 10;
        exponent += 1;
    }
    powers
};

/// Scales above this make `Decimal`'s multiplication round: products are compared its way then.
const MAX_EXACT_SCALE: u32 = 28;

/// `a` against `b`, exactly: the same as `a.cmp(&b)`.
pub(crate) fn compare(a: Decimal, b: Decimal) -> Ordering {
    let fast = small(a)
        .zip(small(b))
        .and_then(|((a_mantissa, a_scale), (b_mantissa, b_scale))| {
            compare_scaled(a_mantissa, a_scale, b_mantissa, b_scale)
        });
    fast.unwrap_or_else(|| a.cmp(&b))
}

/// `value` against `factor × other`, the same as `factor.checked_mul(other)` then `cmp`:
/// `None` when that product overflows a `Decimal`.
pub(crate) fn compare_to_product(
    value: Decimal,
    factor: Decimal,
    other: Decimal,
) -> Option<Ordering> {
    if let (
        Some((value_mantissa, value_scale)),
        Some((factor_mantissa, factor_scale)),
        Some((other_mantissa, other_scale)),
    ) = (small(value), small(factor), small(other))
    {
        let product_scale = factor_scale + other_scale;
        let product = i64::try_from(i128::from(factor_mantissa) * i128::from(other_mantissa));
        if let Ok(product) = product
            && product_scale <= MAX_EXACT_SCALE
            && let Some(order) = compare_scaled(value_mantissa, value_scale, product, product_scale)
        {
            return Some(order);
        }
    }
    factor.checked_mul(other).map(|product| value.cmp(&product))
}

/// The mantissa and scale of a decimal whose mantissa fits an `i64`.
fn small(value: Decimal) -> Option<(i64, u32)> {
    i64::try_from(value.mantissa())
        .ok()
        .map(|mantissa| (mantissa, value.scale()))
}

/// `a × 10^-a_scale` against `b × 10^-b_scale`, exactly; `None` when the scales differ by more
/// than 18 (one side would need more than 64 bits to scale by).
fn compare_scaled(a: i64, a_scale: u32, b: i64, b_scale: u32) -> Option<Ordering> {
    let power = |exponent: u32| -> Option<i128> {
        let index = usize::try_from(exponent).ok()?;
        POWERS_OF_TEN.get(index).map(|&power| i128::from(power))
    };
    // An i64 times a power of ten below 2^63 fits an i128.
    let (a, b) = match a_scale.cmp(&b_scale) {
        Ordering::Equal => (i128::from(a), i128::from(b)),
        Ordering::Less => (i128::from(a) * power(b_scale - a_scale)?, i128::from(b)),
        Ordering::Greater => (i128::from(a), i128::from(b) * power(a_scale - b_scale)?),
    };
    Some(a.cmp(&b))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn equal_values_of_different_scales_compare_equal() {
        assert_eq!(compare(d("1.50"), d("1.5")), Ordering::Equal);
        assert_eq!(compare(d("50"), d("50.01")), Ordering::Less);
        assert_eq!(compare(d("-0.5"), d("0")), Ordering::Less);
        assert_eq!(compare(Decimal::MAX, d("1")), Ordering::Greater);
    }

    #[test]
    fn products_compare_exactly() {
        // 0.3 against 3 × 0.1 is exactly equal (floats would say 0.30000000000000004).
        assert_eq!(
            compare_to_product(d("0.3"), d("3"), d("0.1")),
            Some(Ordering::Equal)
        );
        assert_eq!(
            compare_to_product(d("2.99"), d("3"), d("1")),
            Some(Ordering::Less)
        );
        assert_eq!(compare_to_product(d("1"), Decimal::MAX, d("2")), None);
    }

    /// Decimals of every scale, mostly with mantissas that fit 64 bits, some that do not.
    fn decimal() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            (any::<i64>(), 0u32..=28).prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale)),
            (-100_000i64..100_000, 0u32..=6)
                .prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale)),
            (any::<[u32; 3]>(), any::<bool>(), 0u32..=28).prop_map(
                |([lo, mid, hi], negative, scale)| Decimal::from_parts(
                    lo, mid, hi, negative, scale
                )
            ),
        ]
    }

    proptest! {
        #[test]
        fn compare_agrees_with_decimal(a in decimal(), b in decimal()) {
            prop_assert_eq!(compare(a, b), a.cmp(&b));
            prop_assert_eq!(compare(a, a), Ordering::Equal);
        }

        #[test]
        fn compare_to_product_agrees_with_decimal(value in decimal(), factor in decimal(), other in decimal()) {
            let expected = factor.checked_mul(other).map(|product| value.cmp(&product));
            prop_assert_eq!(compare_to_product(value, factor, other), expected);
        }
    }
}
