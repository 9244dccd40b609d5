//! Environment and arguments: the guest sees none of the host's.

use super::*;

#[tokio::test]
async fn host_env_and_args_are_hidden_unless_granted() {
    let env = setup(TrustLevel::ReadOnly, &[]).await;
    let r = ok_json(&env.call("attacker", json!({"attack": "env"})).await);
    assert_eq!(r["env"], json!([]), "{r}");
    let a = ok_json(&env.call("attacker", json!({"attack": "args"})).await);
    assert_eq!(a["args"], json!(["attacker"]));
    env.grant("attacker", &[Grant::env("PATH").unwrap()])
        .unwrap();
    let r = ok_json(&env.call("attacker", json!({"attack": "env"})).await);
    assert_eq!(r["env"], json!([["PATH", std::env::var("PATH").unwrap()]]));
}
