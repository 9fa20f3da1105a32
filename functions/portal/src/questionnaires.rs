//! (temporary)
use axum::response::Response;
use clientwatch::Services;
use clientwatch::centre::access::Visit;
use clientwatch::domain::Result;
pub(crate) async fn listed(
    _svc: &Services,
    _v: &Visit,
) -> Result<Vec<(String, String, String, bool)>> {
    Ok(vec![])
}
pub(crate) async fn show() -> Response {
    super::not_found().await
}
pub(crate) async fn save() -> Response {
    super::not_found().await
}
pub(crate) async fn done() -> Response {
    super::not_found().await
}
