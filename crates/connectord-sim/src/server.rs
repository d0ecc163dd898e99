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
use super::faults::{FaultState, Injected};
use super::handle::OrgHandle;
use super::inspect;
use super::listener::{ConnInfo, KillableListener};
use super::org::{Org, World};
use super::{oauth, rest, seed};

#[derive(Clone)]
pub(super) struct OrgApp {
    pub(super) org: Arc<Org>,
    pub(super) world: Arc<World>,
}

pub(super) struct Served {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

pub(super) async fn stop(served: Served) {
    let _ = served.shutdown.send(());
    let mut task = served.task;
    if tokio::time::timeout(Duration::from_secs(2), &mut task)
        .await
        .is_err()
    {
        task.abort();
    }
}

pub(super) async fn serve(
    router: Router,
    addr: SocketAddr,
) -> anyhow::Result<(SocketAddr, Served)> {
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
    if request.uri().path().starts_with("/services/data/v") && faults.take_concurrent_refusal() {
        let e = SfError::concurrent_limit_exceeded();
        return (e.status, axum::Json(e.body())).into_response();
    }
    if faults.read_only()
        && request.method() != Method::POST
        && super::readonly::is_write(request.method(), request.uri().path(), b"")
    {
        return super::readonly::refuse(faults);
    }
    if request.method() == Method::POST {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        if faults.read_only() && super::readonly::is_write(&parts.method, parts.uri.path(), &bytes)
        {
            return super::readonly::refuse(faults);
        }
        let lose = faults.take_lost_answer(&bytes);
        let request = Request::from_parts(parts, axum::body::Body::from(bytes));
        if lose {
            let applied = next.run(request).await;
            conn.kill();
            drop(applied);
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        return injected(faults, conn, request, next).await;
    }
    injected(faults, conn, request, next).await
}

async fn injected(faults: &FaultState, conn: ConnInfo, request: Request, next: Next) -> Response {
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

pub(super) fn org_router(app: OrgApp) -> Router {
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

pub(super) fn local_url(addr: SocketAddr) -> anyhow::Result<Url> {
    Ok(Url::parse(&format!("http://{addr}"))?)
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
            orgs.push(OrgHandle::new(org, world.clone(), served));
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
            let served = org.take_served();
            if let Some(served) = served {
                stop(served).await;
            }
        }
        stop(self.login).await;
    }
}
