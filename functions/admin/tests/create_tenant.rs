//! The operator's first step, as the README gives it, against the emulator's DynamoDB: with
//! nothing configured but the AWS credentials (no PORTAL_URL, MAIL_FROM, EVENT_BUS_NAME or
//! TABLE_NAME), `clientwatch-admin create-tenant --name … --table …` creates the tenant and an
//! admin key that then authenticates; a table that does not exist is a clear error.

use std::process::{Command, Output};

use clientwatch::records::tenants;
use clientwatch_tests::{emulator_url, fresh_dynamo_table, sdk_config};

fn admin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clientwatch-admin"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", emulator_url())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("clientwatch-admin runs")
}

#[tokio::test]
async fn create_tenant_needs_only_the_table_and_credentials() {
    let sdk = sdk_config().await;
    let table = fresh_dynamo_table(&aws_sdk_dynamodb::Client::new(&sdk)).await;
    let out = admin(&["create-tenant", "--name", "Acme Lending", "--table", &table]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("tenant:  Acme Lending ("), "{stdout}");
    let key = stdout
        .lines()
        .find_map(|l| l.strip_prefix("API key: "))
        .expect("the key is printed once")
        .trim();
    let services = clientwatch::adapters::aws::table_services(&sdk, &table, "the test");
    let caller = tenants::authenticate(&services, key)
        .await
        .expect("the table answers")
        .expect("the printed key authenticates");
    let tenant = tenants::get(services.table.as_ref(), &caller.tenant_id)
        .await
        .unwrap();
    assert_eq!(tenant.spec.name, "Acme Lending");
    assert!(!stderr.contains(key), "the key is not logged");

    let missing = admin(&["create-tenant", "--name", "X", "--table", "no-such-table"]);
    assert!(!missing.status.success());
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(!said.contains("PORTAL_URL"), "{said}");
}
