//! Fault injection, switchable per org at run time.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::org::Org;

/// The switches behind [`Faults`].
#[derive(Debug)]
pub struct FaultState {
    latency_ms: AtomicU64,
    /// Share of calls answered 500/503, in millionths.
    error_share: AtomicU32,
    /// Share of calls whose connection is closed without an answer, in millionths.
    drop_share: AtomicU32,
    rng: Mutex<StdRng>,
    fail_next_deploy: Mutex<Option<String>>,
    hang_deploys: AtomicBool,
    ip_restrictions: Mutex<IpRestrictions>,
    /// The next POST whose body holds this text is applied, then its answer is lost.
    lose_answer_to: Mutex<Option<LostAnswer>>,
    /// REST calls still to be refused with the concurrent-request limit.
    concurrent_refusals: AtomicU32,
    /// Every write is refused (and counted in `refused_writes`).
    read_only: AtomicBool,
    refused_writes: AtomicU32,
}

/// Which token grants the org's IP restrictions refuse, as if connectord called from an
/// address outside the org's trusted ranges. Salesforce answers such a grant HTTP 400
/// `{"error":"invalid_grant","error_description":"ip restricted"}` (the `error_description`
/// values of `invalid_grant` are listed at salesforcedictionary.com, "invalid_grant").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpRestrictions {
    #[default]
    Off,
    /// Client-credentials tokens of apps whose `ipRelaxationPolicyType` is not `Bypass` (the
    /// execution user's login IP ranges apply); the admin's own authorization still works.
    Apps,
    /// The admin's refresh-token grant as well (the product's own client, whose policy
    /// connectord does not control): only the org's admin can lift this.
    Everything,
}

impl Default for FaultState {
    fn default() -> Self {
        FaultState {
            latency_ms: AtomicU64::new(0),
            error_share: AtomicU32::new(0),
            drop_share: AtomicU32::new(0),
            rng: Mutex::new(StdRng::seed_from_u64(0)),
            fail_next_deploy: Mutex::new(None),
            hang_deploys: AtomicBool::new(false),
            ip_restrictions: Mutex::new(IpRestrictions::Off),
            lose_answer_to: Mutex::new(None),
            concurrent_refusals: AtomicU32::new(0),
            read_only: AtomicBool::new(false),
            refused_writes: AtomicU32::new(0),
        }
    }
}

/// [`Faults::lose_answer_after_applying`]: what to match, and what came after.
#[derive(Debug, Clone, Default)]
struct LostAnswer {
    needle: String,
    lost: bool,
    /// POSTs with the same text that arrived after the lost answer.
    sent_again: u32,
}

/// What the fault layer decided for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    None,
    Drop,
    Error500,
    Error503,
}

fn millionths(share: f64) -> u32 {
    (share.clamp(0.0, 1.0) * 1_000_000.0).round() as u32
}

impl FaultState {
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }

    /// Draws, deterministically from the seeded generator, what happens to the next call.
    pub fn draw(&self) -> Injected {
        let drop = self.drop_share.load(Ordering::Relaxed);
        let error = self.error_share.load(Ordering::Relaxed);
        if drop == 0 && error == 0 {
            return Injected::None;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        if drop > 0 && rng.gen_range(0..1_000_000) < drop {
            return Injected::Drop;
        }
        if error > 0 && rng.gen_range(0..1_000_000) < error {
            return if rng.gen_bool(0.5) {
                Injected::Error500
            } else {
                Injected::Error503
            };
        }
        Injected::None
    }

    /// The failure message of the next deploy, consumed.
    pub fn take_deploy_failure(&self) -> Option<String> {
        self.fail_next_deploy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Whether this POST body is the one whose answer is to be lost. A later POST with the
    /// same text is let through and counted ([`Faults::sent_again_after_lost_answer`]).
    pub fn take_lost_answer(&self, body: &[u8]) -> bool {
        let mut guard = self
            .lose_answer_to
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let Some(lose) = guard.as_mut() else {
            return false;
        };
        let needle = lose.needle.as_bytes();
        if needle.is_empty() || !body.windows(needle.len()).any(|w| w == needle) {
            return false;
        }
        if lose.lost {
            lose.sent_again += 1;
            return false;
        }
        lose.lost = true;
        true
    }

    /// Whether this REST call is refused with the concurrent-request limit (consumed if so).
    pub fn take_concurrent_refusal(&self) -> bool {
        self.concurrent_refusals
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    pub fn read_only(&self) -> bool {
        self.read_only.load(Ordering::Relaxed)
    }

    pub fn count_refused_write(&self) {
        self.refused_writes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn deploys_hang(&self) -> bool {
        self.hang_deploys.load(Ordering::Relaxed)
    }

    pub fn ip_restrictions(&self) -> IpRestrictions {
        *self
            .ip_restrictions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// The fault switches of one org (cheap to clone).
#[derive(Clone)]
pub struct Faults {
    pub(crate) org: Arc<Org>,
}

impl Faults {
    fn state(&self) -> &FaultState {
        &self.org.faults
    }

    /// Every call (token endpoint included) waits this long before it is handled.
    pub fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.state().latency_ms.store(ms, Ordering::Relaxed);
    }

    /// A share (0.0–1.0) of calls is answered 500 or 503, drawn from a generator seeded with
    /// `seed` so a test sees the same sequence every run.
    pub fn set_error_rate(&self, share: f64, seed: u64) {
        self.reseed(seed);
        self.state()
            .error_share
            .store(millionths(share), Ordering::Relaxed);
    }

    /// A share (0.0–1.0) of calls has its connection closed without any answer.
    pub fn set_drop_rate(&self, share: f64, seed: u64) {
        self.reseed(seed);
        self.state()
            .drop_share
            .store(millionths(share), Ordering::Relaxed);
    }

    fn reseed(&self, seed: u64) {
        *self.state().rng.lock().unwrap_or_else(|p| p.into_inner()) = StdRng::seed_from_u64(seed);
    }

    /// Every access token issued so far stops working (`INVALID_SESSION_ID`).
    pub fn revoke_sessions(&self) {
        self.org.lock().sessions.clear();
    }

    /// The seeded admin refresh token stops working (`invalid_grant`), and so do the sessions
    /// it minted.
    pub fn revoke_admin_refresh_token(&self) {
        let mut state = self.org.lock();
        let token = state.admin_refresh_token.clone();
        state.refresh_tokens.remove(&token);
        let admin = state.admin_user_id.clone();
        state.sessions.retain(|_, session| session.user_id != admin);
    }

    /// The daily API allowance is spent: every REST call answers `REQUEST_LIMIT_EXCEEDED`.
    pub fn exhaust_api_allowance(&self) {
        let mut state = self.org.lock();
        state.api_used = state.config.daily_api_limit;
    }

    /// The next POST whose body contains `needle` is applied as usual, then its connection is
    /// closed before the answer is sent: the caller cannot know whether it took effect (as
    /// after a timeout).
    pub fn lose_answer_after_applying(&self, needle: impl Into<String>) {
        *self
            .state()
            .lose_answer_to
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(LostAnswer {
            needle: needle.into(),
            ..LostAnswer::default()
        });
    }

    /// How many POSTs with the text of [`Faults::lose_answer_after_applying`] arrived after
    /// the one whose answer was lost.
    pub fn sent_again_after_lost_answer(&self) -> u32 {
        self.state()
            .lose_answer_to
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(0, |l| l.sent_again)
    }

    /// The next `calls` REST calls are refused with the concurrent form of the request limit:
    /// 403 `[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`
    /// (too many long-running requests at once; the daily allowance is untouched).
    pub fn refuse_concurrent_requests(&self, calls: u32) {
        self.state()
            .concurrent_refusals
            .store(calls, Ordering::Relaxed);
    }

    /// While on, every call that could change the org (anything but GETs, the token request
    /// and a composite of GETs) is refused with 403 `INSUFFICIENT_ACCESS` and counted.
    pub fn set_read_only(&self, on: bool) {
        self.state().read_only.store(on, Ordering::Relaxed);
    }

    /// How many writes the read-only switch refused.
    pub fn writes_refused(&self) -> u32 {
        self.state().refused_writes.load(Ordering::Relaxed)
    }

    /// The next deploy fails with one component failure carrying `message`.
    pub fn fail_next_deploy(&self, message: impl Into<String>) {
        *self
            .state()
            .fail_next_deploy
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(message.into());
    }

    /// While on, deploys stay `InProgress` whatever the number of polls.
    pub fn set_deploys_hang(&self, hang: bool) {
        self.state().hang_deploys.store(hang, Ordering::Relaxed);
    }

    /// The org's IP restrictions start (or stop) refusing connectord's address. Switching them
    /// on ends every session, as "enforce login IP ranges on every request" would.
    pub fn set_ip_restrictions(&self, restrictions: IpRestrictions) {
        *self
            .state()
            .ip_restrictions
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = restrictions;
        if restrictions != IpRestrictions::Off {
            self.revoke_sessions();
        }
    }

    /// Turns every switch off (revocations and a spent allowance stay as they are).
    pub fn clear(&self) {
        self.set_ip_restrictions(IpRestrictions::Off);
        self.set_read_only(false);
        self.set_latency(Duration::ZERO);
        self.set_error_rate(0.0, 0);
        self.set_drop_rate(0.0, 0);
        self.set_deploys_hang(false);
        self.refuse_concurrent_requests(0);
        self.state()
            .lose_answer_to
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.state()
            .fail_next_deploy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }
}
