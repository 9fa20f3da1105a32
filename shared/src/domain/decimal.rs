//! Amounts with two decimal places (money, percentages), exact: kept as hundredths, written as
//! strings such as "3.00" so that no JSON reader turns them into floating point.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decimal2(pub i64);

impl Decimal2 {
    pub fn hundredths(self) -> i64 {
        self.0
    }

    /// Digits with at most two decimals and nothing around them: `" 5.00"` is refused.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (whole, frac, dotted) = match s.split_once('.') {
            Some((whole, frac)) => (whole, frac, true),
            None => (s, "", false),
        };
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (dotted && !digits(frac)) || frac.len() > 2 || whole.len() > 12 {
            return Err(format!(
                "{s:?} is not a non-negative amount with at most two decimals, such as \"3.00\""
            ));
        }
        let whole: i64 = whole.parse().map_err(|_| format!("{s:?} is too large"))?;
        let frac: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
        Ok(Self(whole * 100 + frac))
    }
}

impl fmt::Display for Decimal2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Decimal2 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal2 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_and_print_with_two_decimals() {
        assert_eq!(Decimal2::parse("3").unwrap().to_string(), "3.00");
        assert_eq!(Decimal2::parse("3.4").unwrap().hundredths(), 340);
        assert_eq!(Decimal2::parse("12.05").unwrap().to_string(), "12.05");
        for bad in ["-1", "3.001", "abc", "", "1.", ".5", " 5.00", "5.00 "] {
            assert!(Decimal2::parse(bad).is_err(), "{bad}");
        }
    }
}
