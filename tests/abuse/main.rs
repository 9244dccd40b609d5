//! Abuse tests: a hostile plugin tries each escape; every test asserts the
//! refusal the guest saw, that the host keeps serving, and the journal entry.

mod cancel;
mod env;
mod exec;
mod fs;
mod grants;
mod kv;
mod limits;
mod log;
mod model;
mod net;
mod support;
mod tools;

pub use factory_sandbox::grants::Grant;
pub use factory_sandbox::trust::TrustLevel;
pub use factory_sandbox::{LimitKind, Outcome};
pub use serde_json::{Value, json};
pub use support::Env;

fn ok_json(inv: &factory_sandbox::Invocation) -> Value {
    match &inv.outcome {
        Outcome::Ok(s) => serde_json::from_str(s).unwrap(),
        other => panic!("expected a result, got {other:?}"),
    }
}

/// After an attack, the same host still serves a benign call.
async fn still_serves(env: &Env) {
    let inv = env.call("attacker", json!({"attack": "args"})).await;
    assert_eq!(ok_json(&inv)["ok"], true);
}

/// Override one of the attacker's limits (within its level's ceiling).
fn set_limit(env: &Env, set: impl FnOnce(&mut factory_sandbox::policy::LimitOverrides)) {
    let mut o = factory_sandbox::policy::LimitOverrides::default();
    set(&mut o);
    env.set_limits("attacker", &o).unwrap();
}

async fn setup(trust: TrustLevel, grants: &[Grant]) -> Env {
    let env = Env::new();
    env.install("factory-test-attacker", "attacker", trust)
        .await;
    if !grants.is_empty() {
        env.grant("attacker", grants).unwrap();
    }
    env
}

fn granted_dirs(env: &Env) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let root = std::fs::canonicalize(env.dir.path()).unwrap();
    let ro = root.join("ro");
    let rw = root.join("rw");
    let secret = root.join("secret");
    for d in [&ro, &rw, &secret] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(ro.join("file.txt"), "readable").unwrap();
    std::fs::write(secret.join("key"), "TOP SECRET").unwrap();
    (ro, rw, secret)
}

async fn fs_env() -> (
    Env,
    std::path::PathBuf,
    std::path::PathBuf,
    std::path::PathBuf,
) {
    let env = Env::new();
    let (ro, rw, secret) = granted_dirs(&env);
    env.install("factory-test-attacker", "attacker", TrustLevel::Draft)
        .await;
    env.grant(
        "attacker",
        &[Grant::Read(ro.clone()), Grant::Write(rw.clone())],
    )
    .unwrap();
    (env, ro, rw, secret)
}
