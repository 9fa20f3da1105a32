//! `Mailer` and `Sms` for local runs: every message becomes a file in an outbox folder
//! (`mail/*.eml`, openable in any mail program, and `sms/*.txt`), named by time so that `ls`
//! lists them in the order they were sent.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mail_builder::MessageBuilder;

use crate::domain::{EmailAddress, PhoneNumber};
use crate::ports::{Clock, DeliveryError, Email, Ids, Mailer, Sms};

#[derive(Clone)]
pub struct Outbox {
    dir: PathBuf,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn Ids>,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>, clock: Arc<dyn Clock>, ids: Arc<dyn Ids>) -> Self {
        Self {
            dir: dir.into(),
            clock,
            ids,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `contents` to `<dir>/<kind>/<time>-<id>.<ext>` through a temporary file, so a
    /// reader never sees half a message. Returns the message id.
    fn deliver(&self, kind: &str, ext: &str, contents: &[u8]) -> Result<String, DeliveryError> {
        let folder = self.dir.join(kind);
        let id = self.ids.id();
        let name = format!("{}-{id}", self.clock.now().format("%Y%m%dT%H%M%S%.3fZ"));
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&folder)?;
            let partial = folder.join(format!(".{name}.partial"));
            let mut file = std::fs::File::create(&partial)?;
            file.write_all(contents)?;
            file.sync_all()?;
            std::fs::rename(partial, folder.join(format!("{name}.{ext}")))
        };
        write().map_err(|e| DeliveryError::Unavailable(Box::new(e)))?;
        Ok(id)
    }
}

/// The outbox as a mailer, sending as `from`.
pub struct OutboxMailer {
    pub outbox: Outbox,
    pub from: EmailAddress,
}

#[async_trait::async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        if email.to.is_empty() {
            return Err(DeliveryError::Rejected(
                "the message has no recipient".into(),
            ));
        }
        let to: Vec<&str> = email.to.iter().map(EmailAddress::as_str).collect();
        let mut message = MessageBuilder::new()
            .from(self.from.as_str())
            .to(to)
            .subject(email.subject.as_str())
            .date(self.outbox.clock.now().timestamp())
            .html_body(email.html.as_str())
            .text_body(email.text.as_str());
        if let Some(reply_to) = &email.reply_to {
            message = message.reply_to(reply_to.as_str());
        }
        let eml = message
            .write_to_vec()
            .map_err(|e| DeliveryError::Unavailable(Box::new(e)))?;
        self.outbox.deliver("mail", "eml", &eml)
    }
}

#[async_trait::async_trait]
impl Sms for Outbox {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<String, DeliveryError> {
        let text = format!(
            "To: {}\nDate: {}\n\n{body}\n",
            to.e164(),
            self.clock.now().to_rfc3339()
        );
        self.deliver("sms", "txt", text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{FixedClock, SeededIds};
    use chrono::{TimeZone, Utc};

    fn outbox(dir: &Path) -> Outbox {
        let clock = FixedClock::at(Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap());
        Outbox::new(dir, Arc::new(clock), Arc::new(SeededIds::new(1)))
    }

    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    }

    #[tokio::test]
    async fn an_email_lands_as_an_eml_file_with_both_parts() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer {
            outbox: outbox(dir.path()),
            from: EmailAddress::parse("alerts@clientwatch.test").unwrap(),
        };
        let email = Email {
            to: vec![EmailAddress::parse("ana@example.com").unwrap()],
            reply_to: None,
            subject: "Your daily digest".into(),
            html: "<p>Two new hits</p>".into(),
            text: "Two new hits".into(),
        };
        mailer.send(&email).await.unwrap();
        let files = files(&dir.path().join("mail"));
        assert_eq!(files.len(), 1);
        let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("20261123T093000.000Z-") && name.ends_with(".eml"),
            "{name}"
        );
        let eml = std::fs::read_to_string(&files[0]).unwrap();
        for expected in [
            "From: <alerts@clientwatch.test>",
            "To: <ana@example.com>",
            "Subject: Your daily digest",
            "multipart/alternative",
            "<p>Two new hits</p>",
            "text/plain",
        ] {
            assert!(eml.contains(expected), "missing {expected:?} in\n{eml}");
        }
    }

    #[tokio::test]
    async fn a_text_lands_with_its_number_and_body() {
        let dir = tempfile::tempdir().unwrap();
        let phone = PhoneNumber::parse("+64212345678", "NZ").unwrap();
        outbox(dir.path())
            .send(&phone, "Your code is 123456")
            .await
            .unwrap();
        let files = files(&dir.path().join("sms"));
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.starts_with("To: +64212345678\n"), "{text}");
        assert!(text.ends_with("\n\nYour code is 123456\n"), "{text}");
    }
}
