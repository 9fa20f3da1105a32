//! A line's score and financial statements read without serde in the shape the bureau writes
//! them: flat objects whose values are integers, `null` or strings without escapes.
//!
//! The day every line changes only in those two fields, reading them is most of the diff's
//! work; serde's general reader spends about four times what this one does on them. Anything
//! else (an escape, a fraction, a nested value, a field twice, a wrong type) is not read here
//! (`None`) and goes to serde, which reads it or says what is wrong: this reader gives what
//! serde gives or nothing (a property test holds it to that).

use std::borrow::Cow;

use super::facts::{ScoreRecord, StatementRecord};
use super::split::space;

/// The `score` field's value as serde reads it: by this reader in the bureau's shape, by
/// serde in any other.
pub fn read_score(b: &[u8]) -> serde_json::Result<Option<ScoreRecord<'_>>> {
    score(b).map_or_else(|| serde_json::from_slice(b), Ok)
}

/// The `financial_statements` field's value as serde reads it: by this reader in the
/// bureau's shape, by serde in any other.
pub fn read_statements(b: &[u8]) -> serde_json::Result<Vec<StatementRecord<'_>>> {
    statements(b).map_or_else(|| serde_json::from_slice(b), Ok)
}

/// A value of a flat object.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Flat<'a> {
    Text(&'a str),
    Int(i64),
    Null,
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn space(&mut self) {
        self.at = space(self.b, self.at);
    }

    /// Skips white space and takes `c`.
    fn take(&mut self, c: u8) -> Option<()> {
        self.space();
        (self.b.get(self.at) == Some(&c)).then(|| self.at += 1)
    }

    /// Skips white space; the next byte, not taken.
    fn peek(&mut self) -> Option<u8> {
        self.space();
        self.b.get(self.at).copied()
    }

    /// A string without escapes or control characters.
    fn text(&mut self) -> Option<&'a str> {
        self.take(b'"')?;
        let rest = &self.b[self.at..];
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest[end] != b'"' || rest[..end].iter().any(|&c| c < 0x20) {
            return None;
        }
        self.at += end + 1;
        std::str::from_utf8(&rest[..end]).ok()
    }

    /// An integer as JSON writes one (no leading zeros, no fraction or exponent, not `-0`).
    fn int(&mut self) -> Option<i64> {
        let start = self.at;
        let negative = self.b.get(self.at) == Some(&b'-');
        if negative {
            self.at += 1;
        }
        let digits = self.at;
        while self.b.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let text = &self.b[digits..self.at];
        // serde reads `-0` as a fraction (minus zero), which no integer field takes.
        if text.is_empty()
            || (text.len() > 1 && text[0] == b'0')
            || (negative && text == b"0")
            || matches!(self.b.get(self.at), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.at])
            .ok()?
            .parse()
            .ok()
    }

    fn value(&mut self) -> Option<Flat<'a>> {
        match self.peek()? {
            b'"' => self.text().map(Flat::Text),
            b'n' => {
                let null = self.b.get(self.at..self.at + 4)? == b"null";
                null.then(|| {
                    self.at += 4;
                    Flat::Null
                })
            }
            _ => self.int().map(Flat::Int),
        }
    }

    /// A flat object, each field handed to `field` (which may refuse it).
    fn object(&mut self, mut field: impl FnMut(&'a str, Flat<'a>) -> Option<()>) -> Option<()> {
        self.take(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = self.text()?;
            self.take(b':')?;
            field(key, self.value()?)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Nothing but white space is left.
    fn end(&mut self) -> Option<()> {
        self.space();
        (self.at == self.b.len()).then_some(())
    }
}

/// Sets a field once: a second time is refused (serde says "duplicate field").
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    slot.replace(value).is_none().then_some(())
}

fn text_or_null<'a>(v: Flat<'a>) -> Option<Option<Cow<'a, str>>> {
    match v {
        Flat::Text(t) => Some(Some(Cow::Borrowed(t))),
        Flat::Null => Some(None),
        Flat::Int(_) => None,
    }
}

/// The `score` field's value as serde reads it (`null` is no score), or `None` when it is
/// not of the simple shape.
fn score(b: &[u8]) -> Option<Option<ScoreRecord<'_>>> {
    let mut r = Reader { b, at: 0 };
    if r.peek()? == b'n' {
        return match r.value()? {
            Flat::Null => r.end().map(|()| None),
            _ => None,
        };
    }
    let (mut value, mut band, mut model, mut date) = (None, None, None, None);
    r.object(|key, v| match (key, v) {
        ("value", Flat::Int(n)) => once(&mut value, i32::try_from(n).ok()?),
        ("band", Flat::Text(t)) => once(&mut band, t),
        ("model", v) => once(&mut model, text_or_null(v)?),
        ("date", v) => once(&mut date, text_or_null(v)?),
        ("value" | "band", _) => None,
        _ => Some(()),
    })?;
    r.end()?;
    Some(Some(ScoreRecord {
        value: value?,
        band: Cow::Borrowed(band.unwrap_or_default()),
        model: model.flatten(),
        date: date.flatten(),
    }))
}

/// The `financial_statements` field's value as serde reads it, or `None` when it is not of
/// the simple shape.
fn statements(b: &[u8]) -> Option<Vec<StatementRecord<'_>>> {
    let mut r = Reader { b, at: 0 };
    r.take(b'[')?;
    let mut listed = Vec::new();
    if r.peek()? == b']' {
        r.at += 1;
        r.end()?;
        return Some(listed);
    }
    loop {
        let (mut period_end, mut filed, mut currency) = (None, None, None);
        let (mut turnover, mut profit_loss, mut net_assets) = (None, None, None);
        r.object(|key, v| match (key, v) {
            ("period_end", Flat::Text(t)) => once(&mut period_end, t),
            ("filed", v) => once(&mut filed, text_or_null(v)?),
            ("turnover", Flat::Int(n)) => once(&mut turnover, n),
            ("profit_loss", Flat::Int(n)) => once(&mut profit_loss, n),
            ("net_assets", Flat::Int(n)) => once(&mut net_assets, n),
            ("currency", Flat::Text(t)) => once(&mut currency, t),
            ("period_end" | "turnover" | "profit_loss" | "net_assets" | "currency", _) => None,
            _ => Some(()),
        })?;
        listed.push(StatementRecord {
            period_end: Cow::Borrowed(period_end?),
            filed: filed.flatten(),
            turnover: turnover.unwrap_or_default(),
            profit_loss: profit_loss.unwrap_or_default(),
            net_assets: net_assets.unwrap_or_default(),
            currency: Cow::Borrowed(currency.unwrap_or_default()),
        });
        match r.peek()? {
            b',' => r.at += 1,
            b']' => {
                r.at += 1;
                r.end()?;
                return Some(listed);
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What serde reads, in a form to compare (`Err` when it refuses the text).
    fn serde_score(b: &[u8]) -> Result<Option<String>, ()> {
        serde_json::from_slice::<Option<ScoreRecord>>(b)
            .map(|s| s.map(|s| format!("{s:?}")))
            .map_err(|_| ())
    }

    fn serde_statements(b: &[u8]) -> Result<String, ()> {
        serde_json::from_slice::<Vec<StatementRecord>>(b)
            .map(|s| format!("{s:?}"))
            .map_err(|_| ())
    }

    #[test]
    fn the_bureau_s_shape_is_read_as_serde_reads_it() {
        for text in [
            r#"{"value":308,"band":"E","model":"cw-2","date":"2026-10-27"}"#,
            r#" { "value" : -5 , "band" : "" , "model" : null } "#,
            r#"{"value":0,"other":"x","n":12}"#,
            r#"null"#,
        ] {
            let fast = score(text.as_bytes()).expect(text);
            assert_eq!(
                Ok(fast.map(|s| format!("{s:?}"))),
                serde_score(text.as_bytes())
            );
        }
        for text in [
            r#"[{"period_end":"2024-03-31","filed":"2024-09-06","turnover":1792000,"profit_loss":-3,"net_assets":0,"currency":"NZD"}]"#,
            r#"[ {"period_end":"2024-03-31"} , {"period_end":"2025-03-31","filed":null} ]"#,
            r#"[]"#,
        ] {
            let fast = statements(text.as_bytes()).expect(text);
            assert_eq!(Ok(format!("{fast:?}")), serde_statements(text.as_bytes()));
        }
    }

    #[test]
    fn anything_else_is_left_to_serde() {
        for text in [
            r#"{"value":308,"band":"E\u0041"}"#,
            r#"{"value":308.0}"#,
            r#"{"value":3e2}"#,
            r#"{"value":0308}"#,
            r#"{"value":99999999999}"#,
            r#"{"value":1,"value":2}"#,
            r#"{"band":"A"}"#,
            r#"{"value":1,"band":null}"#,
            r#"{"value":1,"band":1}"#,
            r#"{"value":1,"model":{"a":1}}"#,
            r#"{"value":1} x"#,
            r#"{"value":1,}"#,
            "{\"value\":1,\"band\":\"a\u{1}\"}",
            r#"nul"#,
            r#""#,
        ] {
            assert!(score(text.as_bytes()).is_none(), "{text}");
        }
        for text in [
            r#"null"#,
            r#"[{"filed":"2024-09-06"}]"#,
            r#"[{"period_end":"2024-03-31","turnover":1.5}]"#,
            r#"[{"period_end":"2024-03-31"},]"#,
            r#"[{"period_end":"2024-03-31"}"#,
            r#"[{"period_end":"2024-03-31","currency":null}]"#,
            r#"[1]"#,
        ] {
            assert!(statements(text.as_bytes()).is_none(), "{text}");
        }
    }

    /// Text a score or a statement might be made of, hostile pieces included.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"value\"".to_owned()),
            Just("\"band\"".to_owned()),
            Just("\"model\"".to_owned()),
            Just("\"date\"".to_owned()),
            Just("\"period_end\"".to_owned()),
            Just("\"filed\"".to_owned()),
            Just("\"turnover\"".to_owned()),
            Just("\"currency\"".to_owned()),
            Just("\"x\"".to_owned()),
            Just(":".to_owned()),
            Just(",".to_owned()),
            Just(" ".to_owned()),
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just("null".to_owned()),
            Just("\"a\\\"b\"".to_owned()),
            Just("\"\u{e9}\"".to_owned()),
            Just("\"\u{1}\"".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            (0i64..1000).prop_map(|n| n.to_string()),
            Just("1.5".to_owned()),
            Just("-0".to_owned()),
            Just("007".to_owned()),
            "[ -~]{0,4}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        ]
    }

    /// A field of a score or statement, mostly well formed.
    fn field() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                Just("value"),
                Just("band"),
                Just("model"),
                Just("date"),
                Just("period_end"),
                Just("filed"),
                Just("turnover"),
                Just("profit_loss"),
                Just("net_assets"),
                Just("currency"),
                Just("other"),
            ],
            piece(),
        )
            .prop_map(|(k, v)| format!("\"{k}\":{v}"))
    }

    fn object() -> impl Strategy<Value = String> {
        proptest::collection::vec(field(), 0..6).prop_map(|f| format!("{{{}}}", f.join(",")))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Whatever the text, what this reader reads is what serde reads.
        #[test]
        fn what_is_read_is_what_serde_reads(
            objects in proptest::collection::vec(object(), 0..3),
            noise in proptest::collection::vec(piece(), 0..8),
        ) {
            let array = format!("[{}]", objects.join(","));
            for text in [objects.first().cloned().unwrap_or_default(), array, noise.concat()] {
                if let Some(fast) = score(text.as_bytes()) {
                    prop_assert_eq!(Ok(fast.map(|s| format!("{s:?}"))), serde_score(text.as_bytes()), "{}", text);
                }
                if let Some(fast) = statements(text.as_bytes()) {
                    prop_assert_eq!(Ok(format!("{fast:?}")), serde_statements(text.as_bytes()), "{}", text);
                }
            }
        }

        /// The bureau's shape is always read here.
        #[test]
        fn the_bureau_s_shape_is_always_read(
            value in any::<i32>(),
            band in "[A-E ]{0,3}",
            date in proptest::option::of("[0-9-]{10}"),
            periods in proptest::collection::vec(("[0-9-]{10}", any::<i64>(), any::<i64>(), "[A-Z]{3}"), 0..4),
        ) {
            let score_text = serde_json::json!({"value": value, "band": band, "model": "cw-2", "date": date}).to_string();
            prop_assert!(score(score_text.as_bytes()).is_some());
            let listed: Vec<_> = periods.iter().map(|(end, turnover, net, currency)| serde_json::json!({
                "period_end": end, "filed": "2026-01-01", "turnover": turnover, "profit_loss": -1,
                "net_assets": net, "currency": currency,
            })).collect();
            let text = serde_json::to_string(&listed).unwrap();
            prop_assert_eq!(
                statements(text.as_bytes()).map(|s| format!("{s:?}")),
                serde_statements(text.as_bytes()).ok()
            );
        }
    }
}
