//! `collateSubrequests` of a Composite call: "When subrequests are collated, the processing
//! speed is faster, but the order of execution is not guaranteed (unless there is an explicit
//! dependency between the subrequests). If collation is disabled, then the subrequests are
//! executed in the order in which they are received." The default is true from API 49.0
//! (REST API Developer Guide, "Composite Request Body"). Subrequests can be collated when they
//! use the same HTTP method on `/sobjects` resources.
//!
//! The simulator takes that literally: with collation on, subrequests that could be collated
//! (same method, both on an `sobjects` resource, neither referring to the other) run in an
//! order drawn from the org's collation seed, so a client that relies on their order without
//! saying so fails here, deterministically per seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// API version from which `collateSubrequests` defaults to true.
const COLLATED_BY_DEFAULT_SINCE: f64 = 49.0;

/// Whether the call's subrequests are collated.
pub fn collated(body: &Value, version: &str) -> bool {
    match body.get("collateSubrequests").and_then(Value::as_bool) {
        Some(flag) => flag,
        None => version.parse::<f64>().unwrap_or(0.0) >= COLLATED_BY_DEFAULT_SINCE,
    }
}

fn text(request: &Value, key: &str) -> String {
    match request.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// On an `sobjects` resource (`/services/data/vXX.X/sobjects/...`) and without headers.
fn collatable(request: &Value) -> bool {
    let url = text(request, "url");
    let path = url.split('?').next().unwrap_or_default();
    let mut segments = path
        .trim_start_matches("/services/data/")
        .trim_start_matches('/')
        .split('/')
        .skip_while(|s| s.starts_with('v'));
    segments.next() == Some("sobjects") && request.get("httpHeaders").is_none()
}

/// Whether `later` names `earlier`'s referenceId in an `@{…}` of its URL or body.
fn refers_to(later: &Value, earlier: &Value) -> bool {
    let name = text(earlier, "referenceId");
    if name.is_empty() {
        return false;
    }
    let haystack = format!("{}{}", text(later, "url"), text(later, "body"));
    [".", "}", "["]
        .iter()
        .any(|end| haystack.contains(&format!("@{{{name}{end}")))
}

/// The order in which the subrequests run: as received without collation; with it, a random
/// order (from `seed`) that keeps every explicit dependency and every pair that cannot be
/// collated in the order received.
pub fn execution_order(requests: &[Value], collate: bool, seed: u64) -> Vec<usize> {
    let n = requests.len();
    if !collate {
        return (0..n).collect();
    }
    let must_precede = |i: usize, j: usize| {
        let same_group = collatable(&requests[i])
            && collatable(&requests[j])
            && text(&requests[i], "method") == text(&requests[j], "method");
        i < j && (!same_group || refers_to(&requests[j], &requests[i]))
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let ready: Vec<usize> = (0..n)
            .filter(|&j| !done[j] && (0..n).all(|i| done[i] || !must_precede(i, j)))
            .collect();
        // The order received satisfies every constraint, so something is always ready.
        let Some(&pick) = ready.get(rng.gen_range(0..ready.len().max(1))) else {
            break;
        };
        done[pick] = true;
        order.push(pick);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn delete(reference: &str) -> Value {
        json!({"method": "DELETE", "url": format!("/services/data/v64.0/sobjects/X/{reference}"), "referenceId": reference})
    }

    #[test]
    fn without_collation_the_order_is_the_order_received() {
        let requests: Vec<Value> = (0..5).map(|i| delete(&format!("r{i}"))).collect();
        assert_eq!(execution_order(&requests, false, 7), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn collated_deletes_run_in_another_order_for_some_seed_and_the_same_for_the_same_seed() {
        let requests: Vec<Value> = (0..4).map(|i| delete(&format!("r{i}"))).collect();
        let orders: Vec<Vec<usize>> = (0..8)
            .map(|s| execution_order(&requests, true, s))
            .collect();
        assert!(orders.iter().any(|o| o != &vec![0, 1, 2, 3]));
        assert_eq!(orders[3], execution_order(&requests, true, 3));
    }

    #[test]
    fn an_explicit_reference_and_a_query_keep_their_place() {
        let requests = vec![
            json!({"method": "GET", "url": "/services/data/v64.0/query?q=x", "referenceId": "q"}),
            json!({"method": "POST", "url": "/services/data/v64.0/sobjects/A", "referenceId": "a", "body": {"X": "@{q.records[0].Id}"}}),
            json!({"method": "POST", "url": "/services/data/v64.0/sobjects/B", "referenceId": "b", "body": {"A": "@{a.id}"}}),
        ];
        for seed in 0..16 {
            assert_eq!(execution_order(&requests, true, seed), vec![0, 1, 2]);
        }
    }

    #[test]
    fn collation_is_on_by_default_from_api_49() {
        assert!(collated(&json!({}), "64.0"));
        assert!(!collated(&json!({}), "48.0"));
        assert!(!collated(&json!({"collateSubrequests": false}), "64.0"));
    }
}
