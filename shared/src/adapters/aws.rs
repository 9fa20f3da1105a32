//! Production wiring: one AWS configuration load at cold start, one client per service, and the
//! `Services` built from them. `AWS_ENDPOINT_URL` (honoured by aws-config) points every client
//! at a local emulator.

use std::sync::Arc;

use aws_config::BehaviorVersion;

use super::pacing::TableBudget;
use super::{dynamodb::DynamoTable, eventbridge::EventBridgeEvents, ses::SesMailer, sns::SnsSms};
use crate::Services;
use crate::config::Config;
use crate::ports::{Clock, Rates, SendBudget, SystemClock, SystemIds, Table, Unpaced};

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// The S3 client. Against a custom endpoint (`AWS_ENDPOINT_URL`, or `AWS_ENDPOINT_URL_S3`) the
/// bucket goes in the path, as emulators expect; real S3 keeps its virtual-hosted buckets.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let custom_endpoint =
        sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(custom_endpoint)
            .build(),
    )
}

/// The table alone, for an operator command that writes only to it (`clientwatch-admin`): it
/// needs the table's name and the operator's AWS credentials, nothing else. Mail, SMS and events
/// are [`super::absent::Absent`] and links have no portal.
pub fn table_services(
    sdk: &aws_config::SdkConfig,
    table_name: &str,
    command: &'static str,
) -> Services {
    let clock = Arc::new(SystemClock);
    let absent = Arc::new(super::absent::Absent(command));
    Services {
        table: Arc::new(DynamoTable::new(
            aws_sdk_dynamodb::Client::new(sdk),
            table_name,
            clock.clone(),
        )),
        mailer: absent.clone(),
        sms: absent.clone(),
        events: absent,
        clock,
        ids: Arc::new(SystemIds),
        budget: Arc::new(Unpaced),
        phone_region: "NZ".into(),
        portal_url: String::new(),
    }
}

/// Every port on its AWS adapter, as a Lambda function uses them; the send rates as
/// configured ([`with_ses_quota`] lowers the e-mail rate to the account's).
pub fn services(sdk: &aws_config::SdkConfig, config: &Config) -> Services {
    let clock = Arc::new(SystemClock);
    let table: Arc<dyn Table> = Arc::new(DynamoTable::new(
        aws_sdk_dynamodb::Client::new(sdk),
        &config.table_name,
        clock.clone(),
    ));
    Services {
        budget: budget(&table, clock.clone(), config.send_rates),
        table,
        mailer: Arc::new(
            SesMailer::new(aws_sdk_sesv2::Client::new(sdk), config.mail_from.clone())
                .with_configuration_set(config.ses_configuration_set.clone()),
        ),
        sms: Arc::new(SnsSms::new(aws_sdk_sns::Client::new(sdk))),
        events: Arc::new(EventBridgeEvents::new(
            aws_sdk_eventbridge::Client::new(sdk),
            &config.event_bus_name,
        )),
        clock,
        ids: Arc::new(SystemIds),
        phone_region: config.default_phone_region.clone(),
        portal_url: config.portal_url.clone(),
    }
}

/// The send-rate budget over `table`: not paced when no rate is set.
fn budget(table: &Arc<dyn Table>, clock: Arc<dyn Clock>, rates: Rates) -> Arc<dyn SendBudget> {
    if rates == Rates::default() {
        Arc::new(Unpaced)
    } else {
        Arc::new(TableBudget::new(table.clone(), clock, rates))
    }
}

/// `svc` with its e-mail rate no higher than the SES account's maximum send rate (read once, at
/// cold start, with `GetAccount`); when the quota cannot be read the configured rates stand
/// (the refusal is logged).
pub async fn with_ses_quota(mut svc: Services, sdk: &aws_config::SdkConfig) -> Services {
    let quota = super::ses::max_send_rate(&aws_sdk_sesv2::Client::new(sdk)).await;
    let rates = svc.budget.rates().within_ses_quota(quota);
    tracing::info!(email = ?rates.email, sms = ?rates.sms, ses_quota = ?quota, "send rates");
    svc.budget = budget(&svc.table, svc.clock.clone(), rates);
    svc
}
