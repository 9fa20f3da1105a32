//! E-mail addresses and mobile numbers, parsed once and valid from then on. A phone number's
//! `Debug` and `Display` are masked so that a full number cannot reach a log by accident.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a value could not be parsed; says what is wrong without echoing secrets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Accepts `local@domain` with a dotted domain, as SES and mail clients expect.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let s = s.trim();
        let bad = |why: &str| Err(InvalidValue(format!("not a valid e-mail address: {why}")));
        if s.len() > 254 {
            return bad("longer than 254 characters");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return bad("it has no @");
        };
        if local.contains('@') {
            return bad("it has more than one @");
        }
        if local.is_empty() || local.len() > 64 {
            return bad("the part before @ must be 1 to 64 characters");
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>(),;:\"[]\\".contains(c))
        {
            return bad("it contains spaces or characters not allowed in an address");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return bad("the domain after @ is not a valid domain name");
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.0)
    }
}

/// A mobile number in E.164 form (`+6421234567`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number written in international form, or in national form for
    /// `default_region` (ISO 3166 code such as "NZ").
    pub fn parse(s: &str, default_region: &str) -> Result<Self, InvalidValue> {
        let region = default_region.parse::<phonenumber::country::Id>().ok();
        let number = phonenumber::parse(region, s.trim())
            .map_err(|_| InvalidValue("not a phone number".into()))?;
        if number.extension().is_some() {
            return Err(InvalidValue(
                "a mobile number cannot have an extension".into(),
            ));
        }
        if !number.is_valid() {
            return Err(InvalidValue(
                "not a valid phone number for its country".into(),
            ));
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// The full E.164 number: for the SMS provider and the store only, never for logs.
    pub fn e164(&self) -> &str {
        &self.0
    }

    /// The number as a customer may be shown it: all but the last three digits hidden.
    pub fn masked(&self) -> String {
        let digits = self.0.len().saturating_sub(1);
        let shown = &self.0[self.0.len() - 3.min(digits)..];
        format!("+{}{shown}", "•".repeat(digits.saturating_sub(3)))
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    /// Stored numbers are E.164 already; anything else is refused.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if !s.starts_with('+') {
            return Err(serde::de::Error::custom(
                "a phone number must be in international form, starting with +",
            ));
        }
        Self::parse(&s, "ZZ").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_trimmed_and_domains_lowercased() {
        let e = EmailAddress::parse("  Ana.Smith@Example.CO.NZ ").unwrap();
        assert_eq!(e.as_str(), "Ana.Smith@example.co.nz");
    }

    #[test]
    fn malformed_email_addresses_say_what_is_wrong() {
        for (input, why) in [
            ("ana.example.com", "no @"),
            ("ana@localhost", "domain"),
            ("ana smith@example.com", "spaces"),
            ("@example.com", "before @"),
            ("a@@b.com", "more than one @"),
        ] {
            let err = EmailAddress::parse(input).unwrap_err();
            assert!(err.0.contains(why), "{input}: {err}");
        }
    }

    #[test]
    fn national_mobile_numbers_become_e164() {
        let p = PhoneNumber::parse("021 234 5678", "NZ").unwrap();
        assert_eq!(p.e164(), "+64212345678");
        let p = PhoneNumber::parse("+61 412 345 678", "NZ").unwrap();
        assert_eq!(p.e164(), "+61412345678");
    }

    #[test]
    fn invalid_numbers_are_refused() {
        assert!(PhoneNumber::parse("12", "NZ").is_err());
        assert!(PhoneNumber::parse("call me", "NZ").is_err());
        let err = PhoneNumber::parse("021 234 5678 ext 5", "NZ").unwrap_err();
        assert!(err.0.contains("extension"), "{err}");
    }

    #[test]
    fn phone_numbers_never_print_in_full() {
        let p = PhoneNumber::parse("+64212345678", "NZ").unwrap();
        assert_eq!(p.masked(), "+••••••••678");
        assert!(!format!("{p} {p:?}").contains("2345"));
    }
}
