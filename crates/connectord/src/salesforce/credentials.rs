//! An External Client App's consumer key and secret, read through the Connect REST OAuth
//! credentials resources (API 60.0+): `GET /apps/oauth/credentials/{appId}` lists the app's
//! OAuth consumers, `GET /apps/oauth/credentials/{appId}/{consumerId}?part=keyandsecret` gives
//! `key` and `secret` (Connect REST API Developer Guide, "OAuth Credentials Resources" and
//! "OAuth Credentials by Consumer ID"). Then the proof: a client-credentials token minted with
//! them and one read made with it.
//!
//! When the org keeps consumer secrets out of the REST API ("Allow access to External Client
//! App consumer secrets via REST API" off, the setting
//! `ExternalClientAppSettings.enableClientSecretInRestApiAccess` of API 62.0+, which Salesforce
//! recommends keeping off), or the admin lacks View Client Secret, the resource answers an
//! error: that is [`SalesforceError::ConsumerSecretAccessOff`], as is a 200 without the secret.
//! A freshly deployed app's client-credentials grant may answer `invalid_grant` for a while:
//! the proof asks again with backoff for `salesforce.app_token_wait`.

use reqwest::Method;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::{Org, error::SalesforceError, org::decode};

/// The answer of `GET /apps/oauth/credentials/{appId}` ("App OAuth Credentials Collection"):
/// documented as the OAuth consumers of that one app. Read whatever its shape: an object with
/// `consumers`, or a bare list; entries without an `id` are passed over.
#[derive(Deserialize)]
#[serde(untagged)]
enum AppCredentials {
    Listed {
        #[serde(default)]
        consumers: Vec<Consumer>,
    },
    Bare(Vec<Consumer>),
}

#[derive(Deserialize)]
struct Consumer {
    #[serde(default)]
    id: Option<String>,
}

impl AppCredentials {
    /// The app's one consumer. Every consumer listed belongs to the app asked about, so with
    /// one there is no choice to make; with several, picking one by position could hand out
    /// another consumer's credentials, so it is an error that says so.
    fn only_consumer(self, app_id: &str) -> Result<String, SalesforceError> {
        let (Self::Listed { consumers } | Self::Bare(consumers)) = self;
        let mut ids: Vec<String> = consumers.into_iter().filter_map(|c| c.id).collect();
        ids.dedup();
        match ids.len() {
            0 => Err(SalesforceError::NotFound {
                message: format!("the app {app_id} has no OAuth consumer yet"),
            }),
            1 => Ok(ids.remove(0)),
            n => Err(SalesforceError::Rejected {
                status: 200,
                code: "AMBIGUOUS_OAUTH_CONSUMER".into(),
                message: format!(
                    "the app {app_id} has {n} OAuth consumers; connectord expects exactly one"
                ),
                fields: Vec::new(),
            }),
        }
    }
}

/// `key` and `secret` of one consumer. No `Debug`: it holds the secret in plain text.
#[derive(Deserialize)]
struct ConsumerCredentials {
    key: String,
    #[serde(default)]
    secret: Option<String>,
}

impl Org {
    /// The consumer key and secret of the app with record id `app_id`.
    pub async fn app_credentials(
        &self,
        app_id: &str,
    ) -> Result<(String, SecretString), SalesforceError> {
        let app_id = id_segment(app_id)?;
        let list_path = self.data_path(&format!("apps/oauth/credentials/{app_id}"));
        let app: AppCredentials = self
            .call_json(Method::GET, &list_path, &[], |r| r)
            .await
            .map_err(secret_refused)?;
        let consumer = app.only_consumer(app_id)?;
        let consumer_id = id_segment(&consumer)?;
        let path = format!("{list_path}/{consumer_id}");
        let credentials: ConsumerCredentials = self
            .call_json(Method::GET, &path, &[("part", "keyandsecret")], |r| r)
            .await
            .map_err(secret_refused)?;
        let secret = credentials
            .secret
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SalesforceError::ConsumerSecretAccessOff {
                message: "the answer held the key but no secret".into(),
            })?;
        Ok((credentials.key, SecretString::from(secret)))
    }

    /// Proves the app works as the product will use it: mints a client-credentials token with
    /// the key and secret, then makes one read (`probe_soql`) with that token.
    pub async fn verify_client_credentials(
        &self,
        consumer_key: &str,
        consumer_secret: &SecretString,
        probe_soql: &str,
    ) -> Result<(), SalesforceError> {
        let probes = [probe_soql.to_owned()];
        self.prove_reads(consumer_key, consumer_secret, &probes)
            .await
    }

    /// Mints a client-credentials token with the key and secret, then runs every query of
    /// `probes` with it: one GET for one query, else Composite calls of up to
    /// [`PROBES_PER_CALL`] query subrequests each (Salesforce's limit on query subrequests in
    /// one Composite call). The first query that fails is the error (a field the run-as user
    /// cannot read is `INVALID_FIELD`, i.e. [`SalesforceError::UnknownField`]).
    pub async fn prove_reads(
        &self,
        consumer_key: &str,
        consumer_secret: &SecretString,
        probes: &[String],
    ) -> Result<(), SalesforceError> {
        let instance = self.instance_url();
        let token = self
            .patient_app_token(&instance, consumer_key, consumer_secret)
            .await?;
        let base = token.instance_url.clone().unwrap_or(instance);
        let base = self.sf().instance_policy().check(&base)?;
        let bearer = token.token;
        if let [probe] = probes {
            let mut url = self.join(&base, "query")?;
            url.query_pairs_mut().append_pair("q", probe);
            let answer = self.send_as(&bearer, Method::GET, &url, None).await?;
            return decode::<serde_json::Value>(&answer)
                .map(|_| ())
                .map_err(not_readable);
        }
        let url = self.join(&base, "composite")?;
        for chunk in probes.chunks(PROBES_PER_CALL) {
            let requests: Vec<serde_json::Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
                    serde_json::json!({
                        "method": "GET",
                        "url": self.data_path(&format!("query?q={q}")),
                        "referenceId": format!("probe{i}"),
                    })
                })
                .collect();
            let body = serde_json::json!({ "allOrNone": false, "compositeRequest": requests });
            let answer = self
                .send_as(&bearer, Method::POST, &url, Some(&body))
                .await?;
            let answer: ProbeAnswer = decode(&answer)?;
            if let Some(error) = answer.composite_response.iter().find_map(|r| r.error()) {
                return Err(not_readable(error));
            }
        }
        Ok(())
    }

    fn join(&self, base: &url::Url, rest: &str) -> Result<url::Url, SalesforceError> {
        base.join(&self.data_path(rest))
            .map_err(|e| SalesforceError::Setup(e.to_string()))
    }

    /// One request authorised with an app's token (not the admin's).
    async fn send_as(
        &self,
        bearer: &SecretString,
        method: Method,
        url: &url::Url,
        body: Option<&serde_json::Value>,
    ) -> Result<super::http::Answer, SalesforceError> {
        self.sf()
            .http()
            .send(method.clone(), url, |client| {
                let request = client
                    .request(method.clone(), url.clone())
                    .bearer_auth(bearer.expose_secret())
                    .header(reqwest::header::ACCEPT, "application/json");
                match body {
                    Some(body) => request.json(body),
                    None => request,
                }
            })
            .await
            .map_err(Into::into)
    }
}

/// A probe's `INVALID_FIELD` ("No such column 'Email' on entity 'Contact'"): the field was
/// granted (unknown names fail the grant before), so the run-as user cannot read it.
fn not_readable(error: SalesforceError) -> SalesforceError {
    let SalesforceError::UnknownField { field, message } = error else {
        return error;
    };
    let named = message
        .split_once("No such column '")
        .and_then(|(_, rest)| rest.split_once("' on entity '"))
        .and_then(|(column, rest)| Some((column, rest.split_once('\'')?.0)))
        .map(|(column, object)| format!("{object}.{column}"));
    let message = message
        .lines()
        .rfind(|l| l.contains("No such column"))
        .map_or_else(|| message.clone(), str::to_owned);
    SalesforceError::FieldNotReadable {
        field: named.unwrap_or(field),
        message,
    }
}

/// Query subrequests Salesforce takes in one Composite call.
pub const PROBES_PER_CALL: usize = 5;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProbeAnswer {
    composite_response: Vec<super::SubResponse>,
}

impl Org {
    /// A client-credentials token for an app, asked for again with doubling pauses while the
    /// token endpoint refuses it (`AppTokenRefused`), until `salesforce.app_token_wait` is spent.
    async fn patient_app_token(
        &self,
        instance: &url::Url,
        consumer_key: &str,
        consumer_secret: &SecretString,
    ) -> Result<super::AccessToken, SalesforceError> {
        let (wait, first_pause) = self.sf().app_token_patience();
        let deadline = tokio::time::Instant::now() + wait;
        let mut pause = first_pause.max(std::time::Duration::from_millis(1));
        loop {
            let result = self
                .sf()
                .client_credentials_token(instance, consumer_key, consumer_secret)
                .await;
            match result {
                Err(SalesforceError::AppTokenRefused { description })
                    if tokio::time::Instant::now() + pause < deadline =>
                {
                    tracing::info!(
                        description = %description,
                        pause_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                        "the app's token was refused; asking again (a new app takes a while)"
                    );
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(30));
                }
                other => return other,
            }
        }
    }
}

/// The credentials resource's refusal to show the secret: access off in the org, or the admin
/// without the permissions to view it. Salesforce does not document the exact error; a 403, a
/// "not enabled" code or message, or `INSUFFICIENT_ACCESS` all mean it.
fn secret_refused(error: SalesforceError) -> SalesforceError {
    match error {
        SalesforceError::Rejected {
            status,
            code,
            message,
            ..
        } if status == 403
            || matches!(
                code.as_str(),
                "FUNCTIONALITY_NOT_ENABLED" | "FEATURE_NOT_ENABLED" | "INSUFFICIENT_ACCESS"
            )
            || message.to_ascii_lowercase().contains("not enabled")
            || message
                .to_ascii_lowercase()
                .contains("not currently enabled") =>
        {
            SalesforceError::ConsumerSecretAccessOff {
                message: format!("{code}: {message}"),
            }
        }
        other => other,
    }
}

fn id_segment(id: &str) -> Result<&str, SalesforceError> {
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(SalesforceError::Rejected {
            status: 0,
            code: "INVALID_ARGUMENT".into(),
            message: format!("{id:?} is not a Salesforce id"),
            fields: Vec::new(),
        })
    }
}
