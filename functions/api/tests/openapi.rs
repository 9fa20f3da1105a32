//! The OpenAPI document and the router describe the same routes: adding a route to one and not
//! the other fails here. And the document stays usable by client generators and by the
//! contract fuzzing (`infra/contract.sh`): stored resources are described as they are answered,
//! and every operation documents the refusals the API's conventions give it.

use std::collections::BTreeSet;

use serde_yaml::Value;

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml");
    let text = std::fs::read_to_string(path).expect("openapi.yaml at the repository root");
    serde_yaml::from_str(&text).expect("openapi.yaml is YAML")
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

/// (path, method, operation, the path item's own parameters) of every operation.
fn operations(doc: &Value) -> Vec<(String, String, Value, Value)> {
    doc["paths"]
        .as_mapping()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            let path = path.as_str().expect("a path").to_owned();
            item.as_mapping()
                .expect("a path item")
                .iter()
                .filter_map(|(k, op)| Some((k.as_str()?, op)))
                .filter(|(k, _)| METHODS.contains(k))
                .map(|(m, op)| {
                    (
                        path.clone(),
                        m.to_owned(),
                        op.clone(),
                        item["parameters"].clone(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A parameter, with a `$ref` to `#/components/parameters/...` followed.
fn resolve(doc: &Value, parameter: &Value) -> Value {
    match parameter["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().expect("a name");
            doc["components"]["parameters"][name].clone()
        }
        None => parameter.clone(),
    }
}

#[test]
fn openapi_document_lists_exactly_the_routes_of_the_router() {
    let doc = document();
    assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(path, method, _, _)| (path, method.to_uppercase()))
        .collect();
    let routed: BTreeSet<(String, String)> = clientwatch_api::route_list()
        .into_iter()
        .map(|(path, method)| (path.to_owned(), method.to_string()))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from openapi.yaml: {undocumented:?}; documented but not routed: {unrouted:?}"
    );
}

/// A stored resource is answered as its id, version and times plus the fields of its spec (the
/// request schema, which refuses unknown fields) and any read-only fields: the document says
/// so property by property, the same definitions in both, so that answers validate and the two
/// cannot drift apart.
#[test]
fn every_resource_schema_is_its_spec_plus_the_versioned_fields() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_mapping().expect("schemas");
    let versioned = &doc["components"]["schemas"]["Versioned"];
    let mut checked = Vec::new();
    let pairs = schemas
        .keys()
        .filter_map(Value::as_str)
        .filter_map(|name| Some((name.strip_suffix("Spec")?, name)))
        .chain([("Tenant", "TenantSettings")]);
    for (resource, name) in pairs {
        let spec = &doc["components"]["schemas"][name];
        let stored = &doc["components"]["schemas"][resource];
        if stored.is_null() {
            continue;
        }
        assert!(
            stored.get("allOf").is_none(),
            "{resource}: compose no allOf with {name}, whose additionalProperties is false"
        );
        assert_eq!(
            spec["additionalProperties"],
            Value::Bool(false),
            "{name} refuses unknown fields, as the API does"
        );
        let props = stored["properties"].as_mapping().expect("properties");
        let mut expected = versioned["properties"].as_mapping().expect("props").clone();
        for (k, v) in spec["properties"].as_mapping().expect("spec properties") {
            expected.insert(k.clone(), v.clone());
        }
        // Fields no request may set (an invoice's `dispute`, set in the account portal) are
        // answered beside the spec's, marked read-only, and never part of the spec.
        for (k, v) in props {
            if v["readOnly"] == Value::Bool(true) {
                assert!(
                    spec["properties"].get(k).is_none(),
                    "{resource}: {k:?} is read-only, so not in {name}"
                );
                expected.insert(k.clone(), v.clone());
            }
        }
        assert_eq!(
            props, &expected,
            "{resource} lists Versioned's and {name}'s properties"
        );
        let required: BTreeSet<&str> = stored["required"]
            .as_sequence()
            .expect("required")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for field in versioned["required"]
            .as_sequence()
            .into_iter()
            .chain(spec["required"].as_sequence())
            .flatten()
            .filter_map(Value::as_str)
        {
            assert!(required.contains(field), "{resource} requires {field}");
        }
        // Its merge patch: the same fields, none required.
        let patch = &doc["components"]["schemas"][format!("{resource}Patch").as_str()];
        let keys = |v: &Value| -> Vec<Value> {
            v["properties"]
                .as_mapping()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        assert_eq!(
            keys(patch),
            keys(spec),
            "{resource}Patch has {name}'s fields"
        );
        assert!(
            patch.get("required").is_none(),
            "{resource}Patch requires nothing"
        );
        assert_eq!(patch["additionalProperties"], Value::Bool(false));
        checked.push(resource.to_owned());
    }
    assert_eq!(checked.len(), 12, "resources checked: {checked:?}");
}

/// Every refusal the conventions give an operation is documented on it as a shared
/// problem+json response, and path ids have the documented id pattern.
#[test]
fn every_operation_documents_the_refusals_it_can_give() {
    let doc = document();
    let shared = doc["components"]["responses"]
        .as_mapping()
        .expect("responses");
    let mut missing = Vec::new();
    for (path, method, op, path_params) in operations(&doc) {
        let params: Vec<Value> = path_params
            .as_sequence()
            .into_iter()
            .chain(op["parameters"].as_sequence())
            .flatten()
            .map(|p| resolve(&doc, p))
            .collect();
        let mut needed: BTreeSet<u16> = [429, 503].into();
        if op["security"].as_sequence().is_none_or(|s| !s.is_empty()) {
            needed.extend([401, 403]);
        }
        if params.iter().any(|p| p["in"] == "path") {
            // Not found, or not an id at all.
            needed.extend([404, 422]);
        }
        if params.iter().any(|p| p["in"] == "query") {
            needed.insert(422);
        }
        if params.iter().any(|p| p["name"] == "If-Match") {
            needed.extend([412, 428]);
        }
        if !op["requestBody"].is_null() {
            needed.extend([400, 413, 415, 422]);
        }
        if method == "post" {
            // An Idempotency-Key still running (409) or used for another request (422).
            needed.extend([409, 422]);
            assert!(
                params.iter().any(|p| p["name"] == "Idempotency-Key"),
                "{method} {path} documents Idempotency-Key"
            );
        }
        for code in needed {
            let response = &op["responses"][code.to_string().as_str()];
            let name = response["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/responses/"));
            match name {
                Some(name) if shared.contains_key(name) => {}
                _ => missing.push(format!("{method} {path} {code}")),
            }
        }
        for p in params.iter().filter(|p| p["in"] == "path") {
            assert_eq!(
                p["schema"]["$ref"].as_str(),
                Some("#/components/schemas/Id"),
                "{method} {path}: path parameter {:?} has the id pattern",
                p["name"]
            );
        }
    }
    assert!(missing.is_empty(), "undocumented refusals: {missing:#?}");
    for (name, response) in shared {
        assert_eq!(
            response["content"]["application/problem+json"]["schema"]["$ref"].as_str(),
            Some("#/components/schemas/Problem"),
            "{name:?} is a problem+json response"
        );
    }
}
