//! Exec: only granted programs, inside bubblewrap (no network, only the
//! granted directories, an empty environment), with a time limit and an
//! output cap.

use super::*;

async fn exec_env(programs: &[&str]) -> (Env, std::path::PathBuf, std::path::PathBuf) {
    let env = Env::new();
    let (ro, rw, secret) = granted_dirs(&env);
    env.install("factory-test-attacker", "attacker", TrustLevel::AutoMerge)
        .await;
    let mut grants = vec![Grant::Read(ro.clone()), Grant::Write(rw)];
    for p in programs {
        grants.push(Grant::program(p).unwrap());
    }
    env.grant("attacker", &grants).unwrap();
    (env, ro, secret)
}

async fn run(env: &Env, program: &str, args: &[&str]) -> Value {
    ok_json(
        &env.call(
            "attacker",
            json!({"attack": "exec-args", "target": program, "args": args}),
        )
        .await,
    )
}

#[tokio::test]
async fn a_granted_program_runs_positive_control() {
    let (env, ro, _) = exec_env(&["cat"]).await;
    let r = run(&env, "cat", &[ro.join("file.txt").to_str().unwrap()]).await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["exit"], 0, "{r}");
    assert_eq!(r["stdout"], "readable");
    assert!(
        env.events("attacker", "exec")
            .iter()
            .any(|m| m.starts_with("ran cat")),
    );
}

#[tokio::test]
async fn an_ungranted_program_is_refused_and_journaled() {
    let (env, _, _) = exec_env(&["echo"]).await;
    for program in ["sh", "/bin/sh", "../../bin/sh"] {
        let r = run(&env, program, &["-c", "id"]).await;
        assert_eq!(r["ok"], false, "{program}: {r}");
        assert!(r["error"].as_str().unwrap().contains("Denied"), "{r}");
    }
    let d = env.denials("attacker");
    assert!(
        d.iter()
            .any(|m| m.starts_with("exec denied") && m.contains("--exec sh")),
        "{d:?}"
    );
    still_serves(&env).await;
}

#[tokio::test]
async fn a_sandboxed_command_has_no_network() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (env, _, _) = exec_env(&["cat", "bash"]).await;
    // A fresh network namespace: only a loopback interface, nothing routed.
    let r = run(&env, "cat", &["/proc/net/dev"]).await;
    let ifaces: Vec<&str> = r["stdout"]
        .as_str()
        .unwrap()
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(ifaces, ["lo"], "{r}");
    // The host's loopback is not the sandbox's.
    let r = run(
        &env,
        "bash",
        &["-c", &format!("echo hi > /dev/tcp/127.0.0.1/{port}")],
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_ne!(r["exit"], 0, "{r}");
    assert!(listener.accept().is_err(), "the sandbox reached the host");
}

#[tokio::test]
async fn a_sandboxed_command_sees_only_granted_directories() {
    let (env, ro, secret) = exec_env(&["cat", "sh", "ls"]).await;
    let r = run(&env, "cat", &[secret.join("key").to_str().unwrap()]).await;
    assert_ne!(r["exit"], 0, "{r}");
    assert!(!r["stdout"].as_str().unwrap().contains("TOP SECRET"));
    for hidden in ["/root", "/home", "/var", "/etc/shadow", "/etc/hostname"] {
        let r = run(&env, "ls", &["-d", hidden]).await;
        assert_ne!(r["exit"], 0, "{hidden} is visible: {r}");
    }
    // A read grant is read-only inside the sandbox too.
    let target = ro.join("planted.txt");
    let r = run(
        &env,
        "sh",
        &["-c", &format!("echo x > {}", target.display())],
    )
    .await;
    assert_ne!(r["exit"], 0, "{r}");
    assert!(!target.exists());
}

#[tokio::test]
async fn a_sandboxed_command_sees_no_host_environment() {
    let (env, _, _) = exec_env(&["env"]).await;
    let r = run(&env, "env", &[]).await;
    assert_eq!(r["exit"], 0, "{r}");
    let mut names: Vec<&str> = r["stdout"]
        .as_str()
        .unwrap()
        .lines()
        .filter_map(|l| l.split('=').next())
        .collect();
    names.sort();
    // What the sandbox sets (PWD is bubblewrap's --chdir), nothing else.
    assert_eq!(names, ["HOME", "PATH", "PWD"], "{r}");
}

#[tokio::test]
async fn a_command_that_never_ends_is_killed_at_its_timeout() {
    let (env, _, _) = exec_env(&["sleep"]).await;
    let started = std::time::Instant::now();
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "exec-args", "target": "sleep", "args": ["1000"], "timeout_ms": 300}),
        )
        .await,
    );
    assert_eq!(r["timed_out"], true, "{r}");
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    still_serves(&env).await;
}

#[tokio::test]
async fn a_flooding_command_is_cut_at_the_output_cap() {
    let (env, _, _) = exec_env(&["yes"]).await;
    set_limit(&env, |l| l.max_output = Some(64 << 10));
    let started = std::time::Instant::now();
    let r = run(&env, "yes", &[]).await;
    assert_eq!(r["truncated"], true, "{}", r["stdout_len"]);
    assert_eq!(r["stdout_len"], 64 << 10);
    // Closing the pipe ends the flood; it does not run to the deadline.
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(r["timed_out"], false);
    still_serves(&env).await;
}
