//! The NATS account set-up docs/scale-out.md shows, exactly as written
//! there: the service and a worker each with their own user and subject
//! permissions run a task end to end, and a worker cannot publish a task
//! or create a stream.

use super::Server;
use super::scale::{FACTORY, Proc, TOKEN, brief, remote};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

/// The `nats-server.conf` block of docs/scale-out.md.
fn documented_config() -> String {
    let doc = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/scale-out.md"),
    )
    .unwrap();
    let start = doc
        .find("# nats-server.conf")
        .expect("docs/scale-out.md shows a nats-server.conf");
    let end = start + doc[start..].find("```").unwrap();
    // The store directory is the test's own (`-sd`).
    doc[start..end]
        .lines()
        .filter(|l| !l.trim_start().starts_with("jetstream {"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_documented_subject_permissions_run_a_task_and_keep_workers_in_their_lane() {
    let nats = Server::with_config(
        &documented_config(),
        &[("SERVICE_PASS", "service-pw"), ("WORKER_PASS", "worker-pw")],
    );
    let url = |user: &str, pass: &str| format!("nats://{user}:{pass}@127.0.0.1:{}", nats.port);
    let dir = tempfile::tempdir().unwrap();
    let bare = remote(dir.path(), "calc");
    let token = dir.path().join("token");
    std::fs::write(&token, TOKEN).unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut c = Command::new(FACTORY);
    c.args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--token-file")
        .arg(&token)
        .arg("--repo")
        .arg(format!("acme/calc=file://{}", bare.display()))
        .args(["--queue", &url("service", "service-pw")])
        .env("FACTORY_HOME", dir.path().join("home-service"))
        .env("FACTORY_LOG", "info");
    let (serve, addr) = Proc::spawn(c, "listening on http://");
    let mut w = Command::new(FACTORY);
    w.args([
        "worker",
        "--nats",
        &url("worker", "worker-pw"),
        "--name",
        "p1",
    ])
    .env("FACTORY_HOME", dir.path().join("home-p1"))
    .env("FACTORY_LOG", "info");
    let (worker, _) = Proc::spawn(w, "worker ready");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let call = |method: &str, path: &str, body: String| -> serde_json::Value {
        rt.block_on(async {
            reqwest::Client::new()
                .request(method.parse().unwrap(), format!("http://{addr}{path}"))
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    };
    let t = call(
        "POST",
        "/api/tasks?repo=acme/calc&format=markdown",
        brief(7),
    );
    let id = t["task_id"].as_str().unwrap().to_string();
    let until = Instant::now() + Duration::from_secs(180);
    let t = loop {
        let t = call("GET", &format!("/api/tasks/{id}"), String::new());
        if matches!(t["state"].as_str(), Some("done" | "failed" | "blocked")) {
            break t;
        }
        assert!(
            Instant::now() < until,
            "the task did not end: {t}\nservice:\n{}\nworker:\n{}",
            serve.log(),
            worker.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        t["state"],
        "done",
        "{t}\nservice:\n{}\nworker:\n{}\nnats:\n{}",
        serve.log(),
        worker.log(),
        nats.log()
    );
    assert!(
        !worker.log().contains("Permissions Violation")
            && !serve.log().contains("Permissions Violation"),
        "every subject used is granted:\nservice:\n{}\nworker:\n{}",
        serve.log(),
        worker.log()
    );

    // The worker's user cannot queue work nor change the streams.
    rt.block_on(async {
        let n = factory_serve::nats::Nats::connect(&url("worker", "worker-pw"), None)
            .await
            .unwrap();
        let forged =
            n.js.publish("tasks.full", "{}".into())
                .await
                .map(|ack| ack.into_future());
        let refused = match forged {
            Err(_) => true,
            Ok(f) => tokio::time::timeout(Duration::from_secs(10), f)
                .await
                .map_or(true, |r| r.is_err()),
        };
        assert!(refused, "a worker published a task");
        let made = tokio::time::timeout(
            Duration::from_secs(10),
            n.js.create_stream(async_nats::jetstream::stream::Config {
                name: "EVIL".into(),
                subjects: vec!["evil.>".into()],
                ..Default::default()
            }),
        )
        .await;
        assert!(!matches!(made, Ok(Ok(_))), "a worker created a stream");
    });
}
