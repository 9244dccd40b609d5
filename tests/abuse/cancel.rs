//! Cancellation, live log lines and the denials a caller is told about: a
//! call's caller (an MCP client, through `factory mcp`) can stop it, see
//! its progress, and learn what was refused and how to allow it.

use super::*;
use factory_sandbox::{CallOptions, CancellationToken, LogSink};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Cancel `attack` after 200 ms; the outcome and how long it ran.
async fn cancelled_after(env: &Env, attack: &str) -> (Outcome, Duration) {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let inv = env
        .call_with(
            "attacker",
            json!({"attack": attack}),
            CallOptions {
                timeout: Some(Duration::from_secs(25)),
                cancel: Some(cancel),
                ..Default::default()
            },
        )
        .await;
    (inv.outcome, started.elapsed())
}

#[tokio::test]
async fn a_cpu_loop_is_interrupted_when_cancelled() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    set_limit(&env, |l| l.deadline_ms = Some(25_000));
    let (outcome, took) = cancelled_after(&env, "cpu-loop").await;
    assert!(
        matches!(&outcome, Outcome::Limit(LimitKind::Cancelled, m) if m.contains("cancelled")),
        "{outcome:?}"
    );
    // Ended by the cancellation, long before its 25 s deadline.
    assert!(took < Duration::from_secs(20), "{took:?}");
    assert_eq!(env.last_outcome("attacker"), "cancelled");
    still_serves(&env).await;
}

#[tokio::test]
async fn a_call_asleep_in_the_host_is_dropped_when_cancelled() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    set_limit(&env, |l| l.deadline_ms = Some(25_000));
    let (outcome, took) = cancelled_after(&env, "sleep").await;
    assert!(
        matches!(outcome, Outcome::Limit(LimitKind::Cancelled, _)),
        "{outcome:?}"
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    assert_eq!(env.last_outcome("attacker"), "cancelled");
    still_serves(&env).await;
}

#[tokio::test]
async fn a_cancellable_call_still_has_its_deadline() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    set_limit(&env, |l| l.deadline_ms = Some(300));
    let inv = env
        .call_with(
            "attacker",
            json!({"attack": "cpu-loop"}),
            CallOptions {
                cancel: Some(CancellationToken::new()),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(inv.outcome, Outcome::Limit(LimitKind::Deadline, _)),
        "{:?}",
        inv.outcome
    );
    assert_eq!(env.last_outcome("attacker"), "deadline");
}

#[tokio::test]
async fn a_runaway_call_does_not_hold_up_another_on_the_same_thread() {
    // One thread: the runaway yields at each cancellation check, so the
    // other call is answered while it runs.
    let env = setup(TrustLevel::Untrusted, &[]).await;
    set_limit(&env, |l| l.deadline_ms = Some(25_000));
    let cancel = CancellationToken::new();
    let runaway = env.call_with(
        "attacker",
        json!({"attack": "cpu-loop"}),
        CallOptions {
            cancel: Some(cancel.clone()),
            timeout: Some(Duration::from_secs(25)),
            ..Default::default()
        },
    );
    let other = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let inv = env
            .call_with(
                "attacker",
                json!({"attack": "args"}),
                CallOptions {
                    cancel: Some(CancellationToken::new()),
                    ..Default::default()
                },
            )
            .await;
        cancel.cancel();
        inv
    };
    let (r, o) = tokio::join!(runaway, other);
    assert_eq!(ok_json(&o)["ok"], true);
    assert!(
        matches!(r.outcome, Outcome::Limit(LimitKind::Cancelled, _)),
        "{:?}",
        r.outcome
    );
}

#[tokio::test]
async fn log_lines_reach_the_callers_sink_as_written() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    let lines = Arc::new(Mutex::new(Vec::<(String, usize)>::new()));
    let seen = lines.clone();
    let sink: LogSink = Arc::new(move |level: &str, line: &str| {
        seen.lock().unwrap().push((level.to_string(), line.len()));
    });
    let inv = env
        .call_with(
            "attacker",
            json!({"attack": "log-flood", "size": 3}),
            CallOptions {
                on_log: Some(sink),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(ok_json(&inv)["ok"], true);
    assert_eq!(*lines.lock().unwrap(), vec![("info".to_string(), 1000); 3]);
}

#[tokio::test]
async fn the_caller_is_told_what_was_denied_and_how_to_allow_it() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    let inv = env
        .call(
            "attacker",
            json!({"attack": "read", "target": "/etc/passwd"}),
        )
        .await;
    assert!(!inv.denials.is_empty(), "{:?}", inv.outcome);
    assert!(inv.denials[0].contains("/etc"), "{:?}", inv.denials);
    assert!(
        inv.denials[0].contains("factory plugin"),
        "{:?}",
        inv.denials
    );
    // The same text the journal holds.
    assert_eq!(env.denials("attacker"), inv.denials);
    let ok = env.call("attacker", json!({"attack": "args"})).await;
    assert!(ok.denials.is_empty());
    assert!(ok.failure_text().is_none());
}
