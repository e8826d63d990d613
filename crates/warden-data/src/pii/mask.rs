//! Masking matched values for reports: findings never echo a full value.

/// Shows at most a quarter of `value` (never more than 4 characters: half at each end) and
/// replaces the rest with `*` (at most 24 stars, so very long secrets do not bloat reports).
///
/// ```
/// use warden_data::pii::mask::mask_for_report;
/// assert_eq!(mask_for_report("jane.doe@example.com"), "ja****************om");
/// assert_eq!(mask_for_report("1.2.3.4"), "1******");
/// ```
pub fn mask_for_report(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let reveal = (n / 4).min(4);
    let head = reveal.div_ceil(2);
    let tail = reveal / 2;
    let mut out: String = chars[..head].iter().collect();
    out.extend(std::iter::repeat_n('*', (n - head - tail).min(24)));
    out.extend(&chars[n - tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn mask_never_reveals_a_value_of_four_or_more_chars(value in "\\PC{4,80}") {
            let masked = mask_for_report(&value);
            prop_assert_ne!(&masked, &value);
            let shown = masked.chars().filter(|c| *c != '*').count();
            prop_assert!(shown <= value.chars().count() / 4 + 1);
        }
    }

    #[test]
    fn short_values_are_fully_masked() {
        assert_eq!(mask_for_report("abc"), "***");
        assert_eq!(mask_for_report(""), "");
    }
}
