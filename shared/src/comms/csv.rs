//! A small RFC 4180 reader for imports: comma-separated fields, a field in double quotes may
//! hold commas, line breaks and doubled quotes (`""`), lines end in CRLF or LF.
//!
//! Partners' files come from spreadsheets and accounting exports, so a malformed record must
//! not stop the rest: each record carries the line it starts on (line 1 is the file's first)
//! and either its fields or why it cannot be read. After an unterminated quote, reading picks
//! up again on the line after the one the record started on, so that one stray quote costs one
//! row and not the rest of the file. Blank lines are skipped; a UTF-8 byte order mark (as
//! spreadsheets write) is ignored.

/// One record of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The line the record starts on.
    pub line: usize,
    /// The fields, or why the record cannot be read.
    pub fields: Result<Vec<String>, String>,
}

/// Every record of `text`, in order.
pub fn records(text: &str) -> Vec<Record> {
    let chars: Vec<char> = text.trim_start_matches('\u{feff}').chars().collect();
    let mut reader = Reader {
        chars: &chars,
        at: 0,
        line: 1,
    };
    let mut out = Vec::new();
    while reader.at < chars.len() {
        if reader.skip_line_end() {
            continue;
        }
        let (start, line) = (reader.at, reader.line);
        let fields = match reader.record() {
            Ok(fields) => Ok(fields),
            Err(Problem::Unterminated) => {
                // Start again after the record's first line: the quote was probably a typo.
                reader.at = start;
                reader.line = line;
                reader.skip_past_line();
                Err("a quoted field is not closed: a field that starts with \" ends with \"".into())
            }
            Err(Problem::Stray(why)) => {
                reader.skip_past_line();
                Err(why.into())
            }
        };
        out.push(Record { line, fields });
    }
    out
}

enum Problem {
    Unterminated,
    Stray(&'static str),
}

struct Reader<'a> {
    chars: &'a [char],
    at: usize,
    line: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    /// Consumes a line end (CRLF, LF or a lone CR) if one is next.
    fn skip_line_end(&mut self) -> bool {
        match self.peek() {
            Some('\n') => self.at += 1,
            Some('\r') => {
                self.at += 1;
                if self.peek() == Some('\n') {
                    self.at += 1;
                }
            }
            _ => return false,
        }
        self.line += 1;
        true
    }

    /// Consumes everything up to and including the next line end.
    fn skip_past_line(&mut self) {
        while self.peek().is_some() {
            if self.skip_line_end() {
                return;
            }
            self.at += 1;
        }
    }

    /// One record, from here to its line end (or the end of the text).
    fn record(&mut self) -> Result<Vec<String>, Problem> {
        let mut fields = Vec::new();
        loop {
            fields.push(self.field()?);
            match self.peek() {
                None => return Ok(fields),
                Some(',') => self.at += 1,
                Some(_) if self.skip_line_end() => return Ok(fields),
                Some(_) => {
                    return Err(Problem::Stray(
                        "text after a closing quote: a quoted field ends at a comma or the line's end",
                    ));
                }
            }
        }
    }

    fn field(&mut self) -> Result<String, Problem> {
        let mut field = String::new();
        if self.peek() == Some('"') {
            self.at += 1;
            loop {
                match self.peek() {
                    None => return Err(Problem::Unterminated),
                    Some('"') if self.chars.get(self.at + 1) == Some(&'"') => {
                        field.push('"');
                        self.at += 2;
                    }
                    Some('"') => {
                        self.at += 1;
                        return Ok(field);
                    }
                    Some(c) => {
                        if c == '\n' || (c == '\r' && self.chars.get(self.at + 1) != Some(&'\n')) {
                            self.line += 1;
                        }
                        field.push(c);
                        self.at += 1;
                    }
                }
            }
        }
        while let Some(c) = self.peek() {
            match c {
                ',' | '\n' | '\r' => break,
                '"' => {
                    return Err(Problem::Stray(
                        "a quote inside an unquoted field: put the whole field in quotes and double the quote (\"\")",
                    ));
                }
                c => {
                    field.push(c);
                    self.at += 1;
                }
            }
        }
        Ok(field)
    }
}

/// The header of an import file, read from `records` (the file's first record): its column
/// names, trimmed. The whole file is refused (a 422 naming `body` or `header`) when it is
/// empty, when the header cannot be read, names a column not in `columns` or one twice, or
/// lacks one of `required`.
pub fn header(
    records: &mut impl Iterator<Item = Record>,
    columns: &[&str],
    required: &[&str],
) -> Result<Vec<String>, crate::domain::Error> {
    use crate::domain::Error;
    let names = match records.next() {
        None => {
            return Err(Error::invalid(
                "body",
                "the CSV file is empty: it needs a header row",
            ));
        }
        Some(Record {
            fields: Err(why),
            line,
        }) => return Err(Error::invalid("header", format!("line {line}: {why}"))),
        Some(Record {
            fields: Ok(names), ..
        }) => names,
    };
    let header: Vec<String> = names.iter().map(|n| n.trim().to_owned()).collect();
    for (i, name) in header.iter().enumerate() {
        if !columns.contains(&name.as_str()) {
            return Err(Error::invalid(
                "header",
                format!(
                    "unknown column {name:?}; the columns are {}",
                    columns.join(",")
                ),
            ));
        }
        if header[..i].contains(name) {
            return Err(Error::invalid(
                "header",
                format!("column {name:?} is named twice"),
            ));
        }
    }
    if let Some(missing) = required.iter().find(|c| !header.iter().any(|h| h == *c)) {
        return Err(Error::invalid(
            "header",
            format!("the column {missing:?} is required"),
        ));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: usize, fields: &[&str]) -> Record {
        Record {
            line,
            fields: Ok(fields.iter().map(|f| f.to_string()).collect()),
        }
    }

    #[test]
    fn plain_and_quoted_fields_read_with_their_lines() {
        let text = "\u{feff}a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n\r\n2,\"two\nlines\",\n3,,z";
        assert_eq!(
            records(text),
            vec![
                ok(1, &["a", "b", "c"]),
                ok(2, &["1", "x, y", "say \"hi\""]),
                ok(4, &["2", "two\nlines", ""]),
                ok(6, &["3", "", "z"]),
            ]
        );
    }

    #[test]
    fn an_unterminated_quote_costs_its_own_line_only() {
        let found = records("a,b\n1,\"open\n2,x\n");
        assert_eq!(found[0], ok(1, &["a", "b"]));
        assert_eq!(found[1].line, 2);
        assert!(found[1].fields.as_ref().unwrap_err().contains("not closed"));
        assert_eq!(found[2], ok(3, &["2", "x"]));
        assert_eq!(found.len(), 3);
    }

    #[test]
    fn stray_quotes_are_reported_and_reading_goes_on() {
        let found = records("1,ab\"c\n2,\"x\"y\n3,ok");
        assert!(found[0].fields.is_err());
        assert!(found[1].fields.is_err());
        assert_eq!(found[2], ok(3, &["3", "ok"]));
    }
}
