//! Exact integer division rounded half away from zero (durations in minutes, fares per mile).

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
