//! Addresses a tenant configures with merge tags in them (`https://pay.example.com/{{invoice_number}}`,
//! `https://loans.example.com/clients/{{client_id}}`): checked when saved (https with a host,
//! every tag known, still a URL once filled) and filled with each tag's value URL-encoded.

use super::{Error, Result};

/// Checks `url`, named `field` in errors: at most `max` characters, an https URL with a host
/// whose `{{...}}` are all among `tags`, and that is still a URL when they are filled.
pub fn check(field: &str, url: &str, tags: &[&str], max: usize) -> Result<()> {
    if url.len() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    let mut filled = String::new();
    let mut rest = url;
    while let Some(start) = rest.find("{{") {
        filled.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(Error::invalid(field, "a `{{` is not closed by `}}`"));
        };
        let tag = after[..end].trim();
        if !tags.contains(&tag) {
            return Err(Error::invalid(
                field,
                format!(
                    "{{{{{tag}}}}} is not a tag it may carry; known: {}",
                    tags.join(", ")
                ),
            ));
        }
        filled.push('x');
        rest = &after[end + 2..];
    }
    if rest.contains("}}") {
        return Err(Error::invalid(field, "a `}}` has no `{{` before it"));
    }
    filled.push_str(rest);
    let parsed = url::Url::parse(&filled)
        .map_err(|e| Error::invalid(field, format!("is not a URL: {e}")))?;
    if parsed.scheme() != "https" || parsed.host_str().is_none() {
        return Err(Error::invalid(
            field,
            "must be an https:// address with a host",
        ));
    }
    Ok(())
}

/// `url` (checked when saved) with each `{{tag}}` replaced by `value(tag)`, URL-encoded; none
/// when a tag is not closed.
pub fn fill(url: &str, value: impl Fn(&str) -> String) -> Option<String> {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}")?;
        out.push_str(&urlencoding::encode(&value(after[..end].trim())));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_table() {
        const TAGS: &[&str] = &["client_id", "subject"];
        type Row<'a> = (&'a str, Option<&'a str>);
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // (url, what the error says; none when accepted)
            ("https://loans.example.com/clients/{{client_id}}", None),
            ("https://loans.example.com/c?id={{ client_id }}&s={{subject}}", None),
            ("https://loans.example.com/clients", None),
            ("http://loans.example.com/clients/{{client_id}}", Some("https")),
            ("javascript:alert(1)//{{client_id}}", Some("https")),
            ("https://loans.example.com/{{password}}", Some("not a tag it may carry")),
            ("https://loans.example.com/{{client_id", Some("not closed")),
            ("https://loans.example.com/x}}", Some("no `{{`")),
            ("{{client_id}}", Some("not a URL")),
        ];
        for &(url, says) in table {
            match (check("monitoring.client_link", url, TAGS, 500), says) {
                (Ok(()), None) => {}
                (Err(e), Some(says)) => {
                    let e = e.to_string();
                    assert!(e.contains(says) && e.contains("client_link"), "{url}: {e}");
                }
                (got, _) => panic!("{url}: {got:?}"),
            }
        }
        assert!(
            check(
                "f",
                &format!("https://x.test/{}", "a".repeat(600)),
                TAGS,
                500
            )
            .is_err()
        );
    }

    #[test]
    fn tags_are_filled_url_encoded() {
        let link = fill(
            "https://loans.example.com/clients/{{client_id}}?s={{subject}}",
            |tag| match tag {
                "client_id" => "c 1/&2".into(),
                _ => "IND-1".into(),
            },
        );
        assert_eq!(
            link.as_deref(),
            Some("https://loans.example.com/clients/c%201%2F%262?s=IND-1")
        );
    }
}
