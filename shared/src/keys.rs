//! The table's key schema, in one place: every partition key, sort key and index key clientwatch
//! writes, and the prefixes it lists by. The README's storage table describes the same layout.
//!
//! One table holds everything. A tenant's own records sit in its partition (`T#{t}`); a client's
//! records (contacts, opportunities, invoices, invites, the communications log) in the client's
//! (`T#{t}#C#{c}`), so a client is read, listed and deleted as one partition. A few records are
//! addressed by something other than their owner (an API key's hash, an invite link's hash, a
//! bureau subject, a run day) because that is what a request or the daily run holds. Lists that
//! span partitions are index partitions (`gsi1`, `gsi2`).
//!
//! Ids are checked before they reach a key (see `domain::input`), so no id can contain `#`.

use chrono::NaiveDate;

use crate::ports::Key;

// ---- a tenant's partition ------------------------------------------------------------------

/// The partition of a tenant's settings, keys, roles, types, workflows, portfolios, templates,
/// questionnaires, usage counters and digest checkpoint.
pub fn tenant_pk(tenant_id: &str) -> String {
    format!("T#{tenant_id}")
}

pub fn tenant(tenant_id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), "TENANT")
}

/// The listing item of an API key (never the key itself).
pub fn api_key(tenant_id: &str, key_id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("{API_KEYS}{key_id}"))
}
pub const API_KEYS: &str = "APIKEY#";

/// The look-up item of an API key, addressed by the hex SHA-256 of the key.
pub fn api_key_lookup(hash: &str) -> Key {
    api_key_lookup_in(&format!("KEY#{hash}"))
}

/// The look-up item in partition `pk` (a key's listing item remembers its look-up partition).
pub fn api_key_lookup_in(pk: &str) -> Key {
    Key::new(pk, "KEY")
}

pub fn client_type(tenant_id: &str, id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("{CLIENT_TYPES}{id}"))
}
pub const CLIENT_TYPES: &str = "CTYPE#";

/// How many clients have a type (a type in use cannot be deleted or change its class).
pub fn client_type_usage(tenant_id: &str, id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("CTYPEUSE#{id}"))
}

pub fn role(tenant_id: &str, role_id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("{ROLES}{role_id}"))
}
pub const ROLES: &str = "ROLE#";

/// How many contacts have a role.
pub fn role_usage(tenant_id: &str, role_id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("ROLEUSE#{role_id}"))
}

/// How many roles a tenant has (capped).
pub fn role_count(tenant_id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), "ROLECOUNT")
}

/// Keeps role names unique per tenant, case-insensitively.
pub fn role_name(tenant_id: &str, name: &str) -> Key {
    Key::new(
        tenant_pk(tenant_id),
        format!("ROLENAME#{}", name.to_lowercase()),
    )
}

pub fn workflow(tenant_id: &str, id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("{WORKFLOWS}{id}"))
}
pub const WORKFLOWS: &str = "WF#";

/// How many clients and portfolios use a workflow.
pub fn workflow_usage(tenant_id: &str, id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("WFUSE#{id}"))
}

pub fn portfolio(tenant_id: &str, id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("{PORTFOLIOS}{id}"))
}
pub const PORTFOLIOS: &str = "PF#";

/// How many clients a portfolio has.
pub fn portfolio_usage(tenant_id: &str, id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("PFUSE#{id}"))
}

pub fn template(tenant_id: &str, id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("{TEMPLATES}{id}"))
}
pub const TEMPLATES: &str = "TPL#";

/// How many e-mail templates a tenant has (capped).
pub fn template_count(tenant_id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), "TPLCOUNT")
}

pub fn questionnaire(tenant_id: &str, id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("{QUESTIONNAIRES}{id}"))
}
pub const QUESTIONNAIRES: &str = "QNR#";

/// A tenant's billed and withheld hits of one month (`2026-12`).
pub fn usage(tenant_id: &str, month: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("USAGE#{month}"))
}

/// An e-mail address the tenant's messages no longer go to (it bounced for good or its owner
/// complained), by the address in lower case.
pub fn suppression(tenant_id: &str, address: &str) -> Key {
    Key::new(
        tenant_pk(tenant_id),
        format!("{SUPPRESSIONS}{}", address.to_lowercase()),
    )
}
pub const SUPPRESSIONS: &str = "SUPP#";

/// The checkpoint of a tenant's digest in progress.
pub fn digest(tenant_id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), "DIGEST")
}

// ---- a client's partition ------------------------------------------------------------------

/// The partition of a client and everything kept under it.
pub fn client_pk(tenant_id: &str, client_id: &str) -> String {
    format!("T#{tenant_id}#C#{client_id}")
}

pub fn client(tenant_id: &str, client_id: &str) -> Key {
    Key::new(client_pk(tenant_id, client_id), CLIENT)
}
pub const CLIENT: &str = "CLIENT";

pub fn contact(tenant_id: &str, client_id: &str, contact_id: &str) -> Key {
    Key::new(
        client_pk(tenant_id, client_id),
        format!("{CONTACTS}{contact_id}"),
    )
}
pub const CONTACTS: &str = "CONTACT#";

pub fn opportunity(tenant_id: &str, client_id: &str, id: &str) -> Key {
    Key::new(
        client_pk(tenant_id, client_id),
        format!("{OPPORTUNITIES}{id}"),
    )
}
pub const OPPORTUNITIES: &str = "OPP#";

pub fn invoice(tenant_id: &str, client_id: &str, id: &str) -> Key {
    Key::new(client_pk(tenant_id, client_id), format!("{INVOICES}{id}"))
}
pub const INVOICES: &str = "INVOICE#";

/// Keeps invoice numbers unique per client.
pub fn invoice_number(tenant_id: &str, client_id: &str, number: &str) -> Key {
    Key::new(
        client_pk(tenant_id, client_id),
        format!("INVOICENO#{number}"),
    )
}

/// Where an invoice stands in its workflow.
pub fn progress(tenant_id: &str, client_id: &str, invoice_id: &str) -> Key {
    Key::new(
        client_pk(tenant_id, client_id),
        format!("PROGRESS#{invoice_id}"),
    )
}

/// When the client was last contacted (breathing space between messages).
pub fn contacted(tenant_id: &str, client_id: &str) -> Key {
    Key::new(client_pk(tenant_id, client_id), "CONTACTED")
}

pub fn monitor(tenant_id: &str, client_id: &str) -> Key {
    Key::new(client_pk(tenant_id, client_id), MONITOR)
}
pub const MONITOR: &str = "MONITOR";

pub fn invite(tenant_id: &str, client_id: &str, opportunity_id: &str, id: &str) -> Key {
    Key::new(
        client_pk(tenant_id, client_id),
        format!("{}{id}", invites_of(opportunity_id)),
    )
}

/// The sort-key prefix of an opportunity's invites.
pub fn invites_of(opportunity_id: &str) -> String {
    format!("INVITE#{opportunity_id}#")
}

/// One live invite per party of an opportunity.
pub fn invitee(tenant_id: &str, client_id: &str, opportunity_id: &str, contact_id: &str) -> Key {
    Key::new(
        client_pk(tenant_id, client_id),
        format!("INVITEE#{opportunity_id}#{contact_id}"),
    )
}

pub fn answers(tenant_id: &str, client_id: &str, opportunity_id: &str, qnr_id: &str) -> Key {
    Key::new(
        client_pk(tenant_id, client_id),
        format!("{}{qnr_id}", answers_of(opportunity_id)),
    )
}

/// The sort-key prefix of an opportunity's questionnaire answers.
pub fn answers_of(opportunity_id: &str) -> String {
    format!("ANSWERS#{opportunity_id}#")
}

/// An audit entry of the Customer Centre, in time order under its opportunity.
pub fn audit(tenant_id: &str, client_id: &str, opportunity_id: &str, order: &str) -> Key {
    Key::new(
        client_pk(tenant_id, client_id),
        format!("{}{order}", audit_of(opportunity_id)),
    )
}

/// The sort-key prefix of an opportunity's audit entries.
pub fn audit_of(opportunity_id: &str) -> String {
    format!("AUDIT#{opportunity_id}#")
}

/// The claim that a message (`once`) went to a contact on a channel: written before sending.
pub fn sent(tenant_id: &str, client_id: &str, once: &str, contact: &str, channel: &str) -> Key {
    Key::new(
        client_pk(tenant_id, client_id),
        format!("{}{contact}#{channel}", sent_of(once)),
    )
}

/// The sort-key prefix of one message's claims.
pub fn sent_of(once: &str) -> String {
    format!("SENT#{once}#")
}

/// A hit waiting for its tenant's digest: due day, client and hit, in that order.
pub fn digest_queued(tenant_id: &str, due_on: NaiveDate, client_id: &str, hit_id: &str) -> Key {
    Key::new(
        digest_queue_pk(tenant_id),
        format!("{due_on}#{client_id}#{hit_id}"),
    )
}

/// A client's stored monthly statement (`2026-12`): what the statement e-mail said.
pub fn statement(tenant_id: &str, client_id: &str, month: &str) -> Key {
    Key::new(
        client_pk(tenant_id, client_id),
        format!("{STATEMENTS}{month}"),
    )
}
pub const STATEMENTS: &str = "STATEMENT#";

/// A communications log entry, in time order under its client.
pub fn log(tenant_id: &str, client_id: &str, order: &str) -> Key {
    Key::new(client_pk(tenant_id, client_id), format!("{LOG}{order}"))
}
pub const LOG: &str = "LOG#";

/// An entry of the client's change history (who changed which field, from what to what), in
/// time order under its client.
pub fn client_change(tenant_id: &str, client_id: &str, order: &str) -> Key {
    Key::new(
        client_pk(tenant_id, client_id),
        format!("{CLIENT_CHANGES}{order}"),
    )
}
pub const CLIENT_CHANGES: &str = "CHANGE#";

/// A contact's account-portal access: its link generation, code state and lock.
pub fn portal_access(tenant_id: &str, client_id: &str, contact_id: &str) -> Key {
    Key::new(
        client_pk(tenant_id, client_id),
        format!("PORTAL#{contact_id}"),
    )
}

// ---- addressed by what a caller holds --------------------------------------------------------

/// An invite link, addressed by the hash of its token.
pub fn link(hash: &str) -> Key {
    Key::new(format!("LINK#{hash}"), "LINK")
}

/// A Customer Centre session, addressed by the hash of its token.
pub fn session(hash: &str) -> Key {
    Key::new(format!("SESSION#{hash}"), "SESSION")
}

/// An account-portal link, addressed by the hash of its token.
pub fn account_link(hash: &str) -> Key {
    Key::new(format!("ALINK#{hash}"), "ALINK")
}

/// An account-portal session, addressed by the hash of its token.
pub fn account_session(hash: &str) -> Key {
    Key::new(format!("ASESSION#{hash}"), "SESSION")
}

/// A contact by the id an accounting system gave it (`source` is `quickbooks` or `netsuite`).
pub fn external_contact(tenant_id: &str, source: &str, external_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#EXT#{source}#{external_id}"), "EXT")
}

/// A client by the partner's own reference (`external_ref`): claimed in the client's
/// transaction, so a reference names one client of the tenant.
pub fn client_ref(tenant_id: &str, reference: &str) -> Key {
    Key::new(format!("T#{tenant_id}#CREF#{reference}"), "CREF")
}

/// The tenants and clients that watch a bureau subject.
pub fn watchers(subject: &str) -> Key {
    Key::new(format!("S#{subject}"), "WATCHERS")
}

/// The bureau's record of a monitored subject as the last run found it: beside its watcher
/// list, kept only while the subject has watchers.
pub fn bureau_profile(subject: &str) -> Key {
    Key::new(format!("S#{subject}"), "PROFILE")
}

/// A subject whose monitoring started since the last run: the next part run parses its line
/// even if unchanged, to write its profile, then removes the entry.
pub fn wanted(subject: &str) -> Key {
    Key::new(WANTED, subject)
}
pub const WANTED: &str = "WANTED";

pub fn hit(tenant_id: &str, hit_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#HIT#{hit_id}"), "HIT")
}

/// A tenant's hits waiting for their digest, in due-day and client order.
pub fn digest_queue_pk(tenant_id: &str) -> String {
    format!("T#{tenant_id}#DIGESTQ")
}

/// The partition of the markers that a tenant's digest is due (`{due_on}#{tenant}`).
pub const DIGEST_MARKERS: &str = "DIGESTS";

pub fn digest_marker(tenant_id: &str, due_on: NaiveDate) -> Key {
    Key::new(DIGEST_MARKERS, format!("{due_on}#{tenant_id}"))
}

/// The plan of a day's monitoring run.
pub fn run_plan(day: NaiveDate) -> Key {
    Key::new(format!("RUN#{day}"), "PLAN")
}

/// One tenant's digest of a day's monitoring run, recorded done once (when the digests are
/// handed to workers).
pub fn run_digest_done(day: NaiveDate, run_id: &str, tenant_id: &str) -> Key {
    Key::new(format!("RUN#{day}"), format!("DIGEST#{run_id}#{tenant_id}"))
}

/// One feed part of a day's monitoring run.
pub fn run_part(day: NaiveDate, run_id: &str, part: &str) -> Key {
    Key::new(format!("RUN#{day}"), format!("PART#{run_id}#{part}"))
}

/// A day's communications run on Lambda: its run id, how many lists it handed to workers, how
/// many are done, their failed invoices, and whether its last step is taken.
pub fn comms_plan(day: NaiveDate) -> Key {
    Key::new(format!("COMMSRUN#{day}"), "PLAN")
}

/// The sends a provider (`email`, `sms`) has been granted in one second (Unix seconds), by
/// every worker together: the shared send-rate budget (`comms::pacing`).
pub fn send_window(provider: &str, second: i64) -> Key {
    Key::new(format!("PACE#{provider}"), format!("{second:012}"))
}

/// One open-invoice list of a day's communications run, recorded done once.
pub fn comms_list_done(day: NaiveDate, run_id: &str, list: &str) -> Key {
    Key::new(format!("COMMSRUN#{day}"), format!("LIST#{run_id}#{list}"))
}

/// The partition of completed days' line counts (`{day}`), read newest first.
pub const FEED_DAYS: &str = "FEEDDAYS";

/// The statements of a month still waiting to be sent.
pub fn statements_pk(month: &str) -> String {
    format!("STATEMENTS#{month}")
}

/// An API request's idempotency record, by the caller's credential and the hash of its key.
pub fn idempotency(credential: &str, hash: &str) -> Key {
    Key::new(format!("IDEM#{credential}#{hash}"), "IDEM")
}

/// The partition of events written with the change they tell of and not yet published (the
/// outbox), each by its time and event id. Rows live for seconds: the writer publishes and
/// removes its own; the next communications run publishes what a crash or an outage left.
pub const OUTBOX: &str = "OUTBOX";

/// An event waiting in the outbox.
pub fn outbox(order: &str) -> Key {
    Key::new(OUTBOX, order)
}

/// A client import of a tenant (`POST /v1/imports`): its state, progress and counts.
pub fn client_import(tenant_id: &str, import_id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("{CLIENT_IMPORTS}{import_id}"))
}
pub const CLIENT_IMPORTS: &str = "IMPORT#";

/// A tenant's webhook endpoint (`/v1/webhooks`): its spec, as a resource.
pub fn webhook(tenant_id: &str, id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("{WEBHOOKS}{id}"))
}
pub const WEBHOOKS: &str = "WH#";

/// How many webhook endpoints a tenant has (a capped counter, moved in their transactions).
pub fn webhook_count(tenant_id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), "WHCOUNT")
}

/// A webhook endpoint's signing secrets (the current one, and the one it replaced while its
/// overlap lasts) and how long it has failed every delivery; never shown by a list.
pub fn webhook_state(tenant_id: &str, id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("WHSTATE#{id}"))
}

/// The partition of one endpoint's deliveries, one item a message.
pub fn webhook_deliveries_pk(tenant_id: &str, endpoint_id: &str) -> String {
    format!("T#{tenant_id}#WH#{endpoint_id}")
}

/// One event's delivery to one endpoint, by its stable message id (`webhook-id`): written
/// only if absent, so an event published twice is delivered once.
pub fn webhook_delivery(tenant_id: &str, endpoint_id: &str, msg_id: &str) -> Key {
    Key::new(
        webhook_deliveries_pk(tenant_id, endpoint_id),
        format!("MSG#{msg_id}"),
    )
}

/// What the health check reads.
pub fn health() -> Key {
    Key::new("HEALTH", "HEALTH")
}

// ---- blob keys (the state bucket) -----------------------------------------------------------

/// The file a partner uploads for an asynchronous client import.
pub fn import_file(tenant_id: &str, import_id: &str) -> String {
    format!("{IMPORT_FILES}{tenant_id}/{import_id}/file")
}
/// Where every import's files live; the S3 upload that lands under it starts the import.
pub const IMPORT_FILES: &str = "imports/";

/// The results of one chunk of an import (written before the chunk's checkpoint).
pub fn import_results_part(tenant_id: &str, import_id: &str, chunk: u64) -> String {
    format!("{IMPORT_FILES}{tenant_id}/{import_id}/results/{chunk:08}.ndjson")
}

/// An import's whole result file, one JSON line a row, made from its parts when it completes.
pub fn import_results(tenant_id: &str, import_id: &str) -> String {
    format!("{IMPORT_FILES}{tenant_id}/{import_id}/results.ndjson")
}

/// (tenant, import) of an import's uploaded file key, if `key` is one.
pub fn import_of_file(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(IMPORT_FILES)?.strip_suffix("/file")?;
    let (tenant, import) = rest.split_once('/')?;
    (!tenant.is_empty() && !import.is_empty() && !import.contains('/')).then_some((tenant, import))
}

// ---- index partitions ------------------------------------------------------------------------

/// `gsi2`: a tenant's clients, in id order.
pub fn clients_listing(tenant_id: &str) -> String {
    format!("T#{tenant_id}#CLIENTS")
}

/// `gsi2`: the open invoices of every tenant, by due date (the communications run's lists),
/// spread over [`OPEN_SHARDS`] partitions by client ([`open_shard`]), so that no partition is
/// hot and each shard can be worked through on its own: `INVOICES#OPEN#00` … `#15`.
pub fn open_invoices(shard: u16) -> String {
    format!("{OPEN_INVOICES}#{shard:02}")
}

/// How many shards the open-invoice list has. Changing it moves invoices only as they are
/// written again; the run reads every shard and the unsharded list ([`open_lists`]).
pub const OPEN_SHARDS: u16 = 16;

/// The shard of a client's open invoices: all of a client's invoices are in one shard, so one
/// worker takes a client's turn (its contact limits are counted by one worker at a time).
pub fn open_shard(tenant_id: &str, client_id: &str) -> u16 {
    // FNV-1a: stable across builds and platforms (the std hasher is not).
    let mut hash: u32 = 0x811c_9dc5;
    for b in tenant_id.bytes().chain([b'#']).chain(client_id.bytes()) {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash % u32::from(OPEN_SHARDS)) as u16
}

/// The list open invoices were kept in before it was sharded; read (first, alone) until the
/// invoices in it are written again.
pub const OPEN_INVOICES: &str = "INVOICES#OPEN";

/// `gsi2`: the open invoices of one shard, tenant first (`{tenant}#{due}#{client}#{invoice}`):
/// where open invoices are written now, so the run can give each tenant its turn
/// (`INVOICES#OPEN#T00` … `#T15`, the shards of [`open_shard`]).
pub fn open_by_tenant(shard: u16) -> String {
    format!("{OPEN_INVOICES}#T{shard:02}")
}

/// The tenant-first list of the shard named by its due-first list (`INVOICES#OPEN#07` →
/// `INVOICES#OPEN#T07`); none for the unsharded list.
pub fn tenant_first(shard_list: &str) -> Option<String> {
    let shard: u16 = shard_list
        .strip_prefix(OPEN_INVOICES)?
        .strip_prefix('#')?
        .parse()
        .ok()?;
    Some(open_by_tenant(shard))
}

/// Whether `list` is a tenant-first list ([`open_by_tenant`]).
pub fn is_tenant_first(list: &str) -> bool {
    list.strip_prefix(OPEN_INVOICES)
        .is_some_and(|rest| rest.starts_with("#T"))
}

/// Every list the communications run works through, by the names its work is handed over
/// with: the unsharded one first, then each shard by its due-first list (of earlier
/// versions), whose worker then takes the shard's tenant-first list ([`tenant_first`]).
pub fn open_lists() -> Vec<String> {
    std::iter::once(OPEN_INVOICES.to_owned())
        .chain((0..OPEN_SHARDS).map(open_invoices))
        .collect()
}

/// `gsi2`: a tenant's disputed invoices, in client and invoice order (the collections team's
/// list): an invoice sits here exactly while its status is `disputed`, as an open one sits in
/// [`OPEN_INVOICES`].
pub fn disputes_listing(tenant_id: &str) -> String {
    format!("T#{tenant_id}#DISPUTES")
}

/// The sort key of a disputed invoice in [`disputes_listing`].
pub fn disputed_order(client_id: &str, invoice_id: &str) -> String {
    format!("{client_id}#{invoice_id}")
}

/// `gsi2`: every live invite, by expiry (the expiry sweep's list).
pub const OPEN_INVITES: &str = "INVITES#OPEN";

/// `gsi2`: a tenant's hits, in the order they were found.
pub fn hits_listing(tenant_id: &str) -> String {
    format!("T#{tenant_id}#HITS")
}

/// `gsi2`: one invoice's log entries.
pub fn invoice_log(tenant_id: &str, client_id: &str, invoice_id: &str) -> String {
    format!("T#{tenant_id}#C#{client_id}#INVOICE#{invoice_id}#LOG")
}

/// `gsi1`: a tenant's communications warnings (skipped, sending, interrupted).
pub fn comms_warnings(tenant_id: &str) -> String {
    format!("T#{tenant_id}#COMMS#SKIPPED")
}

/// `gsi2`: one endpoint's deliveries by the time of their event (the delivery log, replay).
pub fn webhook_log(tenant_id: &str, endpoint_id: &str) -> String {
    format!("T#{tenant_id}#WH#{endpoint_id}#LOG")
}

/// `gsi1`: every delivery waiting for an attempt, by when it is due (the sender's list).
pub const WEBHOOKS_DUE: &str = "WEBHOOKS#DUE";

/// The sort key of a delivery in [`WEBHOOKS_DUE`].
pub fn webhook_due_order(
    due: chrono::DateTime<chrono::Utc>,
    tenant_id: &str,
    endpoint_id: &str,
    msg_id: &str,
) -> String {
    format!(
        "{}#{tenant_id}#{endpoint_id}#{msg_id}",
        due.format("%Y-%m-%dT%H:%M:%S%.6fZ")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_clients_invoices_share_a_shard_and_clients_spread_over_all_shards() {
        assert_eq!(super::open_shard("t1", "c1"), super::open_shard("t1", "c1"));
        let mut seen = std::collections::BTreeMap::new();
        for c in 0..1600 {
            *seen
                .entry(super::open_shard("t1", &format!("client{c}")))
                .or_insert(0) += 1;
        }
        assert_eq!(seen.len(), super::OPEN_SHARDS as usize);
        assert!(seen.values().all(|n| (60..=140).contains(n)), "{seen:?}");
        assert_eq!(super::open_invoices(3), "INVOICES#OPEN#03");
        assert_eq!(super::open_lists().len(), 17);
        assert_eq!(super::open_lists()[0], "INVOICES#OPEN");
        assert_eq!(
            super::tenant_first("INVOICES#OPEN#07").as_deref(),
            Some("INVOICES#OPEN#T07")
        );
        assert_eq!(super::tenant_first("INVOICES#OPEN"), None);
        assert!(super::is_tenant_first("INVOICES#OPEN#T07"));
        assert!(!super::is_tenant_first("INVOICES#OPEN#07"));
    }

    use super::*;

    #[test]
    fn a_clients_records_share_its_partition() {
        let pk = client_pk("t1", "c1");
        for key in [
            client("t1", "c1"),
            contact("t1", "c1", "k"),
            opportunity("t1", "c1", "o"),
            invoice("t1", "c1", "i"),
            invoice_number("t1", "c1", "INV-1"),
            progress("t1", "c1", "i"),
            contacted("t1", "c1"),
            monitor("t1", "c1"),
            invite("t1", "c1", "o", "v"),
            invitee("t1", "c1", "o", "k"),
            answers("t1", "c1", "o", "q"),
            audit("t1", "c1", "o", "2026"),
            sent("t1", "c1", "m", "k", "email"),
            log("t1", "c1", "2026"),
            statement("t1", "c1", "2026-12"),
            portal_access("t1", "c1", "k"),
        ] {
            assert_eq!(key.pk, pk, "{key}");
        }
    }

    #[test]
    fn listing_prefixes_match_the_keys_they_list() {
        assert!(contact("t", "c", "x").sk.starts_with(CONTACTS));
        assert!(opportunity("t", "c", "x").sk.starts_with(OPPORTUNITIES));
        assert!(invoice("t", "c", "x").sk.starts_with(INVOICES));
        assert!(invite("t", "c", "o", "x").sk.starts_with(&invites_of("o")));
        assert!(answers("t", "c", "o", "x").sk.starts_with(&answers_of("o")));
        assert!(audit("t", "c", "o", "x").sk.starts_with(&audit_of("o")));
        assert!(
            sent("t", "c", "m", "k", "sms")
                .sk
                .starts_with(&sent_of("m"))
        );
        assert!(log("t", "c", "x").sk.starts_with(LOG));
        assert!(statement("t", "c", "2026-12").sk.starts_with(STATEMENTS));
        assert!(api_key("t", "x").sk.starts_with(API_KEYS));
        assert!(role("t", "x").sk.starts_with(ROLES));
        assert!(client_type("t", "x").sk.starts_with(CLIENT_TYPES));
        assert!(workflow("t", "x").sk.starts_with(WORKFLOWS));
        assert!(portfolio("t", "x").sk.starts_with(PORTFOLIOS));
        assert!(template("t", "x").sk.starts_with(TEMPLATES));
        assert!(questionnaire("t", "x").sk.starts_with(QUESTIONNAIRES));
    }

    #[test]
    fn an_import_files_key_names_its_tenant_and_import() {
        assert_eq!(import_of_file(&import_file("t1", "i1")), Some(("t1", "i1")));
        assert_eq!(import_of_file(&import_results("t1", "i1")), None);
        assert_eq!(import_of_file("imports/t1/file"), None);
        assert_eq!(import_of_file("feeds/2026-12-01/part-0000.ndjson"), None);
    }

    #[test]
    fn no_prefix_lists_a_neighbours_records() {
        // A usage counter or guard must never be listed as one of the resources beside it.
        assert!(!client_type_usage("t", "x").sk.starts_with(CLIENT_TYPES));
        assert!(!role_usage("t", "x").sk.starts_with(ROLES));
        assert!(!role_name("t", "x").sk.starts_with(ROLES));
        assert!(!workflow_usage("t", "x").sk.starts_with(WORKFLOWS));
        assert!(!portfolio_usage("t", "x").sk.starts_with(PORTFOLIOS));
        assert!(!invoice_number("t", "c", "x").sk.starts_with(INVOICES));
        assert!(!invitee("t", "c", "o", "x").sk.starts_with(&invites_of("o")));
    }
}
