//! The factory host interfaces: kv, tools, model, log; trust ceilings.

use super::*;

#[tokio::test]
async fn host_env_and_args_are_hidden_unless_granted() {
    let env = setup(TrustLevel::ReadOnly, &[]).await;
    let r = ok_json(&env.call("attacker", json!({"attack": "env"})).await);
    assert_eq!(r["env"], json!([]), "{r}");
    let a = ok_json(&env.call("attacker", json!({"attack": "args"})).await);
    assert_eq!(a["args"], json!(["attacker"]));
    env.host
        .registry()
        .grant("attacker", &[Grant::env("PATH").unwrap()])
        .unwrap();
    let r = ok_json(&env.call("attacker", json!({"attack": "env"})).await);
    assert_eq!(r["env"], json!([["PATH", std::env::var("PATH").unwrap()]]));
}

#[tokio::test]
async fn kv_exec_tool_and_model_are_denied_without_grants() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    let kv = ok_json(&env.call("attacker", json!({"attack": "kv"})).await);
    assert_eq!(kv["ok"], false);
    let ex = ok_json(
        &env.call("attacker", json!({"attack": "exec", "target": "sh"}))
            .await,
    );
    assert_eq!(ex["ok"], false);
    let tl = ok_json(
        &env.call("attacker", json!({"attack": "tool", "target": "read-file"}))
            .await,
    );
    assert_eq!(tl["ok"], false);
    let md = ok_json(
        &env.call("attacker", json!({"attack": "model", "target": "gpt-x"}))
            .await,
    );
    assert_eq!(md["ok"], false);
    let d = env.denials("attacker");
    for needle in ["kv denied", "exec denied", "tool denied", "model denied"] {
        assert!(d.iter().any(|m| m.starts_with(needle)), "{needle}: {d:?}");
    }
    assert!(
        d.iter()
            .any(|m| m.contains("factory plugin trust attacker auto-merge")),
        "{d:?}"
    );
}

#[tokio::test]
async fn kv_works_at_read_only_and_is_private() {
    let env = setup(TrustLevel::ReadOnly, &[]).await;
    let kv = ok_json(&env.call("attacker", json!({"attack": "kv"})).await);
    assert_eq!(kv["ok"], true, "{kv}");
    assert_eq!(kv["read"], json!([118]));
}

#[tokio::test]
async fn a_called_tool_gets_only_what_its_caller_holds() {
    let (env, ro, _, secret) = fs_env().await;
    env.host
        .registry()
        .grant("attacker", &[Grant::tool("read-file").unwrap()])
        .unwrap();
    // read-file itself may read the secret dir; through the attacker it may not.
    env.host
        .registry()
        .grant(
            "read-file",
            &[Grant::Read(secret.clone()), Grant::Read(ro.clone())],
        )
        .unwrap();
    let call = |path: std::path::PathBuf| json!({"attack": "tool", "target": "read-file", "input": {"path": path}});
    let r = ok_json(&env.call("attacker", call(secret.join("key"))).await);
    assert_eq!(r["ok"], false, "{r}");
    assert!(!r.to_string().contains("TOP SECRET"), "{r}");
    // Positive control: what both hold is readable through the call.
    let r = ok_json(&env.call("attacker", call(ro.join("file.txt"))).await);
    assert_eq!(r["ok"], true, "{r}");
    assert!(r.to_string().contains("readable"), "{r}");
}

#[tokio::test]
async fn grants_above_the_ceiling_are_refused_with_the_level_that_allows_them() {
    let env = setup(TrustLevel::ReadOnly, &[]).await;
    let err = env
        .host
        .registry()
        .grant("attacker", &[Grant::Exec("sh".into())])
        .unwrap_err()
        .to_string();
    assert!(err.contains("auto-merge"), "{err}");
    let err = env
        .host
        .registry()
        .grant(
            "attacker",
            &[Grant::Net("https://example.com".parse().unwrap())],
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("draft"), "{err}");
}

#[tokio::test]
async fn kv_values_over_the_limit_are_refused() {
    let env = setup(TrustLevel::ReadOnly, &[]).await;
    let r = ok_json(
        &env.call("attacker", json!({"attack": "kv-big", "size": 2 << 20}))
            .await,
    );
    assert_eq!(r["ok"], false, "{r}");
    assert!(
        r["error"].as_str().unwrap().contains("LimitExceeded"),
        "{r}"
    );
    let small = ok_json(
        &env.call("attacker", json!({"attack": "kv-big", "size": 1000}))
            .await,
    );
    assert_eq!(small["ok"], true, "{small}");
}

#[tokio::test]
async fn tool_calls_cannot_nest_without_end() {
    let env = setup(TrustLevel::AutoMerge, &[]).await;
    env.host
        .registry()
        .grant("attacker", &[Grant::tool("attacker").unwrap()])
        .unwrap();
    // attacker -> attacker -> ... eight deep.
    let mut input = json!({"attack": "args"});
    for _ in 0..8 {
        input = json!({"attack": "tool", "target": "attacker", "input": input});
    }
    let r = env.call("attacker", input).await;
    let text = match &r.outcome {
        Outcome::Ok(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    assert!(text.contains("nest at most 4 deep"), "{text}");
    assert!(
        env.events("attacker", "limit")
            .iter()
            .any(|m| m.contains("nest at most")),
    );
    still_serves(&env).await;
}

#[tokio::test]
async fn a_model_that_was_not_granted_is_refused() {
    let env = setup(TrustLevel::AutoMerge, &[]).await;
    env.host
        .registry()
        .grant("attacker", &[Grant::model("small-model").unwrap()])
        .unwrap();
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "model", "target": "big-model"}),
        )
        .await,
    );
    assert_eq!(r["ok"], false);
    assert!(r["error"].as_str().unwrap().contains("Denied"), "{r}");
    assert!(
        env.denials("attacker")
            .iter()
            .any(|m| m.contains("big-model") && m.contains("--model big-model")),
        "{:?}",
        env.denials("attacker")
    );
    // The granted one passes the grant check (no provider is configured in
    // the tests, so it is "not found", not "denied").
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "model", "target": "small-model"}),
        )
        .await,
    );
    assert!(!r["error"].as_str().unwrap().contains("Denied"), "{r}");
}

#[tokio::test]
async fn a_log_flood_is_capped_and_counted() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    set_limit(&env, |l| l.max_output = Some(64 << 10));
    let r = ok_json(
        &env.call("attacker", json!({"attack": "log-flood", "size": 5000}))
            .await,
    );
    assert_eq!(r["ok"], true);
    let lines = env.events("attacker", "log");
    // 64 KiB of 1000-byte lines, plus the one line counting the rest.
    assert!(lines.len() <= 67, "{} lines journaled", lines.len());
    assert!(
        lines
            .iter()
            .any(|m| m.contains("lines dropped past the output cap")),
    );
}

#[tokio::test]
async fn a_revoke_by_another_process_applies_to_the_next_call() {
    let env = setup(TrustLevel::ReadOnly, &[Grant::env("PATH").unwrap()]).await;
    let r = ok_json(&env.call("attacker", json!({"attack": "env"})).await);
    assert_eq!(r["env"][0][0], "PATH", "{r}");
    // Another host on the same home (as `factory plugin revoke` would be).
    let other = factory_host::Host::open(
        factory_host::Home::at(env.dir.path().join("home")).unwrap(),
        Default::default(),
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
