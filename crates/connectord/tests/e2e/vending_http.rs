//! Token vending for agents over the daemon's HTTP listener, and the low finding: the
//! `instance_url` a token is printed with passes the host policy.

use connectord::vend::agents;
use connectord_sim::SimulatorConfig;
use secrecy::ExposeSecret as _;
use sqlx::PgPool;
use uuid::Uuid;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

use crate::commands::connectord;
use crate::support::World;
use crate::vending::{minted, ready, vendor};

/// The daemon's HTTP endpoints for this world, on a free port; returns their base URL.
async fn serve(world: &World) -> String {
    let ops = connectord::http::Ops {
        pool: world.pool.clone(),
        salesforce: world.reconciler.salesforce.clone(),
        health: connectord::daemon::Health::default(),
        vendor: vendor(world, &[]),
        org_label: false,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let done = tokio_util::sync::CancellationToken::new();
    tokio::spawn(connectord::http::serve(listener, ops, done));
    base
}

async fn post(base: &str, id: Uuid, bearer: Option<&str>) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().post(format!("{base}/v1/connections/{id}/token"));
    if let Some(credential) = bearer {
        request = request.bearer_auth(credential);
    }
    let response = request.send().await.expect("the endpoint answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[sqlx::test]
async fn an_agent_credential_gets_tokens_for_its_own_tenant_only_and_not_once_revoked(
    pool: PgPool,
) {
    let world = World::start(pool, SimulatorConfig::with_orgs(2)).await;
    let (org1, org2) = (world.org("org1"), world.org("org2"));
    let acme = ready(&world, "acme", &org1).await;
    let globex = ready(&world, "globex", &org2).await;
    let base = serve(&world).await;
    let (agent, credential) = agents::create(&world.pool, "acme", "acme's agent")
        .await
        .unwrap();
    let credential = credential.expose_secret();
    let globex_minted = minted(&org2);

    let (status, body) = post(&base, acme, Some(credential)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["expires_at"].is_string(), "{body}");

    let (status, theirs) = post(&base, globex, Some(credential)).await;
    assert_eq!(status, 403);
    assert_eq!(theirs["error_code"], "token_not_available");
    let (status, unknown) = post(&base, Uuid::new_v4(), Some(credential)).await;
    assert_eq!(status, 403);
    assert_eq!(unknown["error_code"], theirs["error_code"]);
    assert_eq!(minted(&org2), globex_minted, "globex's org was never asked");

    assert_eq!(post(&base, acme, None).await.0, 401);
    let forged = format!("{}x", &credential[..credential.len() - 1]);
    assert_eq!(post(&base, acme, Some(&forged)).await.0, 401);
    assert!(agents::revoke(&world.pool, agent).await.unwrap());
    let (status, body) = post(&base, acme, Some(credential)).await;
    assert_eq!(status, 401, "revoked from the next request on: {body}");
}

#[sqlx::test]
async fn agent_credentials_rest_only_as_digests_that_the_product_role_cannot_read(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let (_, credential) = agents::create(&world.pool, "acme", "").await.unwrap();
    let credential = credential.expose_secret();

    let rows: Vec<String> =
        sqlx::query_scalar("SELECT row_to_json(a)::text FROM agent_credentials a")
            .fetch_all(&world.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    let random_part = credential.trim_start_matches(agents::PREFIX);
    assert!(!rows[0].contains(random_part), "only a digest is stored");

    for sql in [
        "SELECT secret_digest FROM agent_credentials",
        "INSERT INTO agent_credentials (tenant_id, secret_digest) VALUES ('acme', sha256('x'))",
        "UPDATE agent_credentials SET revoked_at = NULL",
    ] {
        let mut tx = world.pool.begin().await.unwrap();
        sqlx::query("SET LOCAL ROLE connectord_product")
            .execute(&mut *tx)
            .await
            .unwrap();
        let error = sqlx::query(sql).execute(&mut *tx).await.expect_err(sql);
        assert!(
            error.to_string().contains("permission denied"),
            "{sql}: {error}"
        );
    }
}

#[sqlx::test]
async fn token_refuses_to_print_an_instance_url_the_host_policy_refuses(pool: PgPool) {
    let world = World::start(pool, SimulatorConfig::with_orgs(1)).await;
    let org = world.org("org1");
    let id = ready(&world, "acme", &org).await;
    // The org's token endpoint names a host outside salesforce.allowed_domains: the agent would
    // send the token there.
    let server = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .and(matchers::path("/services/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "00D000000000001!not-for-attackers",
            "token_type": "Bearer",
            "instance_url": "https://attacker.example.net",
            "issued_at": "1700000000000",
        })))
        .expect(1)
        .mount(&server)
        .await;
    sqlx::query("UPDATE connection_status SET instance_url = $2 WHERE connection_id = $1")
        .bind(id)
        .bind(server.uri())
        .execute(&world.pool)
        .await
        .unwrap();

    let out = connectord(&world, &["token", &id.to_string(), "--tenant", "acme"]).await;

    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing printed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("attacker.example.net"), "{stderr}");
    assert!(
        !stderr.contains("not-for-attackers"),
        "the token is not in the error"
    );
}
