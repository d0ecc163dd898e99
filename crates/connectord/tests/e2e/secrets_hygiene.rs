//! Full lifecycles with every log line captured at TRACE: none of the secrets used appears in
//! the logs, the audit trail, the status, or a `Debug` output.

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use connectord::reconcile::{Outcome, record};
use connectord::secrets::Purpose;
use connectord::store::{self, Phase};
use connectord_sim::SimulatorConfig;
use secrecy::ExposeSecret as _;
use sqlx::PgPool;
use tracing_subscriber::fmt::{MakeWriter, format::FmtSpan};
use uuid::Uuid;

use crate::support::World;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

async fn ready(world: &World, id: Uuid, secrets: &mut Vec<String>) {
    let outcome = world.converge(id).await;
    assert_eq!(
        outcome,
        Outcome::Settled(Phase::Ready),
        "{}",
        world.trail(id).await
    );
    let (_, sealed) = record::active_credentials(&world.pool, id)
        .await
        .unwrap()
        .expect("credentials of a ready connection");
    let secret = world
        .reconciler
        .sealer
        .open(id, Purpose::ConsumerSecret, &sealed)
        .unwrap();
    secrets.push(secret.expose_secret().to_owned());
}

#[sqlx::test(migrations = "./migrations")]
async fn no_secret_appears_anywhere_across_full_lifecycles_at_trace(pool: PgPool) {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(buffer.clone())
        .finish();
    // The sqlx test runtime runs on this thread, the simulator included.
    let _guard = tracing::subscriber::set_default(subscriber);

    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    let mut secrets = vec![
        world.simulator.client_secret(),
        base64::engine::general_purpose::STANDARD.encode(world.key),
    ];
    let mut prefixes = Vec::new();
    let mut ids = Vec::new();
    for (tenant, name) in [("acme", "org1"), ("globex", "org2")] {
        let org = world.org(name);
        secrets.push(org.admin_refresh_token());
        // Access tokens are the org id's first 15 characters, `!`, then random text.
        prefixes.push(format!("{}!", &org.org_id()[..15]));
        let id = world
            .add(tenant, &org, &["Account.Name", "Contact.Email"], true)
            .await;
        ready(&world, id, &mut secrets).await;
        store::set_fields(&world.pool, id, &["Contact.Email".to_owned()])
            .await
            .unwrap();
        ready(&world, id, &mut secrets).await;
        store::request_reconnect(&world.pool, id).await.unwrap();
        ready(&world, id, &mut secrets).await;
        org.faults().revoke_sessions();
        ready(&world, id, &mut secrets).await;
        store::set_enabled(&world.pool, id, false).await.unwrap();
        assert_eq!(world.converge(id).await, Outcome::Settled(Phase::Disabled));
        ids.push(id);
    }

    let logs = buffer.text();
    // The capture works: the passes and the HTTP calls are in it.
    assert!(
        logs.contains("pass settled"),
        "{}",
        &logs[..logs.len().min(2000)]
    );
    assert!(logs.lines().count() > 100, "{} lines", logs.lines().count());

    let mut elsewhere = String::new();
    for id in &ids {
        elsewhere.push_str(&world.trail(*id).await);
        elsewhere.push_str(&format!("{:?}", world.status(*id).await));
    }
    elsewhere.push_str(&format!("{:?}", world.reconciler.sealer));
    elsewhere.push_str(&format!("{:?}", world.reconciler.salesforce));
    for secret in &secrets {
        assert!(secret.len() >= 16, "a real secret: {}", secret.len());
        assert!(
            !logs.contains(secret.as_str()),
            "a secret of {} characters is in the logs",
            secret.len()
        );
        assert!(
            !elsewhere.contains(secret.as_str()),
            "a secret is in the trail"
        );
    }
    for prefix in &prefixes {
        assert!(
            !logs.contains(prefix.as_str()),
            "an access token is in the logs"
        );
        assert!(
            !elsewhere.contains(prefix.as_str()),
            "an access token is in the trail"
        );
    }
}
