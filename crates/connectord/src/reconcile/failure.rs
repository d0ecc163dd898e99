//! A failed pass: the error code and phase it records, the log line with the whole cause
//! chain, and when the connection is tried again (exponential backoff with jitter).

use std::time::Duration;

use rand::Rng;
use tracing::warn;

use uuid::Uuid;

use super::fence;
use super::pass::{Outcome, Reconciler};
use super::plan::Phase;
use super::record::{self, Finish, Loaded};
use super::steps::StepError;
use crate::error_code::ErrorCode;
use crate::salesforce::SalesforceError;

const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_CAP: Duration = Duration::from_secs(15 * 60);
/// After a deploy that hit its wait limit (and was cancelled): Salesforce's deploy queue is
/// busy or stuck, so the next try waits at least this long rather than 1 s.
const AFTER_DEPLOY_TIMEOUT: Duration = Duration::from_secs(5 * 60);

impl Reconciler {
    /// Records the failed pass (phase, error code and message) and when to try again.
    pub(super) async fn fail(
        &self,
        loaded: &Loaded,
        url: &str,
        error: StepError,
    ) -> anyhow::Result<Outcome> {
        let (code, message) = match &error {
            StepError::Salesforce(e) => (e.error_code(), e.to_string()),
            StepError::AppIpRestricted { .. } => (ErrorCode::IpRestricted, error.to_string()),
            StepError::OldOrgRemnants { .. } => (ErrorCode::OldOrgRemnants, error.to_string()),
            StepError::IntegrationUserDeactivated { .. } => {
                (ErrorCode::IntegrationUserDeactivated, error.to_string())
            }
            other => (ErrorCode::Internal, other.to_string()),
        };
        let (phase, next) = if matches!(
            code,
            ErrorCode::IpRestricted
                | ErrorCode::OldOrgRemnants
                | ErrorCode::ConsumerSecretAccessOff
                | ErrorCode::IntegrationProfileMissing
                | ErrorCode::IntegrationUserDeactivated
                | ErrorCode::OAuthClientRejected
                | ErrorCode::ApiVersionUnavailable
        ) {
            // The remedy is applied in the org or in connectord's settings, and neither tells
            // the daemon: look again at the resync interval. (After old-org remnants, that
            // next pass builds in the org the row names. A rejected OAuth client is fixed in
            // the settings: a restart with new ones makes these connections due at once.)
            (Phase::ActionRequired, Some(jittered(self.resync_interval)))
        } else if code.needs_a_person() {
            (Phase::ActionRequired, None)
        } else {
            (
                Phase::Failed,
                Some(backoff(loaded.attempts).max(at_least(&error))),
            )
        };
        warn!(
            error_code = code.as_str(),
            error = %cause_chain(&error),
            phase = phase.as_str(),
            "pass failed"
        );
        let end = Finish {
            phase,
            generation: loaded.generation,
            instance_url: url,
            error: Some((code, message)),
            next_attempt_in: next,
        };
        record::finish(&self.pool, loaded.id, &loaded.known, &end).await?;
        if code == ErrorCode::AdminTokenRevoked {
            let detail = serde_json::json!({ "error": end.error.map(|(_, m)| m) });
            record::event(
                &self.pool,
                loaded.id,
                "admin_token_revoked",
                phase.as_str(),
                detail,
            )
            .await?;
        }
        Ok(Outcome::Failed { phase, code })
    }

    /// Records a pass that panicked: `failed` with `internal_panic`, at the row's generation
    /// (so it is not claimed again at once), retried with backoff by the database's clock. The
    /// rest of the status is left as the last pass wrote it. Fenced like every write of a pass.
    pub async fn record_panic(&self, id: Uuid) -> anyhow::Result<Outcome> {
        let code = ErrorCode::InternalPanic;
        let message = "the pass stopped on an internal error (a bug in connectord); \
                       it is retried with backoff";
        let (owner, epoch) = fence::token();
        let done = sqlx::query!(
            r#"INSERT INTO connection_status AS s (connection_id, phase, observed_generation,
                    instance_url, error_code, error_message, attempts, next_attempt_at,
                    last_reconciled_at)
               SELECT c.id, 'failed', c.generation, c.instance_url, $2, $3, 1,
                      now() + interval '1 second', now()
                 FROM connections c WHERE c.id = $1 AND connection_lease_holds($1, $4, $5)
               ON CONFLICT (connection_id) DO UPDATE SET
                    phase = 'failed', observed_generation = EXCLUDED.observed_generation,
                    error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message,
                    attempts = s.attempts + 1,
                    next_attempt_at = now() + least(
                        make_interval(secs => power(2, least(s.attempts, 20))),
                        interval '15 minutes'),
                    last_reconciled_at = now(), updated_at = now()"#,
            id,
            code.as_str(),
            message,
            owner,
            epoch
        )
        .execute(&self.pool)
        .await?;
        if fence::checked(&self.pool, id, done.rows_affected()).await? == 0 {
            return Ok(Outcome::Gone);
        }
        Ok(Outcome::Failed {
            phase: Phase::Failed,
            code,
        })
    }
}

/// The error and every error beneath it, `: `-separated, for one log line.
fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

/// 1 s, 2 s, 4 s … up to 15 minutes, each with up to 20 % jitter.
fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.clamp(0, 20) as u32;
    let base = BACKOFF_BASE
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(BACKOFF_CAP);
    jittered(base)
}

/// The shortest wait a failure asks for: Salesforce's `Retry-After`, or the pause after a
/// deploy that hit its wait limit.
fn at_least(error: &StepError) -> Duration {
    match error {
        StepError::Salesforce(SalesforceError::DeployTimedOut { .. }) => AFTER_DEPLOY_TIMEOUT,
        StepError::Salesforce(e) => e.retry_after().unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

/// The duration plus up to 20 % more, so that work spreads out.
pub(super) fn jittered(base: Duration) -> Duration {
    let extra = rand::thread_rng().gen_range(0.0..0.2);
    base.mul_f64(1.0 + extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_that_names_a_wait_is_not_retried_sooner() {
        let throttled = StepError::Salesforce(SalesforceError::Throttled {
            detail: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(600)),
        });
        assert_eq!(at_least(&throttled), Duration::from_secs(600));
        let hung = StepError::Salesforce(SalesforceError::DeployTimedOut {
            id: "0Af".into(),
            canceled: true,
        });
        assert_eq!(at_least(&hung), AFTER_DEPLOY_TIMEOUT);
        assert!(backoff(0).max(at_least(&hung)) >= Duration::from_secs(300));
        let blip = StepError::Salesforce(SalesforceError::Unavailable { detail: "x".into() });
        assert_eq!(at_least(&blip), Duration::ZERO);
    }
}
