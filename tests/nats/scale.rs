//! One `factory serve --queue nats://` and `factory worker` processes on a
//! bare git repository as the remote: tasks run on the workers, one worker
//! is killed with kill -9 mid-run and another takes its task over, a
//! duplicate is one task, a task above every worker's trust waits (and
//! says so), a poison task ends as a dead letter. Afterwards: each task
//! ended once, each run's branch was pushed once, the journal has the
//! steps, and the task stream is empty.

use super::Server;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) const FACTORY: &str = env!("CARGO_BIN_EXE_factory");
pub(crate) const TOKEN: &str = "0123456789abcdef0123456789abcdef";

use super::common;

/// A process whose stderr is kept; killed with SIGKILL when dropped.
pub(crate) struct Proc {
    child: Option<Child>,
    log: Arc<Mutex<String>>,
}

impl Proc {
    pub(crate) fn spawn(mut c: Command, ready: &str) -> (Proc, String) {
        let mut child = c
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log: Arc<Mutex<String>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let (l, ready) = (log.clone(), ready.to_string());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once(&ready) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
                l.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let got = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("not ready:\n{}", log.lock().unwrap()));
        (
            Proc {
                child: Some(child),
                log,
            },
            got,
        )
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The example project as a bare remote: its replayed model session inside
/// it, read leniently (each task's brief differs from the recording), and
/// a hook that logs every update of a branch.
pub(crate) fn remote(dir: &Path, name: &str) -> PathBuf {
    let (_, bare) = common::example_remote(dir, name);
    let hook = bare.join("hooks/update");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$1 $3\" >> {}\n",
            dir.join("pushes.log").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    bare
}

struct Scale {
    dir: tempfile::TempDir,
    /// The NATS server's URL (the test owns the server: it restarts it).
    nats: String,
    serve: Proc,
    addr: String,
    rt: tokio::runtime::Runtime,
}

impl Scale {
    fn worker(&self, name: &str, trust: &str) -> Proc {
        let mut c = Command::new(FACTORY);
        c.args([
            "worker",
            "--nats",
            &self.nats.clone(),
            "--max-trust",
            trust,
            "--name",
            name,
        ])
        .env("FACTORY_HOME", self.dir.path().join(format!("home-{name}")))
        .env("FACTORY_LOG", "info");
        Proc::spawn(c, "worker ready").0
    }

    fn api(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let url = format!("http://{}{path}", self.addr);
        self.rt.block_on(async {
            let resp = reqwest::Client::new()
                .request(method.parse().unwrap(), url)
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let code = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (
                code,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        })
    }

    fn post(&self, query: &str, key: &str, brief: &str) -> (u16, Value) {
        let url = format!("http://{}/api/tasks?{query}", self.addr);
        self.rt.block_on(async {
            let resp = reqwest::Client::new()
                .post(url)
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("idempotency-key", key)
                .body(brief.to_string())
                .send()
                .await
                .unwrap();
            let code = resp.status().as_u16();
            (code, resp.json().await.unwrap_or(Value::Null))
        })
    }

    fn task(&self, id: &str) -> Value {
        let (code, t) = self.api("GET", &format!("/api/tasks/{id}"), "");
        assert_eq!(code, 200, "{t}");
        t
    }

    fn wait(&self, what: &str, mut done: impl FnMut() -> bool, logs: &[&Proc]) {
        let until = Instant::now() + Duration::from_secs(300);
        while !done() {
            if Instant::now() > until {
                let mut all = format!("service:\n{}", self.serve.log());
                for (i, p) in logs.iter().enumerate() {
                    all.push_str(&format!("\nworker {i}:\n{}", p.log()));
                }
                panic!("{what} did not happen in time\n{all}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Another command like `c` (same program, arguments and environment).
fn clone_command(c: &Command) -> Command {
    let mut n = Command::new(c.get_program());
    n.args(c.get_args());
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            n.env(k, v);
        }
    }
    n
}

pub(crate) fn brief(n: usize) -> String {
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliet", "kilo", "lima",
    ];
    format!(
        "# Make mean handle {} {} inputs\n\nThe mean of an empty list should not crash (case {n}).\n",
        words[n % words.len()],
        words[(n / words.len() + 5) % words.len()]
    )
}

fn sign(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

const SECRET: &str = "It's a Secret to Everybody";

impl Scale {
    fn webhook(&self, delivery: &str, payload: &Value) -> (u16, Value) {
        let body = payload.to_string();
        let url = format!("http://{}/hooks/github", self.addr);
        self.rt.block_on(async {
            let resp = reqwest::Client::new()
                .post(url)
                .header("x-github-event", "issues")
                .header("x-github-delivery", delivery)
                .header("x-hub-signature-256", sign(SECRET, body.as_bytes()))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let code = resp.status().as_u16();
            (code, resp.json().await.unwrap_or(Value::Null))
        })
    }

    /// Every report on the events stream so far.
    fn reports(&self) -> Vec<Value> {
        self.rt.block_on(async {
            let n = factory_serve::nats::Nats::connect(&self.nats.clone(), None)
                .await
                .unwrap();
            let mut stream = n.js.get_stream(factory_serve::nats::EVENTS).await.unwrap();
            let last = stream.info().await.unwrap().state.last_sequence;
            let mut out = Vec::new();
            for seq in 1..=last {
                if let Ok(m) = stream.get_raw_message(seq).await {
                    out.push(serde_json::from_slice(&m.payload).unwrap());
                }
            }
            out
        })
    }

    fn state(&self, id: &str) -> String {
        self.task(id)["state"].as_str().unwrap_or("").to_string()
    }
}

fn ended(state: &str) -> bool {
    matches!(state, "done" | "blocked" | "failed" | "cancelled")
}

#[test]
fn tasks_run_on_workers_once_through_a_worker_killed_and_a_nats_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut nats = Server::start();
    let bare = remote(dir.path(), "calc");
    // The scoped task's own repository: it merges there.
    let bare2 = remote(dir.path(), "calc2");
    // A draft approved at the service: its own repository too.
    let bare3 = remote(dir.path(), "calc3");
    let issue: Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/calc-issue.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for (f, text) in [("token", TOKEN), ("secret", SECRET)] {
        let p = dir.path().join(f);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // A fixed port: the service is restarted on it mid-way.
    let listen = format!(
        "127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let mut c = Command::new(FACTORY);
    c.args(["serve", "--listen", &listen, "--max-trust", "scoped"])
        .args(["--trigger-label", "bug"])
        .arg("--token-file")
        .arg(dir.path().join("token"))
        .arg("--github-secret-file")
        .arg(dir.path().join("secret"))
        .arg("--repo")
        .arg(format!("acme/calc=file://{}", bare.display()))
        .arg("--repo")
        .arg(format!("acme/calc2=file://{}", bare2.display()))
        .arg("--repo")
        .arg(format!("acme/calc3=file://{}", bare3.display()))
        .arg("--repo")
        .arg(format!(
            "acme/gone=file://{}/nowhere.git",
            dir.path().display()
        ))
        .args(["--queue", &nats.url()])
        .env("FACTORY_HOME", dir.path().join("home-service"))
        .env("FACTORY_NATS_ACK_WAIT", "4")
        .env("FACTORY_NATS_MAX_DELIVER", "3")
        .env("FACTORY_LOG", "info");
    let service = c;
    let (serve, addr) = Proc::spawn(clone_command(&service), "listening on http://");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Everything published on the task subjects, to see what a worker gets.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    {
        let (url, seen) = (nats.url(), seen.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                use futures_util::StreamExt;
                let c = async_nats::connect(url).await.unwrap();
                let mut sub = c.subscribe("tasks.>").await.unwrap();
                while let Some(m) = sub.next().await {
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&m.payload).into());
                }
            })
        });
    }
    let mut s = Scale {
        dir,
        nats: nats.url(),
        serve,
        addr,
        rt,
    };
    let mut w1 = s.worker("w1", "draft");
    let w2 = s.worker("w2", "draft");
    let w3 = s.worker("w3", "draft");

    // 30 tasks at draft: a duplicate webhook is one task.
    let (code, hooked) = s.webhook(
        "delivery-1",
        &serde_json::json!({"action": "opened", "issue": issue, "repository": {"full_name": "acme/calc"}}),
    );
    assert_eq!(code, 202, "{hooked}");
    let (code, again) = s.webhook(
        "delivery-1",
        &serde_json::json!({"action": "opened", "issue": issue, "repository": {"full_name": "acme/calc"}}),
    );
    assert_eq!(code, 200, "{again}");
    assert_eq!(again["task_id"], hooked["task_id"], "{again}");
    // (The webhook's task needs the service's --max-trust, scoped: above
    // the first workers'. The API's ask for draft.)
    let mut ids = Vec::new();
    for i in 0..26 {
        let (code, r) = s.post(
            "repo=acme/calc&format=markdown&trust=draft",
            &format!("k{i}"),
            &brief(i),
        );
        assert_eq!(code, 202, "{r}");
        ids.push(r["task_id"].as_str().unwrap().to_string());
    }
    let hooked = hooked["task_id"].as_str().unwrap().to_string();

    // Above every worker's trust: it waits, and says why. Another is
    // cancelled while it waits.
    let (code, high) = s.post(
        "repo=acme/calc2&format=markdown&trust=scoped",
        "high",
        &format!("{}\n## Scope\n- calc.py\n- test_calc.py\n", brief(40)),
    );
    assert_eq!(code, 202, "{high}");
    let high = high["task_id"].as_str().unwrap().to_string();
    let (_, dropped) = s.post(
        "repo=acme/calc&format=markdown&trust=scoped",
        "dropped",
        &brief(42),
    );
    let dropped = dropped["task_id"].as_str().unwrap().to_string();
    // A poison task: its remote does not exist, so it fails on every worker.
    let (code, poison) = s.post(
        "repo=acme/gone&format=markdown&trust=draft",
        "poison",
        &brief(41),
    );
    assert_eq!(code, 202, "{poison}");
    let poison = poison["task_id"].as_str().unwrap().to_string();
    let (code, approved) = s.post(
        "repo=acme/calc3&format=markdown&trust=draft",
        "to-approve",
        &brief(43),
    );
    assert_eq!(code, 202, "{approved}");
    let approved = approved["task_id"].as_str().unwrap().to_string();

    // Kill w1 in the middle of a run it holds; w4 comes instead.
    s.wait(
        "w1 running a task",
        || ids.iter().any(|id| s.task(id)["worker"] == "w1"),
        &[&w1, &w2, &w3],
    );
    std::thread::sleep(Duration::from_millis(1200));
    let held: Vec<String> = ids
        .iter()
        .filter(|id| {
            let t = s.task(id);
            t["worker"] == "w1" && t["state"] == "running"
        })
        .cloned()
        .collect();
    w1.kill9();
    let w4 = s.worker("w4", "draft");
    let (code, c) = s.api("POST", &format!("/api/tasks/{dropped}/cancel"), "");
    assert_eq!(code, 200, "{c}");

    // NATS goes away for a moment, mid-way, and comes back on its store.
    s.wait(
        "a third of the tasks ending",
        || ids.iter().filter(|id| ended(&s.state(id))).count() >= 10,
        &[&w2, &w3, &w4],
    );
    nats.stop();
    std::thread::sleep(Duration::from_secs(2));
    nats.launch();
    // Then the service is killed (-9) just after accepting more work, and
    // started again on its home: nothing accepted is lost, nothing runs
    // twice.
    let mut late = Vec::new();
    for i in 0..3 {
        let (code, r) = s.post(
            "repo=acme/calc&format=markdown&trust=draft",
            &format!("late{i}"),
            &brief(60 + i),
        );
        assert_eq!(code, 202, "{r}");
        late.push(r["task_id"].as_str().unwrap().to_string());
    }
    s.serve.kill9();
    std::thread::sleep(Duration::from_millis(500));
    s.serve = Proc::spawn(clone_command(&service), "listening on http://").0;
    ids.extend(late);

    s.wait(
        "every draft task ending",
        || ids.iter().chain([&approved]).all(|id| ended(&s.state(id))),
        &[&w2, &w3, &w4],
    );
    // A draft a worker made is approved at the service: brought to the
    // service's clone, its gates run again there, the remote's main moved
    // as a fast-forward.
    let run3 = s.task(&approved)["run_id"].as_str().unwrap().to_string();
    let (code, a) = s.api("POST", &format!("/api/runs/{run3}/approve"), "");
    assert_eq!((code, a["outcome"].as_str()), (200, Some("merged")), "{a}");
    let log = common::git(&bare3, &["log", "--format=%B", "main"]);
    assert!(log.contains(&format!("Factory-Run: {run3}")), "{log}");
    s.wait(
        "the poison task ending as a dead letter",
        || s.state(&poison) == "failed",
        &[&w2, &w3, &w4],
    );
    let p = s.task(&poison);
    assert!(p["reason"].as_str().unwrap().contains("dead letter"), "{p}");
    assert!(
        p["reason"].as_str().unwrap().contains("cannot clone"),
        "the reason names the last failure: {p}"
    );

    // The task above every worker's trust waits and says so, in the API and
    // the dashboard; a capable worker then takes it.
    for id in [&high, &hooked] {
        let h = s.task(id);
        assert_eq!(h["state"], "queued", "{h}");
        assert!(
            h["waiting"]
                .as_str()
                .unwrap_or("")
                .contains("waiting for a capable worker"),
            "{h}"
        );
    }
    let (_, page) = s.api("GET", "/", "");
    assert!(
        page.as_str()
            .unwrap_or("")
            .contains("waiting for a capable worker"),
        "the dashboard shows it"
    );
    // w5's operator allows scoped runs on this machine (the built-in
    // policy stops at draft, whatever the task asks).
    let home5 = s.dir.path().join("home-w5");
    std::fs::create_dir_all(&home5).unwrap();
    std::fs::write(
        home5.join("policy.toml"),
        "[default]\nmax_trust = \"scoped\"\n",
    )
    .unwrap();
    let w5 = s.worker("w5", "scoped");
    s.wait(
        "the tasks above draft ending on w5",
        || ended(&s.state(&high)) && ended(&s.state(&hooked)),
        &[&w5],
    );
    assert_eq!(
        s.state(&dropped),
        "cancelled",
        "a cancelled task never runs"
    );

    // Each task ended once, on a worker, with its whole journal; each run's
    // branch was pushed once; a task w1 held was resumed, not restarted.
    assert!(!held.is_empty(), "w1 held a task when it was killed");
    let pushes = std::fs::read_to_string(s.dir.path().join("pushes.log")).unwrap_or_default();
    let reports = s.reports();
    for id in ids.iter().chain([&hooked, &high, &approved]) {
        let t = s.task(id);
        assert_eq!(t["state"], "done", "{t}\n{}", s.serve.log());
        let run = t["run_id"].as_str().unwrap();
        let finished = reports
            .iter()
            .filter(|r| r["kind"] == "finished" && r["task_id"] == id.as_str())
            .count();
        assert_eq!(finished, 1, "task {id} ended once");
        let (_, v) = s.api("GET", &format!("/api/runs/{run}"), "");
        assert_eq!(v["run"]["status"], "done", "{v}");
        let steps = v["steps"].as_array().unwrap();
        for role in ["architect", "coder", "tester", "reviewer"] {
            assert!(
                steps
                    .iter()
                    .any(|st| st["role"] == role && st["status"] == "ok"),
                "run {run} has a finished {role} step: {v}"
            );
        }
        let branch = format!("refs/heads/factory/{run} ");
        assert_eq!(
            pushes.lines().filter(|l| l.starts_with(&branch)).count(),
            1,
            "{run}'s branch pushed once:\n{pushes}"
        );
        let started = steps
            .iter()
            .filter(|st| {
                st["summary"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("run started")
            })
            .count();
        assert_eq!(started, 1, "run {run} started once: {v}");
        let events = v["events"].to_string();
        assert!(events.contains("claimed by worker"), "who ran it: {events}");
        assert!(
            v["invocations"].as_array().is_some_and(|i| !i.is_empty()),
            "the sandbox's invocations came back with the run: {v}"
        );
        if held.contains(id) {
            assert!(
                steps.iter().any(|st| st["summary"] == "run resumed"),
                "run {run} was taken over and resumed: {v}"
            );
            assert!(
                events.contains("taken over by worker"),
                "the journal says who took it over: {events}"
            );
        }
    }
    // The scoped task was merged: the remote's main moved, once per merged
    // run, as a fast-forward, to a commit that names the run.
    let high_run = s.task(&high)["run_id"].as_str().unwrap().to_string();
    let (_, v) = s.api("GET", &format!("/api/runs/{high_run}"), "");
    assert_eq!(v["run"]["result"]["delivery"], "merged", "{}", v["run"]);
    let merged = ids
        .iter()
        .chain([&hooked, &high, &approved])
        .filter(|id| {
            let run = s.task(id)["run_id"].as_str().unwrap().to_string();
            s.api("GET", &format!("/api/runs/{run}"), "").1["run"]["result"]["delivery"] == "merged"
        })
        .count();
    assert_eq!(
        pushes
            .lines()
            .filter(|l| l.starts_with("refs/heads/main "))
            .count(),
        merged,
        "main moved once per merged run:\n{pushes}"
    );
    let log = common::git(&bare2, &["log", "--format=%B", "main"]);
    assert!(log.contains(&format!("Factory-Run: {high_run}")), "{log}");
    // Only the runs' branches and main were pushed; the checkpoints are gone.
    for l in pushes.lines().filter(|l| l.starts_with("refs/heads/")) {
        assert!(
            l.starts_with("refs/heads/factory/r") || l.starts_with("refs/heads/main "),
            "{l}"
        );
    }
    let wip = common::git(&bare, &["for-each-ref", "refs/factory-wip"]);
    assert_eq!(wip, "", "checkpoints are removed when runs end");
    // The task stream empties (w5 drops the cancelled task when it comes
    // to it).
    let waiting = || {
        s.rt.block_on(async {
            let n = factory_serve::nats::Nats::connect(&s.nats.clone(), None)
                .await
                .unwrap();
            n.tasks_waiting().await.unwrap()
        })
    };
    s.wait("the task stream emptying", || waiting() == 0, &[&w5]);
    assert_eq!(s.state(&dropped), "cancelled", "{}", s.task(&dropped));
    let dropped_run = s.task(&dropped)["run_id"].as_str().unwrap().to_string();
    let (code, _) = s.api("GET", &format!("/api/runs/{dropped_run}"), "");
    assert_eq!(code, 404, "the cancelled task never ran");
    // Workers got the tasks and nothing of the service's secrets.
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 33, "{} task messages seen", seen.len());
    for m in seen.iter() {
        assert!(!m.contains(TOKEN) && !m.contains(SECRET), "{m}");
    }
    drop((w2, w3, w4, w5));
}
