//! What an operator relies on, read from `template.yaml` as CloudFormation would deploy it: every
//! dead-letter queue, every function's errors and throttles and every run metric that means
//! trouble page the operator's topic; every function Lambda invokes asynchronously keeps what
//! failed for good in a dead-letter queue; every alarm and dashboard metric of the runs' own
//! namespaces is one the code emits (an alarm on a metric nobody writes never fires).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;
use serde_yaml::value::TaggedValue;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    let doc: Value = serde_yaml::from_str(&text).expect("template.yaml is YAML");
    let resources = doc
        .get("Resources")
        .expect("Resources")
        .as_mapping()
        .unwrap();
    resources
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone()))
        .collect()
}

fn of_type<'a>(t: &'a BTreeMap<String, Value>, ty: &str) -> Vec<(&'a str, &'a Value)> {
    t.iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
        .map(|(k, r)| (k.as_str(), r))
        .collect()
}

/// `!Ref X` or `!GetAtt X.Y` as ("Ref", "X") / ("GetAtt", "X.Y").
fn intrinsic(v: &Value) -> Option<(String, String)> {
    match v {
        Value::Tagged(t) => {
            let TaggedValue { tag, value } = t.as_ref();
            Some((
                tag.to_string().trim_start_matches('!').to_owned(),
                value.as_str()?.to_owned(),
            ))
        }
        _ => None,
    }
}

struct Alarm<'a> {
    name: &'a str,
    namespace: String,
    metric: String,
    dimensions: Vec<(String, Option<(String, String)>)>,
    notifies_operator: bool,
    fires_on_one: bool,
}

fn alarms(t: &BTreeMap<String, Value>) -> Vec<Alarm<'_>> {
    of_type(t, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(name, r)| {
            let p = &r["Properties"];
            let dimensions = p
                .get("Dimensions")
                .and_then(Value::as_sequence)
                .map(|ds| {
                    ds.iter()
                        .map(|d| {
                            (
                                d["Name"].as_str().unwrap().to_owned(),
                                intrinsic(&d["Value"]),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let notifies_operator = p["AlarmActions"].as_sequence().is_some_and(|a| {
                a.iter()
                    .any(|a| intrinsic(a) == Some(("Ref".into(), "OperatorAlarmTopic".into())))
            });
            let fires_on_one = p["Threshold"].as_f64() == Some(1.0)
                && p["ComparisonOperator"].as_str() == Some("GreaterThanOrEqualToThreshold");
            Alarm {
                name,
                namespace: p["Namespace"].as_str().unwrap_or_default().to_owned(),
                metric: p["MetricName"].as_str().unwrap_or_default().to_owned(),
                dimensions,
                notifies_operator,
                fires_on_one,
            }
        })
        .collect()
}

fn watched_by<'a>(
    alarms: &'a [Alarm<'a>],
    namespace: &str,
    metric: &str,
    dimension: (&str, (&str, &str)),
) -> Vec<&'a Alarm<'a>> {
    let (name, (kind, target)) = dimension;
    alarms
        .iter()
        .filter(|a| a.namespace == namespace && a.metric == metric)
        .filter(|a| {
            a.dimensions.iter().any(|(n, v)| {
                n == name && v.as_ref() == Some(&(kind.to_owned(), target.to_owned()))
            })
        })
        .collect()
}

#[test]
fn every_alarm_pages_the_operator_at_the_first_occurrence() {
    let t = template();
    let alarms = alarms(&t);
    assert!(alarms.len() >= 20, "the template has its alarms");
    for a in &alarms {
        assert!(
            a.notifies_operator,
            "{} notifies OperatorAlarmTopic",
            a.name
        );
        assert!(a.fires_on_one, "{} fires at the first occurrence", a.name);
    }
}

#[test]
fn every_dead_letter_queue_has_an_alarm_on_its_first_message() {
    let t = template();
    let alarms = alarms(&t);
    let queues: Vec<&str> = of_type(&t, "AWS::SQS::Queue")
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.ends_with("DeadLetterQueue"))
        .collect();
    assert!(queues.len() >= 4, "{queues:?}");
    for q in queues {
        let attr = format!("{q}.QueueName");
        let watching = watched_by(
            &alarms,
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            ("QueueName", ("GetAtt", &attr)),
        );
        assert!(!watching.is_empty(), "no alarm watches {q}");
    }
}

#[test]
fn every_function_has_an_alarm_on_its_errors_and_on_its_throttles() {
    let t = template();
    let alarms = alarms(&t);
    for (f, _) in of_type(&t, "AWS::Serverless::Function") {
        for metric in ["Errors", "Throttles"] {
            let watching = watched_by(&alarms, "AWS/Lambda", metric, ("FunctionName", ("Ref", f)));
            assert!(!watching.is_empty(), "no alarm on {f}'s {metric}");
        }
    }
}

/// Event sources through which Lambda invokes a function asynchronously.
const ASYNC_SOURCES: [&str; 5] = ["ScheduleV2", "Schedule", "EventBridgeRule", "S3", "SNS"];

#[test]
fn every_function_invoked_asynchronously_keeps_what_failed_for_good_in_a_dead_letter_queue() {
    let t = template();
    let mut checked = 0;
    for (f, r) in of_type(&t, "AWS::Serverless::Function") {
        let p = &r["Properties"];
        let Some(events) = p.get("Events").and_then(Value::as_mapping) else {
            continue;
        };
        let asynchronous: Vec<(&str, &Value)> = events
            .iter()
            .filter(|(_, e)| ASYNC_SOURCES.contains(&e["Type"].as_str().unwrap_or_default()))
            .map(|(k, e)| (k.as_str().unwrap(), e))
            .collect();
        if asynchronous.is_empty() {
            continue;
        }
        checked += 1;
        let dlq = p
            .get("DeadLetterQueue")
            .unwrap_or_else(|| panic!("{f} is invoked asynchronously but has no DeadLetterQueue"));
        let (_, target) = intrinsic(&dlq["TargetArn"]).expect("a queue's Arn");
        let queue = target.trim_end_matches(".Arn");
        assert!(
            t.contains_key(queue),
            "{f}'s dead-letter queue {queue} exists"
        );
        assert!(
            p["EventInvokeConfig"]["MaximumRetryAttempts"]
                .as_u64()
                .is_some(),
            "{f} says how often Lambda retries it"
        );
        // A schedule or a rule that cannot invoke the function keeps the event too.
        for (name, e) in asynchronous {
            let ty = e["Type"].as_str().unwrap();
            if ty == "ScheduleV2" || ty == "EventBridgeRule" {
                assert!(
                    e["Properties"].get("DeadLetterConfig").is_some(),
                    "{f}'s {name} event has a DeadLetterConfig"
                );
            }
        }
    }
    assert!(
        checked >= 5,
        "the asynchronous functions were found ({checked})"
    );
}

/// Every `"Name"` string written in the functions' and the library's Rust sources.
fn emitted_names() -> String {
    fn walk(dir: &Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut all = String::new();
    walk(&root().join("functions"), &mut all);
    walk(&root().join("shared/src"), &mut all);
    all
}

/// The metric names of the runs' own namespaces that the dashboard and the alarms use.
fn own_metrics(t: &BTreeMap<String, Value>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = alarms(t)
        .iter()
        .filter(|a| a.namespace.starts_with("clientwatch/"))
        .map(|a| (a.namespace.clone(), a.metric.clone()))
        .collect();
    for (name, r) in of_type(t, "AWS::CloudWatch::Dashboard") {
        let body = match intrinsic(&r["Properties"]["DashboardBody"]) {
            Some((_, body)) => body,
            None => r["Properties"]["DashboardBody"]
                .as_str()
                .unwrap()
                .to_owned(),
        };
        let body: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{name}'s body is JSON: {e}"));
        for w in body["widgets"].as_array().unwrap() {
            for m in w["properties"]["metrics"].as_array().unwrap() {
                let ns = m[0].as_str().unwrap();
                if ns.starts_with("clientwatch/") {
                    out.push((ns.to_owned(), m[1].as_str().unwrap().to_owned()));
                }
            }
        }
    }
    out
}

#[test]
fn every_metric_of_the_runs_alarmed_or_charted_is_emitted_by_the_code() {
    let t = template();
    let sources = emitted_names();
    let metrics = own_metrics(&t);
    assert!(metrics.len() >= 10, "{metrics:?}");
    for (namespace, metric) in metrics {
        assert!(
            sources.contains(&format!("\"{namespace}\"")),
            "no code writes the namespace {namespace}"
        );
        // The figures every run line carries (telemetry::Metrics::line) and the named ones.
        assert!(
            sources.contains(&format!("\"{metric}\"")),
            "no code writes {namespace}/{metric}, which the template alarms on or charts"
        );
    }
}

#[test]
fn the_dashboard_shows_every_dead_letter_queue_and_every_function() {
    let t = template();
    let (_, dashboard) = of_type(&t, "AWS::CloudWatch::Dashboard")
        .into_iter()
        .next()
        .expect("a dashboard");
    let (_, body) = intrinsic(&dashboard["Properties"]["DashboardBody"]).expect("a !Sub body");
    for (q, _) in of_type(&t, "AWS::SQS::Queue") {
        if q.ends_with("DeadLetterQueue") {
            assert!(
                body.contains(&format!("${{{q}.QueueName}}")),
                "the dashboard shows {q}"
            );
        }
    }
    for (f, _) in of_type(&t, "AWS::Serverless::Function") {
        assert!(
            body.contains(&format!("${{{f}}}")),
            "the dashboard shows {f}'s errors"
        );
    }
}

/// The outbox viewer is the local binary's: the routers the Lambda functions serve do not have
/// it.
#[tokio::test]
async fn the_lambda_routers_have_no_outbox_viewer() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;
    let h = clientwatch_tests::Harness::new(clientwatch_tests::Store::Embedded).await;
    let (services, _) = h.services();
    for path in ["/outbox", "/outbox/mail/x.eml"] {
        let portal = clientwatch_portal::app(services.clone())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(portal.status(), 404, "the portal serves {path}");
        let api = clientwatch_tests::api::router(services.clone())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(api.status(), 404, "the API serves {path}");
    }
}
