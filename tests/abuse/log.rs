//! Logging: a flood is capped and counted.

use super::*;

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
