//! Metadata API over REST: `POST …/metadata/deployRequest` (multipart: `json` options and a
//! `file` zip) and `GET …/metadata/deployRequest/{id}?includeDetails=true`.
//!
//! The deploy runs when it is polled: by default the first status poll finds it done
//! (`OrgConfig::deploy_polls_until_done`), so call counts are deterministic.

mod app_records;
pub mod deploy;
pub mod multipart;
pub mod package;
mod xml;

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::errors::SfError;
use super::org::{Cancel, Deploy};
use super::rest::{Answer, Ctx};

fn render(ctx: &Ctx, d: &Deploy, details: bool) -> Value {
    let created = d
        .created
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let now = || Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let (status, done, success, completed) = match (&d.outcome, d.cancel) {
        (None, Some(Cancel::Canceling)) => ("Canceling", false, false, None),
        (None, Some(Cancel::Canceled)) => ("Canceled", true, false, now()),
        (outcome, _) => match outcome {
            Some(o) => (
                if o.success { "Succeeded" } else { "Failed" },
                true,
                o.success,
                Some(
                    o.completed
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                ),
            ),
            None if d.polls == 0 => ("Pending", false, false, None),
            None => ("InProgress", false, false, None),
        },
    };
    let total = d.package.components.len() + d.package.destructive.len();
    let errors = d.outcome.as_ref().map_or(0, |o| o.failures.len());
    let deployed = d.outcome.as_ref().map_or(0, |o| o.successes.len());
    let mut result = json!({
        "id": d.id, "checkOnly": d.check_only, "ignoreWarnings": false,
        "rollbackOnError": d.rollback_on_error, "status": status, "done": done,
        "success": success, "createdBy": ctx.state.admin_user_id, "createdByName": "Admin User",
        "createdDate": created, "startDate": created, "lastModifiedDate": completed.clone().unwrap_or(created.clone()),
        "completedDate": completed, "errorMessage": null, "errorStatusCode": null,
        "numberComponentsTotal": total, "numberComponentsDeployed": deployed,
        "numberComponentErrors": errors, "numberTestsTotal": 0, "numberTestsCompleted": 0,
        "numberTestErrors": 0, "runTestsEnabled": false, "stateDetail": null,
    });
    if details && let Value::Object(map) = &mut result {
        let (failures, successes) = d.outcome.as_ref().map_or((vec![], vec![]), |o| {
            (o.failures.clone(), o.successes.clone())
        });
        map.insert("details".into(), json!({
            "componentFailures": failures, "componentSuccesses": successes,
            "runTestResult": {"numFailures": 0, "numTestsRun": 0, "totalTime": 0.0, "failures": [], "successes": []},
        }));
    }
    json!({
        "id": d.id,
        "url": format!("{}services/data/v{}/metadata/deployRequest/{}", ctx.state.instance_url, ctx.version, d.id),
        "validatedDeployRequestId": null,
        "deployOptions": {"checkOnly": d.check_only, "rollbackOnError": d.rollback_on_error, "singlePackage": true,
                          "ignoreWarnings": false, "allowMissingFiles": false, "autoUpdatePackage": false,
                          "performRetrieve": false, "purgeOnDelete": false, "runTests": [], "testLevel": "NoTestRun"},
        "deployResult": result,
    })
}

pub fn submit(ctx: &mut Ctx, content_type: Option<&str>, body: &[u8]) -> Answer {
    let bad = |m: &str| SfError::bad_request("INVALID_MULTIPART_REQUEST", m.to_string());
    let parts = multipart::parse(content_type.unwrap_or_default(), body).ok_or_else(|| {
        bad("The request must be multipart/form-data with a json part and a file part")
    })?;
    let options: Value = match parts.iter().find(|p| p.name == "json") {
        Some(part) => serde_json::from_slice(&part.data).map_err(SfError::malformed_json)?,
        None => json!({}),
    };
    let file = parts
        .iter()
        .find(|p| p.name == "file")
        .ok_or_else(|| bad("The file part with the zip is missing"))?;
    let package = package::read(&file.data).map_err(|e| {
        SfError::bad_request(
            "INVALID_ZIP_FILE",
            format!("The zip file could not be read: {e}"),
        )
    })?;
    let opts = options.get("deployOptions").cloned().unwrap_or(Value::Null);
    let rollback_on_error = opts
        .get("rollbackOnError")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let check_only = opts
        .get("checkOnly")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let id = ctx.state.next_id("DeployRequest");
    let deploy = Deploy {
        id: id.clone(),
        rollback_on_error,
        check_only,
        created: chrono::Utc::now(),
        polls: 0,
        polls_until_done: Some(ctx.state.config.deploy_polls_until_done.max(1)),
        package,
        outcome: None,
        cancel: None,
    };
    let body = render(ctx, &deploy, false);
    ctx.state.deploys.insert(id, deploy);
    Ok((StatusCode::CREATED, Some(body)))
}

pub fn status(ctx: &mut Ctx, id: &str, query: &HashMap<String, String>) -> Answer {
    let details = query
        .get("includeDetails")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let Some(mut d) = ctx.state.deploys.remove(id) else {
        return Err(SfError::not_found());
    };
    d.polls += 1;
    if d.outcome.is_none() && d.cancel.is_some() {
        d.cancel = Some(Cancel::Canceled);
    }
    let due = d.polls_until_done.is_some_and(|n| d.polls >= n);
    if d.outcome.is_none() && d.cancel.is_none() && due && !ctx.faults.deploys_hang() {
        let forced = ctx.faults.take_deploy_failure();
        if d.check_only {
            let snapshot = ctx.state.data.clone();
            let outcome = deploy::run(ctx.state, &d.package, true, forced);
            ctx.state.data = snapshot;
            d.outcome = Some(outcome);
        } else {
            d.outcome = Some(deploy::run(
                ctx.state,
                &d.package,
                d.rollback_on_error,
                forced,
            ));
        }
    }
    let body = render(ctx, &d, details);
    ctx.state.deploys.insert(id.to_string(), d);
    Ok((StatusCode::OK, Some(body)))
}

/// `PATCH …/deployRequest/{id}` with `{"deployResult":{"status":"Canceling"}}`: asks for the
/// deploy to be cancelled. Answers 202 with the deploy as it now stands (`Canceling`; a deploy
/// that already finished keeps its status, *assumed*: the guide does not say).
pub fn cancel(ctx: &mut Ctx, id: &str, body: &[u8]) -> Answer {
    let asked: Value = serde_json::from_slice(body).map_err(SfError::malformed_json)?;
    let status = asked
        .pointer("/deployResult/status")
        .and_then(Value::as_str);
    if status != Some("Canceling") {
        return Err(SfError::bad_request(
            "INVALID_INPUT",
            "Only a status of Canceling can be set on a deployRequest",
        ));
    }
    let Some(d) = ctx.state.deploys.get_mut(id) else {
        return Err(SfError::not_found());
    };
    if d.outcome.is_none() && d.cancel.is_none() {
        d.cancel = Some(Cancel::Canceling);
    }
    let d = d.clone();
    Ok((StatusCode::ACCEPTED, Some(render(ctx, &d, false))))
}
