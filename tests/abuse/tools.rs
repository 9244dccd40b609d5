//! Tools calling tools: a callee holds only what its caller holds, nesting ends, revocations apply to the next call.

use super::*;

#[tokio::test]
async fn a_called_tool_gets_only_what_its_caller_holds() {
    let (env, ro, _, secret) = fs_env().await;
    // The factory's built-in read-file, installed as the factory installs it.
    env.install("factory-tool-read-file", "read-file", TrustLevel::ReadOnly)
        .await;
    env.grant("attacker", &[Grant::tool("read-file").unwrap()])
        .unwrap();
    // read-file itself may read the secret dir; through the attacker it may not.
    env.grant(
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
async fn tool_calls_cannot_nest_without_end() {
    let env = setup(TrustLevel::AutoMerge, &[]).await;
    env.grant("attacker", &[Grant::tool("attacker").unwrap()])
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
