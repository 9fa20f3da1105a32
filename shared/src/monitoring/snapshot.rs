//! Baselines: what the feed has shown about every subject of one feed part, as a file sorted by
//! subject id.
//!
//! Each run reads the part's latest baseline generation before its day and writes a new one
//! beside it, merging it with the (sorted) feed part in one pass. An entry holds the hash of the
//! subject's last feed line (an unchanged line is recognised without parsing it), the ids of
//! every fact ever seen, and a company's current name and status.
//!
//! Format: the magic line, then per entry: subject (u16 length + UTF-8), line hash (u64),
//! name and status (u16 length + UTF-8 each), fact count (u32) and the sorted fact ids (u64
//! each); all little-endian.

use std::io::{self, BufRead, Write};

pub const MAGIC: &[u8; 8] = b"CWBASE1\n";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub subject: String,
    pub line_hash: u64,
    pub name: String,
    pub status: String,
    /// Sorted, without repeats.
    pub facts: Vec<u64>,
}

pub struct Reader<R> {
    inner: R,
    peeked: Option<Entry>,
    done: bool,
}

fn corrupt(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

impl<R: BufRead> Reader<R> {
    pub fn new(mut inner: R) -> io::Result<Self> {
        let mut magic = [0u8; 8];
        inner.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(corrupt("not a baseline file (bad magic)"));
        }
        Ok(Self {
            inner,
            peeked: None,
            done: false,
        })
    }

    fn read_u16(&mut self) -> io::Result<u16> {
        let mut b = [0u8; 2];
        self.inner.read_exact(&mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    fn read_string(&mut self) -> io::Result<String> {
        let len = self.read_u16()? as usize;
        let mut b = vec![0u8; len];
        self.inner.read_exact(&mut b)?;
        String::from_utf8(b).map_err(|_| corrupt("a baseline string is not UTF-8"))
    }

    fn read_entry(&mut self) -> io::Result<Option<Entry>> {
        if self.done {
            return Ok(None);
        }
        if self.inner.fill_buf()?.is_empty() {
            self.done = true;
            return Ok(None);
        }
        let subject = self.read_string()?;
        let mut b8 = [0u8; 8];
        self.inner.read_exact(&mut b8)?;
        let line_hash = u64::from_le_bytes(b8);
        let name = self.read_string()?;
        let status = self.read_string()?;
        let mut b4 = [0u8; 4];
        self.inner.read_exact(&mut b4)?;
        let count = u32::from_le_bytes(b4) as usize;
        let mut raw = vec![0u8; count * 8];
        self.inner.read_exact(&mut raw)?;
        let facts = raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        Ok(Some(Entry {
            subject,
            line_hash,
            name,
            status,
            facts,
        }))
    }

    /// The next entry without taking it.
    pub fn peek(&mut self) -> io::Result<Option<&Entry>> {
        if self.peeked.is_none() {
            self.peeked = self.read_entry()?;
        }
        Ok(self.peeked.as_ref())
    }

    pub fn next_entry(&mut self) -> io::Result<Option<Entry>> {
        match self.peeked.take() {
            Some(e) => Ok(Some(e)),
            None => self.read_entry(),
        }
    }
}

pub struct Writer<W: Write> {
    inner: W,
    last: Option<String>,
    pub entries: u64,
}

impl<W: Write> Writer<W> {
    pub fn new(mut inner: W) -> io::Result<Self> {
        inner.write_all(MAGIC)?;
        Ok(Self {
            inner,
            last: None,
            entries: 0,
        })
    }

    fn write_string(&mut self, s: &str) -> io::Result<()> {
        let len = u16::try_from(s.len()).map_err(|_| corrupt("a baseline string is too long"))?;
        self.inner.write_all(&len.to_le_bytes())?;
        self.inner.write_all(s.as_bytes())
    }

    /// Appends an entry; entries must come in ascending subject order.
    pub fn write(&mut self, e: &Entry) -> io::Result<()> {
        if self
            .last
            .as_deref()
            .is_some_and(|last| last >= e.subject.as_str())
        {
            return Err(corrupt(format!(
                "baseline entries out of order at {:?}",
                e.subject
            )));
        }
        self.write_string(&e.subject)?;
        self.inner.write_all(&e.line_hash.to_le_bytes())?;
        self.write_string(&e.name)?;
        self.write_string(&e.status)?;
        let count = u32::try_from(e.facts.len()).map_err(|_| corrupt("too many facts"))?;
        self.inner.write_all(&count.to_le_bytes())?;
        for f in &e.facts {
            self.inner.write_all(&f.to_le_bytes())?;
        }
        self.last = Some(e.subject.clone());
        self.entries += 1;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
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
        assert_eq!(r.peek().unwrap(), Some(&entries[0]));
        assert_eq!(r.next_entry().unwrap().as_ref(), Some(&entries[0]));
        assert_eq!(r.next_entry().unwrap().as_ref(), Some(&entries[1]));
        assert_eq!(r.next_entry().unwrap(), None);
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
    fn a_foreign_file_is_refused() {
        assert!(Reader::new(&b"{\"subject\":1}\n"[..]).is_err());
    }
}
