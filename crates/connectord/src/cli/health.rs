//! `connectord health`: asks this process's own `/readyz` on `http.listen` and exits 0 when it
//! answers 200, 1 otherwise, so an image without a shell (distroless) can have a health check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::config::Settings;

/// How long the probe waits for an answer (a container health check has its own timeout too).
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the probe failed (the message names the URL and what went wrong, nothing secret).
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("{url} did not answer: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} answered {status}: {body}")]
    NotReady {
        url: String,
        status: u16,
        body: String,
    },
}

/// The address to probe: `http.listen`, with an unspecified address (0.0.0.0, ::) replaced by
/// the loopback address of the same family, since the probe runs beside the daemon.
pub fn probe_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// Probes `/readyz`; `Ok` only on a 200.
pub async fn run(settings: &Settings) -> Result<(), HealthError> {
    let url = format!("http://{}/readyz", probe_address(settings.http.listen));
    let unreachable = |error: reqwest::Error| HealthError::Unreachable {
        url: url.clone(),
        reason: error.without_url().to_string(),
    };
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .no_proxy()
        .build()
        .map_err(unreachable)?;
    let response = client.get(&url).send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    if status == 200 {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    Err(HealthError::NotReady {
        url,
        status,
        body: body.trim().chars().take(200).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_probed_on_loopback() {
        let probe = |text: &str| probe_address(text.parse().unwrap()).to_string();
        assert_eq!(probe("0.0.0.0:9464"), "127.0.0.1:9464");
        assert_eq!(probe("[::]:9464"), "[::1]:9464");
        assert_eq!(probe("10.1.2.3:9000"), "10.1.2.3:9000");
    }
}
