//! Baselines: what the feed has shown about every subject of one feed part, as a file sorted by
//! subject id.
//!
//! Each run reads the part's latest baseline generation before its day and writes a new one
//! beside it, merging it with the (sorted) feed part in one pass. An entry holds the hash of the
//! subject's last feed line (an unchanged line is recognised without parsing it), the ids of
//! every fact ever seen, a company's current name and status, and how many times each of them
//! has changed so far (the occurrence that goes into a value change's fact id, see
//! `facts::value_change`).
//!
//! An entry also keeps the subject's last credit score (value and band) with the number of
//! score changes counted so far, and a company's latest financial statements' figures: what a
//! score change and a restated period are compared with. (The ids of every statement's figures
//! and of every period seen are among the fact ids.)
//!
//! An entry also keeps a hash of the subject's bureau profile as its line gives it (the record
//! a client is compared with, without the score): a line that changed without news and without
//! a new profile (the day the bureau starts sending scores) is not handed on at all. The score's
//! day is kept too: the baseline is where the bureau profile's score is read from ([`Index`]).
//!
//! An entry also keeps the hash of the line's core (`split`: all but its score and statements)
//! and whether the subject is a company, so that a line changed only in its score or statements
//! is diffed from those two fields alone; and where the core ends when the two fields come
//! last, so that such a line's core is recognised by a hash of its text, not a scan of it.
//!
//! Format: the magic line, then per entry: subject (u16 length + UTF-8), line hash (u64),
//! name and status (u16 length + UTF-8 each), name and status change counts (u32 each), the
//! extras (u16 length, then: a flags byte — 1 a score, 2 a statement, 4 a profile hash, 8 a
//! score's day, 16 a core hash, 32 a company, 64 the core's end —, the score change count (u32), the score's
//! value (i32) and band (u16 + UTF-8) when flagged, the statement's period end (u16 + UTF-8),
//! turnover, profit/loss and net assets in cents (i64 each) and currency (u16 + UTF-8) when
//! flagged, the profile hash (u64), the score's day (u16 + UTF-8), the core hash (u64) and the
//! core's end (u32) when flagged), fact count (u32) and the sorted fact ids (u64 each); all little-endian. An entry
//! written before the profile and core hashes existed has neither: its next changed line is
//! parsed whole and handed on. Files of the earlier formats are read as if the missing parts
//! were empty: `CWBASE1` without change counts or extras, `CWBASE2` without extras. An entry
//! read from one is written in the current format, so an unchanged subject's entry is still
//! copied without being decoded.

use std::io::{self, BufRead, Write};

use crate::domain::monitoring::{Figures, ScoreValue};

pub const MAGIC: &[u8; 8] = b"CWBASE3\n";
/// The first format: no change counts, no extras.
const MAGIC_V1: &[u8; 8] = b"CWBASE1\n";
/// The second format: no extras.
const MAGIC_V2: &[u8; 8] = b"CWBASE2\n";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub subject: String,
    pub line_hash: u64,
    pub name: String,
    pub status: String,
    /// How many name changes and status changes were found for the subject so far.
    pub name_changes: u32,
    pub status_changes: u32,
    /// The subject's last credit score, and how many score changes were found so far.
    pub score: Option<ScoreValue>,
    pub score_changes: u32,
    /// The day of the last score, as the bureau gave it.
    pub score_date: Option<String>,
    /// A company's latest period's financial statements.
    pub statement: Option<Figures>,
    /// The hash of the subject's bureau profile (`bureau::profile_hash`); none in entries of
    /// earlier versions.
    pub profile_hash: Option<u64>,
    /// The hash of the line's core (`split::Split::core_hash`: all but its score and
    /// statements); none in entries of earlier versions.
    pub core_hash: Option<u64>,
    /// Where the line's core ends when it is the line's start (`split::Split::core_end`).
    pub core_end: Option<u32>,
    /// The subject is a company (known with the core hash).
    pub company: bool,
    /// Sorted, without repeats.
    pub facts: Vec<u64>,
}

pub struct Reader<R> {
    inner: R,
    /// The next entry's bytes as stored.
    raw: Vec<u8>,
    /// `raw` holds an entry not taken yet.
    loaded: bool,
    done: bool,
    /// The file's format (1, 2 or 3): older entries get the missing parts as they are read.
    version: u8,
}

fn corrupt(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// An entry as stored, read without decoding its name, status and facts: an unchanged
/// subject's entry is copied to the next generation as it is.
#[derive(Clone, Copy, Debug)]
pub struct Raw<'a>(&'a [u8]);

fn u16_at(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

impl<'a> Raw<'a> {
    /// The subject's bytes: entries sort by them as by the subject.
    pub fn subject_bytes(&self) -> &'a [u8] {
        &self.0[2..2 + u16_at(self.0, 0)]
    }

    /// Checked to be UTF-8 when the entry was read.
    pub fn subject(&self) -> &'a str {
        std::str::from_utf8(self.subject_bytes()).unwrap_or_default()
    }

    pub fn line_hash(&self) -> u64 {
        let at = 2 + self.subject_bytes().len();
        u64::from_le_bytes(self.0[at..at + 8].try_into().expect("8 bytes"))
    }

    pub fn decode(&self) -> io::Result<Entry> {
        let b = self.0;
        let text = |at: usize| -> io::Result<(String, usize)> {
            let len = u16_at(b, at);
            let s = std::str::from_utf8(&b[at + 2..at + 2 + len])
                .map_err(|_| corrupt("a baseline string is not UTF-8"))?;
            Ok((s.to_owned(), at + 2 + len))
        };
        let (subject, at) = text(0)?;
        let line_hash = self.line_hash();
        let (name, at) = text(at + 8)?;
        let (status, at) = text(at)?;
        let count = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"));
        let (name_changes, status_changes) = (count(at), count(at + 4));
        let at = at + 8;
        let extras_len = u16_at(b, at);
        let extras = decode_extras(&b[at + 2..at + 2 + extras_len])?;
        let at = at + 2 + extras_len;
        let facts = b[at + 4..]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        Ok(Entry {
            subject,
            line_hash,
            name,
            status,
            name_changes,
            status_changes,
            score: extras.score,
            score_changes: extras.score_changes,
            score_date: extras.score_date,
            statement: extras.statement,
            profile_hash: extras.profile_hash,
            core_hash: extras.core_hash,
            core_end: extras.core_end,
            company: extras.company,
            facts,
        })
    }
}

/// Reads the extras section of an entry.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let s = self
            .b
            .get(self.at..self.at + n)
            .ok_or_else(|| corrupt("a baseline entry's extras are cut short"))?;
        self.at += n;
        Ok(s)
    }

    fn text(&mut self) -> io::Result<String> {
        let len = u16_at(self.take(2)?, 0);
        String::from_utf8(self.take(len)?.to_vec())
            .map_err(|_| corrupt("a baseline string is not UTF-8"))
    }

    fn i64(&mut self) -> io::Result<i64> {
        Ok(i64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
}

#[derive(Default)]
struct Extras {
    score: Option<ScoreValue>,
    score_changes: u32,
    score_date: Option<String>,
    statement: Option<Figures>,
    profile_hash: Option<u64>,
    core_hash: Option<u64>,
    core_end: Option<u32>,
    company: bool,
}

const SCORE: u8 = 1;
const STATEMENT: u8 = 2;
const PROFILE_HASH: u8 = 4;
const SCORE_DATE: u8 = 8;
const CORE_HASH: u8 = 16;
const COMPANY: u8 = 32;
const CORE_END: u8 = 64;

fn decode_extras(b: &[u8]) -> io::Result<Extras> {
    if b.is_empty() {
        return Ok(Extras::default());
    }
    let mut c = Cursor { b, at: 0 };
    let flags = c.take(1)?[0];
    let score_changes = c.u32()?;
    let score = if flags & SCORE != 0 {
        let value = c.u32()? as i32;
        let band = c.text()?;
        Some(ScoreValue { value, band })
    } else {
        None
    };
    let statement = if flags & STATEMENT != 0 {
        Some(Figures {
            period_end: c.text()?,
            turnover_cents: c.i64()?,
            profit_loss_cents: c.i64()?,
            net_assets_cents: c.i64()?,
            currency: c.text()?,
        })
    } else {
        None
    };
    let profile_hash = if flags & PROFILE_HASH != 0 {
        Some(c.i64()? as u64)
    } else {
        None
    };
    let score_date = if flags & SCORE_DATE != 0 {
        Some(c.text()?)
    } else {
        None
    };
    let core_hash = if flags & CORE_HASH != 0 {
        Some(c.i64()? as u64)
    } else {
        None
    };
    let core_end = if flags & CORE_END != 0 {
        Some(c.u32()?)
    } else {
        None
    };
    Ok(Extras {
        score,
        score_changes,
        score_date,
        statement,
        profile_hash,
        core_hash,
        core_end,
        company: flags & COMPANY != 0,
    })
}

fn encode_extras(b: &mut Vec<u8>, e: &Entry) -> io::Result<()> {
    if e.score.is_none()
        && e.statement.is_none()
        && e.score_changes == 0
        && e.profile_hash.is_none()
        && e.score_date.is_none()
        && e.core_hash.is_none()
        && e.core_end.is_none()
        && !e.company
    {
        b.extend_from_slice(&0u16.to_le_bytes());
        return Ok(());
    }
    let len_at = b.len();
    b.extend_from_slice(&0u16.to_le_bytes());
    let flag = |on: bool, bit: u8| if on { bit } else { 0 };
    let flags = flag(e.score.is_some(), SCORE)
        | flag(e.statement.is_some(), STATEMENT)
        | flag(e.profile_hash.is_some(), PROFILE_HASH)
        | flag(e.score_date.is_some(), SCORE_DATE)
        | flag(e.core_hash.is_some(), CORE_HASH)
        | flag(e.company, COMPANY)
        | flag(e.core_end.is_some(), CORE_END);
    b.push(flags);
    b.extend_from_slice(&e.score_changes.to_le_bytes());
    if let Some(s) = &e.score {
        b.extend_from_slice(&s.value.to_le_bytes());
        push_string(b, &s.band)?;
    }
    if let Some(f) = &e.statement {
        push_string(b, &f.period_end)?;
        b.extend_from_slice(&f.turnover_cents.to_le_bytes());
        b.extend_from_slice(&f.profit_loss_cents.to_le_bytes());
        b.extend_from_slice(&f.net_assets_cents.to_le_bytes());
        push_string(b, &f.currency)?;
    }
    if let Some(h) = e.profile_hash {
        b.extend_from_slice(&h.to_le_bytes());
    }
    if let Some(d) = &e.score_date {
        push_string(b, d)?;
    }
    if let Some(h) = e.core_hash {
        b.extend_from_slice(&h.to_le_bytes());
    }
    if let Some(end) = e.core_end {
        b.extend_from_slice(&end.to_le_bytes());
    }
    let len = u16::try_from(b.len() - len_at - 2).map_err(|_| corrupt("extras too long"))?;
    b[len_at..len_at + 2].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

impl<R: BufRead> Reader<R> {
    pub fn new(mut inner: R) -> io::Result<Self> {
        let mut magic = [0u8; 8];
        inner.read_exact(&mut magic)?;
        let version = match &magic {
            m if m == MAGIC => 3,
            m if m == MAGIC_V2 => 2,
            m if m == MAGIC_V1 => 1,
            _ => return Err(corrupt("not a baseline file (bad magic)")),
        };
        Ok(Self {
            inner,
            raw: Vec::with_capacity(256),
            loaded: false,
            done: false,
            version,
        })
    }

    /// Appends the next `n` bytes of the file to `raw`.
    fn copy(&mut self, n: usize) -> io::Result<usize> {
        let start = self.raw.len();
        self.raw.resize(start + n, 0);
        self.inner.read_exact(&mut self.raw[start..])?;
        Ok(start)
    }

    fn copy_len(&mut self, width: usize) -> io::Result<usize> {
        let at = self.copy(width)?;
        let b = &self.raw[at..at + width];
        Ok(if width == 2 {
            u16_at(b, 0)
        } else {
            u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize
        })
    }

    fn load(&mut self) -> io::Result<bool> {
        if self.loaded {
            return Ok(true);
        }
        if self.done || self.inner.fill_buf()?.is_empty() {
            self.done = true;
            return Ok(false);
        }
        self.raw.clear();
        let len = self.copy_len(2)?;
        self.copy(len)?;
        if std::str::from_utf8(&self.raw[2..]).is_err() {
            return Err(corrupt("a baseline subject is not UTF-8"));
        }
        self.copy(8)?;
        for _ in 0..2 {
            let len = self.copy_len(2)?;
            self.copy(len)?;
        }
        if self.version == 1 {
            self.raw.extend_from_slice(&[0; 8]);
        } else {
            self.copy(8)?;
        }
        if self.version < 3 {
            self.raw.extend_from_slice(&[0; 2]);
        } else {
            let len = self.copy_len(2)?;
            self.copy(len)?;
        }
        let count = self.copy_len(4)?;
        self.copy(count * 8)?;
        self.loaded = true;
        Ok(true)
    }

    /// The next entry without taking it.
    pub fn peek(&mut self) -> io::Result<Option<Raw<'_>>> {
        Ok(if self.load()? {
            Some(Raw(&self.raw))
        } else {
            None
        })
    }

    /// Takes the entry `peek` showed.
    pub fn skip(&mut self) {
        self.loaded = false;
    }

    pub fn next_entry(&mut self) -> io::Result<Option<Entry>> {
        let entry = match self.peek()? {
            Some(raw) => raw.decode()?,
            None => return Ok(None),
        };
        self.skip();
        Ok(Some(entry))
    }
}

pub struct Writer<W: Write> {
    inner: W,
    /// The last subject written (entries must ascend).
    last: Vec<u8>,
    /// An entry being encoded.
    scratch: Vec<u8>,
    pub entries: u64,
    /// Bytes written so far, the magic included.
    written: u64,
    /// Where the blocks of [`BLOCK`] bytes begin: the index of the file.
    points: Vec<(String, u64)>,
}

/// The bytes of entries between two points of a baseline's index: what is read to find one
/// subject's entry.
pub const BLOCK: u64 = 16 << 10;
/// The first line of an index file.
pub const INDEX_MAGIC: &[u8; 8] = b"CWBIDX1\n";

/// Where a baseline's blocks begin, by their first subject: one subject's entry is found by
/// reading one block (`Index::block_of`) instead of the file. Stored beside the baseline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Index {
    points: Vec<(String, u64)>,
    /// The length of the baseline file.
    end: u64,
}

impl Index {
    pub fn encode(&self) -> Vec<u8> {
        let mut b = INDEX_MAGIC.to_vec();
        b.extend_from_slice(&self.end.to_le_bytes());
        b.extend_from_slice(&(self.points.len() as u32).to_le_bytes());
        for (subject, at) in &self.points {
            // Subjects are at most 64 bytes (the diff refuses longer ones).
            b.extend_from_slice(&(subject.len() as u16).to_le_bytes());
            b.extend_from_slice(subject.as_bytes());
            b.extend_from_slice(&at.to_le_bytes());
        }
        b
    }

    pub fn decode(b: &[u8]) -> io::Result<Index> {
        let mut c = Cursor { b, at: 0 };
        if c.take(8)? != &INDEX_MAGIC[..] {
            return Err(corrupt("not a baseline index (bad magic)"));
        }
        let end = c.i64()? as u64;
        let count = c.u32()?;
        let mut points = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let subject = c.text()?;
            points.push((subject, c.i64()? as u64));
        }
        if points.windows(2).any(|w| w[0] >= w[1]) || points.last().is_some_and(|p| p.1 > end) {
            return Err(corrupt("a baseline index out of order"));
        }
        Ok(Index { points, end })
    }

    /// The block of the baseline that holds `subject`'s entry if it has one.
    pub fn block_of(&self, subject: &str) -> Option<Block<'_>> {
        let after = self.points.partition_point(|(s, _)| s.as_str() <= subject);
        let at = after.checked_sub(1)?;
        let end = self.points.get(after).map_or(self.end, |p| p.1);
        Some(Block {
            first: &self.points[at].0,
            start: self.points[at].1,
            end,
        })
    }
}

/// A block of a baseline: its byte range and the subject of its first entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block<'a> {
    pub first: &'a str,
    pub start: u64,
    pub end: u64,
}

/// The bytes read for a block are not the block the index names: the baseline was replaced
/// (its day run again) between reading the index and the block.
#[derive(Debug, thiserror::Error)]
#[error("the baseline does not match its index (replaced while it was read)")]
pub struct Mismatch;

impl Block<'_> {
    /// `subject`'s entry in this block's bytes, `None` when it has none; [`Mismatch`] (in an
    /// `InvalidData` error) when the bytes do not begin with the entry the index names.
    pub fn find(&self, bytes: &[u8], subject: &str) -> io::Result<Option<Entry>> {
        let mismatch = || io::Error::new(io::ErrorKind::InvalidData, Mismatch);
        if bytes.len() as u64 != self.end - self.start {
            return Err(mismatch());
        }
        let mut r = Reader {
            inner: bytes,
            raw: Vec::with_capacity(256),
            loaded: false,
            done: false,
            version: 3,
        };
        match r.peek() {
            Ok(Some(e)) if e.subject_bytes() == self.first.as_bytes() => {}
            _ => return Err(mismatch()),
        }
        while let Some(e) = r.peek()? {
            match e.subject_bytes().cmp(subject.as_bytes()) {
                std::cmp::Ordering::Less => r.skip(),
                std::cmp::Ordering::Equal => return e.decode().map(Some),
                std::cmp::Ordering::Greater => break,
            }
        }
        Ok(None)
    }
}

impl<W: Write> Writer<W> {
    pub fn new(mut inner: W) -> io::Result<Self> {
        inner.write_all(MAGIC)?;
        Ok(Self {
            inner,
            last: Vec::new(),
            scratch: Vec::with_capacity(256),
            entries: 0,
            written: MAGIC.len() as u64,
            points: Vec::new(),
        })
    }

    /// Appends an entry; entries must come in ascending subject order.
    pub fn write(&mut self, e: &Entry) -> io::Result<()> {
        let mut b = std::mem::take(&mut self.scratch);
        b.clear();
        push_string(&mut b, &e.subject)?;
        b.extend_from_slice(&e.line_hash.to_le_bytes());
        push_string(&mut b, &e.name)?;
        push_string(&mut b, &e.status)?;
        b.extend_from_slice(&e.name_changes.to_le_bytes());
        b.extend_from_slice(&e.status_changes.to_le_bytes());
        encode_extras(&mut b, e)?;
        let count = u32::try_from(e.facts.len()).map_err(|_| corrupt("too many facts"))?;
        b.extend_from_slice(&count.to_le_bytes());
        for f in &e.facts {
            b.extend_from_slice(&f.to_le_bytes());
        }
        let written = self.write_raw(Raw(&b));
        self.scratch = b;
        written
    }

    /// Appends an entry as it was read; entries must come in ascending subject order.
    pub fn write_raw(&mut self, e: Raw<'_>) -> io::Result<()> {
        let subject = e.subject_bytes();
        if self.entries > 0 && self.last.as_slice() >= subject {
            return Err(corrupt(format!(
                "baseline entries out of order at {:?}",
                e.subject()
            )));
        }
        if self
            .points
            .last()
            .is_none_or(|(_, at)| self.written - at >= BLOCK)
        {
            self.points.push((e.subject().to_owned(), self.written));
        }
        self.inner.write_all(e.0)?;
        self.written += e.0.len() as u64;
        self.last.clear();
        self.last.extend_from_slice(subject);
        self.entries += 1;
        Ok(())
    }

    /// The index of what was written so far.
    pub fn index(&self) -> Index {
        Index {
            points: self.points.clone(),
            end: self.written,
        }
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}

fn push_string(b: &mut Vec<u8>, s: &str) -> io::Result<()> {
    let len = u16::try_from(s.len()).map_err(|_| corrupt("a baseline string is too long"))?;
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(s.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_back_as_written() {
        let entries = vec![
            Entry {
                subject: "COM-1".into(),
                line_hash: 7,
                name: "Smith Ltd".into(),
                status: "registered".into(),
                name_changes: 2,
                status_changes: 1,
                score: Some(ScoreValue {
                    value: 712,
                    band: "B".into(),
                }),
                score_changes: 3,
                score_date: Some("2026-11-30".into()),
                profile_hash: Some(u64::MAX - 5),
                core_hash: Some(17),
                core_end: Some(412),
                company: true,
                statement: Some(Figures {
                    period_end: "2026-03-31".into(),
                    turnover_cents: 120_000_000,
                    profit_loss_cents: -5_000_000,
                    net_assets_cents: 40_000_000,
                    currency: "NZD".into(),
                }),
                facts: vec![1, 5, 9],
            },
            Entry {
                subject: "IND-2".into(),
                line_hash: u64::MAX,
                facts: vec![],
                ..Entry::default()
            },
        ];
        let mut w = Writer::new(Vec::new()).unwrap();
        for e in &entries {
            w.write(e).unwrap();
        }
        let bytes = w.finish().unwrap();
        let mut r = Reader::new(&bytes[..]).unwrap();
        assert_eq!(r.peek().unwrap().unwrap().decode().unwrap(), entries[0]);
        assert_eq!(r.peek().unwrap().unwrap().subject(), "COM-1");
        assert_eq!(r.peek().unwrap().unwrap().line_hash(), 7);
        assert_eq!(r.next_entry().unwrap().as_ref(), Some(&entries[0]));
        assert_eq!(r.next_entry().unwrap().as_ref(), Some(&entries[1]));
        assert_eq!(r.next_entry().unwrap(), None);
    }

    #[test]
    fn an_entry_copied_as_read_is_the_same_entry() {
        let entry = Entry {
            subject: "IND-9".into(),
            line_hash: 42,
            name: String::new(),
            status: String::new(),
            facts: vec![3, 4],
            ..Entry::default()
        };
        let mut w = Writer::new(Vec::new()).unwrap();
        w.write(&entry).unwrap();
        let first = w.finish().unwrap();
        let mut r = Reader::new(&first[..]).unwrap();
        let mut copy = Writer::new(Vec::new()).unwrap();
        copy.write_raw(r.peek().unwrap().unwrap()).unwrap();
        r.skip();
        assert!(r.peek().unwrap().is_none());
        assert_eq!(copy.finish().unwrap(), first);
    }

    #[test]
    fn a_truncated_file_is_an_error_not_an_end() {
        let mut w = Writer::new(Vec::new()).unwrap();
        w.write(&Entry {
            subject: "IND-1".into(),
            facts: vec![1, 2, 3],
            ..Entry::default()
        })
        .unwrap();
        let bytes = w.finish().unwrap();
        let mut r = Reader::new(&bytes[..bytes.len() - 3]).unwrap();
        assert!(r.next_entry().is_err());
    }

    #[test]
    fn out_of_order_entries_are_refused() {
        let mut w = Writer::new(Vec::new()).unwrap();
        w.write(&Entry {
            subject: "B".into(),
            ..Entry::default()
        })
        .unwrap();
        let err = w
            .write(&Entry {
                subject: "A".into(),
                ..Entry::default()
            })
            .unwrap_err();
        assert!(err.to_string().contains("out of order"));
    }

    #[test]
    fn a_first_format_file_reads_with_zero_change_counts() {
        let mut v1 = MAGIC_V1.to_vec();
        for (subject, facts) in [("COM-1", vec![7u64]), ("IND-2", vec![])] {
            v1.extend_from_slice(&(subject.len() as u16).to_le_bytes());
            v1.extend_from_slice(subject.as_bytes());
            v1.extend_from_slice(&9u64.to_le_bytes());
            v1.extend_from_slice(&4u16.to_le_bytes());
            v1.extend_from_slice(b"Name");
            v1.extend_from_slice(&0u16.to_le_bytes());
            v1.extend_from_slice(&(facts.len() as u32).to_le_bytes());
            for f in &facts {
                v1.extend_from_slice(&f.to_le_bytes());
            }
        }
        let mut r = Reader::new(&v1[..]).unwrap();
        let mut copy = Writer::new(Vec::new()).unwrap();
        copy.write_raw(r.peek().unwrap().unwrap()).unwrap();
        r.skip();
        let second = r.next_entry().unwrap().unwrap();
        assert_eq!((second.subject.as_str(), second.name_changes), ("IND-2", 0));
        let copied = copy.finish().unwrap();
        let first = Reader::new(&copied[..])
            .unwrap()
            .next_entry()
            .unwrap()
            .unwrap();
        assert_eq!(
            first,
            Entry {
                subject: "COM-1".into(),
                line_hash: 9,
                name: "Name".into(),
                facts: vec![7],
                ..Entry::default()
            }
        );
    }

    #[test]
    fn a_second_format_file_reads_without_score_or_statement() {
        let mut v2 = MAGIC_V2.to_vec();
        v2.extend_from_slice(&5u16.to_le_bytes());
        v2.extend_from_slice(b"COM-1");
        v2.extend_from_slice(&9u64.to_le_bytes());
        v2.extend_from_slice(&4u16.to_le_bytes());
        v2.extend_from_slice(b"Name");
        v2.extend_from_slice(&0u16.to_le_bytes());
        v2.extend_from_slice(&2u32.to_le_bytes());
        v2.extend_from_slice(&0u32.to_le_bytes());
        v2.extend_from_slice(&1u32.to_le_bytes());
        v2.extend_from_slice(&7u64.to_le_bytes());
        let mut r = Reader::new(&v2[..]).unwrap();
        let mut copy = Writer::new(Vec::new()).unwrap();
        copy.write_raw(r.peek().unwrap().unwrap()).unwrap();
        let copied = copy.finish().unwrap();
        let expected = Entry {
            subject: "COM-1".into(),
            line_hash: 9,
            name: "Name".into(),
            name_changes: 2,
            facts: vec![7],
            ..Entry::default()
        };
        assert_eq!(r.next_entry().unwrap().unwrap(), expected);
        let again = Reader::new(&copied[..]).unwrap().next_entry().unwrap();
        assert_eq!(
            again.unwrap(),
            expected,
            "copied raw into the current format"
        );
    }

    #[test]
    fn every_subject_is_found_through_the_index_and_no_other() {
        let mut w = Writer::new(Vec::new()).unwrap();
        let mut entries = Vec::new();
        for i in 0..5_000u64 {
            let e = Entry {
                subject: format!("S{:06}", i * 2),
                line_hash: i,
                name: "x".repeat((i % 97) as usize),
                profile_hash: Some(i * 7),
                score: (i % 3 == 0).then(|| ScoreValue {
                    value: i as i32,
                    band: "C".into(),
                }),
                facts: (0..i % 11).collect(),
                ..Entry::default()
            };
            w.write(&e).unwrap();
            entries.push(e);
        }
        let index = Index::decode(&w.index().encode()).unwrap();
        assert_eq!(index, w.index());
        let file = w.finish().unwrap();
        assert_eq!(index.end, file.len() as u64);
        assert!(index.points.len() > 10, "more than one block");
        let lookup = |subject: &str| {
            let block = index.block_of(subject)?;
            let bytes = &file[block.start as usize..block.end as usize];
            block.find(bytes, subject).unwrap()
        };
        for e in &entries {
            assert_eq!(lookup(&e.subject).as_ref(), Some(e), "{}", e.subject);
        }
        for absent in ["A", "S000001", "S004999", "S009999", "T"] {
            assert_eq!(lookup(absent), None, "{absent}");
        }
        // Bytes that are not the block the index names (the baseline replaced meanwhile).
        let block = index.block_of("S000500").unwrap();
        let shifted = &file[block.start as usize + 1..block.end as usize + 1];
        assert!(
            block.find(shifted, "S000500").is_err(),
            "a block moved by a byte"
        );
        let other = index.block_of("S009000").unwrap();
        let elsewhere = &file[other.start as usize..other.end as usize];
        assert!(block.find(elsewhere, "S000500").is_err(), "another block");
        assert!(Index::decode(b"CWBIDX1\n").is_err(), "cut short");
        assert!(
            Index::decode(&file[..64]).is_err(),
            "a baseline is no index"
        );
    }

    #[test]
    fn a_foreign_file_is_refused() {
        assert!(Reader::new(&b"{\"subject\":1}\n"[..]).is_err());
    }
}
