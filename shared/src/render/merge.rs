//! Merge tags: `{{tag}}` (spaces or tabs inside the braces allowed) in a tenant's own wording,
//! filled in per message. One engine for every feature; a feature brings its [`TagSet`]: which
//! tags exist, what fills each, which is a link, and how its errors read.
//!
//! A part is checked when it is saved, so a message never meets a damaged one: every `{{` must
//! open a known tag closed by `}}` on the same line, and every `}}` must close one; an error
//! says where (line, and column where the feature's wording has room for it). Single braces
//! are text (style sheets use them).
//!
//! Values are put in as they are in texts, HTML-escaped in HTML, and made one line in
//! subjects, so that no value can add a mail header.

use std::collections::BTreeSet;
use std::fmt::Debug;

use maud::{Markup, PreEscaped};

use super::html::{self, Paragraphs, escape};
use crate::domain::{Error, Result};

/// A feature's merge tags, usually a field-less enum.
pub trait TagSet: Copy + Ord + Debug + 'static {
    /// What one message fills the tags with: plain text, escaped where rendering needs it.
    type Values;
    /// Every tag, in the order an error lists them.
    const ALL: &'static [Self];
    /// How the feature's parse errors read.
    const WORDING: Wording;

    /// The tag as written between the braces.
    fn name(self) -> &'static str;
    fn value(self, values: &Self::Values) -> &str;
    /// Whether the value is an address, shown as a link when an HTML part is made from a text.
    fn is_link(self) -> bool {
        false
    }
}

/// How parse errors read. The wording is the feature's, as its users have seen it; only the
/// place of the position differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wording {
    /// The line inside the sentence, after what it quotes: `"{{lnk}}" at line 3 is not one of
    /// …`, and a stray `}}` is told how to write braces that are not a tag.
    LineInside,
    /// Line and column ahead of the sentence: `line 3, column 6: the merge tag "{{lnk}}" is not
    /// one of …`, and a stray `}}` is quoted with the text before it.
    PositionFirst,
}

/// A part, read: literal text and merge tags in turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'a, T> {
    Text(&'a str),
    Tag(T),
}

/// Why a part does not read, and where: line and column (in characters) from 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub problem: Problem,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A `}}` that closes no tag; `before` is the text from the last tag up to and with it.
    Stray { before: String },
    /// A `{{` not closed on its line; `meant` is the `{{` and the name-like text after it.
    Unclosed { meant: String },
    /// A tag that is not one of the set's; `written` is the tag with its braces.
    Unknown { written: String },
}

impl ParseError {
    fn new(source: &str, at: usize, problem: Problem) -> Self {
        let before = &source[..at];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            problem,
        }
    }

    /// The error as the feature words it; `known` lists the tags.
    pub fn message(&self, wording: Wording, known: &str) -> String {
        let (line, column) = (self.line, self.column);
        match (wording, &self.problem) {
            (Wording::LineInside, Problem::Stray { .. }) => format!(
                "\"}}}}\" at line {line} closes no merge tag (merge tags are written \
                 {{{{name}}}}; put a space between the braces if they are not one)"
            ),
            (Wording::PositionFirst, Problem::Stray { before }) => format!(
                "line {line}, column {column}: {} has a \"}}}}\" that closes no merge tag \
                 (merge tags are written {{{{name}}}})",
                quoted(before)
            ),
            (Wording::LineInside, Problem::Unclosed { meant }) => format!(
                "{} at line {line} is not closed (a merge tag ends with \"}}}}\" on the same line)",
                quoted(meant)
            ),
            (Wording::PositionFirst, Problem::Unclosed { meant }) => format!(
                "line {line}, column {column}: {} is not closed (a merge tag ends with \"}}}}\" \
                 on the same line)",
                quoted(meant)
            ),
            (Wording::LineInside, Problem::Unknown { written }) => format!(
                "the merge tag {} at line {line} is not one of {known}",
                quoted(written)
            ),
            (Wording::PositionFirst, Problem::Unknown { written }) => format!(
                "line {line}, column {column}: the merge tag {} is not one of {known}",
                quoted(written)
            ),
        }
    }
}

/// `s` quoted for a message, cut when long so that a paragraph swallowed by a mistyped tag
/// does not fill the answer.
fn quoted(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        format!("\"{}…\"", s.chars().take(MAX).collect::<String>())
    }
}

/// The tags of a set, for messages and documentation: "client_name, invoice_number, …".
pub fn known<T: TagSet>() -> String {
    T::ALL
        .iter()
        .map(|t| t.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a part; the error says where it went wrong.
pub fn read<T: TagSet>(source: &str) -> std::result::Result<Vec<Piece<'_, T>>, ParseError> {
    let mut pieces = Vec::new();
    let mut rest = 0;
    loop {
        let open = source[rest..].find("{{").map(|i| rest + i);
        let close = source[rest..].find("}}").map(|i| rest + i);
        if let Some(close) = close.filter(|&close| open.is_none_or(|open| close < open)) {
            let before = source[rest..close + 2].to_owned();
            return Err(ParseError::new(source, close, Problem::Stray { before }));
        }
        let Some(open) = open else { break };
        if open > rest {
            pieces.push(Piece::Text(&source[rest..open]));
        }
        let inner_start = open + 2;
        let unclosed = || {
            // What was meant as the tag: the name-like characters after the braces.
            let name: String = source[inner_start..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | ' ' | '\t'))
                .collect();
            let meant = format!("{{{{{}", name.trim_end());
            ParseError::new(source, open, Problem::Unclosed { meant })
        };
        let Some(end) = source[inner_start..].find("}}").map(|i| inner_start + i) else {
            return Err(unclosed());
        };
        let inner = &source[inner_start..end];
        // A tag never spans lines, and a second `{{` means the first was not closed.
        if inner.contains('\n') || inner.contains("{{") {
            return Err(unclosed());
        }
        let name = inner.trim_matches([' ', '\t']);
        let Some(&tag) = T::ALL.iter().find(|t| t.name() == name) else {
            let written = source[open..end + 2].to_owned();
            return Err(ParseError::new(source, open, Problem::Unknown { written }));
        };
        pieces.push(Piece::Tag(tag));
        rest = end + 2;
    }
    if rest < source.len() {
        pieces.push(Piece::Text(&source[rest..]));
    }
    Ok(pieces)
}

/// Reads a part; `field` names it in errors (`steps[2].text`), worded as the set words them.
pub fn parse<'a, T: TagSet>(field: &str, source: &'a str) -> Result<Vec<Piece<'a, T>>> {
    read(source).map_err(|e| Error::invalid(field, e.message(T::WORDING, &known::<T>())))
}

/// The tags a part uses.
pub fn tags<T: TagSet>(pieces: &[Piece<T>]) -> BTreeSet<T> {
    pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Tag(tag) => Some(*tag),
            Piece::Text(_) => None,
        })
        .collect()
}

fn fill<T: TagSet>(pieces: &[Piece<T>], mut value: impl FnMut(T, &mut String)) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(s) => out.push_str(s),
            Piece::Tag(tag) => value(*tag, &mut out),
        }
    }
    out
}

/// `s` on one line: every run of whitespace (line breaks too) one space, none at the ends.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A text or an SMS: values as they are.
pub fn text<T: TagSet>(pieces: &[Piece<T>], values: &T::Values) -> String {
    fill(pieces, |tag, out| out.push_str(tag.value(values)))
}

/// A subject: one line, whatever the values hold.
pub fn subject<T: TagSet>(pieces: &[Piece<T>], values: &T::Values) -> String {
    one_line(&text(pieces, values))
}

/// The tenant's own HTML: values escaped.
pub fn html<T: TagSet>(pieces: &[Piece<T>], values: &T::Values) -> String {
    fill(pieces, |tag, out| out.push_str(&escape(tag.value(values))))
}

/// The HTML part of an e-mail that has only a text: the text's paragraphs in a page titled
/// `title`, each value on one line and escaped, a link tag as a link.
pub fn html_from_text<T: TagSet>(title: &str, pieces: &[Piece<T>], values: &T::Values) -> Markup {
    let mut body = Paragraphs::default();
    for piece in pieces {
        match piece {
            Piece::Text(s) => body.text(s),
            Piece::Tag(tag) => {
                let value = one_line(tag.value(values));
                body.markup(if tag.is_link() && !value.is_empty() {
                    html::link(&value)
                } else {
                    PreEscaped(escape(&value))
                });
            }
        }
    }
    html::page(title, body.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Tag {
        Name,
        Link,
    }

    struct Values {
        name: String,
        link: String,
    }

    impl TagSet for Tag {
        type Values = Values;
        const ALL: &'static [Tag] = &[Tag::Name, Tag::Link];
        const WORDING: Wording = Wording::PositionFirst;

        fn name(self) -> &'static str {
            match self {
                Tag::Name => "name",
                Tag::Link => "link",
            }
        }

        fn value(self, values: &Values) -> &str {
            match self {
                Tag::Name => &values.name,
                Tag::Link => &values.link,
            }
        }

        fn is_link(self) -> bool {
            self == Tag::Link
        }
    }

    fn values() -> Values {
        Values {
            name: "Smith & Sons\n<Ltd>".into(),
            link: "https://x.test/?a=1&b=2".into(),
        }
    }

    fn stray(before: &str) -> Problem {
        Problem::Stray {
            before: before.into(),
        }
    }

    fn unclosed(meant: &str) -> Problem {
        Problem::Unclosed {
            meant: meant.into(),
        }
    }

    fn unknown(written: &str) -> Problem {
        Problem::Unknown {
            written: written.into(),
        }
    }

    #[test]
    fn every_parse_error_says_its_line_and_column() {
        let cases = [
            ("Hi {{nme}}", 1, 4, unknown("{{nme}}")),
            ("Hello\n\nOpen {{lnk}} now", 3, 6, unknown("{{lnk}}")),
            ("{{Name}}", 1, 1, unknown("{{Name}}")),
            ("{{ first name }}", 1, 1, unknown("{{ first name }}")),
            ("{{}}", 1, 1, unknown("{{}}")),
            ("{{{link}}}", 1, 1, unknown("{{{link}}")),
            ("é {{x}}", 1, 3, unknown("{{x}}")),
            ("Hi {{name", 1, 4, unclosed("{{name")),
            ("Hi {{name\n}}", 1, 4, unclosed("{{name")),
            ("ok\n{{name {{link}}", 2, 1, unclosed("{{name")),
            ("<p>\n\n\n\n<a href=\"{{link\">", 5, 10, unclosed("{{link")),
            ("{{ na\tme", 1, 1, unclosed("{{ na\tme")),
            ("Hi name}}", 1, 8, stray("Hi name}}")),
            (
                "{{link}}\n<style>a{b{c:d}}</style>",
                2,
                15,
                stray("\n<style>a{b{c:d}}"),
            ),
            ("}} {{name}}", 1, 1, stray("}}")),
        ];
        for (source, line, column, problem) in cases {
            let error = read::<Tag>(source).unwrap_err();
            assert_eq!(
                error,
                ParseError {
                    line,
                    column,
                    problem
                },
                "{source:?}"
            );
        }
    }

    #[test]
    fn errors_are_worded_as_the_feature_words_them() {
        let at = |problem| ParseError {
            line: 3,
            column: 6,
            problem,
        };
        let cases = [
            (
                Wording::LineInside,
                unknown("{{lnk}}"),
                "the merge tag \"{{lnk}}\" at line 3 is not one of name, link",
            ),
            (
                Wording::PositionFirst,
                unknown("{{lnk}}"),
                "line 3, column 6: the merge tag \"{{lnk}}\" is not one of name, link",
            ),
            (
                Wording::LineInside,
                unclosed("{{link"),
                "\"{{link\" at line 3 is not closed (a merge tag ends with \"}}\" on the same line)",
            ),
            (
                Wording::PositionFirst,
                unclosed("{{link"),
                "line 3, column 6: \"{{link\" is not closed (a merge tag ends with \"}}\" on the \
                 same line)",
            ),
            (
                Wording::LineInside,
                stray("Hi name}}"),
                "\"}}\" at line 3 closes no merge tag (merge tags are written {{name}}; put a \
                 space between the braces if they are not one)",
            ),
            (
                Wording::PositionFirst,
                stray("Hi name}}"),
                "line 3, column 6: \"Hi name}}\" has a \"}}\" that closes no merge tag (merge \
                 tags are written {{name}})",
            ),
            (
                Wording::PositionFirst,
                stray(&"x".repeat(50)),
                "line 3, column 6: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…\" has a \"}}\" \
                 that closes no merge tag (merge tags are written {{name}})",
            ),
        ];
        for (wording, problem, message) in cases {
            assert_eq!(at(problem).message(wording, "name, link"), message);
        }
        match parse::<Tag>("steps[2].text", "Hi {{nme}}").unwrap_err() {
            Error::Invalid { field, message } => {
                assert_eq!(field, "steps[2].text");
                assert_eq!(
                    message,
                    "line 1, column 4: the merge tag \"{{nme}}\" is not one of name, link"
                );
            }
            e => panic!("{e}"),
        }
    }

    #[test]
    fn tags_are_read_with_or_without_spaces_and_single_braces_are_text() {
        let cases: [(&str, &[Piece<Tag>]); 5] = [
            ("", &[]),
            ("a { color: red }", &[Piece::Text("a { color: red }")]),
            ("{{name}}", &[Piece::Tag(Tag::Name)]),
            (
                "Hi {{ name }}, {{\tlink}}!",
                &[
                    Piece::Text("Hi "),
                    Piece::Tag(Tag::Name),
                    Piece::Text(", "),
                    Piece::Tag(Tag::Link),
                    Piece::Text("!"),
                ],
            ),
            (
                "{{link}}{{link}} {x}",
                &[
                    Piece::Tag(Tag::Link),
                    Piece::Tag(Tag::Link),
                    Piece::Text(" {x}"),
                ],
            ),
        ];
        for (source, pieces) in cases {
            assert_eq!(read::<Tag>(source).unwrap(), pieces, "{source:?}");
        }
        let pieces = read::<Tag>("{{link}} {{name}} {{link}}").unwrap();
        assert_eq!(tags(&pieces), BTreeSet::from([Tag::Name, Tag::Link]));
        assert_eq!(known::<Tag>(), "name, link");
    }

    /// One of the fillers: text, subject or html.
    type Fill = fn(&[Piece<Tag>], &Values) -> String;

    #[test]
    fn values_are_filled_as_each_part_needs_them() {
        let values = values();
        let cases: [(Fill, &str, &str); 6] = [
            (
                text,
                "{{name}}: {{link}}",
                "Smith & Sons\n<Ltd>: https://x.test/?a=1&b=2",
            ),
            (text, "no tags", "no tags"),
            (subject, "From  {{name}}\t!", "From Smith & Sons <Ltd> !"),
            (subject, " {{link}} ", "https://x.test/?a=1&b=2"),
            (
                html,
                "<b>{{name}}</b>",
                "<b>Smith &amp; Sons\n&lt;Ltd&gt;</b>",
            ),
            (
                html,
                "<a href='{{link}}'>",
                "<a href='https://x.test/?a=1&amp;b=2'>",
            ),
        ];
        for (render, source, filled) in cases {
            let pieces = read::<Tag>(source).unwrap();
            assert_eq!(render(&pieces, &values), filled, "{source:?}");
        }
    }

    #[test]
    fn html_made_from_a_text_has_paragraphs_one_line_values_and_a_link() {
        let pieces = read::<Tag>("Dear {{name}},\nplease pay.\n\nSee {{link}}").unwrap();
        let html = html_from_text("Pay <now>", &pieces, &values()).into_string();
        assert!(html.contains("<title>Pay &lt;now&gt;</title>"), "{html}");
        let p = "<p style=\"margin:0 0 16px;\">";
        assert!(
            html.contains(&format!(
                "{p}Dear Smith &amp; Sons &lt;Ltd&gt;,<br>\nplease pay.</p>\n\
                 {p}See <a href=\"https://x.test/?a=1&amp;b=2\" \
                 style=\"color:#0b57d0;word-break:break-all;\">https://x.test/?a=1&amp;b=2</a></p>"
            )),
            "{html}"
        );
        // An empty link is no link.
        let mut values = values();
        values.link.clear();
        let html = html_from_text("t", &pieces, &values).into_string();
        assert!(!html.contains("<a "), "{html}");
    }
}
