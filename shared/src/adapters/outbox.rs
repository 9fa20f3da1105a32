//! `Mailer`, `Sms` and `Events` for local runs: every message becomes a file in an outbox
//! folder (`mail/*.eml`, openable in any mail program, and `sms/*.txt`), named by time so that
//! `ls` lists them in the order they were sent; events are appended to `events/{day}.ndjson`,
//! one line each in the shape EventBridge hands to a rule's target, `day` being the run day
//! the events belong to (else the clock's date).
//!
//! A process killed while writing leaves nothing half-written that a reader would take for
//! real: a message is written to a hidden `.partial` file and renamed when complete (and
//! `.partial` files a killed process left are removed when the outbox is opened again: that
//! message was never delivered); an events file whose last line was cut off is cut back to
//! its last whole line before the next batch is appended.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mail_builder::MessageBuilder;

use crate::domain::{EmailAddress, PhoneNumber};
use crate::ports::{
    Clock, DeliveryError, DomainEvent, Email, Events, Ids, Mailer, PublishError, Sms,
    events::SOURCE,
};

#[derive(Clone)]
pub struct Outbox {
    dir: PathBuf,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn Ids>,
    /// Held while appending events, so batches never interleave.
    events: Arc<Mutex<()>>,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>, clock: Arc<dyn Clock>, ids: Arc<dyn Ids>) -> Self {
        let dir = dir.into();
        for kind in ["mail", "sms"] {
            remove_partials(&dir.join(kind));
        }
        Self {
            dir,
            clock,
            ids,
            events: Arc::default(),
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

#[async_trait::async_trait]
impl Events for Outbox {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), PublishError> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        let mut lines = Vec::with_capacity(events.len() * 512);
        for event in events {
            let line = serde_json::json!({
                "source": SOURCE,
                "detail-type": event.detail_type,
                "time": event.time,
                "detail": event.detail,
            });
            serde_json::to_writer(&mut lines, &line).expect("JSON values serialise");
            lines.push(b'\n');
        }
        let day = first.day.unwrap_or_else(|| self.clock.now().date_naive());
        let folder = self.dir.join("events");
        let path = folder.join(format!("{day}.ndjson"));
        let _appending = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let append = || -> std::io::Result<()> {
            std::fs::create_dir_all(&folder)?;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(&path)?;
            cut_torn_tail(&mut file)?;
            file.write_all(&lines)?;
            file.sync_data()
        };
        append().map_err(|e| PublishError {
            total: events.len(),
            failed: (0..events.len())
                .map(|i| (i, "OutboxUnwritable".to_owned(), e.to_string()))
                .collect(),
        })?;
        // One line a batch: a day's thousands of hits would otherwise be thousands of lines.
        tracing::info!(count = events.len(), detail_type = %first.detail_type, "events published");
        Ok(())
    }
}

/// Removes the hidden `.partial` files a killed process left in `folder`: messages that were
/// never completed, so never delivered.
fn remove_partials(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.')
            && name.ends_with(".partial")
            && let Err(e) = std::fs::remove_file(entry.path())
        {
            tracing::warn!(file = %entry.path().display(), error = %e, "a partial outbox file could not be removed");
        }
    }
}

/// Cuts `file` back to its last whole line: a batch whose writing was cut off by a kill was
/// never acknowledged (its events are published again), and the next batch must not be
/// appended to half a line.
fn cut_torn_tail(file: &mut std::fs::File) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    // Look back for the end of the last whole line, a block at a time.
    let mut end = len;
    let mut block = vec![0u8; 64 * 1024];
    let keep = loop {
        if end == 0 {
            break 0;
        }
        let start = end.saturating_sub(block.len() as u64);
        let size = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..size])?;
        if let Some(at) = block[..size].iter().rposition(|b| *b == b'\n') {
            break start + at as u64 + 1;
        }
        end = start;
    };
    tracing::warn!(
        cut = len - keep,
        "an events file ended in a line cut off by a killed process; cut back to its last whole line"
    );
    file.set_len(keep)?;
    file.sync_data()
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
    async fn events_are_appended_one_line_each_in_eventbridge_shape() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = outbox(dir.path());
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let event = |n: u32| {
            DomainEvent::new(
                "MonitoringHit",
                serde_json::json!({"tenant_id": "t1", "n": n}),
                at,
            )
        };
        outbox.publish(&[event(1), event(2)]).await.unwrap();
        outbox.publish(&[event(3)]).await.unwrap();
        outbox.publish(&[]).await.unwrap();
        let text = std::fs::read_to_string(dir.path().join("events/2026-11-23.ndjson")).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "{text}");
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(line["source"], "clientwatch");
            assert_eq!(line["detail-type"], "MonitoringHit");
            assert_eq!(line["time"], "2026-11-23T09:00:00Z");
            assert_eq!(line["detail"]["n"], i + 1);
        }
    }

    #[tokio::test]
    async fn events_are_filed_under_their_run_day_not_the_clock_date() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = outbox(dir.path());
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let run_day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let event = DomainEvent::new("MonitoringHit", serde_json::json!({"n": 1}), at);
        outbox.publish(&[event.on_day(run_day)]).await.unwrap();
        assert!(dir.path().join("events/2026-11-20.ndjson").exists());
        assert!(!dir.path().join("events/2026-11-23.ndjson").exists());
    }

    #[tokio::test]
    async fn a_line_cut_off_by_a_kill_is_removed_before_the_next_batch() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = outbox(dir.path());
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let event = |n: u32| DomainEvent::new("MonitoringHit", serde_json::json!({"n": n}), at);
        outbox.publish(&[event(1)]).await.unwrap();
        let path = dir.path().join("events/2026-11-23.ndjson");
        // A kill half-way through the next batch's write.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(br#"{"detail":{"billed":true,"client_id""#)
            .unwrap();
        drop(file);
        outbox.publish(&[event(2)]).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let ns: Vec<u64> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("every line whole");
                v["detail"]["n"].as_u64().unwrap()
            })
            .collect();
        assert_eq!(ns, vec![1, 2], "{text}");
    }

    #[tokio::test]
    async fn partial_files_a_killed_process_left_are_removed_when_the_outbox_opens() {
        let dir = tempfile::tempdir().unwrap();
        let mail = dir.path().join("mail");
        std::fs::create_dir_all(&mail).unwrap();
        std::fs::write(mail.join(".20261123T093000.000Z-x.partial"), b"half a mess").unwrap();
        std::fs::write(mail.join("20261123T092000.000Z-y.eml"), b"whole").unwrap();
        let _outbox = outbox(dir.path());
        let left: Vec<String> = files(&mail)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec!["20261123T092000.000Z-y.eml".to_owned()]);
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
            tags: Vec::new(),
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
