//! The same tasks through the embedded queue and through NATS JetStream,
//! with 1, 2 and 4 workers, in one run on this machine (compare within the
//! run: the cores are shared by the service, the workers, NATS and the
//! runs themselves).
//!
//! A task is the smallest real run: the example project's brief, the
//! model's replies replayed (no network), a one-subtask plan, the
//! project's unit tests in the sandbox, the review, the gates, a draft.
//! - embedded: `factory serve --workers N` on the repository's path.
//! - JetStream: `factory serve --queue nats://…` and N `factory worker`
//!   processes (one slot each), the repository as a `file://` remote:
//!   each run clones or fetches, pushes its branch, and reports its rows
//!   over NATS.
//!
//! Work comes in as signed GitHub webhooks (distinct issues with the
//! trigger label). Measured per set-up: the latency from the webhook (the
//! task's acceptance) to its run's first step with idle workers; then a
//! burst: tasks per second from the first webhook to the last task's end,
//! and each task's wait to its first step, p50 and max.
//!
//! Run: `cargo bench -p factory-host --bench scale` (`-- --tasks N`).

#[allow(dead_code)]
#[path = "../../tests/common.rs"]
mod common;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FACTORY: &str = env!("CARGO_BIN_EXE_factory");
const TOKEN: &str = "bench-token-0123456789abcdef01234567";

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `c`; its process and the first word after `ready` on stderr.
fn spawn(mut c: Command, ready: &str) -> (Proc, String) {
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let ready = ready.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some((_, rest)) = line.split_once(&ready) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let got = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the process did not start");
    (Proc(child), got)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The example project with its replayed session inside it (read
/// leniently: each brief differs), as a working repository and a bare
/// remote.
fn project(dir: &Path) -> (PathBuf, PathBuf) {
    common::example_remote(dir, "calc")
}

const SECRET: &str = "bench-webhook-secret";

/// The n-th GitHub delivery: the example issue (it carries the trigger
/// label) with a number and title of its own.
fn delivery(issue: &Value, n: usize) -> String {
    let mut i = issue.clone();
    i["number"] = serde_json::json!(10_000 + n);
    i["title"] = serde_json::json!(format!("mean() fails on an empty list, report {n}"));
    serde_json::json!({"action": "opened", "issue": i, "repository": {"full_name": "acme/calc"}})
        .to_string()
}

fn sign(body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

struct Client {
    issue: Value,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    addr: String,
}

impl Client {
    fn call(&self, method: &str, path: &str, body: String) -> (u16, Value) {
        self.rt.block_on(async {
            let r = self
                .http
                .request(
                    method.parse().unwrap(),
                    format!("http://{}{path}", self.addr),
                )
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(body)
                .send()
                .await
                .unwrap();
            let code = r.status().as_u16();
            (code, r.json().await.unwrap_or(Value::Null))
        })
    }
}

struct Measured {
    /// Request to first step with the workers idle (one task at a time).
    idle_ms: i64,
    tasks_per_s: f64,
    p50_ms: i64,
    max_ms: i64,
    done: usize,
}

/// Post `ids.len()` tasks from `from` on; their ids.
/// Send `n` signed GitHub webhooks (issues opened) from `from` on; the
/// tasks' ids.
fn post(c: &Client, from: usize, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in from..from + n {
        let body = delivery(&c.issue, i);
        let (code, r) = c.rt.block_on(async {
            let r = c
                .http
                .post(format!("http://{}/hooks/github", c.addr))
                .header("x-github-event", "issues")
                .header("x-github-delivery", format!("bench-{i}"))
                .header("x-hub-signature-256", sign(&body))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let code = r.status().as_u16();
            (code, r.json::<Value>().await.unwrap_or(Value::Null))
        });
        assert_eq!(code, 202, "{r}");
        ids.push(r["task_id"].as_str().unwrap().to_string());
    }
    ids
}

/// Wait for `ids` to end; the tasks, and each one's time from acceptance
/// to its run's first step, sorted.
fn ended(c: &Client, ids: &[String]) -> (Vec<Value>, Vec<i64>) {
    let until = Instant::now() + Duration::from_secs(1800);
    let tasks: Vec<Value> = loop {
        let all: Vec<Value> = ids
            .iter()
            .map(|id| c.call("GET", &format!("/api/tasks/{id}"), String::new()).1)
            .collect();
        if all.iter().all(|t| {
            matches!(
                t["state"].as_str(),
                Some("done" | "blocked" | "failed" | "cancelled")
            )
        }) {
            break all;
        }
        assert!(Instant::now() < until, "tasks did not end");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut lat: Vec<i64> = tasks
        .iter()
        .filter_map(|t| {
            let run = t["run_id"].as_str()?;
            let (_, v) = c.call("GET", &format!("/api/runs/{run}"), String::new());
            let first = v["steps"]
                .as_array()?
                .iter()
                .filter_map(|s| s["ts"].as_i64())
                .min()?;
            Some(first - t["created"].as_i64()?)
        })
        .collect();
    lat.sort();
    (tasks, lat)
}

/// Three tasks one at a time (idle latency), then `n` at once.
fn measure(c: &Client, n: usize) -> Measured {
    let mut idle = Vec::new();
    for i in 0..3 {
        let ids = post(c, 1000 + i, 1);
        idle.extend(ended(c, &ids).1);
    }
    idle.sort();
    let t0 = Instant::now();
    let ids = post(c, 0, n);
    let (tasks, lat) = ended(c, &ids);
    let elapsed = t0.elapsed().as_secs_f64();
    Measured {
        idle_ms: idle.get(1).copied().unwrap_or(-1),
        tasks_per_s: n as f64 / elapsed,
        p50_ms: lat.get(lat.len() / 2).copied().unwrap_or(-1),
        max_ms: lat.last().copied().unwrap_or(-1),
        done: tasks.iter().filter(|t| t["state"] == "done").count(),
    }
}

fn client(addr: String) -> Client {
    let issue = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/calc-issue.json"),
    )
    .unwrap();
    Client {
        issue: serde_json::from_str(&issue).unwrap(),
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        http: reqwest::Client::new(),
        addr,
    }
}

/// The API token's file; the GitHub secret's beside it.
fn token(dir: &Path) -> PathBuf {
    for (f, text) in [("token", TOKEN), ("secret", SECRET)] {
        let p = dir.join(f);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    dir.join("token")
}

/// `factory serve` on `dir` for `repo` (a path or a URL), with `extra`
/// flags; its process and address.
fn serve(dir: &Path, repo: &str, extra: &[&str]) -> (Proc, String) {
    let mut c = Command::new(FACTORY);
    c.args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .arg("--token-file")
        .arg(token(dir))
        .arg("--github-secret-file")
        .arg(dir.join("secret"))
        .args(["--trigger-label", "bug"])
        .arg("--repo")
        .arg(format!("acme/calc={repo}"))
        .env("FACTORY_HOME", dir.join("home"));
    spawn(c, "listening on http://")
}

fn embedded(workers: usize, n: usize) -> Measured {
    let d = tempfile::tempdir().unwrap();
    let (work, _) = project(d.path());
    let (_serve, addr) = serve(
        d.path(),
        &work.display().to_string(),
        &["--workers", &workers.to_string()],
    );
    measure(&client(addr), n)
}

fn jetstream(workers: usize, n: usize) -> Measured {
    let d = tempfile::tempdir().unwrap();
    let (_, bare) = project(d.path());
    let port = free_port();
    let nats = Command::new("nats-server")
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(d.path().join("nats"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server");
    let _nats = Proc(nats);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("nats://127.0.0.1:{port}");
    let (_serve, addr) = serve(
        d.path(),
        &format!("file://{}", bare.display()),
        &["--queue", &url],
    );
    let mut ws = Vec::new();
    for i in 0..workers {
        let mut w = Command::new(FACTORY);
        w.args(["worker", "--nats", &url, "--name", &format!("bench{i}")])
            .env("FACTORY_HOME", d.path().join(format!("worker{i}")))
            .env("FACTORY_LOG", "info");
        ws.push(spawn(w, "worker ready").0);
    }
    measure(&client(addr), n)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = args
        .iter()
        .position(|a| a == "--tasks")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(16usize);
    println!(
        "{n} tasks per set-up; {} cores (shared by the service, the workers, NATS and the runs)",
        std::thread::available_parallelism().map_or(0, |c| c.get())
    );
    println!(
        "{:<10} {:>7} {:>12} {:>10} {:>10} {:>14} {:>14} {:>6}",
        "queue", "workers", "idle→step", "tasks/s", "vs 1", "burst p50", "burst max", "done"
    );
    for (name, f) in [
        ("embedded", embedded as fn(usize, usize) -> Measured),
        ("jetstream", jetstream),
    ] {
        let mut one = 0.0;
        for workers in [1, 2, 4] {
            let m = f(workers, n);
            if workers == 1 {
                one = m.tasks_per_s;
            }
            println!(
                "{:<10} {:>7} {:>9} ms {:>10.2} {:>9.2}x {:>11} ms {:>11} ms {:>4}/{n}",
                name,
                workers,
                m.idle_ms,
                m.tasks_per_s,
                m.tasks_per_s / one,
                m.p50_ms,
                m.max_ms,
                m.done
            );
        }
    }
}
