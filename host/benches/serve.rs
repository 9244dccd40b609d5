//! `factory serve`'s front door, queue and memory, in one run, against the
//! limit (these machines are noisy: compare within the run):
//!
//! - webhook → queued: 1,000 signed GitHub deliveries (distinct issues
//!   with the trigger label), 32 in flight at a time, to the release
//!   `factory serve --workers 0`. Each answer (202) comes once the task is
//!   committed to SQLite. The same burst against a plain axum handler that
//!   only checks the HMAC is the limit.
//! - queue throughput: no-op tasks through the embedded queue
//!   (`SqliteQueue`: each enqueue, lease and finish is its own durable
//!   transaction, WAL), by 1 and 4 worker threads.
//! - memory: the service's RSS with the tasks queued (1,000 and the
//!   warm-up's 51), then restarted
//!   on the same home with `--workers 20`: its peak while 20 run.
//!
//! Run: `cargo bench -p factory-host --bench serve` (`-- --deliveries N`).

#[allow(dead_code)]
#[path = "../../tests/common.rs"]
mod common;

use factory_serve::queue::{NewTask, Queue, SqliteQueue, TaskState};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "bench-secret";
const TOKEN: &str = "bench-token-0123456789abcdef01234567";
const IN_FLIGHT: usize = 32;

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The example project as a repository in `dir`; the example issue.
fn example(dir: &Path) -> (PathBuf, Value) {
    let (repo, issue) = common::example_repo(dir);
    (repo, serde_json::from_str(&issue).unwrap())
}

/// The n-th delivery: a distinct issue carrying the trigger label.
fn delivery(issue: &Value, n: usize) -> Vec<u8> {
    let mut i = issue.clone();
    i["number"] = json!(10_000 + n);
    i["title"] = json!(format!("Issue {n}: mean() fails for input set number {n}"));
    json!({"action": "opened", "issue": i, "repository": {"full_name": "acme/calc"}})
        .to_string()
        .into_bytes()
}

struct Service {
    child: Child,
    addr: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, repo: &Path, workers: usize) -> Service {
    let mut child = Command::new(env!("CARGO_BIN_EXE_factory"))
        .args(["serve", "--listen", "127.0.0.1:0", "--trigger-label", "bug"])
        .args(["--workers", &workers.to_string()])
        .arg("--token-file")
        .arg(dir.join("token"))
        .arg("--github-secret-file")
        .arg(dir.join("secret"))
        .arg("--repo")
        .arg(format!("acme/calc={}", repo.display()))
        .env("FACTORY_HOME", dir.join("home"))
        .env("FACTORY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some((_, rest)) = line.split_once("listening on http://") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("factory serve started");
    Service { child, addr }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Send `bodies` to `url`, `IN_FLIGHT` at a time; each request's latency
/// (ms), sorted, and the wall time.
fn burst(
    rt: &tokio::runtime::Runtime,
    url: &str,
    tag: &str,
    bodies: Vec<Vec<u8>>,
) -> (Vec<f64>, Duration) {
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(IN_FLIGHT)
            .build()
            .unwrap();
        let sem = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
        let started = Instant::now();
        let mut handles = Vec::new();
        for (n, body) in bodies.into_iter().enumerate() {
            let permit = sem.clone().acquire_owned().await.unwrap();
            let (client, url, id) = (client.clone(), url.to_string(), format!("{tag}-{n}"));
            handles.push(tokio::spawn(async move {
                let sig = sign(&body);
                let t = Instant::now();
                let r = client
                    .post(url)
                    .header("x-github-event", "issues")
                    .header("x-github-delivery", id)
                    .header("x-hub-signature-256", sig)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let code = r.status().as_u16();
                let _ = r.bytes().await;
                drop(permit);
                assert_eq!(code, 202, "delivery {n}");
                t.elapsed().as_secs_f64() * 1e3
            }));
        }
        let mut lat = Vec::new();
        for h in handles {
            lat.push(h.await.unwrap());
        }
        let wall = started.elapsed();
        lat.sort_by(|a, b| a.total_cmp(b));
        (lat, wall)
    })
}

/// The limit: axum answering 202 after the same HMAC check, nothing else.
fn plain_axum(rt: &tokio::runtime::Runtime) -> String {
    use axum::routing::post;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = axum::Router::new().route(
        "/hooks/github",
        post(
            |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                let sig = headers
                    .get("x-hub-signature-256")
                    .and_then(|v| v.to_str().ok());
                match factory_serve::hooks::github::verify(SECRET.as_bytes(), sig, &body) {
                    Ok(()) => (axum::http::StatusCode::ACCEPTED, "{\"ok\":true}"),
                    Err(_) => (axum::http::StatusCode::UNAUTHORIZED, "{}"),
                }
            },
        ),
    );
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn queue_throughput(dir: &Path, tasks: usize, threads: usize) -> (f64, f64) {
    let db = dir.join(format!("queue-{threads}.db"));
    let q = Arc::new(SqliteQueue::open(&db, 3).unwrap());
    let t0 = Instant::now();
    for n in 0..tasks {
        q.enqueue(NewTask {
            source: "bench".into(),
            delivery: Some(format!("d-{n}")),
            subject: Some(format!("s-{n}")),
            repo: "acme/calc".into(),
            format: "markdown".into(),
            spec: "# no-op\n".into(),
            title: format!("no-op {n}"),
            keys: vec![format!("title:acme/calc:no op task {n}")],
            trust: None,
        })
        .unwrap();
    }
    let enqueue = tasks as f64 / t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|i| {
            let q = q.clone();
            std::thread::spawn(move || {
                let name = format!("w{i}");
                while let Some(lease) = q.lease(&name, Duration::from_secs(30)).unwrap() {
                    // The no-op run: it starts, and ends.
                    assert!(q.set_run(&lease, "r-noop").unwrap());
                    assert!(q.finish(&lease, TaskState::Done, "no-op").unwrap());
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    (enqueue, tasks as f64 / t1.elapsed().as_secs_f64())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .iter()
        .position(|a| a == "--deliveries")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("token"), TOKEN).unwrap();
    std::fs::write(d.join("secret"), SECRET).unwrap();
    for f in ["token", "secret"] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.join(f), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let (repo, issue) = example(d);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // The limit first, then the service, with the same bodies.
    let bodies: Vec<Vec<u8>> = (0..n).map(|i| delivery(&issue, i)).collect();
    let limit_addr = plain_axum(&rt);
    let _ = burst(
        &rt,
        &format!("http://{limit_addr}/hooks/github"),
        "warm",
        bodies[..50.min(n)].to_vec(),
    );
    let (limit, limit_wall) = burst(
        &rt,
        &format!("http://{limit_addr}/hooks/github"),
        "burst",
        bodies.clone(),
    );

    let service = serve(d, &repo, 0);
    let url = format!("http://{}/hooks/github", service.addr);
    // The first delivery after start pays for loading the intake adapter;
    // then a warm-up like the limit's, then the measured burst.
    let (first, _) = burst(&rt, &url, "first", vec![delivery(&issue, n + 100)]);
    let warm: Vec<Vec<u8>> = (n + 101..n + 151).map(|i| delivery(&issue, i)).collect();
    let _ = burst(&rt, &url, "warm", warm);
    let (lat, wall) = burst(&rt, &url, "burst", bodies);
    let queued_rss = rss_kib(service.child.id());
    drop(service);

    // 1,000 queued; a restart with 20 workers takes them up.
    let queue = SqliteQueue::open(&d.join("home").join("factory.db"), 3).unwrap();
    let service = serve(d, &repo, 20);
    let pid = service.child.id();
    let (mut peak, mut peak_running, mut max_running) = (0u64, 0usize, 0usize);
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        let tasks = queue.list(n + 10).unwrap();
        let running = tasks
            .iter()
            .filter(|t| t.state == TaskState::Running)
            .count();
        let rss = rss_kib(pid);
        max_running = max_running.max(running);
        if running >= 20.min(n) && rss > peak {
            peak = rss;
            peak_running = running;
        }
        if tasks.iter().all(|t| t.state.is_final()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(service);

    let (enq, q1) = queue_throughput(d, 5000, 1);
    let (_, q4) = queue_throughput(d, 5000, 4);

    println!(
        "factory serve, {n} signed deliveries, {IN_FLIGHT} in flight (this machine, one run)\n"
    );
    println!("| measure | factory serve | plain axum + HMAC (the limit) | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| webhook → queued, p50 | {:.2} ms | {:.2} ms | {:.1}× |",
        pct(&lat, 0.5),
        pct(&limit, 0.5),
        pct(&lat, 0.5) / pct(&limit, 0.5)
    );
    println!(
        "| webhook → queued, p99 | {:.2} ms | {:.2} ms | {:.1}× |",
        pct(&lat, 0.99),
        pct(&limit, 0.99),
        pct(&lat, 0.99) / pct(&limit, 0.99)
    );
    println!(
        "| the first delivery after start | {:.2} ms | | |",
        first[0]
    );
    println!(
        "| deliveries per second | {:.0} | {:.0} | {:.2}× |",
        n as f64 / wall.as_secs_f64(),
        n as f64 / limit_wall.as_secs_f64(),
        limit_wall.as_secs_f64() / wall.as_secs_f64()
    );
    println!();
    println!("| queue (SQLite, WAL, synchronous=NORMAL; each step a transaction) | tasks/s |");
    println!("|---|---|");
    println!("| enqueue | {enq:.0} |");
    println!("| lease + record the run + finish, 1 worker | {q1:.0} |");
    println!("| lease + record the run + finish, 4 workers | {q4:.0} |");
    println!();
    println!("| service memory | RSS |");
    println!("|---|---|");
    println!(
        "| {} queued, none running | {:.1} MiB |",
        n + 51,
        queued_rss as f64 / 1024.0
    );
    if peak > 0 {
        println!(
            "| {} accepted, {peak_running} running (peak) | {:.1} MiB |",
            n + 51,
            peak as f64 / 1024.0
        );
    } else {
        println!("| 20 running: never seen at once (at most {max_running}) | - |");
    }
}
