//! Abuse tests: a hostile plugin tries each escape; every test asserts the
//! refusal the guest saw, that the host keeps serving, and the journal entry.

mod common;
use common::Env;
use factory_host::grants::Grant;
use factory_host::{LimitKind, Outcome, TrustLevel};
use serde_json::{Value, json};

fn ok_json(inv: &factory_host::Invocation) -> Value {
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

async fn setup(trust: TrustLevel, grants: &[Grant]) -> Env {
    let env = Env::new();
    env.install("factory-test-attacker", "attacker", trust)
        .await;
    if !grants.is_empty() {
        env.host.registry().grant("attacker", grants).unwrap();
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
    env.host
        .registry()
        .grant(
            "attacker",
            &[Grant::Read(ro.clone()), Grant::Write(rw.clone())],
        )
        .unwrap();
    (env, ro, rw, secret)
}

#[tokio::test]
async fn granted_read_works_positive_control() {
    let (env, ro, rw, _) = fs_env().await;
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "read", "target": ro.join("file.txt")}),
        )
        .await,
    );
    assert_eq!(r["content"], "readable");
    let w = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "write", "target": rw.join("out.txt")}),
        )
        .await,
    );
    assert_eq!(w["ok"], true);
    assert_eq!(
        std::fs::read_to_string(rw.join("out.txt")).unwrap(),
        "pwned"
    );
}

#[tokio::test]
async fn path_traversal_out_of_a_grant_is_refused_and_journaled() {
    let (env, ro, _, secret) = fs_env().await;
    let target = format!("{}/../secret/key", ro.display());
    let r = ok_json(
        &env.call("attacker", json!({"attack": "read", "target": target}))
            .await,
    );
    assert_eq!(r["ok"], false, "{r}");
    let _ = secret;
    assert!(
        env.denials("attacker")
            .iter()
            .any(|d| d.contains("secret/key")),
        "{:?}",
        env.denials("attacker")
    );
    still_serves(&env).await;
}

#[tokio::test]
async fn absolute_path_outside_grants_is_invisible() {
    let (env, _, _, secret) = fs_env().await;
    for target in [
        secret.join("key").display().to_string(),
        "/etc/passwd".to_string(),
    ] {
        let r = ok_json(
            &env.call("attacker", json!({"attack": "read", "target": target}))
                .await,
        );
        assert_eq!(r["ok"], false, "{target}: {r}");
        assert!(r.get("content").is_none());
    }
    still_serves(&env).await;
}

#[tokio::test]
async fn symlink_out_of_a_grant_is_refused() {
    let (env, ro, _, secret) = fs_env().await;
    std::os::unix::fs::symlink(secret.join("key"), ro.join("link")).unwrap();
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "read", "target": ro.join("link")}),
        )
        .await,
    );
    assert_eq!(r["ok"], false, "{r}");
    assert!(
        env.denials("attacker").iter().any(|d| d.contains("link")),
        "{:?}",
        env.denials("attacker")
    );
    still_serves(&env).await;
}

#[tokio::test]
async fn writing_to_a_read_only_grant_is_refused_and_journaled() {
    let (env, ro, _, _) = fs_env().await;
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "write", "target": ro.join("new.txt")}),
        )
        .await,
    );
    assert_eq!(r["ok"], false, "{r}");
    assert!(!ro.join("new.txt").exists());
    let d = env.denials("attacker");
    assert!(
        d.iter()
            .any(|m| m.contains("new.txt") && m.contains("--write")),
        "{d:?}"
    );
}

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
async fn http_to_an_ungranted_host_is_refused_and_journaled() {
    let env = setup(
        TrustLevel::Draft,
        &[Grant::Net("https://example.com".parse().unwrap())],
    )
    .await;
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "http", "target": "https://evil.example.net/x"}),
        )
        .await,
    );
    assert_eq!(r["ok"], false);
    let d = env.denials("attacker");
    assert!(
        d.iter()
            .any(|m| m.contains("evil.example.net")
                && m.contains("--net https://evil.example.net:443")),
        "{d:?}"
    );
    // Same host, another port.
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "http", "target": "https://example.com:8443/"}),
        )
        .await,
    );
    assert_eq!(r["ok"], false);
    assert!(
        env.denials("attacker")
            .iter()
            .any(|m| m.contains("example.com:8443"))
    );
    still_serves(&env).await;
}

#[tokio::test]
async fn http_to_loopback_private_and_metadata_is_refused_even_under_a_wildcard() {
    let env = setup(
        TrustLevel::Draft,
        &[Grant::Net("http://*:*".parse().unwrap())],
    )
    .await;
    for url in [
        "http://127.0.0.1:9/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
    ] {
        let r = ok_json(
            &env.call("attacker", json!({"attack": "http", "target": url}))
                .await,
        );
        assert_eq!(r["ok"], false, "{url}: {r}");
    }
    let d = env.denials("attacker");
    assert!(d.iter().any(|m| m.contains("cloud metadata")), "{d:?}");
    assert!(d.iter().any(|m| m.contains("loopback")), "{d:?}");
    assert!(d.iter().any(|m| m.contains("private")), "{d:?}");
}

#[tokio::test]
async fn http_to_an_explicitly_granted_loopback_address_works() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
            );
        }
    });
    let env = setup(
        TrustLevel::Draft,
        &[Grant::Net(
            format!("http://127.0.0.1:{port}").parse().unwrap(),
        )],
    )
    .await;
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "http", "target": format!("http://127.0.0.1:{port}/")}),
        )
        .await,
    );
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["body"], "hello");
}

#[tokio::test]
async fn raw_tcp_udp_and_dns_are_refused_without_grants() {
    let env = setup(TrustLevel::Full, &[]).await;
    let t = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "tcp", "target": "127.0.0.1", "port": 22}),
        )
        .await,
    );
    assert_eq!(t["ok"], false, "{t}");
    let u = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "udp", "target": "8.8.8.8", "port": 53}),
        )
        .await,
    );
    assert_eq!(u["ok"], false, "{u}");
    let n = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "dns", "target": "example.com"}),
        )
        .await,
    );
    assert_eq!(n["ok"], false, "{n}");
    let d = env.denials("attacker");
    assert!(
        d.iter()
            .any(|m| m.starts_with("dns denied") && m.contains("--net dns://example.com")),
        "{d:?}"
    );
    assert!(
        d.iter()
            .any(|m| m.starts_with("socket denied") && m.contains("udp")),
        "{d:?}"
    );
    still_serves(&env).await;
}

#[tokio::test]
async fn tcp_to_a_granted_port_works_and_other_ports_do_not() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let env = setup(
        TrustLevel::Scoped,
        &[Grant::Net(
            format!("tcp://127.0.0.1:{port}").parse().unwrap(),
        )],
    )
    .await;
    let ok = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "tcp", "target": "127.0.0.1", "port": port}),
        )
        .await,
    );
    assert_eq!(ok["ok"], true, "{ok}");
    let other = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "tcp", "target": "127.0.0.1", "port": port.wrapping_add(1)}),
        )
        .await,
    );
    assert_eq!(other["ok"], false);
    drop(listener);
}

async fn limit(env: &Env, attack: Value) -> (LimitKind, String) {
    match env.call("attacker", attack).await.outcome {
        Outcome::Limit(k, m) => (k, m),
        other => panic!("expected a sandbox limit, got {other:?}"),
    }
}

#[tokio::test]
async fn cpu_loop_hits_the_deadline() {
    let env = setup(TrustLevel::Untrusted, &[]).await;
    env.host
        .registry()
        .set_limits(
            "attacker",
            &factory_host::policy::LimitOverrides {
                deadline_ms: Some(300),
                ..Default::default()
            },
        )
        .unwrap();
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
    env.host
        .registry()
        .set_limits(
            "attacker",
            &factory_host::policy::LimitOverrides {
                deadline_ms: Some(300),
                ..Default::default()
            },
        )
        .unwrap();
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
async fn file_handle_exhaustion_is_bounded() {
    let (env, ro, _, _) = fs_env().await;
    let inv = env
        .call(
            "attacker",
            json!({"attack": "fd-exhaustion", "target": ro.join("file.txt")}),
        )
        .await;
    match inv.outcome {
        Outcome::Ok(s) => {
            let v: Value = serde_json::from_str(&s).unwrap();
            assert_eq!(v["ok"], false, "{v}");
            assert!(v["opened"].as_u64().unwrap() < 2048, "{v}");
        }
        Outcome::Limit(LimitKind::Trap, _) => {}
        other => panic!("{other:?}"),
    }
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
    let r = ok_json(
        &env.call("attacker", json!({"attack": "tool", "target": "read-file"}))
            .await,
    );
    assert_eq!(r["ok"], false, "{r}");
    let _ = secret;
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
