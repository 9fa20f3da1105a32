//! A deterministic, seeded generator of the credit bureau's daily feed (see the design's "Feed
//! format"), for benchmarks and tests of the daily diff.
//!
//! Day 1 gives every subject a base record. On each later day an exact, seeded-random share of
//! the subjects gains one to three new facts; every other line is byte-identical to the day
//! before. A subject's line on day k is its base record plus the facts of the days in 2..=k on
//! which it was picked, and each of those is a pure function of (seed, subject, day), so any day
//! can be written directly, without the days before it.
//!
//! With [`FeedSpec::scores_from`] set to day S, every line from day S on also carries a credit
//! score, and every company's its financial statements (one or two earlier periods): on day S
//! every line differs from the day before, though nothing new happened to anyone but the day's
//! picked subjects (the day the bureau starts sending scores). On the days after S, a score move
//! of 50 to 150 points and a newly filed period are among the new facts drawn.
//!
//! Subjects are numbered by an ordinal in 0..N: companies first (`CMP-000000001`, ...), then
//! individuals (`IND-000000001`, ...). Ordinal order is the byte order of the ids, so a part,
//! which is a contiguous range of ordinals, is sorted and holds the same subjects every day.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{Datelike, Days, NaiveDate};
use flate2::Compression;
use flate2::write::GzEncoder;

/// The default share of companies among the subjects.
pub const DEFAULT_COMPANY_SHARE: f64 = 0.2;
/// The default share of subjects that gain new facts on a day.
pub const DEFAULT_CHANGED_SHARE: f64 = 0.007;
/// The default number of subjects a part holds at most.
pub const MAX_PART_SUBJECTS: u64 = 250_000;
/// Ids carry nine digits.
pub const MAX_SUBJECTS: u64 = 999_999_999;
/// Part names carry four digits, so that their byte order is their numeric order.
pub const MAX_PARTS: u32 = 10_000;

/// What to generate. [`FeedSpec::new`] fills in the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedSpec {
    pub subjects: u64,
    /// Share of the subjects that are companies, in 0..=1.
    pub company_share: f64,
    pub parts: u32,
    /// Share of the subjects that gain new facts on each day after the first, in 0..=1.
    pub changed_share: f64,
    pub seed: u64,
    /// The calendar date of day 1; day k is `k - 1` days later.
    pub start_date: NaiveDate,
    /// The day from which lines carry credit scores and companies' financial statements;
    /// none: never.
    pub scores_from: Option<u32>,
}

impl FeedSpec {
    pub fn new(subjects: u64, seed: u64, start_date: NaiveDate) -> Self {
        FeedSpec {
            subjects,
            company_share: DEFAULT_COMPANY_SHARE,
            parts: default_parts(subjects),
            changed_share: DEFAULT_CHANGED_SHARE,
            seed,
            start_date,
            scores_from: None,
        }
    }
}

/// Enough parts that none holds more than [`MAX_PART_SUBJECTS`], and at least one.
pub fn default_parts(subjects: u64) -> u32 {
    let parts = subjects.div_ceil(MAX_PART_SUBJECTS).max(1);
    u32::try_from(parts).unwrap_or(u32::MAX).min(MAX_PARTS)
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    #[error("a feed has between 1 and {MAX_SUBJECTS} subjects, not {0}")]
    Subjects(u64),
    #[error("{name} is a share between 0 and 1, not {value}")]
    Share { name: &'static str, value: f64 },
    #[error("a feed of {subjects} subjects has between 1 and {max} parts, not {parts}")]
    Parts { subjects: u64, parts: u32, max: u64 },
    #[error("day {0} does not exist: days count from 1 and must stay within the calendar")]
    Day(u32),
    #[error("scores start on a day from 1, not {0}")]
    ScoresFrom(u32),
}

/// The kinds of new facts: the daily run's own.
pub use clientwatch::monitoring::FactKind;

/// New facts of one day, counted by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FactCounts {
    pub addresses: u64,
    pub defaults: u64,
    pub judgements: u64,
    pub insolvencies: u64,
    pub enquiries: u64,
    pub directorships: u64,
    pub shareholdings: u64,
    pub company_names: u64,
    pub company_statuses: u64,
    pub score_changes: u64,
    pub financial_statements: u64,
}

impl FactCounts {
    pub fn add(&mut self, kind: FactKind) {
        *match kind {
            FactKind::Address => &mut self.addresses,
            FactKind::Default => &mut self.defaults,
            FactKind::Judgement => &mut self.judgements,
            FactKind::Insolvency => &mut self.insolvencies,
            FactKind::Enquiry => &mut self.enquiries,
            FactKind::Directorship => &mut self.directorships,
            FactKind::Shareholding => &mut self.shareholdings,
            FactKind::NameChange => &mut self.company_names,
            FactKind::StatusChange => &mut self.company_statuses,
            FactKind::ScoreChange => &mut self.score_changes,
            FactKind::FinancialStatements => &mut self.financial_statements,
        } += 1;
    }

    pub fn total(&self) -> u64 {
        self.addresses
            + self.defaults
            + self.judgements
            + self.insolvencies
            + self.enquiries
            + self.directorships
            + self.shareholdings
            + self.company_names
            + self.company_statuses
            + self.score_changes
            + self.financial_statements
    }
}

/// The ground truth of one day against the day before: the subjects with new facts, in id
/// order, and their new facts by kind. Day 1 has no day before, so nothing changed. Their lines
/// are the only ones that differ from the day before, except on the day scores first appear.
#[derive(Debug, Clone, PartialEq)]
pub struct DayChanges {
    pub day: u32,
    pub date: NaiveDate,
    pub subjects: Vec<String>,
    pub facts: FactCounts,
    /// Every line differs from the day before: scores and statements appear on this day for
    /// the first time (none of them is a new fact).
    pub every_line: bool,
}

/// A validated [`FeedSpec`], ready to generate days.
#[derive(Debug, Clone)]
pub struct Feed {
    spec: FeedSpec,
    companies: u64,
    changed_per_day: u64,
}

impl Feed {
    pub fn new(spec: FeedSpec) -> Result<Self, SpecError> {
        if !(1..=MAX_SUBJECTS).contains(&spec.subjects) {
            return Err(SpecError::Subjects(spec.subjects));
        }
        for (name, value) in [
            ("the company share", spec.company_share),
            ("the changed share", spec.changed_share),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(SpecError::Share { name, value });
            }
        }
        if spec.scores_from == Some(0) {
            return Err(SpecError::ScoresFrom(0));
        }
        let max = spec.subjects.min(u64::from(MAX_PARTS));
        if spec.parts == 0 || u64::from(spec.parts) > max {
            return Err(SpecError::Parts {
                subjects: spec.subjects,
                parts: spec.parts,
                max,
            });
        }
        let share_of =
            |share: f64| ((spec.subjects as f64 * share).round() as u64).min(spec.subjects);
        Ok(Feed {
            companies: share_of(spec.company_share),
            changed_per_day: share_of(spec.changed_share),
            spec,
        })
    }

    pub fn spec(&self) -> &FeedSpec {
        &self.spec
    }

    /// How many subjects are companies (the ordinals below this number).
    pub fn companies(&self) -> u64 {
        self.companies
    }

    /// How many subjects gain new facts on each day after the first.
    pub fn changed_per_day(&self) -> u64 {
        self.changed_per_day
    }

    /// The ordinals of the subjects in `part` (0-based).
    pub fn part_range(&self, part: u32) -> Range<u64> {
        let bound = |p: u64| p * self.spec.subjects / u64::from(self.spec.parts);
        bound(u64::from(part))..bound(u64::from(part) + 1)
    }

    /// The id of the subject with this ordinal, e.g. `IND-000000123`.
    pub fn subject_id(&self, ordinal: u64) -> String {
        let mut id = Vec::with_capacity(13);
        self.put_subject_id(&mut id, ordinal);
        String::from_utf8(id).expect("ids are ASCII")
    }

    pub fn date_of(&self, day: u32) -> Result<NaiveDate, SpecError> {
        day.checked_sub(1)
            .and_then(|after| {
                self.spec
                    .start_date
                    .checked_add_days(Days::new(u64::from(after)))
            })
            .ok_or(SpecError::Day(day))
    }

    /// Day `day` (from 1), ready to be written.
    pub fn day(&self, day: u32) -> Result<Day<'_>, SpecError> {
        let date = self.date_of(day)?;
        let mut plan: Vec<(u64, u32)> = (2..=day)
            .flat_map(|d| self.picked(d).into_iter().map(move |ordinal| (ordinal, d)))
            .collect();
        plan.sort_unstable();
        Ok(Day {
            feed: self,
            day,
            date,
            plan,
        })
    }

    /// What changed on `day` against the day before.
    pub fn changes(&self, day: u32) -> Result<DayChanges, SpecError> {
        let date = self.date_of(day)?;
        let picked = self.picked(day);
        let mut facts = FactCounts::default();
        for &ordinal in &picked {
            for kind in self.new_fact_kinds(ordinal, day) {
                facts.add(kind);
            }
        }
        Ok(DayChanges {
            day,
            date,
            subjects: picked.into_iter().map(|o| self.subject_id(o)).collect(),
            facts,
            every_line: day > 1 && self.spec.scores_from == Some(day),
        })
    }

    /// Whether lines carry scores (and companies statements) on `day`.
    fn scores_on(&self, day: u32) -> bool {
        self.spec.scores_from.is_some_and(|from| day >= from)
    }

    /// The ordinals that gain new facts on `day`, sorted: exactly `changed_per_day` distinct
    /// ones (Floyd's sampling), none on day 1.
    fn picked(&self, day: u32) -> Vec<u64> {
        if day < 2 {
            return Vec::new();
        }
        let n = self.spec.subjects;
        let m = self.changed_per_day;
        let mut rng = self.rng(Stream::Picks, 0, day);
        let mut picked = HashSet::with_capacity(m as usize);
        for j in n - m..n {
            let candidate = rng.below(j + 1);
            if !picked.insert(candidate) {
                picked.insert(j);
            }
        }
        let mut picked: Vec<u64> = picked.into_iter().collect();
        picked.sort_unstable();
        picked
    }

    /// The kinds of the facts a subject gains on `day`: one to three. Drawn from their own
    /// stream, so that counting them needs no record.
    fn new_fact_kinds(&self, ordinal: u64, day: u32) -> Vec<FactKind> {
        let mut rng = self.rng(Stream::Kinds, ordinal, day);
        // Scores move and periods are filed only once scores were there the day before; the
        // tables without them keep the feeds without scores as they always were.
        let scored = self.spec.scores_from.is_some_and(|from| day > from);
        let table = match (self.is_company(ordinal), scored) {
            (true, false) => COMPANY_NEW_FACTS,
            (false, false) => INDIVIDUAL_NEW_FACTS,
            (true, true) => COMPANY_NEW_FACTS_SCORED,
            (false, true) => INDIVIDUAL_NEW_FACTS_SCORED,
        };
        let count = rng.weighted(&[(1, 70), (2, 22), (3, 8)]);
        let mut kinds = Vec::with_capacity(count);
        while kinds.len() < count {
            let kind = rng.weighted(table);
            // A second change of the name or the status on the same day could undo the first.
            let once = matches!(
                kind,
                FactKind::NameChange | FactKind::StatusChange | FactKind::ScoreChange
            );
            if !(once && kinds.contains(&kind)) {
                kinds.push(kind);
            }
        }
        kinds
    }

    fn is_company(&self, ordinal: u64) -> bool {
        ordinal < self.companies
    }

    fn put_subject_id(&self, buf: &mut Vec<u8>, ordinal: u64) {
        let (prefix, number) = if self.is_company(ordinal) {
            (b"CMP-", ordinal + 1)
        } else {
            (b"IND-", ordinal - self.companies + 1)
        };
        buf.extend_from_slice(prefix);
        put_padded(buf, number, 9);
    }

    fn rng(&self, stream: Stream, ordinal: u64, day: u32) -> Rng {
        Rng::new(self.spec.seed, stream as u64, ordinal, u64::from(day))
    }

    /// The company that a company subject is on day 1, and that directorships and
    /// shareholdings name.
    fn company(&self, company: u64) -> CompanyRef {
        let mut rng = self.rng(Stream::CompanyName, company, 0);
        CompanyRef {
            number: 1_000_001 + company,
            name: CompanyName::random(&mut rng),
        }
    }

    /// A company for a directorship or shareholding: one of the feed's companies, or a made-up
    /// one when the feed has none.
    fn some_company(&self, rng: &mut Rng) -> CompanyRef {
        if self.companies > 0 {
            self.company(rng.below(self.companies))
        } else {
            CompanyRef {
                number: 9_000_000 + rng.below(999_999),
                name: CompanyName::random(rng),
            }
        }
    }
}

/// One day of a [`Feed`]: which subjects gained which days' facts up to this day.
#[derive(Debug, Clone)]
pub struct Day<'f> {
    feed: &'f Feed,
    day: u32,
    date: NaiveDate,
    /// (ordinal, day) for every day in 2..=`day` on which the subject gained facts, sorted.
    plan: Vec<(u64, u32)>,
}

/// Lines and bytes (uncompressed) of one written part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartStats {
    pub lines: u64,
    pub bytes: u64,
}

/// One file written by [`Day::write_to`].
#[derive(Debug, Clone, PartialEq)]
pub struct PartFile {
    pub path: PathBuf,
    pub stats: PartStats,
    /// Its size on disk: smaller than `stats.bytes` when gzipped.
    pub file_bytes: u64,
}

/// Everything [`Day::write_to`] wrote for one day.
#[derive(Debug, Clone, PartialEq)]
pub struct DayReport {
    pub day: u32,
    pub date: NaiveDate,
    pub dir: PathBuf,
    pub files: Vec<PartFile>,
}

impl DayReport {
    pub fn lines(&self) -> u64 {
        self.files.iter().map(|f| f.stats.lines).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.stats.bytes).sum()
    }

    pub fn file_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.file_bytes).sum()
    }
}

/// How the part files are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `part-NNNN.ndjson`
    Plain,
    /// `part-NNNN.ndjson.gz`, at gzip's fastest level: the files are read far more often than
    /// written, and reading costs the same at every level.
    Gzip,
}

impl<'f> Day<'f> {
    pub fn number(&self) -> u32 {
        self.day
    }

    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// Moves on to the next day; cheaper than [`Feed::day`] when writing days in a row.
    pub fn advance(&mut self) -> Result<(), SpecError> {
        let next = self.day.checked_add(1).ok_or(SpecError::Day(u32::MAX))?;
        self.date = self.feed.date_of(next)?;
        let picked = self.feed.picked(next);
        let earlier = std::mem::take(&mut self.plan);
        self.plan = Vec::with_capacity(earlier.len() + picked.len());
        let mut added = picked.into_iter().map(|o| (o, next)).peekable();
        for entry in earlier {
            while let Some(new) = added.next_if(|new| *new < entry) {
                self.plan.push(new);
            }
            self.plan.push(entry);
        }
        self.plan.extend(added);
        self.day = next;
        Ok(())
    }

    /// Writes part `part` (0-based) as NDJSON lines to `out`.
    pub fn write_part(&self, part: u32, out: &mut impl Write) -> io::Result<PartStats> {
        let feed = self.feed;
        let range = feed.part_range(part);
        let mut next = self.plan.partition_point(|&(o, _)| o < range.start);
        let mut record = Record::default();
        let mut line = Vec::with_capacity(1024);
        let mut stats = PartStats::default();
        for ordinal in range {
            record.base(feed, ordinal, self.day);
            while let Some(&(o, day)) = self.plan.get(next)
                && o == ordinal
            {
                record.add_facts(feed, ordinal, day);
                next += 1;
            }
            line.clear();
            record.write_line(feed, ordinal, &mut line);
            out.write_all(&line)?;
            stats.lines += 1;
            stats.bytes += line.len() as u64;
        }
        Ok(stats)
    }

    /// Writes every part into `root/feeds/<date>/`, replacing the parts already there, on as
    /// many threads as the machine has cores.
    pub fn write_to(&self, root: &Path, encoding: Encoding) -> io::Result<DayReport> {
        let dir = root
            .join("feeds")
            .join(self.date.format("%Y-%m-%d").to_string());
        fs::create_dir_all(&dir)?;
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with("part-") {
                fs::remove_file(entry.path())?;
            }
        }
        let parts = self.feed.spec.parts;
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(parts as usize);
        let next_part = AtomicU32::new(0);
        let written = Mutex::new(Vec::with_capacity(parts as usize));
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| -> io::Result<()> {
                        loop {
                            let part = next_part.fetch_add(1, Ordering::Relaxed);
                            if part >= parts {
                                return Ok(());
                            }
                            let file = self.write_part_file(&dir, part, encoding)?;
                            written.lock().expect("no writer panics").push(file);
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .try_for_each(|w| w.join().expect("a part writer panicked"))
        })?;
        let mut files = written.into_inner().expect("no writer panics");
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(DayReport {
            day: self.day,
            date: self.date,
            dir,
            files,
        })
    }

    fn write_part_file(&self, dir: &Path, part: u32, encoding: Encoding) -> io::Result<PartFile> {
        let extension = match encoding {
            Encoding::Plain => "ndjson",
            Encoding::Gzip => "ndjson.gz",
        };
        let path = dir.join(format!("part-{part:04}.{extension}"));
        let file = File::create(&path)?;
        let stats = match encoding {
            Encoding::Plain => {
                let mut out = BufWriter::with_capacity(1 << 20, file);
                let stats = self.write_part(part, &mut out)?;
                out.flush()?;
                stats
            }
            Encoding::Gzip => {
                let gz = GzEncoder::new(file, Compression::fast());
                let mut out = BufWriter::with_capacity(1 << 20, gz);
                let stats = self.write_part(part, &mut out)?;
                out.into_inner().map_err(|e| e.into_error())?.finish()?;
                stats
            }
        };
        let file_bytes = fs::metadata(&path)?.len();
        Ok(PartFile {
            path,
            stats,
            file_bytes,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Records

/// The independent random streams of a feed; each (stream, ordinal, day) has its own.
#[derive(Clone, Copy)]
enum Stream {
    Base = 1,
    CompanyName = 2,
    Picks = 3,
    Kinds = 4,
    Facts = 5,
    Score = 6,
}

const INDIVIDUAL_NEW_FACTS: &[(FactKind, u32)] = &[
    (FactKind::Address, 25),
    (FactKind::Default, 12),
    (FactKind::Judgement, 6),
    (FactKind::Insolvency, 3),
    (FactKind::Enquiry, 36),
    (FactKind::Directorship, 10),
    (FactKind::Shareholding, 8),
];

/// Companies are never directors (only people are), but change name and status.
const COMPANY_NEW_FACTS: &[(FactKind, u32)] = &[
    (FactKind::Address, 15),
    (FactKind::Default, 12),
    (FactKind::Judgement, 8),
    (FactKind::Insolvency, 5),
    (FactKind::Enquiry, 30),
    (FactKind::Shareholding, 10),
    (FactKind::NameChange, 10),
    (FactKind::StatusChange, 10),
];

/// Once lines carry scores: a score move among a person's new facts.
const INDIVIDUAL_NEW_FACTS_SCORED: &[(FactKind, u32)] = &[
    (FactKind::Address, 25),
    (FactKind::Default, 12),
    (FactKind::Judgement, 6),
    (FactKind::Insolvency, 3),
    (FactKind::Enquiry, 36),
    (FactKind::Directorship, 10),
    (FactKind::Shareholding, 8),
    (FactKind::ScoreChange, 15),
];

/// Once lines carry scores: a score move and a newly filed period among a company's.
const COMPANY_NEW_FACTS_SCORED: &[(FactKind, u32)] = &[
    (FactKind::Address, 15),
    (FactKind::Default, 12),
    (FactKind::Judgement, 8),
    (FactKind::Insolvency, 5),
    (FactKind::Enquiry, 30),
    (FactKind::Shareholding, 10),
    (FactKind::NameChange, 10),
    (FactKind::StatusChange, 10),
    (FactKind::ScoreChange, 15),
    (FactKind::FinancialStatements, 10),
];

#[derive(Clone, Copy, PartialEq)]
struct CompanyName(&'static str, &'static str, &'static str);

impl CompanyName {
    fn random(rng: &mut Rng) -> Self {
        CompanyName(
            rng.pick(COMPANY_WORDS),
            rng.pick(COMPANY_TRADES),
            rng.pick(COMPANY_SUFFIXES),
        )
    }

    fn put(&self, buf: &mut Vec<u8>) {
        put(buf, self.0);
        put(buf, " ");
        put(buf, self.1);
        put(buf, " ");
        put(buf, self.2);
    }
}

#[derive(Clone, Copy, PartialEq)]
struct CompanyRef {
    number: u64,
    name: CompanyName,
}

#[derive(Clone, Copy, PartialEq)]
struct Address {
    number: u64,
    street: &'static str,
    city: &'static str,
    postcode: u64,
    source: &'static str,
    reported: NaiveDate,
}

#[derive(Clone, Copy, PartialEq)]
struct Debt {
    /// The creditor of a default, the court of a judgement.
    by: &'static str,
    amount_cents: u64,
    date: NaiveDate,
}

#[derive(Clone, Copy, PartialEq)]
struct Insolvency {
    kind: &'static str,
    date: NaiveDate,
}

#[derive(Clone, Copy, PartialEq)]
struct Enquiry {
    enquirer: &'static str,
    product: &'static str,
    date: NaiveDate,
}

#[derive(Clone, Copy, PartialEq)]
struct Directorship {
    company: CompanyRef,
    appointed: NaiveDate,
}

#[derive(Clone, Copy, PartialEq)]
struct Shareholding {
    company: CompanyRef,
    shares: u64,
}

#[derive(Clone, Copy, PartialEq)]
struct Score {
    value: u64,
    /// The day of the bureau's last scoring.
    date: NaiveDate,
}

impl Score {
    fn band(&self) -> &'static str {
        match self.value {
            800.. => "A",
            700..=799 => "B",
            600..=699 => "C",
            500..=599 => "D",
            _ => "E",
        }
    }
}

/// One period's financial statements, in whole dollars.
#[derive(Clone, Copy, PartialEq)]
struct Statement {
    period_end: NaiveDate,
    filed: NaiveDate,
    turnover: u64,
    profit_loss: i64,
    net_assets: i64,
}

impl Statement {
    fn random(rng: &mut Rng, period_end: NaiveDate, filed: NaiveDate) -> Self {
        Statement {
            period_end,
            filed,
            turnover: rng.range(50_000, 20_000_000),
            profit_loss: rng.range(0, 2_000_000) as i64 - 500_000,
            net_assets: rng.range(0, 5_000_000) as i64 - 1_000_000,
        }
    }
}

/// One subject's record, reused from line to line so that generating allocates nothing.
#[derive(Default)]
struct Record {
    company: Option<CompanyState>,
    name: (&'static str, &'static str),
    dob: Option<NaiveDate>,
    addresses: Vec<Address>,
    defaults: Vec<Debt>,
    judgements: Vec<Debt>,
    insolvencies: Vec<Insolvency>,
    enquiries: Vec<Enquiry>,
    directorships: Vec<Directorship>,
    shareholdings: Vec<Shareholding>,
    score: Option<Score>,
    statements: Vec<Statement>,
}

struct CompanyState {
    name: CompanyName,
    status: &'static str,
    number: u64,
}

impl Record {
    /// The subject's day-1 record, with its first score and statements when `day` carries
    /// them.
    fn base(&mut self, feed: &Feed, ordinal: u64, day: u32) {
        let mut rng = feed.rng(Stream::Base, ordinal, 0);
        let start = feed.spec.start_date;
        let before_start =
            |rng: &mut Rng, min: u64, max: u64| start - Days::new(rng.range(min, max));
        self.addresses.clear();
        self.defaults.clear();
        self.judgements.clear();
        self.insolvencies.clear();
        self.enquiries.clear();
        self.directorships.clear();
        self.shareholdings.clear();

        let company = feed.is_company(ordinal);
        if company {
            let CompanyRef { number, name } = feed.company(ordinal);
            let status = rng.weighted(&[
                ("registered", 85),
                ("removed", 6),
                ("in liquidation", 4),
                ("in receivership", 3),
                ("closed", 2),
            ]);
            self.company = Some(CompanyState {
                name,
                status,
                number,
            });
            self.dob = None;
            let insolvency = match status {
                "in liquidation" => Some("liquidation"),
                "in receivership" => Some("receivership"),
                _ => None,
            };
            if let Some(kind) = insolvency {
                let date = before_start(&mut rng, 30, 1500);
                self.insolvencies.push(Insolvency { kind, date });
            }
        } else {
            self.company = None;
            self.name = (rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES));
            let born = NaiveDate::from_ymd_opt(1940, 1, 1).expect("a valid date");
            self.dob = Some(born + Days::new(rng.below(65 * 365)));
        }

        let addresses = if company {
            rng.weighted(&[(1, 90), (2, 10)])
        } else {
            rng.weighted(&[(1, 84), (2, 13), (3, 3)])
        };
        for _ in 0..addresses {
            let reported = before_start(&mut rng, 1, 3650);
            let address = fresh(&self.addresses, || Address::random(&mut rng, reported));
            self.addresses.push(address);
        }
        self.addresses.sort_by_key(|a| a.reported);

        for _ in 0..rng.weighted(&[(0, 65), (1, 25), (2, 8), (3, 2)]) {
            let date = before_start(&mut rng, 1, 720);
            let enquiry = fresh(&self.enquiries, || Enquiry::random(&mut rng, company, date));
            self.enquiries.push(enquiry);
        }
        self.enquiries.sort_by_key(|e| e.date);

        for _ in 0..rng.weighted(&[(0, 90), (1, 8), (2, 2)]) {
            let date = before_start(&mut rng, 30, 2000);
            let default = fresh(&self.defaults, || Debt::default_at(&mut rng, date));
            self.defaults.push(default);
        }
        self.defaults.sort_by_key(|d| d.date);

        if rng.chance(if company { 0.04 } else { 0.02 }) {
            let date = before_start(&mut rng, 30, 2000);
            self.judgements.push(Debt::judgement_at(&mut rng, date));
        }
        if !company && rng.chance(0.01) {
            let date = before_start(&mut rng, 30, 3000);
            let kind = rng.pick(&["bankruptcy", "no asset procedure"]);
            self.insolvencies.push(Insolvency { kind, date });
        }

        if !company {
            for _ in 0..rng.weighted(&[(0, 88), (1, 10), (2, 2)]) {
                let appointed = before_start(&mut rng, 30, 7000);
                let directorship = fresh(&self.directorships, || Directorship {
                    company: feed.some_company(&mut rng),
                    appointed,
                });
                self.directorships.push(directorship);
                if rng.chance(0.6) {
                    let holding = Shareholding::random(&mut rng, directorship.company);
                    self.shareholdings.push(holding);
                }
            }
            self.directorships.sort_by_key(|d| d.appointed);
        }
        if rng.chance(if company { 0.15 } else { 0.03 }) {
            let held = feed.some_company(&mut rng);
            let holding = fresh(&self.shareholdings, || Shareholding::random(&mut rng, held));
            self.shareholdings.push(holding);
        }

        // Scores and statements from their own stream, so the rest is the same with or
        // without them.
        self.score = None;
        self.statements.clear();
        if feed.scores_on(day) {
            let mut rng = feed.rng(Stream::Score, ordinal, 0);
            let scored = feed
                .date_of(feed.spec.scores_from.unwrap_or(1))
                .unwrap_or(start);
            self.score = Some(Score {
                value: rng.range(300, 900),
                date: scored - Days::new(rng.below(30)),
            });
            if company {
                let year = start.year() - 1;
                let periods = rng.weighted(&[(1, 40), (2, 60)]);
                for back in (0..periods).rev() {
                    let period_end =
                        NaiveDate::from_ymd_opt(year - back, 3, 31).expect("a valid date");
                    let filed = period_end + Days::new(rng.range(60, 200));
                    self.statements
                        .push(Statement::random(&mut rng, period_end, filed));
                }
            }
        }
    }

    /// Appends the facts the subject gains on `day`, each unlike every fact of its kind the
    /// subject already has.
    fn add_facts(&mut self, feed: &Feed, ordinal: u64, day: u32) {
        let mut rng = feed.rng(Stream::Facts, ordinal, day);
        let today = feed.date_of(day).expect("planned days are valid");
        let recently = |rng: &mut Rng, max: u64| today - Days::new(rng.below(max + 1));
        let company = self.company.is_some();
        for kind in feed.new_fact_kinds(ordinal, day) {
            match kind {
                FactKind::Address => {
                    let reported = recently(&mut rng, 3);
                    let address = fresh(&self.addresses, || Address::random(&mut rng, reported));
                    self.addresses.push(address);
                }
                FactKind::Default => {
                    let date = recently(&mut rng, 60);
                    let default = fresh(&self.defaults, || Debt::default_at(&mut rng, date));
                    self.defaults.push(default);
                }
                FactKind::Judgement => {
                    let date = recently(&mut rng, 30);
                    let judgement = fresh(&self.judgements, || Debt::judgement_at(&mut rng, date));
                    self.judgements.push(judgement);
                }
                FactKind::Insolvency => {
                    let kinds: &[&str] = if company {
                        &["liquidation", "receivership"]
                    } else {
                        &["bankruptcy", "no asset procedure"]
                    };
                    let date = recently(&mut rng, 10);
                    let insolvency = fresh(&self.insolvencies, || Insolvency {
                        kind: rng.pick(kinds),
                        date,
                    });
                    self.insolvencies.push(insolvency);
                }
                FactKind::Enquiry => {
                    let date = recently(&mut rng, 1);
                    let enquiry =
                        fresh(&self.enquiries, || Enquiry::random(&mut rng, company, date));
                    self.enquiries.push(enquiry);
                }
                FactKind::Directorship => {
                    let appointed = recently(&mut rng, 30);
                    let directorship = fresh(&self.directorships, || Directorship {
                        company: feed.some_company(&mut rng),
                        appointed,
                    });
                    self.directorships.push(directorship);
                }
                FactKind::Shareholding => {
                    let holding = fresh(&self.shareholdings, || {
                        let held = feed.some_company(&mut rng);
                        Shareholding::random(&mut rng, held)
                    });
                    self.shareholdings.push(holding);
                }
                FactKind::NameChange => {
                    if let Some(state) = &mut self.company {
                        let old = state.name;
                        state.name = fresh(&[old], || CompanyName::random(&mut rng));
                    }
                }
                FactKind::StatusChange => {
                    if let Some(state) = &mut self.company {
                        let others: Vec<&str> = STATUSES
                            .iter()
                            .copied()
                            .filter(|s| *s != state.status)
                            .collect();
                        state.status = rng.pick(&others);
                    }
                }
                FactKind::ScoreChange => {
                    if let Some(score) = &mut self.score {
                        let by = rng.range(50, 150);
                        let down = rng.chance(0.5) && score.value > by + 100;
                        score.value = if down || score.value + by > 999 {
                            score.value - by
                        } else {
                            score.value + by
                        };
                        score.date = today;
                    }
                }
                FactKind::FinancialStatements => {
                    if company {
                        let period_end = self.statements.last().map_or_else(
                            || {
                                NaiveDate::from_ymd_opt(today.year() - 1, 3, 31)
                                    .expect("a valid date")
                            },
                            |s| {
                                s.period_end
                                    .with_year(s.period_end.year() + 1)
                                    .unwrap_or(today)
                            },
                        );
                        let filed = recently(&mut rng, 5);
                        self.statements
                            .push(Statement::random(&mut rng, period_end, filed));
                    }
                }
            }
        }
    }

    fn write_line(&self, feed: &Feed, ordinal: u64, buf: &mut Vec<u8>) {
        put(buf, "{\"subject\":\"");
        feed.put_subject_id(buf, ordinal);
        match &self.company {
            Some(company) => {
                put(buf, "\",\"kind\":\"company\",\"company\":{\"name\":\"");
                company.name.put(buf);
                put(buf, "\",\"status\":\"");
                put(buf, company.status);
                put(buf, "\",\"registration_number\":\"");
                put_u64(buf, company.number);
                put(buf, "\"}");
            }
            None => {
                put(buf, "\",\"kind\":\"individual\",\"name\":\"");
                put(buf, self.name.0);
                put(buf, " ");
                put(buf, self.name.1);
                if let Some(dob) = self.dob {
                    put(buf, "\",\"dob\":\"");
                    put_date(buf, dob);
                }
                put(buf, "\"");
            }
        }
        put_array(buf, ",\"addresses\":[", &self.addresses, |buf, a| {
            put(buf, "{\"line1\":\"");
            put_u64(buf, a.number);
            put(buf, " ");
            put(buf, a.street);
            put(buf, "\",\"city\":\"");
            put(buf, a.city);
            put(buf, "\",\"postcode\":\"");
            put_padded(buf, a.postcode, 4);
            put(buf, "\",\"country\":\"NZ\",\"source\":\"");
            put(buf, a.source);
            put(buf, "\",\"reported\":\"");
            put_date(buf, a.reported);
            put(buf, "\"}");
        });
        put_array(buf, ",\"defaults\":[", &self.defaults, |buf, d| {
            put(buf, "{\"creditor\":\"");
            d.put_rest(buf);
        });
        put_array(buf, ",\"judgements\":[", &self.judgements, |buf, j| {
            put(buf, "{\"court\":\"");
            j.put_rest(buf);
        });
        put_array(buf, ",\"insolvencies\":[", &self.insolvencies, |buf, i| {
            put(buf, "{\"type\":\"");
            put(buf, i.kind);
            put(buf, "\",\"date\":\"");
            put_date(buf, i.date);
            put(buf, "\"}");
        });
        put_array(buf, ",\"enquiries\":[", &self.enquiries, |buf, e| {
            put(buf, "{\"enquirer\":\"");
            put(buf, e.enquirer);
            put(buf, "\",\"product\":\"");
            put(buf, e.product);
            put(buf, "\",\"date\":\"");
            put_date(buf, e.date);
            put(buf, "\"}");
        });
        put_array(
            buf,
            ",\"directorships\":[",
            &self.directorships,
            |buf, d| {
                d.company.put_fields(buf);
                put(buf, ",\"appointed\":\"");
                put_date(buf, d.appointed);
                put(buf, "\"}");
            },
        );
        put_array(
            buf,
            ",\"shareholdings\":[",
            &self.shareholdings,
            |buf, s| {
                s.company.put_fields(buf);
                put(buf, ",\"shares\":");
                put_u64(buf, s.shares);
                put(buf, "}");
            },
        );
        if let Some(score) = &self.score {
            put(buf, ",\"score\":{\"value\":");
            put_u64(buf, score.value);
            put(buf, ",\"band\":\"");
            put(buf, score.band());
            put(buf, "\",\"model\":\"cw-2\",\"date\":\"");
            put_date(buf, score.date);
            put(buf, "\"}");
        }
        if self.company.is_some() && !self.statements.is_empty() {
            put_array(
                buf,
                ",\"financial_statements\":[",
                &self.statements,
                |buf, s| {
                    put(buf, "{\"period_end\":\"");
                    put_date(buf, s.period_end);
                    put(buf, "\",\"filed\":\"");
                    put_date(buf, s.filed);
                    put(buf, "\",\"turnover\":");
                    put_u64(buf, s.turnover);
                    put(buf, ",\"profit_loss\":");
                    put_i64(buf, s.profit_loss);
                    put(buf, ",\"net_assets\":");
                    put_i64(buf, s.net_assets);
                    put(buf, ",\"currency\":\"NZD\"}");
                },
            );
        }
        put(buf, "}\n");
    }
}

impl CompanyRef {
    /// `{"company_number":"…","company_name":"…"` — the object is left open for the rest.
    fn put_fields(&self, buf: &mut Vec<u8>) {
        put(buf, "{\"company_number\":\"");
        put_u64(buf, self.number);
        put(buf, "\",\"company_name\":\"");
        self.name.put(buf);
        put(buf, "\"");
    }
}

impl Address {
    fn random(rng: &mut Rng, reported: NaiveDate) -> Self {
        let (city, postcode) = rng.pick(CITIES);
        Address {
            number: rng.range(1, 320),
            street: rng.pick(STREETS),
            city,
            postcode: postcode + rng.below(40),
            source: rng.pick(ADDRESS_SOURCES),
            reported,
        }
    }
}

impl Debt {
    fn default_at(rng: &mut Rng, date: NaiveDate) -> Self {
        Debt {
            by: rng.pick(CREDITORS),
            amount_cents: rng.range(5_000, 2_500_000),
            date,
        }
    }

    fn judgement_at(rng: &mut Rng, date: NaiveDate) -> Self {
        Debt {
            by: rng.pick(COURTS),
            amount_cents: rng.range(100_000, 25_000_000),
            date,
        }
    }

    /// Everything after the creditor's or court's key.
    fn put_rest(&self, buf: &mut Vec<u8>) {
        put(buf, self.by);
        put(buf, "\",\"amount_cents\":");
        put_u64(buf, self.amount_cents);
        put(buf, ",\"currency\":\"NZD\",\"date\":\"");
        put_date(buf, self.date);
        put(buf, "\"}");
    }
}

impl Enquiry {
    fn random(rng: &mut Rng, company: bool, date: NaiveDate) -> Self {
        Enquiry {
            enquirer: rng.pick(ENQUIRERS),
            product: rng.pick(if company {
                COMPANY_PRODUCTS
            } else {
                PERSONAL_PRODUCTS
            }),
            date,
        }
    }
}

impl Shareholding {
    fn random(rng: &mut Rng, company: CompanyRef) -> Self {
        let shares = rng.weighted(&[(100, 40), (1_000, 20), (0, 40)]);
        Shareholding {
            company,
            shares: if shares == 0 {
                rng.range(1, 50_000)
            } else {
                shares
            },
        }
    }
}

/// A fact unlike every one in `existing` (a few draws; the odds of a clash are tiny already).
fn fresh<T: PartialEq>(existing: &[T], mut make: impl FnMut() -> T) -> T {
    let mut fact = make();
    for _ in 0..16 {
        if !existing.contains(&fact) {
            break;
        }
        fact = make();
    }
    fact
}

// ---------------------------------------------------------------------------------------------
// JSON output. Every string written comes from the tables below or from digits, none needs
// escaping.

fn put(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(s.as_bytes());
}

fn put_array<T>(
    buf: &mut Vec<u8>,
    open: &str,
    items: &[T],
    mut each: impl FnMut(&mut Vec<u8>, &T),
) {
    put(buf, open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            put(buf, ",");
        }
        each(buf, item);
    }
    put(buf, "]");
}

fn put_u64(buf: &mut Vec<u8>, n: u64) {
    put_padded(buf, n, 1);
}

fn put_i64(buf: &mut Vec<u8>, n: i64) {
    if n < 0 {
        put(buf, "-");
    }
    put_u64(buf, n.unsigned_abs());
}

/// `n` in decimal, zero-padded to at least `width` digits.
fn put_padded(buf: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    while n > 0 {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    start = start.min(digits.len() - width.clamp(1, 20));
    buf.extend_from_slice(&digits[start..]);
}

fn put_date(buf: &mut Vec<u8>, date: NaiveDate) {
    put_padded(buf, u64::try_from(date.year()).unwrap_or(0), 4);
    put(buf, "-");
    put_padded(buf, u64::from(date.month()), 2);
    put(buf, "-");
    put_padded(buf, u64::from(date.day()), 2);
}

// ---------------------------------------------------------------------------------------------
// Randomness

/// SplitMix64: small, fast, and fixed here, so that a seed gives the same feed on every version
/// of every dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64, ordinal: u64, day: u64) -> Self {
        let mut state = mix(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        state = mix(state ^ ordinal.wrapping_mul(0xd6e8_feb8_6659_fd93));
        state = mix(state ^ day.wrapping_mul(0xa076_1d64_78bd_642f));
        Rng(state)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in min..=max.
    fn range(&mut self, min: u64, max: u64) -> u64 {
        min + self.below(max - min + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) < p * (1u64 << 53) as f64
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    fn weighted<T: Copy>(&mut self, table: &[(T, u32)]) -> T {
        let total: u64 = table.iter().map(|&(_, w)| u64::from(w)).sum();
        let mut roll = self.below(total);
        for &(item, weight) in table {
            if roll < u64::from(weight) {
                return item;
            }
            roll -= u64::from(weight);
        }
        unreachable!("the roll is below the total weight")
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

const STATUSES: &[&str] = &[
    "registered",
    "removed",
    "in liquidation",
    "in receivership",
    "closed",
];

const FIRST_NAMES: &[&str] = &[
    "Ana",
    "Aroha",
    "Ben",
    "Charlotte",
    "Daniel",
    "Emma",
    "Hemi",
    "Isla",
    "Jack",
    "James",
    "Kiri",
    "Liam",
    "Lucy",
    "Mere",
    "Mia",
    "Noah",
    "Oliver",
    "Olivia",
    "Priya",
    "Rawiri",
    "Ruby",
    "Sam",
    "Sione",
    "Sophie",
    "Tama",
    "Tane",
    "Wei",
    "William",
    "Zoe",
    "Grace",
    "Hannah",
    "Leo",
    "Maia",
    "Amelia",
    "George",
    "Mateo",
    "Anahera",
    "Ella",
    "Finn",
    "Harper",
];

const LAST_NAMES: &[&str] = &[
    "Smith", "Williams", "Brown", "Wilson", "Taylor", "Jones", "Walker", "Ngata", "Parata",
    "Tuhoe", "Singh", "Wang", "Li", "Patel", "Thompson", "Anderson", "White", "Harris", "Martin",
    "Clarke", "King", "Robinson", "Young", "Hall", "Wright", "Campbell", "Stewart", "Scott",
    "Morris", "Tapsell", "Kaa", "Fifita", "Faleolo", "Chen", "Nguyen", "Murphy", "Kelly",
    "Mitchell", "Hughes", "Te Whata",
];

const COMPANY_WORDS: &[&str] = &[
    "Kauri",
    "Tasman",
    "Pacific",
    "Southern",
    "Harbour",
    "Summit",
    "Aotea",
    "Waitemata",
    "Pohutukawa",
    "Totara",
    "Rimu",
    "Matai",
    "Kowhai",
    "Ruapehu",
    "Taranaki",
    "Waikato",
    "Canterbury",
    "Otago",
    "Northland",
    "Coromandel",
    "Smith",
    "Walker",
    "Ngata",
    "Patel",
    "Chen",
    "Campbell",
    "Silver Fern",
    "Blue Penguin",
    "Red Tussock",
    "Kiwi",
    "Tui",
    "Kea",
];

const COMPANY_TRADES: &[&str] = &[
    "Holdings",
    "Construction",
    "Trading",
    "Logistics",
    "Property",
    "Services",
    "Farming",
    "Investments",
    "Engineering",
    "Consulting",
    "Imports",
    "Foods",
    "Motors",
    "Developments",
    "Plumbing",
    "Electrical",
    "Hospitality",
    "Transport",
    "Builders",
    "Orchards",
];

const COMPANY_SUFFIXES: &[&str] = &["Ltd", "Limited", "Group Ltd", "(NZ) Ltd"];

const STREETS: &[&str] = &[
    "Kauri St",
    "Queen St",
    "Rata Rd",
    "Totara Ave",
    "Pohutukawa Dr",
    "Victoria St",
    "Great North Rd",
    "Karaka Pl",
    "Manuka Cres",
    "Rimu Tce",
    "High St",
    "Station Rd",
    "Church St",
    "George St",
    "Beach Rd",
    "Main Rd",
    "Hill St",
    "Park Ave",
    "King St",
    "Marine Pde",
    "Riverside Dr",
    "Tui Gr",
    "Kowhai Lane",
    "Matai St",
    "Harbour View Rd",
    "Albert St",
    "Dominion Rd",
    "Cuba St",
    "Willis St",
    "Colombo St",
];

/// Cities with the first postcode of their range.
const CITIES: &[(&str, u64)] = &[
    ("Auckland", 1010),
    ("Wellington", 6011),
    ("Christchurch", 8011),
    ("Hamilton", 3204),
    ("Tauranga", 3110),
    ("Dunedin", 9010),
    ("Palmerston North", 4410),
    ("Napier", 4110),
    ("Nelson", 7010),
    ("Rotorua", 3010),
    ("New Plymouth", 4310),
    ("Whangarei", 110),
    ("Invercargill", 9810),
    ("Whanganui", 4500),
    ("Gisborne", 4010),
    ("Lower Hutt", 5010),
];

const ADDRESS_SOURCES: &[&str] = &[
    "utility:electricity",
    "utility:gas",
    "telco:mobile",
    "telco:broadband",
    "lender:application",
    "electoral roll",
    "court record",
    "companies office",
];

const CREDITORS: &[&str] = &[
    "Acme Finance",
    "Kiwi Energy",
    "Harbour Telecom",
    "Southern Cross Loans",
    "Metro Water",
    "Pacific Credit Union",
    "Totara Motors Finance",
    "Island Power",
    "Summit Collections",
    "Riverside Rentals",
];

const COURTS: &[&str] = &[
    "District Court Auckland",
    "District Court Manukau",
    "District Court Wellington",
    "District Court Christchurch",
    "District Court Hamilton",
    "District Court Tauranga",
    "District Court Dunedin",
    "High Court Auckland",
    "High Court Wellington",
    "High Court Christchurch",
];

const ENQUIRERS: &[&str] = &[
    "Kiwi Bank",
    "ANZ",
    "ASB",
    "BNZ",
    "Westpac",
    "TSB",
    "Harmoney",
    "Latitude Financial",
    "Q Card",
    "UDC Finance",
    "Avanti Finance",
    "Heartland Bank",
    "One NZ",
    "Contact Energy",
];

const PERSONAL_PRODUCTS: &[&str] = &[
    "credit card",
    "personal loan",
    "home loan",
    "vehicle loan",
    "overdraft",
    "buy now pay later",
    "mobile plan",
    "electricity account",
];

const COMPANY_PRODUCTS: &[&str] = &[
    "business loan",
    "overdraft",
    "equipment lease",
    "trade account",
    "vehicle loan",
    "credit card",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(subjects: u64, seed: u64) -> Feed {
        let start = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let mut spec = FeedSpec::new(subjects, seed, start);
        spec.parts = 3;
        Feed::new(spec).unwrap()
    }

    fn lines(day: &Day<'_>) -> Vec<String> {
        let mut out = Vec::new();
        for part in 0..day.feed.spec.parts {
            day.write_part(part, &mut out).unwrap();
        }
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes() {
        let a = lines(&feed(2_000, 7).day(3).unwrap());
        let b = lines(&feed(2_000, 7).day(3).unwrap());
        let c = lines(&feed(2_000, 8).day(3).unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn lines_are_sorted_by_subject_and_carry_the_feed_fields() {
        let feed = feed(3_000, 1);
        let lines = lines(&feed.day(2).unwrap());
        assert_eq!(lines.len(), 3_000);
        let mut companies = 0;
        for pair in lines.windows(2) {
            assert!(pair[0] < pair[1], "{} before {}", pair[0], pair[1]);
        }
        for line in &lines {
            assert!(line.starts_with("{\"subject\":\""), "subject first: {line}");
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            for key in [
                "addresses",
                "defaults",
                "judgements",
                "insolvencies",
                "enquiries",
                "directorships",
                "shareholdings",
            ] {
                assert!(v[key].is_array(), "{key} in {line}");
            }
            assert!(!v["addresses"].as_array().unwrap().is_empty());
            let a = &v["addresses"][0];
            for key in ["line1", "city", "postcode", "country", "source", "reported"] {
                assert!(a[key].is_string(), "address {key} in {line}");
            }
            match v["kind"].as_str().unwrap() {
                "company" => {
                    companies += 1;
                    assert!(v["subject"].as_str().unwrap().starts_with("CMP-"));
                    assert!(v["dob"].is_null());
                    for key in ["name", "status", "registration_number"] {
                        assert!(v["company"][key].is_string(), "company {key} in {line}");
                    }
                }
                "individual" => {
                    assert!(v["subject"].as_str().unwrap().starts_with("IND-"));
                    assert!(v["name"].is_string() && v["dob"].is_string(), "{line}");
                }
                other => panic!("unknown kind {other}"),
            }
        }
        assert_eq!(companies, feed.companies());
        assert_eq!(companies, 600);
    }

    /// Day 2 differs from day 1 in exactly the lines of the subjects `changes(2)` names.
    fn assert_only_the_changed_lines_differ(feed: &Feed) {
        let day1 = lines(&feed.day(1).unwrap());
        let day2 = lines(&feed.day(2).unwrap());
        let changes = feed.changes(2).unwrap();
        assert_eq!(changes.subjects.len() as u64, feed.changed_per_day());
        let changed: HashSet<&str> = changes.subjects.iter().map(String::as_str).collect();
        let mut differing = 0;
        for (old, new) in day1.iter().zip(&day2) {
            let subject = &old[12..25];
            assert_eq!(subject, &new[12..25]);
            if changed.contains(subject) {
                assert_ne!(old, new, "{subject} changed");
                assert!(new.len() > old.len() || subject.starts_with("CMP-"));
                differing += 1;
            } else {
                assert_eq!(old, new, "{subject} did not change");
            }
        }
        assert_eq!(differing, changes.subjects.len());
        assert!(changes.facts.total() >= differing as u64);
    }

    #[test]
    fn unchanged_subjects_keep_their_bytes_and_changed_ones_differ() {
        let feed = feed(5_000, 3);
        assert_eq!(feed.changed_per_day(), 35);
        assert_only_the_changed_lines_differ(&feed);
    }

    #[test]
    fn many_changes_to_companies_never_cancel_out_within_a_day() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let mut spec = FeedSpec::new(20_000, 9, start);
        spec.company_share = 1.0;
        spec.changed_share = 0.5;
        assert_only_the_changed_lines_differ(&Feed::new(spec).unwrap());
    }

    /// The diff's changes of every part of `day` against `baselines` (one per part), which
    /// become the day's.
    fn diffed(
        day: &Day<'_>,
        baselines: &mut Vec<Vec<u8>>,
    ) -> Vec<clientwatch::monitoring::diff::Change> {
        use clientwatch::monitoring::diff::{Pass, diff_part};
        use clientwatch::monitoring::snapshot::{Reader, Writer};
        let mut changes = Vec::new();
        let mut next = Vec::new();
        for part in 0..day.feed.spec.parts {
            let mut feed = Vec::new();
            day.write_part(part, &mut feed).unwrap();
            let previous = baselines
                .get(part as usize)
                .map(|b| Reader::new(&b[..]).unwrap());
            let mut out = Writer::new(Vec::new()).unwrap();
            let pass = diff_part(&feed[..], previous, &mut out, |c| {
                // Every changed line is handed on (for its bureau profile); news are the
                // changes with facts.
                if !c.facts.is_empty() {
                    changes.push(c);
                }
                Ok(())
            })
            .unwrap();
            assert!(matches!(pass, Pass::Done(_)));
            next.push(out.finish().unwrap());
        }
        *baselines = next;
        changes
    }

    #[test]
    fn on_the_day_scores_appear_every_line_differs_and_only_the_picked_subjects_have_news() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let mut spec = FeedSpec::new(20_000, 11, start);
        spec.parts = 2;
        spec.changed_share = 0.05;
        spec.scores_from = Some(2);
        let feed = Feed::new(spec).unwrap();
        let days: Vec<Vec<String>> = (1..=3).map(|d| lines(&feed.day(d).unwrap())).collect();
        assert!(days[0].iter().all(|l| !l.contains("\"score\"")));
        // Day 2: every line differs, each carries a score, each company its statements, and
        // without them it is the line of day 1 plus the day's news.
        let changes = feed.changes(2).unwrap();
        assert!(changes.every_line);
        for (old, new) in days[0].iter().zip(&days[1]) {
            assert_ne!(old, new);
            let record: clientwatch::monitoring::facts::FeedRecord =
                serde_json::from_str(new).unwrap();
            assert!(record.score_value().is_some(), "{new}");
            let company = new.starts_with("{\"subject\":\"CMP-");
            assert_eq!(!record.statements().is_empty(), company, "{new}");
            let subject = &new[12..25];
            if changes.subjects.binary_search(&subject.to_owned()).is_err() {
                let without = new.split(",\"score\":").next().unwrap();
                assert_eq!(format!("{without}}}"), *old);
            }
        }
        // Day 3: only the picked subjects' lines differ; score moves and new periods are
        // among their news.
        let changes3 = feed.changes(3).unwrap();
        assert!(!changes3.every_line);
        let differing = days[1].iter().zip(&days[2]).filter(|(a, b)| a != b).count();
        assert_eq!(differing, changes3.subjects.len());
        assert!(changes3.facts.score_changes > 0 && changes3.facts.financial_statements > 0);

        // The daily diff agrees: day 2's news is exactly the day's new facts (a first score or
        // statement is none), day 3's includes every score move and period filed.
        let mut baselines = Vec::new();
        assert!(diffed(&feed.day(1).unwrap(), &mut baselines).is_empty());
        let news = diffed(&feed.day(2).unwrap(), &mut baselines);
        let subjects: Vec<String> = news.iter().map(|c| c.subject.clone()).collect();
        assert_eq!(subjects, changes.subjects);
        let facts = news.iter().map(|c| c.facts.len() as u64).sum::<u64>();
        assert_eq!(facts, changes.facts.total());
        assert!(news.iter().flat_map(|c| &c.facts).all(|f| !matches!(
            f.kind,
            FactKind::ScoreChange | FactKind::FinancialStatements
        )));
        let news = diffed(&feed.day(3).unwrap(), &mut baselines);
        let subjects: Vec<String> = news.iter().map(|c| c.subject.clone()).collect();
        assert_eq!(subjects, changes3.subjects);
        let mut counted = FactCounts::default();
        for f in news.iter().flat_map(|c| &c.facts) {
            counted.add(f.kind);
        }
        assert_eq!(counted, changes3.facts);
    }

    #[test]
    fn a_day_written_directly_equals_the_day_reached_day_by_day() {
        let feed = feed(4_000, 11);
        let mut day = feed.day(1).unwrap();
        for _ in 0..4 {
            day.advance().unwrap();
        }
        assert_eq!(day.number(), 5);
        assert_eq!(lines(&day), lines(&feed.day(5).unwrap()));
    }

    #[test]
    fn the_changed_set_has_the_requested_size_and_new_facts_of_every_kind() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let mut spec = FeedSpec::new(100_001, 5, start);
        spec.changed_share = 0.0123;
        let feed = Feed::new(spec).unwrap();
        let changes = feed.changes(2).unwrap();
        assert_eq!(changes.subjects.len(), 1_230);
        assert!(changes.subjects.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(changes.date, NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
        let f = changes.facts;
        for (kind, n) in [
            ("address", f.addresses),
            ("default", f.defaults),
            ("judgement", f.judgements),
            ("insolvency", f.insolvencies),
            ("enquiry", f.enquiries),
            ("directorship", f.directorships),
            ("shareholding", f.shareholdings),
            ("company name", f.company_names),
            ("company status", f.company_statuses),
        ] {
            assert!(n > 0, "no new {kind} facts in {f:?}");
        }
        assert!(feed.changes(1).unwrap().subjects.is_empty());
    }

    #[test]
    fn written_parts_hold_the_same_lines_gzipped_or_not() {
        use std::io::Read;
        let feed = feed(2_000, 4);
        let day = feed.day(2).unwrap();
        let plain_root = tempfile::tempdir().unwrap();
        let gzip_root = tempfile::tempdir().unwrap();
        let plain = day.write_to(plain_root.path(), Encoding::Plain).unwrap();
        // Parts already in the folder (here plain ones) are replaced, not added to.
        day.write_to(gzip_root.path(), Encoding::Plain).unwrap();
        let gzip = day.write_to(gzip_root.path(), Encoding::Gzip).unwrap();

        assert_eq!(plain.dir, plain_root.path().join("feeds/2026-11-21"));
        assert_eq!(plain.files[0].path, plain.dir.join("part-0000.ndjson"));
        assert_eq!(plain.lines(), 2_000);
        assert_eq!(plain.bytes(), plain.file_bytes());
        assert_eq!(gzip.bytes(), plain.bytes());
        assert!(gzip.file_bytes() < gzip.bytes() / 3);
        assert_eq!(fs::read_dir(&gzip.dir).unwrap().count(), 3);
        let mut all = String::new();
        for (p, g) in plain.files.iter().zip(&gzip.files) {
            assert_eq!(
                g.path.file_name().unwrap().to_str().unwrap(),
                format!("{}.gz", p.path.file_name().unwrap().to_str().unwrap())
            );
            let mut unzipped = String::new();
            flate2::read::GzDecoder::new(File::open(&g.path).unwrap())
                .read_to_string(&mut unzipped)
                .unwrap();
            assert_eq!(unzipped, fs::read_to_string(&p.path).unwrap());
            assert_eq!(unzipped.lines().count() as u64, p.stats.lines);
            all.push_str(&unzipped);
        }
        assert_eq!(
            all.lines().map(str::to_owned).collect::<Vec<_>>(),
            lines(&day)
        );
    }

    #[test]
    fn parts_cover_every_subject_once_and_default_to_at_most_250k_subjects() {
        assert_eq!(default_parts(1), 1);
        assert_eq!(default_parts(250_000), 1);
        assert_eq!(default_parts(250_001), 2);
        assert_eq!(default_parts(1_000_000), 4);
        let feed = feed(10, 0);
        let ranges: Vec<_> = (0..3).map(|p| feed.part_range(p)).collect();
        assert_eq!(ranges, [0..3, 3..6, 6..10]);
    }

    #[test]
    fn invalid_specs_are_refused() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let spec = FeedSpec::new(10, 0, start);
        assert_eq!(
            Feed::new(FeedSpec {
                subjects: 0,
                ..spec.clone()
            })
            .unwrap_err(),
            SpecError::Subjects(0)
        );
        assert!(
            Feed::new(FeedSpec {
                parts: 11,
                ..spec.clone()
            })
            .is_err()
        );
        assert!(
            Feed::new(FeedSpec {
                changed_share: 1.5,
                ..spec.clone()
            })
            .is_err()
        );
        assert_eq!(
            Feed::new(spec).unwrap().day(0).unwrap_err(),
            SpecError::Day(0)
        );
    }

    #[test]
    fn numbers_and_dates_are_written_padded() {
        let mut buf = Vec::new();
        put_padded(&mut buf, 0, 1);
        put(&mut buf, " ");
        put_padded(&mut buf, 123, 9);
        put(&mut buf, " ");
        put_u64(&mut buf, u64::MAX);
        put(&mut buf, " ");
        put_date(&mut buf, NaiveDate::from_ymd_opt(987, 1, 2).unwrap());
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "0 000000123 18446744073709551615 0987-01-02"
        );
    }
}
