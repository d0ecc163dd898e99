//! Fairness for orgs near their daily API allowance: while an org's last `Sforce-Limit-Info`
//! shows it at or above the threshold, it only gets urgent work (turning off, reconnecting).
//! Usage is only learnt from answers, so once every [`RECHECK`] one round of its ordinary work
//! is let through, which refreshes the figure; below the threshold the org is free again.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::salesforce::ApiUsage;

/// How long an org stays limited to urgent work before its usage is looked at again.
pub const RECHECK: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
pub struct Throttle {
    threshold: f64,
    /// Orgs held back, since when.
    held: HashMap<String, Instant>,
}

impl Throttle {
    pub fn new(threshold: f64) -> Self {
        Throttle {
            threshold,
            held: HashMap::new(),
        }
    }

    /// The org origins to give only urgent work in this round.
    pub fn throttled(&mut self, usage: &[(String, ApiUsage)], now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        let over: Vec<&String> = usage
            .iter()
            .filter(|(_, u)| u.fraction() >= self.threshold)
            .map(|(org, _)| org)
            .collect();
        self.held.retain(|org, _| over.contains(&org));
        for org in over {
            let since = self.held.entry(org.clone()).or_insert_with(|| {
                tracing::warn!(org = %org, "org near its daily API allowance: urgent work only");
                now
            });
            if now.duration_since(*since) >= RECHECK {
                *since = now;
            } else {
                out.push(org.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(org: &str, used: u64) -> (String, ApiUsage) {
        (org.to_owned(), ApiUsage { used, max: 100 })
    }

    #[test]
    fn only_orgs_at_or_over_the_threshold_are_held_back() {
        let mut throttle = Throttle::new(0.9);
        let now = Instant::now();
        let held = throttle.throttled(&[usage("https://a", 90), usage("https://b", 89)], now);
        assert_eq!(held, vec!["https://a".to_owned()]);
    }

    #[test]
    fn a_held_org_gets_one_round_through_after_the_recheck_interval_then_is_held_again() {
        let mut throttle = Throttle::new(0.9);
        let start = Instant::now();
        let over = [usage("https://a", 95)];
        assert_eq!(throttle.throttled(&over, start).len(), 1);
        assert_eq!(throttle.throttled(&over, start + RECHECK / 2).len(), 1);
        assert!(throttle.throttled(&over, start + RECHECK).is_empty());
        assert_eq!(throttle.throttled(&over, start + RECHECK * 3 / 2).len(), 1);
    }

    #[test]
    fn an_org_that_recovers_is_free_at_once() {
        let mut throttle = Throttle::new(0.9);
        let now = Instant::now();
        assert_eq!(throttle.throttled(&[usage("https://a", 99)], now).len(), 1);
        assert!(
            throttle
                .throttled(&[usage("https://a", 10)], now)
                .is_empty()
        );
    }
}
