//! Resource limits: deadline, memory, output and result caps, traps.

use super::*;

async fn limit(env: &Env, attack: Value) -> (LimitKind, String) {
    match env.call("attacker", attack).await.outcome {
        Outcome::Limit(k, m) => (k, m),
        other => panic!("expected a sandbox limit, got {other:?}"),
    }
}

#[tokio::test]
async fn cpu_loop_hits_the_deadline() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    set_limit(&env, |l| l.deadline_ms = Some(300));
    assert_eq!(
        limit(&env, json!({"attack": "cpu-loop"})).await.0,
        LimitKind::Deadline
    );
    assert_eq!(env.last_outcome("attacker"), "deadline");
    still_serves(&env).await;
}

#[tokio::test]
async fn sleeping_forever_hits_the_deadline() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    set_limit(&env, |l| l.deadline_ms = Some(300));
    let started = std::time::Instant::now();
    assert_eq!(
        limit(&env, json!({"attack": "sleep"})).await.0,
        LimitKind::Deadline
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    still_serves(&env).await;
}

#[tokio::test]
async fn memory_bomb_hits_the_memory_cap() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    let (kind, msg) = limit(&env, json!({"attack": "memory-bomb"})).await;
    assert_eq!(kind, LimitKind::Memory, "{msg}");
    assert_eq!(env.last_outcome("attacker"), "memory");
    still_serves(&env).await;
}

#[tokio::test]
async fn deep_recursion_traps_cleanly() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    let (kind, msg) = limit(&env, json!({"attack": "recursion"})).await;
    assert_eq!(kind, LimitKind::Trap);
    // Large frames overflow the guest's shadow stack (in linear memory:
    // an out-of-bounds trap); small ones the wasm stack (stack overflow).
    assert!(
        msg.contains("stack overflow") || msg.contains("wasm trap"),
        "{msg}"
    );
    still_serves(&env).await;
}

#[tokio::test]
async fn a_256_mib_result_is_refused() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    let (kind, _) = limit(&env, json!({"attack": "huge-result"})).await;
    assert!(
        matches!(kind, LimitKind::ResultCap | LimitKind::Memory),
        "{kind:?}"
    );
    still_serves(&env).await;
}

#[tokio::test]
async fn stdout_flood_hits_the_output_cap() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    let (kind, _) = limit(&env, json!({"attack": "stdout-flood"})).await;
    assert_eq!(kind, LimitKind::OutputCap);
    assert_eq!(env.last_outcome("attacker"), "output-cap");
    still_serves(&env).await;
}

#[tokio::test]
async fn a_guest_panic_is_a_trap_not_a_host_crash() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    let (kind, _) = limit(&env, json!({"attack": "panic"})).await;
    assert_eq!(kind, LimitKind::Trap);
    assert_eq!(env.last_outcome("attacker"), "trap");
    still_serves(&env).await;
}
