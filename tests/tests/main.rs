//! The cross-function scenarios, one test binary (as zero-to-production's `tests/api/main.rs`):
//! one module per area, so that the workspace links one executable for all of them. A test that
//! needs a process of its own (one that captures the process's logs) runs itself again alone
//! (`clientwatch_tests::in_own_process!`).

mod account_portal;
mod api;
mod api_logs;
mod aws_adapters;
mod blob_contract;
mod bureau_profile;
mod client_import;
mod clients_and_contacts;
mod comms_fanout;
mod comms_pacing;
mod comms_requests;
mod conventions;
mod crashes;
mod cursors;
mod customer_centre;
mod deliverability;
mod disputes_and_promises;
mod edges;
mod edges_fuzz;
mod feed_faults;
mod import_requests;
mod invoices;
mod monitoring;
mod monitoring_depth;
mod monitoring_requests;
mod no_secrets_in_logs;
mod operations;
mod portal_browser;
mod questionnaires;
mod settings_and_roles;
mod table_contract;
mod templates;
mod webhooks;
mod workflows;
