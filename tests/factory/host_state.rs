//! What the factory keeps for itself (its database, its registry) is out
//! of a plugin's reach, and the operator's changes made by another process
//! reach a running host at the next call. The sandbox's own abuse tests
//! (`cargo test -p factory-sandbox`) cover the capabilities; these cover
//! the factory's embedding of it.

use crate::common::{Env, guest};
use factory_host::TrustLevel;
use factory_host::grants::Grant;
use factory_host::registry::InstallRequest;
use serde_json::{Value, json};

async fn attacker(env: &Env, trust: TrustLevel) {
    env.host
        .install(InstallRequest {
            file: guest("factory-test-attacker"),
            name: Some("attacker".into()),
            trust,
            force: false,
            source: None,
            requested: String::new(),
            signer: String::new(),
        })
        .await
        .unwrap();
}

fn ok_json(inv: &factory_host::Invocation) -> Value {
    match &inv.outcome {
        factory_host::Outcome::Ok(s) => serde_json::from_str(s).unwrap(),
        other => panic!("expected a result, got {other:?}"),
    }
}

#[tokio::test]
async fn the_factory_database_is_out_of_reach() {
    // A plugin cannot raise its own trust or grants: the registry is not
    // visible to it, even with a write grant next to it.
    let env = Env::new();
    attacker(&env, TrustLevel::Draft).await;
    let home = env.host.home().db_path().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(home.join("beside")).unwrap();
    env.host
        .registry()
        .grant("attacker", &[Grant::Write(home.join("beside"))])
        .unwrap();
    let db = env.host.home().db_path();
    let r = ok_json(
        &env.call("attacker", json!({"attack": "write", "target": db}))
            .await,
    );
    assert_eq!(r["ok"], false, "{r}");
    let rec = env.host.describe("attacker").unwrap();
    assert_eq!(rec.trust, TrustLevel::Draft);
    assert!(env.host.registry().grants("attacker").unwrap().len() == 1);
    let r = env.call("attacker", json!({"attack": "args"})).await;
    assert_eq!(ok_json(&r)["ok"], true);
}

#[tokio::test]
async fn a_revoke_by_another_process_applies_to_the_next_call() {
    let env = Env::new();
    attacker(&env, TrustLevel::ReadOnly).await;
    env.host
        .registry()
        .grant("attacker", &[Grant::env("PATH").unwrap()])
        .unwrap();
    let r = ok_json(&env.call("attacker", json!({"attack": "env"})).await);
    assert_eq!(r["env"][0][0], "PATH", "{r}");
    // Another host on the same home (as `factory plugin revoke` would be).
    let other = factory_host::Host::open(
        factory_host::Home::at(env.dir.path().join("home")).unwrap(),
        factory_host::builtins::host_options(Default::default()),
    )
    .unwrap();
    other
        .registry()
        .revoke("attacker", &[Grant::env("PATH").unwrap()])
        .unwrap();
    // A running host looks for outside changes at most once per REVALIDATE.
    tokio::time::sleep(factory_host::registry::REVALIDATE * 3).await;
    let r = ok_json(&env.call("attacker", json!({"attack": "env"})).await);
    assert_eq!(r["env"], json!([]), "{r}");
}

#[tokio::test]
async fn the_key_value_capability_keeps_its_data_in_the_factory_database() {
    let env = Env::new();
    attacker(&env, TrustLevel::ReadOnly).await;
    let kv = ok_json(&env.call("attacker", json!({"attack": "kv"})).await);
    assert_eq!(kv["ok"], true, "{kv}");
    assert_eq!(kv["read"], json!([118]));
    // It is in the database, where another process would find it.
    let conn = factory_host::db::open(&env.host.home().db_path()).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM kv WHERE plugin='attacker'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(rows >= 1, "nothing in the kv table");
}
