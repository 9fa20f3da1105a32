//! The OpenAPI document and the router describe the same routes: adding a route to one and not
//! the other fails here.

use std::collections::BTreeSet;

#[test]
fn openapi_document_lists_exactly_the_routes_of_the_router() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml");
    let text = std::fs::read_to_string(path).expect("openapi.yaml at the repository root");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("openapi.yaml is YAML");
    assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    let methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_mapping()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            let path = path.as_str().expect("a path").to_owned();
            item.as_mapping()
                .expect("a path item")
                .keys()
                .filter_map(|k| k.as_str())
                .filter(|k| methods.contains(k))
                .map(move |m| (path.clone(), m.to_uppercase()))
                .collect::<Vec<_>>()
        })
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
