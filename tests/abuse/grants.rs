//! Grants and trust ceilings: nothing without a grant, nothing above the level.

use super::*;

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
async fn grants_above_the_ceiling_are_refused_with_the_level_that_allows_them() {
    let env = setup(TrustLevel::ReadOnly, &[]).await;
    let err = env
        .grant("attacker", &[Grant::Exec("sh".into())])
        .unwrap_err()
        .to_string();
    assert!(err.contains("auto-merge"), "{err}");
    let err = env
        .grant(
            "attacker",
            &[Grant::Net("https://example.com".parse().unwrap())],
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("draft"), "{err}");
}
