//! The API's logs name a request by its route template, never by its raw path or query. In a
//! process of its own (`in_own_process!`), because it installs the process's log subscriber.

use clientwatch_tests::api::TestApp;
use serde_json::json;

clientwatch_tests::in_own_process! {
    /// The API's logs name a request by its route template, never by its path or query: a portal
    /// token sent to the API under `/v1/../i/<token>`, or an id and a cursor in a query, stay out.
    #[tokio::test(flavor = "current_thread")]
    async fn the_api_logs_route_templates_never_raw_paths_or_queries() {
        // The process's only subscriber: this file holds this one test.
        let log = clientwatch_tests::logs::capture();

        let app = TestApp::new(clientwatch_tests::Store::Embedded).await;
        let token = "tok3nTHATmustNOTbeLOGGED0123456789abcdefghi";
        let kind = app
            .post(
                "/v1/client-types",
                json!({"name": "Borrowers", "class": "individual"}),
            )
            .await;
        let made = app
            .post(
                "/v1/clients",
                json!({"client_type_id": kind.body["id"], "identity": {"kind": "individual", "first_name": "Ana", "last_name": "Smith"}}),
            )
            .await;
        let c = made.body["id"].as_str().unwrap().to_owned();
        let secret_query = "cursor=QUERYsecretVALUE";
        for path in [
            format!("/v1/../i/{token}"),
            format!("/v1/i/{token}"),
            format!("/v1/clients/{c}?{secret_query}"),
            format!("/v1/clients?{secret_query}"),
            "/v1/clients/%FF".to_owned(),
        ] {
            app.get(&path).await;
        }
        let text = log.text();
        assert!(text.contains("route=\"/v1/clients/{id}\""), "{text}");
        assert!(text.contains("route=\"(no route)\""), "{text}");
        for leaked in [token, "QUERYsecretVALUE", c.as_str(), "%FF"] {
            assert!(!text.contains(leaked), "{leaked} is in the log:\n{text}");
        }
    }
}
