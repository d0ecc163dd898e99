//! The one HTTP client: rustls, no redirects followed (an OAuth token must never travel to a
//! host it was not meant for), connect and request timeouts, bounded retries of transient
//! failures with exponential backoff and jitter, `Sforce-Limit-Info` read on every answer, and
//! one tracing span per call (method, path without the query string, status, api-usage).

use std::time::Duration;

use rand::Rng as _;
use reqwest::{Method, RequestBuilder, StatusCode, header::HeaderMap};
use tracing::{Instrument as _, field};
use url::Url;

use super::{
    Tuning,
    error::SalesforceError,
    limits::{ApiUsage, LIMIT_INFO_HEADER, UsageMap, parse_limit_info},
};
use crate::config::SalesforceSettings;

/// An answer from Salesforce, whatever its status.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

/// Why no answer came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportKind {
    /// Nothing listened, DNS failed, TLS failed: the host does not answer.
    Connect,
    Timeout,
    /// The connection broke mid-way (reset, closed).
    Other,
}

/// A failure to get any answer, after retries. Never carries the URL (it may hold SOQL).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{detail}")]
pub(crate) struct Transport {
    pub kind: TransportKind,
    pub detail: String,
}

impl From<Transport> for SalesforceError {
    fn from(t: Transport) -> Self {
        SalesforceError::Unavailable { detail: t.detail }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    tuning: Tuning,
    usage: UsageMap,
}

impl Http {
    pub fn new(
        settings: &SalesforceSettings,
        tuning: Tuning,
        usage: UsageMap,
    ) -> Result<Self, SalesforceError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!("connectord/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SalesforceError::Setup(e.without_url().to_string()))?;
        Ok(Self {
            client,
            tuning,
            usage,
        })
    }

    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }

    /// Sends what `build` makes (called once per attempt), retrying timeouts, broken
    /// connections and 5xx answers. The last answer is returned whatever its status; a
    /// transport failure after the last attempt is an error.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Answer, Transport> {
        let span = tracing::info_span!(
            "salesforce_call",
            method = %method,
            path = url.path(),
            status = field::Empty,
            api_usage = field::Empty,
            attempts = field::Empty,
        );
        let started = std::time::Instant::now();
        let result = self
            .send_inner(&method, url, build)
            .instrument(span.clone())
            .await;
        // Every call, at debug, with the span's method, path, status, attempts and API usage
        // (not only the calls that finally fail).
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        span.in_scope(|| tracing::debug!(duration_ms, "salesforce call"));
        result
    }

    async fn send_inner(
        &self,
        method: &Method,
        url: &Url,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Answer, Transport> {
        let attempts = self.tuning.retry_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            tracing::Span::current().record("attempts", attempt);
            let result = build(&self.client).send().await;
            crate::metrics::salesforce_call(
                url.path(),
                result.as_ref().ok().map(|r| r.status().as_u16()),
            );
            let last = attempt >= attempts;
            match result {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    self.note_usage(url, &headers);
                    tracing::Span::current().record("status", status.as_u16());
                    let body = match response.bytes().await {
                        Ok(body) => body,
                        Err(e) => {
                            let t = describe(&e);
                            if last || !may_resend(method, url, t.kind) {
                                return Err(t);
                            }
                            self.pause(attempt, &t.detail).await;
                            continue;
                        }
                    };
                    if status.is_server_error() && !last {
                        self.pause(attempt, &format!("HTTP {}", status.as_u16()))
                            .await;
                        continue;
                    }
                    // 429: sent again once the wait Salesforce asked for is over, if it is
                    // short; otherwise the answer goes up and the next pass waits for it.
                    if status == StatusCode::TOO_MANY_REQUESTS && !last {
                        let asked = retry_after(&headers);
                        if let Some(wait) = asked.filter(|w| *w <= RETRY_AFTER_WAIT_MAX) {
                            let wait = wait.max(backoff(self.tuning.retry_base, attempt));
                            tracing::debug!(
                                attempt,
                                delay_ms = wait.as_millis() as u64,
                                "retrying"
                            );
                            crate::slot::idle(wait).await;
                            continue;
                        }
                    }
                    return Ok(Answer {
                        status,
                        headers,
                        body,
                    });
                }
                Err(e) => {
                    let t = describe(&e);
                    if last || !may_resend(method, url, t.kind) {
                        tracing::warn!(detail = %t.detail, "salesforce call failed");
                        return Err(t);
                    }
                    self.pause(attempt, &t.detail).await;
                }
            }
        }
    }

    fn note_usage(&self, url: &Url, headers: &HeaderMap) {
        let usage: Option<ApiUsage> = headers
            .get(LIMIT_INFO_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_limit_info);
        if let Some(usage) = usage {
            self.usage.record(url, usage);
            tracing::Span::current().record("api_usage", field::display(usage));
        }
    }

    /// Waits before the next attempt, out of the pass's slot ([`crate::slot::idle`]).
    async fn pause(&self, attempt: u32, why: &str) {
        let delay = backoff(self.tuning.retry_base, attempt);
        tracing::debug!(
            attempt,
            why,
            delay_ms = delay.as_millis() as u64,
            "retrying"
        );
        crate::slot::idle(delay).await;
    }
}

/// The longest `Retry-After` waited out within a call; a longer one ends the pass and the
/// connection's next attempt is scheduled after it.
pub(crate) const RETRY_AFTER_WAIT_MAX: Duration = Duration::from_secs(30);

/// Whether a request that got no (whole) answer may be sent again. One that never connected
/// delivered nothing. A POST that timed out or broke after it was sent may have been applied
/// (a create, a composite, a deploy): it is not resent; the next pass reads the org and adopts
/// what exists by its deterministic name. Token grants are POSTs that create nothing.
pub(crate) fn may_resend(method: &Method, url: &Url, kind: TransportKind) -> bool {
    kind == TransportKind::Connect
        || *method != Method::POST
        || url.path().starts_with("/services/oauth2/")
}

/// `Retry-After` (RFC 9110 §10.2.3): a number of seconds, or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Exponential backoff with jitter: `base * 2^(attempt-1)`, scaled by a random 50–100 %.
pub(crate) fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(10));
    let jitter: f64 = rand::thread_rng().gen_range(0.5..=1.0);
    exp.mul_f64(jitter)
}

fn describe(e: &reqwest::Error) -> Transport {
    let (kind, detail) = if e.is_timeout() {
        (TransportKind::Timeout, "the request timed out")
    } else if e.is_connect() {
        (TransportKind::Connect, "could not connect")
    } else if e.is_body() || e.is_decode() {
        (
            TransportKind::Other,
            "the connection broke while reading the answer",
        )
    } else {
        (TransportKind::Other, "the connection failed")
    };
    Transport {
        kind,
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_seconds_or_as_a_date() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = chrono::Utc::now() + chrono::Duration::seconds(120);
        let date = later.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        headers.insert(reqwest::header::RETRY_AFTER, date.parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn a_post_that_may_have_been_applied_is_not_resent_but_a_token_grant_is() {
        let data = Url::parse("https://x.my.salesforce.com/services/data/v64.0/composite").unwrap();
        let token = Url::parse("https://x.my.salesforce.com/services/oauth2/token").unwrap();
        assert!(!may_resend(&Method::POST, &data, TransportKind::Timeout));
        assert!(!may_resend(&Method::POST, &data, TransportKind::Other));
        assert!(may_resend(&Method::POST, &data, TransportKind::Connect));
        assert!(may_resend(&Method::GET, &data, TransportKind::Timeout));
        assert!(may_resend(&Method::POST, &token, TransportKind::Timeout));
    }

    #[test]
    fn backoff_grows_and_stays_within_its_jitter_band() {
        let base = Duration::from_millis(100);
        for attempt in 1..=4 {
            let full = base * (1 << (attempt - 1));
            let d = backoff(base, attempt);
            assert!(d <= full && d >= full / 2, "attempt {attempt}: {d:?}");
        }
    }
}
