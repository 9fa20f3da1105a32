//! The diff of one feed part against its baseline: a single merging pass over two files sorted
//! by subject id, in constant memory.
//!
//! A part whose lines are not in subject order is diffed once more, in order: the fast pass
//! stops at the first line that goes back (the changes it found before that line are right and
//! are kept), the part is read again and sorted by subject on disk (runs of at most
//! [`SORT_BUDGET`] bytes in memory, merged), and the sorted lines are diffed from the start
//! against the same baseline, handing on only the changes of lines the fast pass had not
//! reached. The lines that broke the order are reported by number; none is skipped.
//!
//! For each feed line: an unchanged line (same hash as last time) is copied through without
//! being parsed; a subject seen for the first time only gets its baseline; otherwise the facts
//! not in the baseline are the subject's news, handed to `on_change`, and the baseline grows by
//! them. Subjects missing from today's part keep their baseline, so a gap loses nothing.
//! A malformed line, or a second line of the same subject, is counted and reported by line
//! number, and skipped. A feed that cannot be read (a gzip part corrupt half-way) fails with
//! the number of the line it was reading ([`LineError`]).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, Write};

use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use super::facts::{
    Fact, FactKind, FeedRecord, ScoreRecord, StatementRecord, SubjectKind, adverse,
    current_address, differs, score_change, statement_ids, statements_filed, statements_of,
    value_change,
};
use super::flat;
use super::snapshot::{Entry, Reader, Writer};
use super::split::{self, Split};
use crate::domain::bureau::{self, SubjectRecord};
use crate::domain::monitoring::{Figures, HitChange, ScoreValue};

/// Lines longer than this are refused (a feed line is a few kilobytes at most).
pub const MAX_LINE: usize = 1 << 20;
/// How many bad lines a part's report lists; all are counted.
pub const LISTED_BAD_LINES: usize = 100;
/// Bytes of feed lines the sorted pass holds in memory at a time; more are sorted in runs on
/// disk and merged.
pub const SORT_BUDGET: usize = 64 << 20;

/// What is new about one subject whose line changed (or that was asked for: see
/// [`diff_any_order`]'s `wanted`), and what its line now says.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub subject: String,
    pub kind: SubjectKind,
    pub name: String,
    /// The new facts: none when the line changed without news, or was only asked for.
    pub facts: Vec<Fact>,
    /// The subject's record as the line gives it (its bureau profile).
    pub record: SubjectRecord,
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
    /// Changed lines of which only the score and statements were parsed (the rest of the line
    /// as before).
    pub periodic_only: u64,
    pub first_seen: u64,
    pub new_facts: u64,
    pub bad: u64,
    pub bad_lines: Vec<BadLine>,
    /// Lines found out of subject order (diffed all the same, by the sorted pass).
    pub out_of_order: u64,
    pub out_of_order_lines: Vec<BadLine>,
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

/// A feed line as a record, its text borrowed from the line. The line is checked to be UTF-8
/// once, not string by string.
fn parse_record(line: &[u8]) -> Result<FeedRecord<'_>, String> {
    let text = std::str::from_utf8(line).map_err(|e| format!("the line is not UTF-8: {e}"))?;
    serde_json::from_str(text).map_err(|e| e.to_string())
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

/// A feed that could not be read: the number of the line being read and why (a gzip part
/// corrupt half-way reads as `InvalidInput`, `InvalidData` or `UnexpectedEof`).
#[derive(Debug, thiserror::Error)]
#[error("reading line {line}: {source}")]
pub struct LineError {
    pub line: u64,
    #[source]
    pub source: io::Error,
}

impl LineError {
    /// The `LineError` inside an I/O error, if it is one.
    pub fn of(e: &io::Error) -> Option<&LineError> {
        e.get_ref()?.downcast_ref::<LineError>()
    }
}

/// A part's lines, each with its number in the part.
pub trait Lines {
    /// Puts the next line (with its line end, if any) into `buf`, which the caller has
    /// cleared, and returns its number; `None` at the end.
    fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<u64>>;
}

/// A part's lines as they come.
pub struct InOrder<F> {
    feed: F,
    number: u64,
}

impl<F: BufRead> InOrder<F> {
    pub fn new(feed: F) -> Self {
        Self { feed, number: 0 }
    }
}

impl<F: BufRead> Lines for InOrder<F> {
    fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<u64>> {
        let line = self.number + 1;
        match self.feed.read_until(b'\n', buf) {
            Ok(0) => Ok(None),
            Ok(_) => {
                self.number = line;
                Ok(Some(line))
            }
            Err(e) => Err(io::Error::new(e.kind(), LineError { line, source: e })),
        }
    }
}

/// The subject a line sorts by: the one the diff reads from it, or "" for a line that is no
/// feed record (those come first and are reported as bad by the diff).
fn sort_subject(line: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Subject {
        subject: String,
    }
    match quick_subject(line) {
        Some(s) => s.to_owned(),
        None => serde_json::from_slice::<Subject>(line)
            .map(|s| s.subject)
            .unwrap_or_default(),
    }
}

/// One line of the sorted pass.
struct SortLine {
    subject: String,
    number: u64,
    bytes: Vec<u8>,
}

impl SortLine {
    fn order(&self) -> (&str, u64) {
        (&self.subject, self.number)
    }
}

/// A sorted run: in memory, or spilled to an anonymous temporary file.
enum Run {
    Memory(std::vec::IntoIter<SortLine>),
    File(BufReader<std::fs::File>),
}

impl Run {
    fn spill(lines: Vec<SortLine>) -> io::Result<Run> {
        let file = tempfile::tempfile()?;
        let mut w = BufWriter::with_capacity(1 << 16, file);
        for l in lines {
            w.write_all(&(l.subject.len() as u32).to_le_bytes())?;
            w.write_all(l.subject.as_bytes())?;
            w.write_all(&l.number.to_le_bytes())?;
            w.write_all(&(l.bytes.len() as u32).to_le_bytes())?;
            w.write_all(&l.bytes)?;
        }
        let mut file = w.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        Ok(Run::File(BufReader::with_capacity(1 << 16, file)))
    }

    fn next(&mut self) -> io::Result<Option<SortLine>> {
        let r = match self {
            Run::Memory(lines) => return Ok(lines.next()),
            Run::File(r) => r,
        };
        if r.fill_buf()?.is_empty() {
            return Ok(None);
        }
        let mut n4 = [0u8; 4];
        let mut n8 = [0u8; 8];
        r.read_exact(&mut n4)?;
        let mut subject = vec![0; u32::from_le_bytes(n4) as usize];
        r.read_exact(&mut subject)?;
        r.read_exact(&mut n8)?;
        r.read_exact(&mut n4)?;
        let mut bytes = vec![0; u32::from_le_bytes(n4) as usize];
        r.read_exact(&mut bytes)?;
        Ok(Some(SortLine {
            subject: String::from_utf8(subject).map_err(io::Error::other)?,
            number: u64::from_le_bytes(n8),
            bytes,
        }))
    }
}

/// A part's lines in subject order (lines of one subject in line order), sorted on disk in
/// runs of at most [`SORT_BUDGET`] bytes and merged; and the lines that were out of order.
pub struct Sorted {
    runs: Vec<Run>,
    heads: BinaryHeap<Reverse<(String, u64, usize)>>,
    pending: Vec<Option<SortLine>>,
    out_of_order: u64,
    out_of_order_lines: Vec<BadLine>,
}

/// Tells, reading a part in line order, which lines break the subject order: at a line that
/// goes back, the line before it is the one out of place when dropping it restores the order
/// (a line moved early); otherwise the new line is (a line moved late).
#[derive(Default)]
struct OrderWatch {
    before: Option<String>,
    last: Option<(String, u64)>,
    count: u64,
    listed: Vec<BadLine>,
}

impl OrderWatch {
    fn out_of_place(&mut self, subject: &str, line: u64) {
        self.count += 1;
        if self.listed.len() < LISTED_BAD_LINES {
            self.listed.push(BadLine {
                line,
                message: format!(
                    "subject {subject:?} is out of subject order; the part was diffed by a sorted pass, this line included"
                ),
            });
        }
    }

    fn see(&mut self, subject: &str, line: u64) {
        if subject.is_empty() {
            return;
        }
        let Some((last, last_line)) = &self.last else {
            self.last = Some((subject.to_owned(), line));
            return;
        };
        match subject.cmp(last.as_str()) {
            Ordering::Greater => {
                self.before = self.last.take().map(|(s, _)| s);
                self.last = Some((subject.to_owned(), line));
            }
            Ordering::Equal => {}
            Ordering::Less => {
                if self.before.as_deref().is_none_or(|b| b < subject) {
                    let (moved, moved_line) = (last.clone(), *last_line);
                    self.out_of_place(&moved, moved_line);
                    self.last = Some((subject.to_owned(), line));
                } else {
                    self.out_of_place(subject, line);
                }
            }
        }
    }
}

impl Sorted {
    /// Reads the whole part; `budget` is the bytes of lines held in memory at a time.
    pub fn new(mut lines: impl Lines, budget: usize) -> io::Result<Self> {
        let mut runs = Vec::new();
        let mut chunk: Vec<SortLine> = Vec::new();
        let mut held = 0usize;
        let mut watch = OrderWatch::default();
        let mut buf = Vec::with_capacity(4096);
        loop {
            buf.clear();
            let Some(number) = lines.next_line(&mut buf)? else {
                break;
            };
            let line = trim_line(&buf);
            if line.is_empty() {
                continue;
            }
            let subject = if line.len() > MAX_LINE {
                String::new()
            } else {
                sort_subject(line)
            };
            watch.see(&subject, number);
            held += line.len() + subject.len() + 64;
            chunk.push(SortLine {
                subject,
                number,
                bytes: line.to_vec(),
            });
            if held >= budget {
                chunk.sort_unstable_by(|a, b| a.order().cmp(&b.order()));
                runs.push(Run::spill(std::mem::take(&mut chunk))?);
                held = 0;
            }
        }
        chunk.sort_unstable_by(|a, b| a.order().cmp(&b.order()));
        runs.push(Run::Memory(chunk.into_iter()));
        let mut sorted = Sorted {
            pending: (0..runs.len()).map(|_| None).collect(),
            runs,
            heads: BinaryHeap::new(),
            out_of_order: watch.count,
            out_of_order_lines: watch.listed,
        };
        for i in 0..sorted.runs.len() {
            sorted.refill(i)?;
        }
        Ok(sorted)
    }

    fn refill(&mut self, run: usize) -> io::Result<()> {
        if let Some(line) = self.runs[run].next()? {
            self.heads
                .push(Reverse((line.subject.clone(), line.number, run)));
            self.pending[run] = Some(line);
        }
        Ok(())
    }
}

impl Lines for Sorted {
    fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<u64>> {
        let Some(Reverse((_, _, run))) = self.heads.pop() else {
            return Ok(None);
        };
        let line = self.pending[run].take().expect("a head has its line");
        buf.extend_from_slice(&line.bytes);
        self.refill(run)?;
        Ok(Some(line.number))
    }
}

/// How a pass over a part ended.
#[derive(Debug, PartialEq)]
pub enum Pass {
    Done(PartStats),
    /// The fast pass met a line whose subject comes before the one of the line before it; the
    /// lines before `line` were diffed and their changes handed on.
    Unsorted {
        line: u64,
    },
}

/// The fast pass over a part in subject order: stops at the first line that goes back.
pub fn diff_part<F, P, W>(
    feed: F,
    previous: Option<Reader<P>>,
    out: &mut Writer<W>,
    on_change: impl FnMut(Change) -> io::Result<()>,
) -> io::Result<Pass>
where
    F: BufRead,
    P: BufRead,
    W: Write,
{
    diff_lines(InOrder::new(feed), previous, out, None, &[], on_change)
}

/// Diffs one part whatever the order of its lines: the fast pass, and when a line goes back, a
/// sorted pass over the part read again (`open_feed`) against the baseline read again
/// (`open_previous`), written afresh (`new_out`). Every change is handed on once.
///
/// `wanted` (sorted) names subjects whose record is wanted even if their line did not change
/// (monitoring started since the last run): their lines are parsed and handed on without facts.
/// With none wanted, an unchanged line costs what it did: a hash, never a parse.
pub fn diff_any_order<F, P, W>(
    mut open_feed: impl FnMut() -> io::Result<F>,
    mut open_previous: impl FnMut() -> io::Result<Option<Reader<P>>>,
    mut new_out: impl FnMut() -> io::Result<Writer<W>>,
    budget: usize,
    wanted: &[String],
    mut on_change: impl FnMut(Change) -> io::Result<()>,
) -> io::Result<(PartStats, Writer<W>)>
where
    F: BufRead,
    P: BufRead,
    W: Write,
{
    let mut out = new_out()?;
    let pass = diff_lines(
        InOrder::new(open_feed()?),
        open_previous()?,
        &mut out,
        None,
        wanted,
        &mut on_change,
    )?;
    let reached = match pass {
        Pass::Done(stats) => return Ok((stats, out)),
        Pass::Unsorted { line } => line - 1,
    };
    drop(out);
    let sorted = Sorted::new(InOrder::new(open_feed()?), budget)?;
    let mut out = new_out()?;
    let pass = diff_lines(
        sorted,
        open_previous()?,
        &mut out,
        Some(reached),
        wanted,
        &mut on_change,
    )?;
    match pass {
        Pass::Done(stats) => Ok((stats, out)),
        Pass::Unsorted { line } => Err(io::Error::other(format!(
            "the sorted pass went back at line {line}"
        ))),
    }
}

/// Lines the fast pass reached are not handed on again by the sorted pass.
trait Reported {
    fn order_report(&mut self, stats: &mut PartStats);
}

impl<F> Reported for InOrder<F> {
    fn order_report(&mut self, _: &mut PartStats) {}
}

impl Reported for Sorted {
    fn order_report(&mut self, stats: &mut PartStats) {
        stats.out_of_order = self.out_of_order;
        stats.out_of_order_lines = std::mem::take(&mut self.out_of_order_lines);
    }
}

/// The diff proper. `reached` is given for a sorted pass: the changes of lines up to that
/// number were handed on by the fast pass already.
fn diff_lines<L, P, W>(
    mut feed: L,
    mut previous: Option<Reader<P>>,
    out: &mut Writer<W>,
    reached: Option<u64>,
    wanted: &[String],
    mut on_change: impl FnMut(Change) -> io::Result<()>,
) -> io::Result<Pass>
where
    L: Lines + Reported,
    P: BufRead,
    W: Write,
{
    let mut stats = PartStats::default();
    feed.order_report(&mut stats);
    let mut buf = Vec::with_capacity(4096);
    let mut last_subject = String::new();
    let mut last_line = 0u64;
    // The next wanted subject not yet passed (lines come in subject order).
    let mut next_wanted = 0usize;
    loop {
        buf.clear();
        let Some(number) = feed.next_line(&mut buf)? else {
            break;
        };
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
            None => match parse_record(line) {
                Ok(r) => {
                    owned = r.subject.to_string();
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
        match subject.cmp(last_subject.as_str()) {
            Ordering::Greater => {}
            Ordering::Equal if !last_subject.is_empty() => {
                stats.bad(
                    number,
                    format!(
                        "subject {subject:?} appears again (first on line {last_line}); only its first line is used"
                    ),
                );
                continue;
            }
            _ if reached.is_none() => return Ok(Pass::Unsorted { line: number }),
            _ => {
                return Err(io::Error::other(format!(
                    "line {number} out of order in a sorted pass"
                )));
            }
        }
        last_subject.clear();
        last_subject.push_str(subject);
        last_line = number;
        let hand_on = reached.is_none_or(|r| number > r);
        let is_wanted = !wanted.is_empty() && {
            while wanted
                .get(next_wanted)
                .is_some_and(|w| w.as_str() < subject)
            {
                next_wanted += 1;
            }
            wanted.get(next_wanted).is_some_and(|w| w == subject)
        };

        // Carry over the baselines of subjects before this one that are not in today's part
        // as they are, and the subject's own when its line is unchanged (same hash).
        let hash = xxh3_64(line);
        let mut known: Option<Entry> = None;
        let mut unchanged = false;
        if let Some(prev) = previous.as_mut() {
            while let Some(e) = prev.peek()? {
                match e.subject_bytes().cmp(subject.as_bytes()) {
                    Ordering::Less => out.write_raw(e)?,
                    Ordering::Equal if e.line_hash() == hash => {
                        out.write_raw(e)?;
                        prev.skip();
                        stats.unchanged += 1;
                        unchanged = true;
                        break;
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
        if unchanged {
            // An unchanged line is parsed only when its subject's record is wanted.
            if is_wanted && hand_on {
                let record = match parsed {
                    Some(r) => Some(r),
                    None => parse_record(line).ok(),
                };
                if let Some(record) = record.filter(|r| *r.subject == *subject) {
                    on_change(record_only(subject, &record))?;
                }
            }
            continue;
        }
        // A line whose core ends where its entry's did is checked by a hash of that text and
        // a scan of its tail; any other by a scan of the whole line.
        let split = known
            .as_ref()
            .and_then(|e| Some((e.core_end?, e.core_hash?)))
            .and_then(|(end, hash)| split::split_after_core(line, end, hash))
            .or_else(|| split::split(line));
        // A line whose core is the one its entry was made from changed only in its score or
        // statements: those two fields are parsed, not the rest. One with news (a score move,
        // a period filed), or wanted, or in another shape, is parsed whole below.
        if let (Some(entry), Some(split), None, false) = (&mut known, &split, &parsed, is_wanted)
            && entry.core_hash == Some(split.core_hash)
            && entry.profile_hash.is_some()
            && periodic_only(entry, split, hash)
        {
            stats.rewritten += 1;
            stats.periodic_only += 1;
            out.write(entry)?;
            continue;
        }
        let record = match parsed {
            Some(r) => r,
            None => match parse_record(line) {
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
        if *record.subject != *subject {
            stats.bad(number, "the subject id is given twice, differently");
            if let Some(entry) = &known {
                out.write(entry)?;
            }
            continue;
        }
        let (name, status) = record.company_values();
        let score = record.score_value();
        let statements = record.statements();
        let statement_ids: Vec<(u64, u64)> = statements.iter().map(statement_ids).collect();
        let latest = statements.last().cloned();
        let profile = record.subject_record();
        let profile_hash = Some(bureau::profile_hash(&profile));
        let score_date = profile.score.as_ref().and_then(|s| s.date.clone());
        let core_hash = split.map(|s| s.core_hash);
        let core_end = split.and_then(|s| s.core_end);
        let company = record.kind == SubjectKind::Company;
        let Some(entry) = known else {
            stats.first_seen += 1;
            // Everything seen for the first time is a baseline: a first score or a first
            // statement is not a change.
            out.write(&Entry {
                line_hash: hash,
                facts: merge_ids(
                    &[],
                    record
                        .fact_ids()
                        .into_iter()
                        .chain(statement_ids.iter().flat_map(|&(f, p)| [f, p])),
                ),
                subject: subject.to_owned(),
                name,
                status,
                name_changes: 0,
                status_changes: 0,
                score,
                score_changes: 0,
                score_date,
                statement: latest,
                profile_hash,
                core_hash,
                core_end,
                company,
            })?;
            if is_wanted && hand_on {
                on_change(Change {
                    subject: subject.to_owned(),
                    kind: record.kind,
                    name: record.display_name(),
                    facts: Vec::new(),
                    record: profile,
                })?;
            }
            continue;
        };
        stats.rewritten += 1;
        let is_known = |id: u64| entry.facts.binary_search(&id).is_ok();
        // The facts themselves (their details and summaries) only when one of them is new: on
        // a line that changed for another reason (a score, a new field) the ids are enough.
        let facts = if record.fact_ids().into_iter().all(is_known) {
            Vec::new()
        } else {
            record.facts()
        };
        let (old_facts, new_facts): (Vec<Fact>, Vec<Fact>) =
            facts.into_iter().partition(|f| is_known(f.id));
        let mut news = new_facts;
        for i in 0..news.len() {
            let change = match news[i].kind {
                FactKind::Address => Some(HitChange::Address {
                    old: current_address(old_facts.iter()).map(|f| f.summary.clone()),
                    new: news[i].summary.clone(),
                }),
                FactKind::Default | FactKind::Judgement => {
                    let currency = news[i]
                        .details
                        .get("currency")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("");
                    // After: every default and judgement of today's line (several may be new
                    // at once).
                    Some(HitChange::Adverse {
                        old: adverse(old_facts.iter(), currency),
                        new: adverse(old_facts.iter().chain(news.iter()), currency),
                    })
                }
                _ => None,
            };
            news[i].change = change;
        }
        let (mut name_changes, mut status_changes) = (entry.name_changes, entry.status_changes);
        if record.kind == SubjectKind::Company {
            if !entry.name.is_empty() && !name.is_empty() && differs(&entry.name, &name) {
                news.push(value_change(
                    FactKind::NameChange,
                    &entry.name,
                    &name,
                    name_changes,
                ));
                name_changes += 1;
            }
            if !entry.status.is_empty() && !status.is_empty() && differs(&entry.status, &status) {
                news.push(value_change(
                    FactKind::StatusChange,
                    &entry.status,
                    &status,
                    status_changes,
                ));
                status_changes += 1;
            }
        }
        let periodic = periodic(&entry, score.as_ref(), &statements, &statement_ids);
        news.extend(periodic.news);
        let (score_changes, statement) = (periodic.score_changes, periodic.statement);
        let next = Entry {
            subject: subject.to_owned(),
            line_hash: hash,
            name: if name.is_empty() { entry.name } else { name },
            status: if status.is_empty() {
                entry.status
            } else {
                status
            },
            name_changes,
            status_changes,
            score_date: if score.is_some() {
                score_date
            } else {
                entry.score_date
            },
            score: score.or(entry.score),
            score_changes,
            statement,
            profile_hash,
            core_hash,
            core_end,
            company,
            facts: merge_ids(
                &entry.facts,
                news.iter()
                    .filter(|f| {
                        !matches!(
                            f.kind,
                            FactKind::NameChange
                                | FactKind::StatusChange
                                | FactKind::ScoreChange
                                | FactKind::FinancialStatements
                        )
                    })
                    .map(|f| f.id)
                    .chain(statement_ids.iter().flat_map(|&(f, p)| [f, p])),
            ),
        };
        out.write(&next)?;
        if !news.is_empty() {
            stats.changed += 1;
            stats.new_facts += news.len() as u64;
        }
        // A changed line is handed on when it has news, when its subject's profile changed (a
        // person's name, a company's status: a watched subject's profile follows it) or was
        // asked for. A line that changed for anything else (a score that moved no more than
        // its news says, a first score, new fields) is not: its baseline is all it changes,
        // and the profile's score is read from the baseline.
        if hand_on && (!news.is_empty() || is_wanted || entry.profile_hash != profile_hash) {
            on_change(Change {
                subject: subject.to_owned(),
                kind: record.kind,
                name: record.display_name(),
                facts: news,
                record: profile,
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
    Ok(Pass::Done(stats))
}

/// A subject's record handed on without facts.
/// What a line's score and statements bring against its subject's entry.
struct Periodic {
    /// A score move, periods filed or restated.
    news: Vec<Fact>,
    score_changes: u32,
    /// The latest period's figures to keep.
    statement: Option<Figures>,
}

/// A score: any move is news (each tenant's threshold decides what is a hit); a first score
/// is a baseline. Statements: a period's figures not seen before are news, unless the subject
/// had no statement before (a baseline); a period seen before with other figures is restated.
fn periodic(
    entry: &Entry,
    score: Option<&ScoreValue>,
    statements: &[Figures],
    statement_ids: &[(u64, u64)],
) -> Periodic {
    let is_known = |id: u64| entry.facts.binary_search(&id).is_ok();
    let mut news = Vec::new();
    let mut score_changes = entry.score_changes;
    if let (Some(old), Some(new)) = (&entry.score, score)
        && (old.value != new.value || differs(&old.band, &new.band))
    {
        news.push(score_change(old, new, score_changes));
        score_changes += 1;
    }
    if entry.statement.is_some() {
        for (i, (f, &(figures_id, period_id))) in statements.iter().zip(statement_ids).enumerate() {
            if is_known(figures_id) {
                continue;
            }
            let restated = is_known(period_id);
            let old = if restated {
                entry
                    .statement
                    .as_ref()
                    .filter(|s| s.period_end == f.period_end)
            } else if i > 0 {
                statements.get(i - 1)
            } else {
                entry
                    .statement
                    .as_ref()
                    .filter(|s| s.period_end < f.period_end)
            };
            news.push(statements_filed(figures_id, f, old, restated));
        }
    }
    let statement = match (entry.statement.clone(), statements.last().cloned()) {
        (Some(kept), Some(new)) if kept.period_end > new.period_end => Some(kept),
        (kept, new) => new.or(kept),
    };
    Periodic {
        news,
        score_changes,
        statement,
    }
}

/// Updates the entry of a line whose core is the entry's from the line's score and
/// statements alone (to what the whole parse would make of it); `false`, leaving the entry as
/// it was, when they bring news or do not parse, and the line is parsed whole.
fn periodic_only(entry: &mut Entry, split: &Split, line_hash: u64) -> bool {
    let Ok(score) = split.score.map(flat::read_score).transpose() else {
        return false;
    };
    let score: Option<ScoreRecord> = score.flatten();
    let Ok(listed) = split.statements.map(flat::read_statements).transpose() else {
        return false;
    };
    let listed: Vec<StatementRecord> = listed.unwrap_or_default();
    let kind = if entry.company {
        SubjectKind::Company
    } else {
        SubjectKind::Individual
    };
    let statements = statements_of(kind, &listed);
    let ids: Vec<(u64, u64)> = statements.iter().map(statement_ids).collect();
    let value = score.as_ref().map(ScoreRecord::value);
    let periodic = periodic(entry, value.as_ref(), &statements, &ids);
    if !periodic.news.is_empty() {
        return false;
    }
    entry.line_hash = line_hash;
    entry.core_end = split.core_end;
    if let Some(score) = &score {
        entry.score_date = score.day();
    }
    if value.is_some() {
        entry.score = value;
    }
    entry.score_changes = periodic.score_changes;
    entry.statement = periodic.statement;
    if !ids.is_empty() {
        entry.facts = merge_ids(&entry.facts, ids.iter().flat_map(|&(f, p)| [f, p]));
    }
    true
}

fn record_only(subject: &str, record: &FeedRecord) -> Change {
    Change {
        subject: subject.to_owned(),
        kind: record.kind,
        name: record.display_name(),
        facts: Vec::new(),
        record: record.subject_record(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::Just;
    use proptest::strategy::Strategy;

    /// Diffs `feed` in any order, sorting in runs of `budget` bytes; the changes with news.
    fn run_with(
        feed: &str,
        previous: Option<&[u8]>,
        budget: usize,
    ) -> (PartStats, Vec<Change>, Vec<u8>) {
        let (stats, mut changes, out) = run_wanting(feed, previous, budget, &[]);
        changes.retain(|c| !c.facts.is_empty());
        (stats, changes, out)
    }

    /// Every change handed on, `wanted` asked for.
    fn run_wanting(
        feed: &str,
        previous: Option<&[u8]>,
        budget: usize,
        wanted: &[String],
    ) -> (PartStats, Vec<Change>, Vec<u8>) {
        let mut changes = Vec::new();
        let (stats, out) = diff_any_order(
            || Ok(feed.as_bytes()),
            || Ok(previous.map(|p| Reader::new(p).unwrap())),
            || Writer::new(Vec::new()),
            budget,
            wanted,
            |c| {
                changes.push(c);
                Ok(())
            },
        )
        .unwrap();
        (stats, changes, out.finish().unwrap())
    }

    #[test]
    fn a_changed_line_hands_on_its_record_and_an_unchanged_one_only_when_wanted() {
        let (_, _, base) = run(DAY1, None);
        // IND-2 gets a date of birth (no news), the rest stays byte for byte.
        let day2 = DAY1.replace(r#""name":"Bo"}"#, r#""name":"Bo","dob":"1990-01-02"}"#);
        let wanted = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        #[rustfmt::skip]
        let table: &[(&str, &[&str], &[&str])] = &[
            // (reason, wanted, subjects handed on)
            ("only the changed line", &[], &["IND-2"]),
            ("an unchanged line wanted too", &["COM-1"], &["COM-1", "IND-2"]),
            ("a wanted subject not in the part", &["AAA-0", "ZZZ-9"], &["IND-2"]),
        ];
        for (reason, w, expected) in table {
            let (stats, changes, new_base) =
                run_wanting(&day2, Some(&base), SORT_BUDGET, &wanted(w));
            let subjects: Vec<&str> = changes.iter().map(|c| c.subject.as_str()).collect();
            assert_eq!(&subjects, expected, "{reason}");
            assert!(
                changes.iter().all(|c| c.facts.is_empty()),
                "{reason}: no news"
            );
            assert_eq!((stats.changed, stats.unchanged), (0, 2), "{reason}");
            let (_, _, plain) = run_wanting(&day2, Some(&base), SORT_BUDGET, &[]);
            assert_eq!(
                new_base, plain,
                "{reason}: the baseline does not depend on what is wanted"
            );
        }
        let (_, changes, _) = run_wanting(&day2, Some(&base), SORT_BUDGET, &wanted(&["COM-1"]));
        assert_eq!(
            changes[1].record.date_of_birth.as_deref(),
            Some("1990-01-02")
        );
        assert_eq!(
            changes[0].record.company_status.as_deref(),
            Some("registered")
        );
        // A first-seen subject is handed on only when wanted.
        let (_, changes, _) = run_wanting(DAY1, None, SORT_BUDGET, &wanted(&["IND-1"]));
        assert_eq!(
            changes
                .iter()
                .map(|c| c.subject.as_str())
                .collect::<Vec<_>>(),
            ["IND-1"]
        );
    }

    fn run(feed: &str, previous: Option<&[u8]>) -> (PartStats, Vec<Change>, Vec<u8>) {
        run_with(feed, previous, SORT_BUDGET)
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
            r#"{"subject":"IND-1","kind":"individual","name":"again"}"#,
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
        assert!(
            stats.bad_lines[1]
                .message
                .contains("appears again (first on line 1)")
        );
        assert!(
            stats.bad_lines[2].message.contains("martian"),
            "{:?}",
            stats.bad_lines[2]
        );
        assert_eq!(stats.out_of_order, 0);
    }

    fn company(score: Option<(i32, &str)>, statements: &[(&str, i64)]) -> String {
        let score = score
            .map(|(v, b)| format!(r#","score":{{"value":{v},"band":"{b}"}}"#))
            .unwrap_or_default();
        let statements: Vec<String> = statements
            .iter()
            .map(|(period, net)| {
                format!(
                    r#"{{"period_end":"{period}","turnover":1000,"profit_loss":10,"net_assets":{net},"currency":"NZD"}}"#
                )
            })
            .collect();
        format!(
            "{}\n",
            format_args!(
                r#"{{"subject":"COM-1","kind":"company","company":{{"name":"Smith Ltd","status":"registered"}}{score},"financial_statements":[{}]}}"#,
                statements.join(",")
            )
        )
    }

    fn kinds(changes: &[Change]) -> Vec<(FactKind, Option<HitChange>)> {
        changes
            .iter()
            .flat_map(|c| c.facts.iter().map(|f| (f.kind, f.change.clone())))
            .collect()
    }

    /// The entries of a baseline file.
    fn entries(base: &[u8]) -> Vec<Entry> {
        let mut r = Reader::new(base).unwrap();
        std::iter::from_fn(|| r.next_entry().unwrap()).collect()
    }

    #[test]
    fn a_line_changed_without_news_or_a_new_profile_is_not_handed_on() {
        let all = |feed: &str, base: &[u8]| run_wanting(feed, Some(base), SORT_BUDGET, &[]);
        let (_, _, base) = run(&company(None, &[]), None);
        // The day scores and statements appear: every line differs, nothing is handed on, and
        // the baseline keeps the score (where the profile's score is read from).
        let scored = company(Some((700, "B")), &[("2025-03-31", 50)]);
        let (stats, handed, base) = all(&scored, &base);
        assert_eq!((stats.rewritten, handed.len()), (1, 0), "{handed:?}");
        assert_eq!(
            stats.periodic_only, 1,
            "only the score and statements were parsed"
        );
        let entry = &entries(&base)[0];
        assert_eq!(entry.score.as_ref().map(|s| s.value), Some(700));
        assert!(entry.profile_hash.is_some());
        // A score move is news, and handed on with it.
        let moved = company(Some((650, "B")), &[("2025-03-31", 50)]);
        let (stats, handed, _) = all(&moved, &base);
        assert_eq!((handed.len(), stats.periodic_only), (1, 0), "parsed whole");
        assert_eq!(kinds(&handed)[0].0, FactKind::ScoreChange);
        // A new status is news too; a new registration number is no news but a new profile.
        let renumbered = scored.replace(
            r#""status":"registered"}"#,
            r#""status":"registered","registration_number":"99"}"#,
        );
        let (_, handed, _) = all(&renumbered, &base);
        assert_eq!(handed.len(), 1, "a profile change is handed on");
        assert!(handed[0].facts.is_empty());
        assert_eq!(handed[0].record.registration_number.as_deref(), Some("99"));
        // An entry of an earlier version has no profile hash: its next changed line is handed
        // on once, and the entry gets its hash.
        let mut old = Writer::new(Vec::new()).unwrap();
        for mut e in entries(&base) {
            e.profile_hash = None;
            old.write(&e).unwrap();
        }
        let old = old.finish().unwrap();
        let dated = scored.replace(r#""band":"B"}"#, r#""band":"B","date":"2026-11-30"}"#);
        let (_, handed, base) = all(&dated, &old);
        assert_eq!(handed.len(), 1, "unknown profile: handed on");
        assert_eq!(entries(&base)[0].score_date.as_deref(), Some("2026-11-30"));
        let redated = dated.replace("2026-11-30", "2026-12-01");
        let (stats, handed, _) = all(&redated, &base);
        assert_eq!((stats.rewritten, handed.len()), (1, 0), "{handed:?}");
    }

    #[test]
    fn a_first_score_or_statement_is_a_baseline_even_on_a_rewritten_line() {
        let (_, _, base) = run(&company(None, &[]), None);
        let (stats, changes, base) = run(
            &company(Some((700, "B")), &[("2025-03-31", 50)]),
            Some(&base),
        );
        assert_eq!(stats.rewritten, 1, "every line changed");
        assert!(changes.is_empty(), "{changes:?}");
        let entry = Reader::new(&base[..])
            .unwrap()
            .next_entry()
            .unwrap()
            .unwrap();
        assert_eq!(entry.score.map(|s| s.value), Some(700));
        assert_eq!(entry.statement.map(|s| s.net_assets_cents), Some(5000));
    }

    #[test]
    fn score_moves_and_new_or_restated_periods_are_news() {
        use crate::domain::monitoring::ScoreValue;
        let (_, _, base) = run(&company(Some((700, "B")), &[("2025-03-31", 50)]), None);
        let (_, changes, base) = run(
            &company(Some((690, "B")), &[("2025-03-31", 50), ("2026-03-31", 80)]),
            Some(&base),
        );
        let found = kinds(&changes);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            found[0],
            (
                FactKind::ScoreChange,
                Some(HitChange::Score {
                    old: ScoreValue {
                        value: 700,
                        band: "B".into()
                    },
                    new: ScoreValue {
                        value: 690,
                        band: "B".into()
                    },
                    points: -10,
                })
            ),
            "any move is handed on; each tenant's threshold decides"
        );
        match &found[1] {
            (
                FactKind::FinancialStatements,
                Some(HitChange::Statements {
                    restated: false,
                    old: Some(old),
                    new,
                }),
            ) => {
                assert_eq!(
                    (old.period_end.as_str(), new.period_end.as_str()),
                    ("2025-03-31", "2026-03-31")
                );
            }
            other => panic!("{other:?}"),
        }
        // The same line again: nothing; the latest period restated: a restated hit against
        // the figures first filed; an unchanged score: nothing.
        let same = company(Some((690, "B")), &[("2025-03-31", 50), ("2026-03-31", 80)]);
        assert!(run(&same, Some(&base)).1.is_empty());
        let (_, changes, _) = run(
            &company(Some((690, "B")), &[("2025-03-31", 50), ("2026-03-31", 70)]),
            Some(&base),
        );
        match &kinds(&changes)[..] {
            [
                (
                    FactKind::FinancialStatements,
                    Some(HitChange::Statements {
                        restated: true,
                        old: Some(old),
                        new,
                    }),
                ),
            ] => {
                assert_eq!((old.net_assets_cents, new.net_assets_cents), (8000, 7000));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_score_that_goes_and_comes_back_is_a_new_change_each_time() {
        let (_, _, a) = run(&company(Some((700, "B")), &[]), None);
        let (_, first, b) = run(&company(Some((600, "C")), &[]), Some(&a));
        let (_, _, c) = run(&company(Some((700, "B")), &[]), Some(&b));
        let (_, again, _) = run(&company(Some((600, "C")), &[]), Some(&c));
        assert_ne!(first[0].facts[0].id, again[0].facts[0].id);
        let (_, rerun, _) = run(&company(Some((600, "C")), &[]), Some(&a));
        assert_eq!(
            first[0].facts[0].id, rerun[0].facts[0].id,
            "a day run again is the same hit"
        );
    }

    fn person(subject: &str, enquirer: &str) -> String {
        format!(
            r#"{{"subject":"{subject}","kind":"individual","enquiries":[{{"enquirer":"{enquirer}","product":"card","date":"2026-11-19"}}]}}"#
        )
    }

    fn feed_of(lines: &[String]) -> String {
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// Day 1: subjects S-000..S-(n-1) with one enquiry each; day 2: every subject with a second
    /// enquiry, so every line of day 2 is a change.
    fn two_days(n: usize) -> (Vec<u8>, Vec<String>) {
        let day1: Vec<String> = (0..n).map(|i| person(&format!("S-{i:05}"), "A")).collect();
        let (_, _, base) = run(&feed_of(&day1), None);
        let day2 = (0..n)
            .map(|i| {
                format!(
                    r#"{{"subject":"S-{i:05}","kind":"individual","enquiries":[{{"enquirer":"A","product":"card","date":"2026-11-19"}},{{"enquirer":"B","product":"loan","date":"2026-11-20"}}]}}"#
                )
            })
            .collect();
        (base, day2)
    }

    fn subjects(changes: &[Change]) -> Vec<String> {
        let mut s: Vec<String> = changes.iter().map(|c| c.subject.clone()).collect();
        s.sort();
        s
    }

    #[test]
    fn a_line_moved_early_is_reported_and_every_line_is_still_diffed_once() {
        let (base, mut day2) = two_days(50);
        let (sorted_stats, sorted_changes, sorted_base) = run(&feed_of(&day2), Some(&base));
        assert_eq!(sorted_stats.changed, 50);
        // S-040 moved to the top: every line after it goes back.
        let moved = day2.remove(40);
        day2.insert(0, moved);
        let (stats, changes, new_base) = run(&feed_of(&day2), Some(&base));
        assert_eq!(subjects(&changes), subjects(&sorted_changes), "each once");
        assert_eq!(stats.changed, 50);
        assert_eq!(stats.bad, 0);
        assert_eq!(stats.out_of_order, 1);
        assert_eq!(stats.out_of_order_lines[0].line, 1);
        assert!(stats.out_of_order_lines[0].message.contains("S-00040"));
        assert_eq!(new_base, sorted_base);
    }

    #[test]
    fn a_line_moved_late_is_the_one_reported() {
        let (base, mut day2) = two_days(20);
        let moved = day2.remove(3);
        day2.insert(15, moved);
        let (stats, changes, _) = run(&feed_of(&day2), Some(&base));
        assert_eq!(changes.len(), 20);
        assert_eq!(stats.out_of_order, 1);
        assert_eq!(stats.out_of_order_lines[0].line, 16);
    }

    #[test]
    fn the_sorted_pass_spills_runs_to_disk_and_merges_them() {
        let (base, mut day2) = two_days(60);
        day2.reverse();
        let (stats, changes, new_base) = run_with(&feed_of(&day2), Some(&base), 1000);
        assert_eq!(changes.len(), 60);
        assert_eq!(stats.changed, 60);
        day2.reverse();
        let (_, _, sorted_base) = run(&feed_of(&day2), Some(&base));
        assert_eq!(new_base, sorted_base);
    }

    #[test]
    fn a_corrupt_gzip_feed_fails_with_the_line_it_was_reading() {
        use std::io::Write as _;
        let (_, day2) = two_days(2000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(feed_of(&day2).as_bytes()).unwrap();
        let mut bytes = gz.finish().unwrap();
        let half = bytes.len() / 2;
        for b in &mut bytes[half..half + 64] {
            *b ^= 0x5a;
        }
        // Garbled lines may send the fast pass to the sorted pass first; either fails at the
        // fault with the line it was reading.
        let err = diff_any_order(
            || {
                Ok(BufReader::new(flate2::read::MultiGzDecoder::new(
                    &bytes[..],
                )))
            },
            || Ok(None::<Reader<&[u8]>>),
            || Writer::new(Vec::new()),
            SORT_BUDGET,
            &[],
            |_| Ok(()),
        )
        .err()
        .expect("a corrupt part fails");
        let at = LineError::of(&err).expect("a line error");
        assert!(at.line > 1, "{at}");
        assert_eq!(
            err.kind(),
            io::ErrorKind::InvalidInput,
            "as flate2 reports a corrupt stream"
        );
    }

    /// One subject's line: a person or a company, its name, an enquiry, a score and periods.
    #[derive(Clone, Debug)]
    struct Gen {
        company: bool,
        name: u8,
        enquiry: u8,
        score: Option<(i32, u8)>,
        score_date: Option<u8>,
        periods: Vec<(u8, i64)>,
        /// The score and statements written last, as the bureau writes them (else where
        /// serde's key order puts them).
        periodic_last: bool,
    }

    impl Gen {
        fn line(&self, n: usize) -> String {
            let mut v = if self.company {
                serde_json::json!({"subject": format!("S-{n:03}"), "kind": "company",
                    "company": {"name": format!("Firm {}", self.name), "status": "registered"}})
            } else {
                serde_json::json!({"subject": format!("S-{n:03}"), "kind": "individual",
                    "name": format!("Person {}", self.name)})
            };
            v["enquiries"] = serde_json::json!([{"enquirer": format!("Bank {}", self.enquiry),
                "product": "card", "date": "2026-11-01"}]);
            if let Some((value, band)) = self.score {
                let band = ["A", "B", "C"][band as usize % 3];
                v["score"] = serde_json::json!({"value": value, "band": band});
                if let Some(d) = self.score_date {
                    v["score"]["date"] = serde_json::json!(format!("2026-11-{:02}", d % 28 + 1));
                }
            }
            if !self.periods.is_empty() {
                v["financial_statements"] = self
                    .periods
                    .iter()
                    .map(|(year, net)| {
                        serde_json::json!({"period_end": format!("20{:02}-03-31", year % 10 + 20),
                        "turnover": 1000, "profit_loss": 10, "net_assets": net, "currency": "NZD"})
                    })
                    .collect();
            }
            // The subject first, as the bureau writes it.
            let object = v.as_object_mut().unwrap();
            let subject = object.remove("subject").unwrap();
            let mut last = String::new();
            if self.periodic_last {
                for key in ["score", "financial_statements"] {
                    if let Some(value) = object.remove(key) {
                        last.push_str(&format!(",\"{key}\":{value}"));
                    }
                }
            }
            let rest = v.to_string();
            format!(
                "{{\"subject\":{subject},{}{last}}}\n",
                &rest[1..rest.len() - 1]
            )
        }
    }

    fn any_gen() -> impl Strategy<Value = Gen> {
        use proptest::prelude::*;
        (
            any::<bool>(),
            0u8..3,
            0u8..3,
            proptest::option::of((600i32..603, 0u8..2)),
            proptest::option::of(0u8..2),
            proptest::collection::vec((0u8..3, 1i64..3), 0..3),
            any::<bool>(),
        )
            .prop_map(
                |(company, name, enquiry, score, score_date, periods, periodic_last)| Gen {
                    company,
                    name,
                    enquiry,
                    score,
                    score_date,
                    periods,
                    periodic_last,
                },
            )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        /// A line that changed only in its score or statements is not parsed whole, and the
        /// diff hands on and keeps exactly what parsing it whole gives (entries without a core
        /// hash are parsed whole: the earlier versions' entries).
        #[test]
        fn parsing_only_the_score_and_statements_gives_what_the_whole_parse_gives(
            days in proptest::collection::vec(proptest::collection::vec(any_gen(), 3), 3),
        ) {
            let feed = |day: &Vec<Gen>| day.iter().enumerate().map(|(n, g)| g.line(n)).collect::<String>();
            let strip = |base: &[u8]| {
                let mut w = Writer::new(Vec::new()).unwrap();
                for mut e in entries(base) {
                    e.core_hash = None;
                    e.core_end = None;
                    w.write(&e).unwrap();
                }
                w.finish().unwrap()
            };
            let (_, _, mut base) = run_wanting(&feed(&days[0]), None, SORT_BUDGET, &[]);
            for day in &days[1..] {
                let today = feed(day);
                let (stats, changes, next) = run_wanting(&today, Some(&base), SORT_BUDGET, &[]);
                let (whole_stats, whole_changes, whole_next) =
                    run_wanting(&today, Some(&strip(&base)), SORT_BUDGET, &[]);
                proptest::prop_assert_eq!(&changes, &whole_changes);
                proptest::prop_assert_eq!(whole_stats.periodic_only, 0);
                proptest::prop_assert_eq!(
                    &PartStats { periodic_only: 0, ..stats },
                    &whole_stats
                );
                // Unchanged lines copy their entries as they were, with or without a core hash
                // and end.
                let without_core = |base: &[u8]| {
                    entries(base)
                        .into_iter()
                        .map(|e| Entry { core_hash: None, core_end: None, ..e })
                        .collect::<Vec<_>>()
                };
                proptest::prop_assert_eq!(without_core(&next), without_core(&whole_next));
                proptest::prop_assert!(entries(&next).iter().all(|e| e.core_hash.is_some()));
                base = next;
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn any_permutation_of_a_part_gives_the_hits_of_the_sorted_part(
            order in Just((0..40usize).collect::<Vec<_>>()).prop_shuffle(),
            budget in proptest::sample::select(vec![300usize, 2000, SORT_BUDGET]),
        ) {
            let (base, day2) = two_days(40);
            let (sorted_stats, sorted_changes, sorted_base) = run(&feed_of(&day2), Some(&base));
            let shuffled: Vec<String> = order.iter().map(|&i| day2[i].clone()).collect();
            let (stats, changes, new_base) = run_with(&feed_of(&shuffled), Some(&base), budget);
            let ids = |c: &[Change]| {
                let mut v: Vec<(String, Vec<u64>)> = c
                    .iter()
                    .map(|c| (c.subject.clone(), c.facts.iter().map(|f| f.id).collect()))
                    .collect();
                v.sort();
                v
            };
            proptest::prop_assert_eq!(ids(&changes), ids(&sorted_changes));
            proptest::prop_assert_eq!(changes.len(), 40);
            proptest::prop_assert_eq!(stats.changed, sorted_stats.changed);
            proptest::prop_assert_eq!(stats.bad, 0);
            proptest::prop_assert_eq!(new_base, sorted_base);
        }
    }
}
