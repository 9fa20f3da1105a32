//! A feed line split at its top level without being parsed: a hash of everything in it but the
//! score and the financial statements (its "core"), and those two fields' text.
//!
//! The day the bureau starts sending scores, every line changes, but only in those two fields.
//! The diff keeps each subject's core hash in its baseline entry; a changed line whose core
//! hash is the entry's can only have changed there, so only those two fields are parsed (see
//! `diff`), not the facts, names and addresses of the rest of the line.
//!
//! The scan checks the line's shape at its top level (an object of `"key": value` pairs) and
//! finds where each value ends (strings with their escapes, nested objects and arrays by
//! depth), without checking the values themselves: the core's bytes are the same bytes a full
//! parse accepted the last time, and the two fields taken out are parsed by the diff.

use xxhash_rust::xxh3::{Xxh3, xxh3_64};

/// A line split at its top level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split<'a> {
    /// The hash of every top-level key and value but `score` and `financial_statements`, in
    /// the line's order.
    pub core_hash: u64,
    /// Where the core ends when it is all of the line from its first key on but a tail of the
    /// two fields (a line that lists them last, or not at all): the next line of the subject
    /// whose text up to here hashes to the same core is split by reading its tail alone
    /// ([`split_after_core`]).
    pub core_end: Option<u32>,
    pub score: Option<&'a [u8]>,
    pub statements: Option<&'a [u8]>,
}

pub(super) fn space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end (exclusive) of the string that starts at `b[i]` (a `"`).
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        return Some(i + 1);
    }
}

/// The bytes a nested value's end is looked for at: strings' and nestings' bounds.
const BOUNDS: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'{' as usize] = true;
    t[b'[' as usize] = true;
    t[b'}' as usize] = true;
    t[b']' as usize] = true;
    t
};

/// The end (exclusive) of the value that starts at `b[i]`.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                while j < b.len() && !BOUNDS[usize::from(b[j])] {
                    j += 1;
                }
                match *b.get(j)? {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let end = i + b[i..]
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n'))
                .unwrap_or(b.len() - i);
            (end > i).then_some(end)
        }
    }
}

/// The `"key": value` pair that starts at `b[i]`: its key (quotes included) and the value's
/// start and end.
fn pair(b: &[u8], i: usize) -> Option<(&[u8], usize, usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let key_end = string_end(b, i)?;
    let colon = space(b, key_end);
    if b.get(colon) != Some(&b':') {
        return None;
    }
    let start = space(b, colon + 1);
    Some((&b[i..key_end], start, value_end(b, start)?))
}

/// After a pair whose value ends at `end`: `Some(Some(next pair's start))` after a comma,
/// `Some(None)` at the object's close when nothing but white space follows it, `None` else.
fn after_pair(b: &[u8], end: usize) -> Option<Option<usize>> {
    let i = space(b, end);
    match b.get(i)? {
        b',' => Some(Some(space(b, i + 1))),
        b'}' if space(b, i + 1) == b.len() => Some(None),
        _ => None,
    }
}

/// The slot of a field cut from the core, by its key (quotes included).
fn cut<'s, 'a>(
    key: &[u8],
    score: &'s mut Option<&'a [u8]>,
    statements: &'s mut Option<&'a [u8]>,
) -> Option<&'s mut Option<&'a [u8]>> {
    match key {
        br#""score""# => Some(score),
        br#""financial_statements""# => Some(statements),
        _ => None,
    }
}

/// The line split, or `None` when it is not an object of that shape or names the score or
/// the statements twice (the diff then parses it whole, and reports what is wrong).
///
/// The core is the line's text from the first key to the last value with the two fields cut
/// out, the pieces joined by a comma: a compact line reads the same with the score or
/// statements anywhere or nowhere in it.
pub fn split(line: &[u8]) -> Option<Split<'_>> {
    let open = space(line, 0);
    if line.get(open) != Some(&b'{') {
        return None;
    }
    let first_key = space(line, open + 1);
    let mut i = first_key;
    let (mut score, mut statements) = (None, None);
    // Runs of kept fields, as (first key, last value end); at most three in a line that names
    // each cut field once.
    let mut runs: [(usize, usize); 3] = [(0, 0); 3];
    let mut count = 0;
    let mut in_run = false;
    loop {
        let (key, start, end) = pair(line, i)?;
        match cut(key, &mut score, &mut statements) {
            Some(field) => {
                if field.replace(&line[start..end]).is_some() {
                    return None;
                }
                in_run = false;
            }
            None if in_run => runs[count - 1].1 = end,
            None => {
                runs[count] = (i, end);
                count += 1;
                in_run = true;
            }
        }
        match after_pair(line, end)? {
            Some(next) => i = next,
            None => break,
        }
    }
    let core_end = match &runs[..count] {
        [(start, end)] if *start == first_key => u32::try_from(*end).ok(),
        _ => None,
    };
    let core_hash = match &runs[..count] {
        [] => xxh3_64(b""),
        [(start, end)] => xxh3_64(&line[*start..*end]),
        pieces => {
            let mut hash = Xxh3::new();
            for (n, (start, end)) in pieces.iter().enumerate() {
                if n > 0 {
                    hash.update(b",");
                }
                hash.update(&line[*start..*end]);
            }
            hash.digest()
        }
    };
    Some(Split {
        core_hash,
        core_end,
        score,
        statements,
    })
}

/// The line split as [`split`] splits it, read from `core_end` on: `None` unless the line's
/// text from its first key to `core_end` hashes to `core_hash` (the core of the subject's
/// last line, which was checked to be whole top-level fields) and the rest names only the
/// score and the statements, each once. A line whose score and statements changed and nothing
/// else costs a hash of its core and a scan of its tail.
pub fn split_after_core(line: &[u8], core_end: u32, core_hash: u64) -> Option<Split<'_>> {
    let open = space(line, 0);
    if line.get(open) != Some(&b'{') {
        return None;
    }
    let end = usize::try_from(core_end).ok()?;
    let core = line.get(space(line, open + 1)..end)?;
    if core.is_empty() || xxh3_64(core) != core_hash {
        return None;
    }
    let (mut score, mut statements) = (None, None);
    let mut next = after_pair(line, end)?;
    while let Some(i) = next {
        let (key, start, end) = pair(line, i)?;
        let field = cut(key, &mut score, &mut statements)?;
        if field.replace(&line[start..end]).is_some() {
            return None;
        }
        next = after_pair(line, end)?;
    }
    Some(Split {
        core_hash,
        core_end: Some(core_end),
        score,
        statements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_core_is_everything_but_the_score_and_the_statements() {
        let plain = br#"{"subject":"COM-1","kind":"company","company":{"name":"A \"B\" Ltd","status":"registered"},"enquiries":[{"enquirer":"K [1]","date":"2026-11-01"}]}"#;
        let scored = br#"{"subject":"COM-1","kind":"company","company":{"name":"A \"B\" Ltd","status":"registered"},"score":{"value":700,"band":"B"},"enquiries":[{"enquirer":"K [1]","date":"2026-11-01"}],"financial_statements":[{"period_end":"2026-03-31","net_assets":5}]}"#;
        let a = split(plain).unwrap();
        let b = split(scored).unwrap();
        assert_eq!(a.core_hash, b.core_hash);
        assert_eq!((a.score, a.statements), (None, None));
        assert_eq!(b.score, Some(&br#"{"value":700,"band":"B"}"#[..]));
        assert_eq!(
            b.statements,
            Some(&br#"[{"period_end":"2026-03-31","net_assets":5}]"#[..])
        );
        let first = br#"{"score":{"value":700,"band":"B"},"subject":"COM-1","kind":"company","company":{"name":"A \"B\" Ltd","status":"registered"},"enquiries":[{"enquirer":"K [1]","date":"2026-11-01"}]}"#;
        assert_eq!(
            split(first).unwrap().core_hash,
            a.core_hash,
            "wherever the score is"
        );
        // Anything else that changes changes the core.
        for other in [
            &br#"{"subject":"COM-1","kind":"company","company":{"name":"A \"B\" Ltd","status":"removed"},"enquiries":[{"enquirer":"K [1]","date":"2026-11-01"}]}"#[..],
            br#"{"subject":"COM-1","kind":"company","company":{"name":"A \"B\" Ltd","status":"registered"},"enquiries":[]}"#,
            br#"{"subject":"COM-1","kind":"company","enquiries":[{"enquirer":"K [1]","date":"2026-11-01"}],"company":{"name":"A \"B\" Ltd","status":"registered"}}"#,
        ] {
            assert_ne!(split(other).unwrap().core_hash, a.core_hash);
        }
    }

    #[test]
    fn a_line_of_another_shape_is_not_split() {
        for bad in [
            &b""[..],
            b"[]",
            b"{}",
            br#"{"subject":"A""#,
            br#"{"subject":"A",}"#,
            br#"{"subject" "A"}"#,
            br#"{"subject":"A"} x"#,
            br#"{"subject":"A","score":1,"score":2}"#,
            br#"{"subject":"A","financial_statements":[],"financial_statements":[]}"#,
            br#"{"a":[1,2}"#,
            br#"{"a":"unterminated}"#,
            br#"{"a":}"#,
        ] {
            assert_eq!(split(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    /// `{"subject":…}` with `tail` (text starting with a comma, or empty) before its brace.
    fn with_tail(core: &[u8], tail: &str) -> Vec<u8> {
        let mut line = core[..core.len() - 1].to_vec();
        line.extend_from_slice(tail.as_bytes());
        line.push(b'}');
        line
    }

    #[test]
    fn a_line_is_read_from_its_core_end_only_when_its_core_is_the_same() {
        let day1 = br#"{"subject":"COM-1","company":{"name":"A [B] Ltd"},"enquiries":[]}"#;
        let s = split(day1).unwrap();
        let end = s
            .core_end
            .expect("a line without the two fields is all core");
        assert_eq!(end as usize, day1.len() - 1);
        let tail = r#","score":{"value":700,"band":"B"},"financial_statements":[{"period_end":"2026-03-31"}]"#;
        let day2 = with_tail(day1, tail);
        assert_eq!(split_after_core(&day2, end, s.core_hash), split(&day2));
        assert!(split_after_core(&day2, end, s.core_hash).is_some());
        for other in [
            // another core
            with_tail(br#"{"subject":"COM-1","company":{"name":"A [C] Ltd"},"enquiries":[]}"#, tail),
            // another field after the core
            with_tail(day1, r#","score":{"value":700},"extra":1"#),
            // the score twice
            with_tail(day1, r#","score":{"value":700},"score":{"value":1}"#),
            // the core cut short
            day1[..20].to_vec(),
            // the score first
            br#"{"score":{"value":1},"subject":"COM-1","company":{"name":"A [B] Ltd"},"enquiries":[]}"#.to_vec(),
        ] {
            assert_eq!(split_after_core(&other, end, s.core_hash), None, "{}", String::from_utf8_lossy(&other));
        }
        let scored_first =
            br#"{"score":{"value":1},"subject":"COM-1","company":{"name":"A [B] Ltd"},"enquiries":[]}"#;
        assert_eq!(
            split(scored_first).unwrap().core_end,
            None,
            "the core is not the line's start"
        );
    }

    /// Top-level fields of any shape, with keys that look like JSON's punctuation.
    fn fields() -> impl Strategy<Value = std::collections::BTreeMap<String, serde_json::Value>> {
        proptest::collection::btree_map(
            "[a-z\"\\\\ {}\\[\\],:]{1,8}",
            prop_oneof![
                any::<i64>().prop_map(serde_json::Value::from),
                "[ -~]{0,12}".prop_map(serde_json::Value::from),
                proptest::collection::vec("[ -~]{0,6}", 0..4).prop_map(|v| serde_json::json!(v)),
                Just(serde_json::json!({"value": 700, "band": "B ]}"})),
                Just(serde_json::Value::Null),
            ],
            0..6,
        )
    }

    proptest! {
        /// A line read from its core's end splits as the whole scan splits it, whatever its
        /// tail, and is read that way whenever its core is the last line's and its tail names
        /// only the score and the statements.
        #[test]
        fn a_line_read_from_its_core_end_splits_as_the_whole_scan_does(
            fields in fields(),
            tail in proptest::collection::vec(
                prop_oneof![
                    (0i32..1000).prop_map(|v| format!(r#","score":{{"value":{v},"band":"B ]}}"}}"#)),
                    "[ -~]{0,8}".prop_map(|p| format!(
                        r#","financial_statements":[{}]"#,
                        serde_json::json!({"period_end": p})
                    )),
                    Just(r#" , "score" : 5 "#.to_owned()),
                    Just(r#","other":[1]"#.to_owned()),
                ],
                0..4,
            ),
            changed in proptest::option::of("[ -~]{0,8}"),
        ) {
            let mut object: serde_json::Map<String, serde_json::Value> = fields
                .into_iter()
                .filter(|(k, _)| k != "score" && k != "financial_statements")
                .collect();
            object.insert("subject".into(), "S-1".into());
            let day1 = serde_json::to_vec(&object).unwrap();
            let first = split(&day1).unwrap();
            let end = first.core_end.unwrap();
            if let Some(name) = changed {
                object.insert("name".into(), name.into());
            }
            let core = serde_json::to_vec(&object).unwrap();
            let tail = tail.concat();
            let day2 = with_tail(&core, &tail);
            let whole = split(&day2);
            let fast = split_after_core(&day2, end, first.core_hash);
            if let Some(fast) = fast {
                prop_assert_eq!(Some(fast), whole);
            }
            let only_the_two_once = !tail.contains("other")
                && tail.matches("\"score\"").count() <= 1
                && tail.matches("financial_statements").count() <= 1;
            if core == day1 && only_the_two_once {
                prop_assert!(fast.is_some());
            }
        }

        /// Any JSON object serde writes is split, and its core and fields are what serde
        /// reads from it.
        #[test]
        fn a_json_object_splits_into_what_serde_reads(
            fields in fields(),
            score in proptest::option::of(0i32..1000),
        ) {
            let mut object: serde_json::Map<String, serde_json::Value> =
                fields.into_iter().filter(|(k, _)| k != "score").collect();
            object.insert("subject".into(), "S-1".into());
            let core = serde_json::to_vec(&object).unwrap();
            if let Some(v) = score {
                object.insert("score".into(), serde_json::json!({"value": v}));
            }
            let line = serde_json::to_vec(&object).unwrap();
            let s = split(&line).unwrap();
            let expected = score.map(|v| serde_json::json!({"value": v}));
            let found = s.score.map(|raw| serde_json::from_slice::<serde_json::Value>(raw).unwrap());
            prop_assert_eq!(found, expected);
            if object.get("financial_statements").is_none() {
                prop_assert_eq!(s.core_hash, split(&core).unwrap().core_hash);
            }
        }
    }
}
