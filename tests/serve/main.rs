//! `factory serve`, driven from outside: signed GitHub deliveries, the API
//! with and without its token, and a kill -9 in the middle of a run. Runs
//! are the demo's example project with its model replies replayed.

mod alerts;
mod api;
#[path = "../common.rs"]
mod common;
mod dashboard;
mod decisions;
mod events;
mod github;
mod load;
mod malformed;
mod restart;
mod slack;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FACTORY: &str = env!("CARGO_BIN_EXE_factory");
const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const SECRET: &str = "It's a Secret to Everybody";
const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const ALERT_TOKEN: &str = "alertmanager-token-0123456789abcdef";

/// A home, the example repository, and `factory serve` on them.
struct Serve {
    child: Option<Child>,
    addr: String,
    dir: tempfile::TempDir,
    repo: PathBuf,
    issue: Value,
    log: Arc<Mutex<String>>,
    rt: tokio::runtime::Runtime,
    workers: usize,
}

fn private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

impl Serve {
    fn start() -> Serve {
        Serve::with_workers(2)
    }

    /// A service running `workers` runs at once (0: it only accepts).
    fn with_workers(workers: usize) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let (repo, issue) = common::example_repo(dir.path());
        private(&dir.path().join("token"), TOKEN);
        private(&dir.path().join("secret"), SECRET);
        private(&dir.path().join("slack"), SLACK_SECRET);
        private(&dir.path().join("alerts"), ALERT_TOKEN);
        let mut s = Serve {
            child: None,
            addr: String::new(),
            dir,
            repo,
            issue: serde_json::from_str(&issue).unwrap(),
            log: Arc::default(),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            workers,
        };
        s.launch();
        s
    }

    /// Start the service (again), on the same home.
    fn launch(&mut self) {
        let d = self.dir.path();
        let mut child = Command::new(FACTORY)
            // The example issue carries `bug`: as the trigger label, the
            // issue is delivered exactly as the recorded session saw it.
            .args(["serve", "--listen", "127.0.0.1:0", "--workers"])
            .arg(self.workers.to_string())
            .args(["--trigger-label", "bug"])
            .arg("--token-file")
            .arg(d.join("token"))
            .arg("--github-secret-file")
            .arg(d.join("secret"))
            .arg("--slack-secret-file")
            .arg(d.join("slack"))
            .arg("--alertmanager-token-file")
            .arg(d.join("alerts"))
            .arg("--repo")
            .arg(format!("acme/calc={}", self.repo.display()))
            .env("FACTORY_HOME", d.join("home"))
            .env("FACTORY_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let log = self.log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once("listening on http://") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
                log.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        self.addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("factory serve did not start:\n{}", self.log()));
        self.child = Some(child);
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// One HTTP request; the status and the JSON answer (Null if none).
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (u16, Value) {
        let url = format!("http://{}{path}", self.addr);
        self.rt.block_on(async {
            let mut r = reqwest::Client::new()
                .request(method.parse().unwrap(), url)
                .body(body);
            for (k, v) in headers {
                r = r.header(*k, v);
            }
            let resp = r.send().await.unwrap();
            let code = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (code, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    fn api(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let auth = vec![("authorization", format!("Bearer {TOKEN}"))];
        self.request(method, path, &auth, body.as_bytes().to_vec())
    }

    /// A GitHub delivery, signed with the service's secret.
    fn deliver(&self, event: &str, delivery: &str, payload: &Value) -> (u16, Value) {
        let body = payload.to_string().into_bytes();
        let headers = vec![
            ("x-github-event", event.to_string()),
            ("x-github-delivery", delivery.to_string()),
            ("x-hub-signature-256", sign(SECRET, &body)),
            ("content-type", "application/json".to_string()),
        ];
        self.request("POST", "/hooks/github", &headers, body)
    }

    /// A Slack request signed now (or at `ts`), with its content type.
    fn slack(
        &self,
        body: &[u8],
        content_type: &str,
        ts: Option<u64>,
        extra: &[(&str, String)],
    ) -> (u16, Value) {
        let ts = ts.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        });
        let mut mac = Hmac::<Sha256>::new_from_slice(SLACK_SECRET.as_bytes()).unwrap();
        mac.update(format!("v0:{ts}:").as_bytes());
        mac.update(body);
        let mut h = vec![
            ("x-slack-request-timestamp", ts.to_string()),
            (
                "x-slack-signature",
                format!("v0={}", hex::encode(mac.finalize().into_bytes())),
            ),
            ("content-type", content_type.to_string()),
        ];
        h.extend(extra.iter().cloned());
        self.request("POST", "/hooks/slack", &h, body.to_vec())
    }

    /// An Alertmanager notification with the Alertmanager token.
    fn alert(&self, body: &Value) -> (u16, Value) {
        let h = vec![
            ("authorization", format!("Bearer {ALERT_TOKEN}")),
            ("content-type", "application/json".to_string()),
        ];
        self.request(
            "POST",
            "/hooks/alertmanager",
            &h,
            body.to_string().into_bytes(),
        )
    }

    /// `issues` `opened` of the example issue (it has the trigger label).
    fn opened(&self) -> Value {
        json!({"action": "opened", "issue": self.issue, "repository": {"full_name": "acme/calc"}})
    }

    /// Poll the task until `done` says so.
    fn wait_task(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let until = Instant::now() + Duration::from_secs(240);
        loop {
            let (code, t) = self.api("GET", &format!("/api/tasks/{id}"), "");
            assert_eq!(code, 200, "{t}");
            if done(&t) {
                return t;
            }
            assert!(
                Instant::now() < until,
                "task {id} stayed {t}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn finished(&self, id: &str) -> Value {
        self.wait_task(id, |t| {
            matches!(
                t["state"].as_str(),
                Some("done" | "blocked" | "failed" | "cancelled")
            )
        })
    }

    /// A labelled issue delivered and run to its end: the task and run ids.
    fn draft(&self) -> (String, String) {
        let (code, r) = self.deliver("issues", "d-draft", &self.opened());
        assert_eq!(code, 202, "{r}");
        let t = self.finished(r["task_id"].as_str().unwrap());
        assert_eq!(t["state"], "done", "{t}\n{}", self.log());
        let run = t["run_id"].as_str().unwrap().to_string();
        let (_, v) = self.api("GET", &format!("/api/runs/{run}"), "");
        assert_eq!(v["run"]["result"]["delivery"], "draft", "{}", v["run"]);
        (t["id"].as_str().unwrap().to_string(), run)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
