//! Models: only a granted model is called.

use super::*;

#[tokio::test]
async fn a_model_that_was_not_granted_is_refused() {
    let env = setup(TrustLevel::AutoMerge, &[]).await;
    env.grant("attacker", &[Grant::model("small-model").unwrap()])
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
