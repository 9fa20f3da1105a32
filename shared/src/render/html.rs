//! HTML for e-mails: the one escape for values put into HTML by hand, the page every e-mail is
//! wrapped in, and plain text made paragraphs.
//!
//! Markup built here is built with maud, which escapes what it is given. [`escape`] is for the
//! other case, values filled into a tenant's own HTML: it escapes `'` as well, because a
//! tenant may quote an attribute with it (`href='{{link}}'`).

use std::fmt::Write as _;

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// `s` safe as HTML text and as a quoted attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The style of a paragraph in an e-mail: mail programs drop style sheets.
pub const PARAGRAPH: &str = "margin:0 0 16px;";
/// The style of a link whose text is its address, so that a long one wraps on a phone.
pub const LINK: &str = "color:#0b57d0;word-break:break-all;";

/// A plain document around `body` that reads well on a phone, titled `title` (inline styles
/// only: mail programs drop style sheets).
pub fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE) "\n"
        html lang="en" {
            "\n"
            head {
                "\n"
                meta charset="utf-8";
                "\n"
                meta name="viewport" content="width=device-width, initial-scale=1";
                "\n"
                title { (title) }
                "\n"
            }
            "\n"
            body style="margin:0;padding:24px 16px;background:#ffffff;color:#1f1f1f;\
                        font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;" {
                "\n"
                div style="max-width:600px;margin:0 auto;" { "\n" (body) "\n" }
                "\n"
            }
            "\n"
        }
        "\n"
    }
}

/// An address as a link that shows the address.
pub fn link(address: &str) -> Markup {
    html! { a href=(address) style=(LINK) { (address) } }
}

/// Plain text as paragraphs: see [`Paragraphs`].
pub fn paragraphs(text: &str) -> Markup {
    let mut out = Paragraphs::default();
    out.text(text);
    out.finish()
}

/// Builds paragraphs from text and markup in turn: a blank line ends a paragraph, another line
/// break is a `<br>`, everything from the text is escaped. Line breaks are held until the next
/// visible content, which decides what they were; whitespace at the start of a line is
/// dropped, and so are line breaks at the end.
#[derive(Default)]
pub struct Paragraphs {
    out: String,
    open: bool,
    breaks: usize,
    /// The last character was a CR, so an LF right after it is the same line break.
    after_cr: bool,
}

impl Paragraphs {
    /// Plain text, escaped.
    pub fn text(&mut self, text: &str) {
        for c in text.chars() {
            self.char(c);
        }
    }

    fn char(&mut self, c: char) {
        let after_cr = std::mem::replace(&mut self.after_cr, c == '\r');
        match c {
            '\n' if after_cr => {}
            '\r' | '\n' => self.breaks += 1,
            c if c.is_whitespace() && (!self.open || self.breaks > 0) => {}
            c => self.place(&escape(c.encode_utf8(&mut [0; 4]))),
        }
    }

    /// Content that is HTML already (a value, a link): it counts as visible even when empty,
    /// so the line breaks around it stay what they were.
    pub fn markup(&mut self, markup: Markup) {
        self.after_cr = false;
        self.place(&markup.into_string());
    }

    /// Visible content: opens a paragraph, or places the line breaks held before it.
    fn place(&mut self, html: &str) {
        if !self.open {
            let _ = write!(self.out, "<p style=\"{PARAGRAPH}\">");
            self.open = true;
        } else if self.breaks >= 2 {
            let _ = write!(self.out, "</p>\n<p style=\"{PARAGRAPH}\">");
        } else if self.breaks == 1 {
            self.out.push_str("<br>\n");
        }
        self.breaks = 0;
        self.out.push_str(html);
    }

    pub fn finish(mut self) -> Markup {
        if self.open {
            self.out.push_str("</p>");
        }
        PreEscaped(self.out)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn escape_makes_every_special_character_an_entity() {
        let cases = [
            ("", ""),
            ("plain words", "plain words"),
            ("Smith & Sons <Ltd>", "Smith &amp; Sons &lt;Ltd&gt;"),
            ("\"Bo\" O'Neil", "&quot;Bo&quot; O&#39;Neil"),
            ("&amp;", "&amp;amp;"),
            ("a?x=1&y=\"2\"", "a?x=1&amp;y=&quot;2&quot;"),
            ("Māori — ✓", "Māori — ✓"),
        ];
        for (raw, escaped) in cases {
            assert_eq!(escape(raw), escaped, "{raw:?}");
        }
    }

    #[test]
    fn the_page_is_a_phone_sized_document_titled_with_its_subject() {
        let html = page("Ana <3 & Acme", html! { p { "Hi" } }).into_string();
        assert!(
            html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
            "{html}"
        );
        assert!(html.contains("<meta charset=\"utf-8\">"), "{html}");
        assert!(
            html.contains(
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            ),
            "{html}"
        );
        assert!(
            html.contains("<title>Ana &lt;3 &amp; Acme</title>"),
            "{html}"
        );
        assert!(html.contains("font-size:16px"), "{html}");
        assert!(html.contains("max-width:600px"), "{html}");
        assert!(html.contains("<p>Hi</p>"), "{html}");
    }

    #[test]
    fn text_becomes_paragraphs_at_blank_lines_and_breaks_at_single_ones() {
        let p = "<p style=\"margin:0 0 16px;\">";
        let cases = [
            ("", String::new()),
            ("\n\n  \n", String::new()),
            ("one", format!("{p}one</p>")),
            ("one\ntwo", format!("{p}one<br>\ntwo</p>")),
            ("one\r\ntwo", format!("{p}one<br>\ntwo</p>")),
            ("one\n\ntwo", format!("{p}one</p>\n{p}two</p>")),
            ("one\r\n\r\ntwo\n", format!("{p}one</p>\n{p}two</p>")),
            ("one\n\n\n\n  two", format!("{p}one</p>\n{p}two</p>")),
            ("  indented\n  too", format!("{p}indented<br>\ntoo</p>")),
            ("a  b", format!("{p}a  b</p>")),
            (
                "<b> & \"q\"",
                format!("{p}&lt;b&gt; &amp; &quot;q&quot;</p>"),
            ),
        ];
        for (text, html) in cases {
            assert_eq!(paragraphs(text).into_string(), html, "{text:?}");
        }
    }

    #[test]
    fn markup_between_text_keeps_the_line_breaks_around_it() {
        let mut out = Paragraphs::default();
        out.text("See\n");
        out.markup(link("https://x.test/?a=1&b=2"));
        out.text("\n\nBye");
        assert_eq!(
            out.finish().into_string(),
            "<p style=\"margin:0 0 16px;\">See<br>\n<a href=\"https://x.test/?a=1&amp;b=2\" \
             style=\"color:#0b57d0;word-break:break-all;\">https://x.test/?a=1&amp;b=2</a></p>\n\
             <p style=\"margin:0 0 16px;\">Bye</p>"
        );
    }

    /// Whether every `&` in `html` starts an entity and no `<`, `>` or `"` is left raw.
    fn only_entities(html: &str) -> bool {
        const ENTITIES: [&str; 5] = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"];
        !html.contains(['<', '>', '"'])
            && html
                .match_indices('&')
                .all(|(at, _)| ENTITIES.iter().any(|e| html[at..].starts_with(e)))
    }

    fn unescape(html: &str) -> String {
        html.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    proptest! {
        #[test]
        fn escaped_text_holds_only_entities_and_reads_back(s in any::<String>()) {
            let escaped = escape(&s);
            prop_assert!(only_entities(&escaped), "{escaped:?}");
            prop_assert_eq!(unescape(&escaped), s);
        }

        #[test]
        fn paragraphs_of_any_text_escape_it_and_keep_what_is_visible(
            s in "([a-z<>&\"' ]|\r|\n|\r\n|&amp;|<p>|</p>|<br>){0,60}",
        ) {
            let html = paragraphs(&s).into_string();
            let open = format!("<p style=\"{PARAGRAPH}\">");
            let text = html.replace(&open, "").replace("</p>", "").replace("<br>", "");
            prop_assert!(only_entities(&text), "{html:?}");
            let visible = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            prop_assert_eq!(visible(&unescape(&text)), visible(&s));
        }

        #[test]
        fn paragraphs_of_any_unicode_escape_it(s in any::<String>()) {
            let html = paragraphs(&s).into_string();
            let open = format!("<p style=\"{PARAGRAPH}\">");
            let text = html.replace(&open, "").replace("</p>", "").replace("<br>", "");
            prop_assert!(only_entities(&text), "{html:?}");
        }
    }
}
