//! What an org's previous My Domain host answers after a rename: every request is redirected
//! with a 301 to the same path on the new host. Salesforce Help, "Understand Redirections for
//! Previous My Domain Host Names": "All redirections from previous My Domain host names use
//! redirect code 301 or redirect code 307."

use std::net::SocketAddr;

use axum::Router;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::server::{Served, serve};

/// `127.0.0.1:PORT` of a simulator URL.
pub(super) fn socket_addr(url: &Url) -> anyhow::Result<SocketAddr> {
    let addrs = url.socket_addrs(|| None)?;
    addrs
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no address for {url}"))
}

/// Serves redirects to `to` at the address of `from`.
pub(super) async fn serve_redirect(from: &Url, to: &Url) -> anyhow::Result<Served> {
    let target = to.as_str().trim_end_matches('/').to_owned();
    let router = Router::new().fallback(move |uri: Uri| {
        let target = target.clone();
        async move { redirect(&target, &uri) }
    });
    let (_, served) = serve(router, socket_addr(from)?).await?;
    Ok(served)
}

fn redirect(target: &str, uri: &Uri) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, format!("{target}{path}"))],
    )
        .into_response()
}
