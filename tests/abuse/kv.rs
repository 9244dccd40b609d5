//! The key-value store: private to each plugin, within its limits.

use super::*;

#[tokio::test]
async fn kv_works_at_read_only_and_is_private() {
    let env = setup(TrustLevel::ReadOnly, &[]).await;
    let kv = ok_json(&env.call("attacker", json!({"attack": "kv"})).await);
    assert_eq!(kv["ok"], true, "{kv}");
    assert_eq!(kv["read"], json!([118]));
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
