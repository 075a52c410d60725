//! DynamoDB stream sequence numbers, compared the way the stream orders them.
//!
//! A sequence number is a decimal string of up to 40 digits (AWS documents 21 to 40 characters). It does
//! not fit in a `u64`, and comparing two of them as plain strings is wrong as soon as their lengths
//! differ (`"9" > "10"`). [`SequenceNumber`] validates the string once and orders by numeric value:
//! fewer significant digits first, then digit by digit.
//!
//! The original string is kept verbatim, because it is what Lambda expects back as `itemIdentifier`.

use std::cmp::Ordering;
use std::fmt;

/// The most digits AWS documents for a stream sequence number.
pub const MAX_SEQUENCE_NUMBER_DIGITS: usize = 40;

/// A validated stream sequence number. Ordered numerically; displayed exactly as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SequenceNumber(String);

/// Why a string is not a sequence number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSequenceNumber {
    /// The string is empty.
    #[error("the sequence number is empty")]
    Empty,
    /// A character is not a decimal digit.
    #[error("the sequence number {value:?} has a character that is not a decimal digit")]
    NotDecimal {
        /// The string (a sequence number, not item data).
        value: String,
    },
    /// More digits than a stream uses.
    #[error(
        "the sequence number {value:?} has {digits} digits, more than the {MAX_SEQUENCE_NUMBER_DIGITS} a stream uses"
    )]
    TooLong {
        /// The string (a sequence number, not item data).
        value: String,
        /// How many digits it has.
        digits: usize,
    },
}

impl SequenceNumber {
    /// Validates `value`: 1 to 40 ASCII decimal digits.
    pub fn parse(value: &str) -> Result<Self, InvalidSequenceNumber> {
        validate(value)?;
        Ok(Self(value.to_owned()))
    }

    /// The string exactly as the stream sent it: the value to return as `itemIdentifier`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks that `value` is a sequence number (1 to 40 ASCII decimal digits) without copying it.
pub fn validate(value: &str) -> Result<(), InvalidSequenceNumber> {
    if value.is_empty() {
        return Err(InvalidSequenceNumber::Empty);
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidSequenceNumber::NotDecimal {
            value: value.to_owned(),
        });
    }
    if value.len() > MAX_SEQUENCE_NUMBER_DIGITS {
        return Err(InvalidSequenceNumber::TooLong {
            value: value.to_owned(),
            digits: value.len(),
        });
    }
    Ok(())
}

/// Orders two validated sequence numbers by numeric value: fewer significant digits first, then digit
/// by digit. Leading zeros do not count.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Ord for SequenceNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(&self.0, &other.0)
    }
}

impl PartialOrd for SequenceNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(value: &str) -> SequenceNumber {
        SequenceNumber::parse(value).expect("valid sequence number")
    }

    #[test]
    fn orders_by_numeric_value_not_by_string() {
        assert!(seq("9") < seq("10"), "a plain string comparison would say 9 > 10");
        assert!(seq("100000000000000000000") > seq("99999999999999999999"));
        assert!(
            seq("0042") < seq("100"),
            "leading zeros do not make a number larger"
        );
        assert_eq!(seq("0042").cmp(&seq("42")), Ordering::Equal);
    }

    #[test]
    fn handles_forty_digit_values_beyond_u128() {
        let max = "9".repeat(40);
        let below = format!("{}8", "9".repeat(39));
        assert!(seq(&below) < seq(&max));
        assert_eq!(seq(&max).as_str(), max);
    }

    #[test]
    fn keeps_the_original_text_for_the_response() {
        assert_eq!(seq("000123").to_string(), "000123");
    }

    #[test]
    fn rejects_what_is_not_a_sequence_number() {
        assert_eq!(SequenceNumber::parse(""), Err(InvalidSequenceNumber::Empty));
        assert!(matches!(
            SequenceNumber::parse("12a4"),
            Err(InvalidSequenceNumber::NotDecimal { .. })
        ));
        assert!(matches!(
            SequenceNumber::parse("-1"),
            Err(InvalidSequenceNumber::NotDecimal { .. })
        ));
        assert!(matches!(
            SequenceNumber::parse(&"1".repeat(41)),
            Err(InvalidSequenceNumber::TooLong { digits: 41, .. })
        ));
    }
}
