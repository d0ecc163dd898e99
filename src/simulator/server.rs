//! The running simulator: one listener per org (its own instance URL) and one playing
//! `login.salesforce.com`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use super::config::SimulatorConfig;
use super::errors::SfError;
use super::faults::{FaultState, Faults, Injected};
use super::inspect::{self, ApiCalls, OrgSnapshot};
use super::listener::{ConnInfo, KillableListener};
use super::org::{Org, World};
use super::{dml, oauth, rest, seed};

#[derive(Clone)]
struct OrgApp {
    org: Arc<Org>,
    world: Arc<World>,
}

struct Served {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

async fn stop(served: Served) {
    let _ = served.shutdown.send(());
    let mut task = served.task;
    if tokio::time::timeout(Duration::from_secs(2), &mut task)
        .await
        .is_err()
    {
        task.abort();
    }
}

async fn serve(router: Router, addr: SocketAddr) -> anyhow::Result<(SocketAddr, Served)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let service = router.into_make_service_with_connect_info::<ConnInfo>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(KillableListener(listener), service)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok((local, Served { shutdown: tx, task }))
}

async fn faults_layer(
    State(app): State<OrgApp>,
    ConnectInfo(conn): ConnectInfo<ConnInfo>,
    request: Request,
    next: Next,
) -> Response {
    let faults: &FaultState = &app.org.faults;
    let latency = faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match faults.draw() {
        Injected::None => next.run(request).await,
        Injected::Drop => {
            conn.kill();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Injected::Error500 => {
            let e = SfError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)",
            );
            (e.status, axum::Json(e.body())).into_response()
        }
        Injected::Error503 => {
            let e = SfError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVER_UNAVAILABLE",
                "Server temporarily unavailable, please try again later.",
            );
            (e.status, axum::Json(e.body())).into_response()
        }
    }
}

async fn org_token(State(app): State<OrgApp>, body: Bytes) -> Response {
    oauth::org_token(&app.org, &app.world, &body)
}

async fn org_rest(
    State(app): State<OrgApp>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if uri.path() == "/services/data" || uri.path().starts_with("/services/data/") {
        return rest::handle(
            &app.org,
            &app.world,
            &method,
            uri.path(),
            uri.query(),
            &headers,
            &body,
        );
    }
    (
        StatusCode::NOT_FOUND,
        axum::Json(SfError::not_found().body()),
    )
        .into_response()
}

async fn state_json(State(app): State<OrgApp>) -> Response {
    axum::Json(inspect::snapshot(&app.org.lock())).into_response()
}

async fn calls_json(State(app): State<OrgApp>) -> Response {
    axum::Json(inspect::calls(&app.org.lock())).into_response()
}

fn org_router(app: OrgApp) -> Router {
    let faulty = Router::new()
        .route("/services/oauth2/token", post(org_token))
        .fallback(org_rest)
        .layer(middleware::from_fn_with_state(app.clone(), faults_layer));
    Router::new()
        .route("/_simulator/state", get(state_json))
        .route("/_simulator/calls", get(calls_json))
        .merge(faulty)
        .with_state(app)
}

async fn login_token(State(world): State<Arc<World>>, body: Bytes) -> Response {
    oauth::login_token(&world, &body)
}

async fn login_other() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(
            json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]),
        ),
    )
        .into_response()
}

fn local_url(addr: SocketAddr) -> anyhow::Result<Url> {
    Ok(Url::parse(&format!("http://{addr}"))?)
}

/// One simulated org, as tests drive it. Cheap to clone.
#[derive(Clone)]
pub struct OrgHandle {
    org: Arc<Org>,
    world: Arc<World>,
    served: Arc<Mutex<Option<Served>>>,
}

impl OrgHandle {
    pub fn name(&self) -> String {
        self.org.lock().name.clone()
    }

    /// `http://127.0.0.1:PORT/` (no path, like a My Domain URL).
    pub fn instance_url(&self) -> Url {
        self.org.lock().instance_url.clone()
    }

    /// The seeded admin refresh token, issued to the product's client.
    pub fn admin_refresh_token(&self) -> String {
        self.org.lock().admin_refresh_token.clone()
    }

    pub fn org_id(&self) -> String {
        self.org.lock().org_id.clone()
    }

    pub fn snapshot(&self) -> OrgSnapshot {
        inspect::snapshot(&self.org.lock())
    }

    pub fn api_calls(&self) -> ApiCalls {
        inspect::calls(&self.org.lock())
    }

    /// Zeroes the call counters and the API usage.
    pub fn reset_api_calls(&self) {
        let mut state = self.org.lock();
        state.calls.clear();
        state.calls_total = 0;
        state.api_used = 0;
    }

    pub fn faults(&self) -> Faults {
        Faults {
            org: self.org.clone(),
        }
    }

    /// A My Domain rename: the org moves to a new listener (new instance URL) and the old one
    /// stops answering; the login endpoint names the new URL from then on.
    pub async fn rename(&self, new_name: &str) -> anyhow::Result<Url> {
        let app = OrgApp {
            org: self.org.clone(),
            world: self.world.clone(),
        };
        let (addr, served) = serve(org_router(app), SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = local_url(addr)?;
        {
            let mut state = self.org.lock();
            state.name = new_name.to_string();
            state.instance_url = url.clone();
        }
        let old = self
            .served
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(served);
        if let Some(old) = old {
            stop(old).await;
        }
        Ok(url)
    }

    /// Deletes a record as an org admin would in Setup (drift). Users are deactivated instead.
    pub fn admin_delete(&self, sobject: &str, id: &str) -> anyhow::Result<()> {
        let mut state = self.org.lock();
        let actor = super::access::Actor {
            user_id: state.admin_user_id.clone(),
            admin: true,
        };
        if sobject == "User" {
            return dml::update(
                &mut state,
                &self.world,
                &actor,
                sobject,
                id,
                &json!({"IsActive": false}),
            )
            .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message));
        }
        if sobject == "ExternalClientApplication" {
            let name = state
                .data
                .ecas
                .values()
                .find(|b| b.id == super::ids::to_18(id))
                .map(|b| b.developer_name.clone());
            let name = name.ok_or_else(|| anyhow::anyhow!("no such app {id}"))?;
            state.data.ecas.remove(&name);
            super::metadata::deploy::sync_records(&mut state);
            return Ok(());
        }
        dml::delete(&mut state, &actor, sobject, id)
            .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))
    }

    /// Updates a record as an org admin would (drift), with the same rules as the API.
    pub fn admin_update(
        &self,
        sobject: &str,
        id: &str,
        fields: serde_json::Value,
    ) -> anyhow::Result<()> {
        let mut state = self.org.lock();
        let actor = super::access::Actor {
            user_id: state.admin_user_id.clone(),
            admin: true,
        };
        dml::update(&mut state, &self.world, &actor, sobject, id, &fields)
            .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))
    }

    /// Creates a record as an org admin would; answers its id.
    pub fn admin_create(&self, sobject: &str, fields: serde_json::Value) -> anyhow::Result<String> {
        let mut state = self.org.lock();
        let actor = super::access::Actor {
            user_id: state.admin_user_id.clone(),
            admin: true,
        };
        dml::create(&mut state, &self.world, &actor, sobject, &fields)
            .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))
    }

    /// Changes the daily API allowance.
    pub fn set_daily_api_limit(&self, limit: u64) {
        self.org.lock().config.daily_api_limit = limit;
    }

    /// Changes the query page size (to exercise `nextRecordsUrl`).
    pub fn set_query_page_size(&self, size: usize) {
        self.org.lock().config.query_page_size = size.max(1);
    }

    /// Changes how many status polls a new deploy takes.
    pub fn set_deploy_polls_until_done(&self, polls: u32) {
        self.org.lock().config.deploy_polls_until_done = polls.max(1);
    }

    /// Changes how long new access tokens live.
    pub fn set_access_token_ttl(&self, ttl: Duration) {
        self.org.lock().config.access_token_ttl = ttl;
    }
}

/// The running simulator.
pub struct Simulator {
    world: Arc<World>,
    login_url: Url,
    login: Served,
    orgs: Vec<OrgHandle>,
}

impl Simulator {
    /// Starts the orgs on free loopback ports and the login endpoint on a free port.
    pub async fn start(config: SimulatorConfig) -> anyhow::Result<Simulator> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// As [`Simulator::start`], with the login endpoint on `login_addr`.
    pub async fn start_on(
        config: SimulatorConfig,
        login_addr: SocketAddr,
    ) -> anyhow::Result<Simulator> {
        let world = Arc::new(World {
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            usernames: Mutex::new(Default::default()),
            orgs: RwLock::new(Vec::new()),
            login_url: RwLock::new(None),
        });
        let login_router = Router::new()
            .route("/services/oauth2/token", post(login_token))
            .fallback(login_other)
            .with_state(world.clone());
        let (login_addr, login) = serve(login_router, login_addr).await?;
        let login_url = local_url(login_addr)?;
        if let Ok(mut slot) = world.login_url.write() {
            *slot = Some(login_url.clone());
        }
        let mut orgs = Vec::new();
        for (index, org_config) in config.orgs.iter().enumerate() {
            let listener =
                tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            let addr = listener.local_addr()?;
            drop(listener);
            let code = u32::try_from(index + 1).unwrap_or(u32::MAX);
            let state = seed::seed(org_config, code, local_url(addr)?);
            let org = Arc::new(Org {
                state: Mutex::new(state),
                faults: FaultState::default(),
            });
            {
                let state = org.lock();
                let mut names = world.usernames();
                for user in state.data.table("User") {
                    let username = super::org::str_field(user, "Username")
                        .unwrap_or_default()
                        .to_lowercase();
                    if names
                        .insert(username.clone(), state.org_id.clone())
                        .is_some()
                    {
                        anyhow::bail!(
                            "two orgs would hold the username {username}: give the orgs distinct names"
                        );
                    }
                }
            }
            let app = OrgApp {
                org: org.clone(),
                world: world.clone(),
            };
            let (bound, served) = serve(org_router(app), addr).await?;
            org.lock().instance_url = local_url(bound)?;
            if let Ok(mut all) = world.orgs.write() {
                all.push(org.clone());
            }
            orgs.push(OrgHandle {
                org,
                world: world.clone(),
                served: Arc::new(Mutex::new(Some(served))),
            });
        }
        Ok(Simulator {
            world,
            login_url,
            login,
            orgs,
        })
    }

    /// The URL playing `https://login.salesforce.com`.
    pub fn login_url(&self) -> Url {
        self.login_url.clone()
    }

    pub fn client_id(&self) -> String {
        self.world.client_id.clone()
    }

    pub fn client_secret(&self) -> String {
        self.world.client_secret.clone()
    }

    pub fn org(&self, name: &str) -> Option<OrgHandle> {
        self.orgs.iter().find(|o| o.name() == name).cloned()
    }

    pub fn orgs(&self) -> Vec<OrgHandle> {
        self.orgs.clone()
    }

    /// Stops every listener.
    pub async fn shutdown(self) {
        for org in self.orgs {
            let served = org.served.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(served) = served {
                stop(served).await;
            }
        }
        stop(self.login).await;
    }
}
