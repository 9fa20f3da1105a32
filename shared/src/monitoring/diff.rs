//! The diff of one feed part against its baseline: a single merging pass over two files sorted
//! by subject id, in constant memory.
//!
//! For each feed line: an unchanged line (same hash as last time) is copied through without
//! being parsed; a subject seen for the first time only gets its baseline; otherwise the facts
//! not in the baseline are the subject's news, handed to `on_change`, and the baseline grows by
//! them. Subjects missing from today's part keep their baseline, so a gap loses nothing.
//! A malformed or out-of-order line is counted and reported by line number, and skipped.

use std::cmp::Ordering;
use std::io::{self, BufRead, Write};

use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use super::facts::{Fact, FactKind, FeedRecord, SubjectKind, differs, value_change};
use super::snapshot::{Entry, Reader, Writer};

/// Lines longer than this are refused (a feed line is a few kilobytes at most).
pub const MAX_LINE: usize = 1 << 20;
/// How many bad lines a part's report lists; all are counted.
pub const LISTED_BAD_LINES: usize = 100;

/// What is new about one subject.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub subject: String,
    pub kind: SubjectKind,
    pub name: String,
    pub facts: Vec<Fact>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadLine {
    pub line: u64,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PartStats {
    pub lines: u64,
    pub unchanged: u64,
    /// Subjects whose line changed (whether or not anything new was in it).
    pub rewritten: u64,
    /// Subjects with at least one new fact.
    pub changed: u64,
    pub first_seen: u64,
    pub new_facts: u64,
    pub bad: u64,
    pub bad_lines: Vec<BadLine>,
    pub baseline_entries: u64,
}

impl PartStats {
    fn bad(&mut self, line: u64, message: impl Into<String>) {
        self.bad += 1;
        if self.bad_lines.len() < LISTED_BAD_LINES {
            self.bad_lines.push(BadLine {
                line,
                message: message.into(),
            });
        }
    }
}

/// The subject id of a line in the usual shape (`{"subject":"…"` first), without parsing it.
fn quick_subject(line: &[u8]) -> Option<&str> {
    let rest = line.strip_prefix(br#"{"subject":""#)?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    if rest[end] != b'"' {
        return None;
    }
    std::str::from_utf8(&rest[..end]).ok()
}

fn trim_line(buf: &[u8]) -> &[u8] {
    let mut end = buf.len();
    while end > 0 && matches!(buf[end - 1], b'\n' | b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    &buf[..end]
}

fn merge_ids(known: &[u64], new: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut all: Vec<u64> = known.iter().copied().chain(new).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Diffs one part. `day` (YYYY-MM-DD) goes into the ids of name and status changes.
pub fn diff_part<F, P, W>(
    mut feed: F,
    mut previous: Option<Reader<P>>,
    out: &mut Writer<W>,
    day: &str,
    mut on_change: impl FnMut(Change) -> io::Result<()>,
) -> io::Result<PartStats>
where
    F: BufRead,
    P: BufRead,
    W: Write,
{
    let mut stats = PartStats::default();
    let mut buf = Vec::with_capacity(4096);
    let mut number = 0u64;
    let mut last_subject = String::new();
    'lines: loop {
        buf.clear();
        if feed.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        number += 1;
        let line = trim_line(&buf);
        if line.is_empty() {
            continue;
        }
        stats.lines += 1;
        if line.len() > MAX_LINE {
            stats.bad(number, format!("the line is longer than {MAX_LINE} bytes"));
            continue;
        }
        let mut parsed: Option<FeedRecord> = None;
        let owned: String;
        let subject: &str = match quick_subject(line) {
            Some(s) => s,
            None => match serde_json::from_slice::<FeedRecord>(line) {
                Ok(r) => {
                    owned = r.subject.clone();
                    parsed = Some(r);
                    &owned
                }
                Err(e) => {
                    stats.bad(number, format!("not a feed record: {e}"));
                    continue;
                }
            },
        };
        if subject.is_empty() || subject.len() > 64 {
            stats.bad(number, "the subject id must be 1 to 64 characters");
            continue;
        }
        if subject <= last_subject.as_str() {
            stats.bad(
                number,
                format!(
                    "subject {subject:?} is out of order (after {last_subject:?}); lines of a part must be in ascending subject order"
                ),
            );
            continue;
        }
        last_subject.clear();
        last_subject.push_str(subject);

        // Carry over the baselines of subjects before this one that are not in today's part
        // as they are, and the subject's own when its line is unchanged (same hash).
        let hash = xxh3_64(line);
        let mut known: Option<Entry> = None;
        if let Some(prev) = previous.as_mut() {
            while let Some(e) = prev.peek()? {
                match e.subject().cmp(subject) {
                    Ordering::Less => out.write_raw(e)?,
                    Ordering::Equal if e.line_hash() == hash => {
                        out.write_raw(e)?;
                        prev.skip();
                        stats.unchanged += 1;
                        continue 'lines;
                    }
                    Ordering::Equal => known = Some(e.decode()?),
                    Ordering::Greater => break,
                }
                prev.skip();
                if known.is_some() {
                    break;
                }
            }
        }
        let record = match parsed {
            Some(r) => r,
            None => match serde_json::from_slice::<FeedRecord>(line) {
                Ok(r) => r,
                Err(e) => {
                    stats.bad(number, format!("not a feed record: {e}"));
                    if let Some(entry) = &known {
                        out.write(entry)?;
                    }
                    continue;
                }
            },
        };
        if record.subject.as_str() != subject {
            stats.bad(number, "the subject id is given twice, differently");
            if let Some(entry) = &known {
                out.write(entry)?;
            }
            continue;
        }
        let facts = record.facts();
        let (name, status) = record.company_values();
        let Some(entry) = known else {
            stats.first_seen += 1;
            out.write(&Entry {
                line_hash: hash,
                facts: merge_ids(&[], facts.iter().map(|f| f.id)),
                subject: subject.to_owned(),
                name,
                status,
            })?;
            continue;
        };
        stats.rewritten += 1;
        let mut news: Vec<Fact> = facts
            .into_iter()
            .filter(|f| entry.facts.binary_search(&f.id).is_err())
            .collect();
        if record.kind == SubjectKind::Company {
            if !entry.name.is_empty() && !name.is_empty() && differs(&entry.name, &name) {
                news.push(value_change(FactKind::NameChange, &entry.name, &name, day));
            }
            if !entry.status.is_empty() && !status.is_empty() && differs(&entry.status, &status) {
                news.push(value_change(
                    FactKind::StatusChange,
                    &entry.status,
                    &status,
                    day,
                ));
            }
        }
        let next = Entry {
            subject: subject.to_owned(),
            line_hash: hash,
            name: if name.is_empty() { entry.name } else { name },
            status: if status.is_empty() {
                entry.status
            } else {
                status
            },
            facts: merge_ids(
                &entry.facts,
                news.iter()
                    .filter(|f| !matches!(f.kind, FactKind::NameChange | FactKind::StatusChange))
                    .map(|f| f.id),
            ),
        };
        out.write(&next)?;
        if !news.is_empty() {
            stats.changed += 1;
            stats.new_facts += news.len() as u64;
            on_change(Change {
                subject: subject.to_owned(),
                kind: record.kind,
                name: record.display_name(),
                facts: news,
            })?;
        }
    }
    if let Some(prev) = previous.as_mut() {
        while let Some(e) = prev.peek()? {
            out.write_raw(e)?;
            prev.skip();
        }
    }
    stats.baseline_entries = out.entries;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(feed: &str, previous: Option<&[u8]>) -> (PartStats, Vec<Change>, Vec<u8>) {
        let mut out = Writer::new(Vec::new()).unwrap();
        let mut changes = Vec::new();
        let prev = previous.map(|p| Reader::new(p).unwrap());
        let stats = diff_part(feed.as_bytes(), prev, &mut out, "2026-11-21", |c| {
            changes.push(c);
            Ok(())
        })
        .unwrap();
        (stats, changes, out.finish().unwrap())
    }

    const DAY1: &str = concat!(
        r#"{"subject":"COM-1","kind":"company","company":{"name":"Smith Ltd","status":"registered"}}"#,
        "\n",
        r#"{"subject":"IND-1","kind":"individual","name":"Ana","enquiries":[{"enquirer":"Kiwi Bank","product":"card","date":"2026-11-19"}]}"#,
        "\n",
        r#"{"subject":"IND-2","kind":"individual","name":"Bo"}"#,
        "\n",
    );

    #[test]
    fn the_first_day_only_sets_baselines() {
        let (stats, changes, _) = run(DAY1, None);
        assert_eq!(stats.first_seen, 3);
        assert!(changes.is_empty());
    }

    #[test]
    fn only_new_facts_and_changed_values_are_news() {
        let (_, _, base) = run(DAY1, None);
        let day2 = concat!(
            r#"{"subject":"COM-1","kind":"company","company":{"name":"Smith Holdings Ltd","status":"registered"}}"#,
            "\n",
            r#"{"subject":"IND-1","kind":"individual","name":"Ana","enquiries":[{"enquirer":"Kiwi Bank","product":"card","date":"2026-11-19"},{"enquirer":"ASB","product":"loan","date":"2026-11-20"}]}"#,
            "\n",
            r#"{"subject":"IND-2","kind":"individual","name":"Bo"}"#,
            "\n",
        );
        let (stats, changes, _) = run(day2, Some(&base));
        assert_eq!(stats.unchanged, 1);
        assert_eq!(stats.changed, 2);
        assert_eq!(changes[0].subject, "COM-1");
        assert_eq!(changes[0].facts[0].kind, FactKind::NameChange);
        assert_eq!(
            changes[0].facts[0].summary,
            r#"name changed from "Smith Ltd" to "Smith Holdings Ltd""#
        );
        assert_eq!(changes[1].facts.len(), 1);
        assert_eq!(changes[1].facts[0].kind, FactKind::Enquiry);
    }

    #[test]
    fn a_missing_subject_keeps_its_baseline_and_a_rerun_finds_nothing() {
        let (_, _, base) = run(DAY1, None);
        let (stats, _, gap) = run(
            r#"{"subject":"IND-2","kind":"individual","name":"Bo"}"#,
            Some(&base),
        );
        assert_eq!(stats.baseline_entries, 3);
        let (stats, changes, _) = run(DAY1, Some(&gap));
        assert_eq!(stats.unchanged, 3);
        assert!(changes.is_empty());
    }

    #[test]
    fn bad_lines_are_reported_by_number_and_the_rest_goes_on() {
        let feed = concat!(
            r#"{"subject":"IND-1","kind":"individual"}"#,
            "\n",
            "not json\n",
            "\n",
            r#"{"subject":"IND-0","kind":"individual"}"#,
            "\n",
            r#"{"subject":"IND-3","kind":"martian"}"#,
            "\n",
            r#"{"subject":"IND-4","kind":"individual"}"#,
            "\n",
        );
        let (stats, _, _) = run(feed, None);
        assert_eq!(stats.bad, 3);
        assert_eq!(stats.first_seen, 2);
        let lines: Vec<u64> = stats.bad_lines.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![2, 4, 5]);
        assert!(stats.bad_lines[1].message.contains("out of order"));
        assert!(
            stats.bad_lines[2].message.contains("martian"),
            "{:?}",
            stats.bad_lines[2]
        );
    }
}
