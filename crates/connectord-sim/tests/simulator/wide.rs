//! The wide objects (`OrgConfig::extra_custom_fields`) and the first-call timestamp the
//! benchmarks use.

use connectord_sim::{OrgConfig, wide_field};
use serde_json::Value;

use crate::helpers::*;

fn field_names(describe: &Value) -> Vec<String> {
    describe["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| f["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn an_org_describes_exactly_the_extra_fields_it_was_seeded_with() {
    let env = start_with(vec![OrgConfig {
        extra_custom_fields: 7,
        ..OrgConfig::named("wide")
    }])
    .await;
    let (status, wide1) = env.get("sobjects/Wide_1__c/describe").await;
    assert_eq!(status, 200, "{wide1}");
    let names = field_names(&wide1);
    assert!(names.contains(&"Field_002__c".to_owned()), "{names:?}");
    assert!(!names.contains(&"Field_003__c".to_owned()), "{names:?}");
    let (status, wide3) = env.get("sobjects/Wide_3__c/describe").await;
    assert_eq!(status, 200);
    let custom: Vec<String> = field_names(&wide3)
        .into_iter()
        .filter(|n| n.starts_with("Field_"))
        .collect();
    assert_eq!(custom, ["Field_001__c"]);
    assert_eq!(wide_field(6).as_deref(), Some("Wide_2__c.Field_002__c"));
}

#[tokio::test]
async fn an_org_seeded_without_extra_fields_has_no_wide_object() {
    let env = start().await;
    let (status, _) = env.get("sobjects/Wide_1__c/describe").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_first_call_after_a_mark_is_timestamped_and_later_ones_do_not_move_it() {
    let env = start().await;
    env.org.mark_calls();
    assert_eq!(env.org.first_call_since_mark(), None);
    let before = std::time::Instant::now();
    env.get("limits").await;
    let first = env.org.first_call_since_mark();
    assert!(first.is_some_and(|t| t >= before), "{first:?}");
    env.get("limits").await;
    assert_eq!(env.org.first_call_since_mark(), first);
    env.org.mark_calls();
    assert_eq!(env.org.first_call_since_mark(), None);
}
