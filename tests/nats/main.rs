//! The scale-out's transport against a real `nats-server -js` (Debian's),
//! started by each test on 127.0.0.1 with a store of its own and stopped by
//! PID: the task stream's dedupe and routing by trust, redelivery and
//! `in_progress`, dead letters on the max-deliveries advisory, leases by
//! compare-and-swap with fencing, and a NATS restart losing nothing.

#[path = "../common.rs"]
#[allow(dead_code)]
mod common;
mod delivery;
mod permissions;
mod scale;

use factory_host::orchestrator::config::Reach;
use factory_serve::nats::lease::LeaseError;
use factory_serve::nats::{self, Nats, Settings, TaskMessage};
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `nats-server -js` on a free loopback port, its store in a temporary
/// directory; stopped (by PID) when dropped.
struct Server {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
    /// A configuration file, and the environment it reads.
    config: Option<(PathBuf, Vec<(String, String)>)>,
}

fn binary() -> PathBuf {
    for p in ["/usr/sbin/nats-server", "/usr/bin/nats-server"] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    PathBuf::from("nats-server")
}

impl Server {
    fn start() -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = Server {
            child: None,
            port,
            store: tempfile::tempdir().unwrap(),
            config: None,
        };
        s.launch();
        s
    }

    /// The server with configuration `text` (`$VAR`s from `env`).
    fn with_config(text: &str, env: &[(&str, &str)]) -> Server {
        let mut s = Server::start_later();
        let path = s.store.path().join("nats-server.conf");
        std::fs::write(&path, text).unwrap();
        s.config = Some((
            path,
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ));
        s.launch();
        s
    }

    fn start_later() -> Server {
        Server {
            child: None,
            port: std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port(),
            store: tempfile::tempdir().unwrap(),
            config: None,
        }
    }

    fn launch(&mut self) {
        let mut c = Command::new(binary());
        if let Some((path, env)) = &self.config {
            // With permissions, a violation is logged (-D).
            c.arg("-c").arg(path).arg("-D").envs(env.iter().cloned());
        }
        let child = c
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.store.path().join("js"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.store.path().join("nats.log")).unwrap())
            .spawn()
            .expect("nats-server (apt-get install nats-server)");
        self.child = Some(child);
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                std::time::Instant::now() < until,
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }

    /// What the server logged.
    fn log(&self) -> String {
        std::fs::read_to_string(self.store.path().join("nats.log")).unwrap_or_default()
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn task(id: &str, trust: &str) -> TaskMessage {
    TaskMessage {
        task_id: id.into(),
        repo: "acme/calc".into(),
        repo_url: "file:///srv/calc.git".into(),
        format: "markdown".into(),
        spec: "# Fix mean\n".into(),
        title: "Fix mean".into(),
        trust: trust.into(),
        run_id: format!("r{}", id.replace('-', "")),
    }
}

/// The next task on `level`'s consumer within `wait`, if any.
async fn next(n: &Nats, level: Reach, wait: Duration) -> Option<async_nats::jetstream::Message> {
    let c = n.consumer(level).await.unwrap();
    let mut batch = c
        .fetch()
        .max_messages(1)
        .expires(wait)
        .messages()
        .await
        .unwrap();
    batch.next().await.map(|m| m.unwrap())
}

async fn connect(s: &Server, settings: &Settings) -> Nats {
    let n = Nats::connect(&s.url(), None).await.unwrap();
    n.ensure(settings).await.unwrap();
    n
}

#[test]
fn a_task_published_twice_is_one_message_on_its_levels_subject() {
    let s = Server::start();
    rt().block_on(async {
        let n = connect(&s, &Settings::default()).await;
        assert!(n.publish_task(&task("t-1", "draft")).await.unwrap());
        assert!(
            !n.publish_task(&task("t-1", "draft")).await.unwrap(),
            "the same id: a duplicate"
        );
        assert!(n.publish_task(&task("t-2", "scoped")).await.unwrap());
        assert_eq!(n.tasks_waiting().await.unwrap(), 2);
        // Each level's consumer sees only its subject.
        assert!(
            next(&n, Reach::ReadOnly, Duration::from_millis(300))
                .await
                .is_none()
        );
        let m = next(&n, Reach::Draft, Duration::from_secs(2))
            .await
            .unwrap();
        let got: TaskMessage = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(got, task("t-1", "draft"));
        m.ack().await.unwrap();
        let m = next(&n, Reach::Scoped, Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(m.subject.as_str(), "tasks.scoped");
        m.double_ack().await.unwrap();
        assert_eq!(
            n.tasks_waiting().await.unwrap(),
            0,
            "acknowledged work leaves the queue"
        );
        assert!(n.publish_task(&task("t-3", "no-such-level")).await.is_err());
    });
}

#[test]
fn in_progress_keeps_a_task_and_a_silent_worker_loses_it() {
    let s = Server::start();
    rt().block_on(async {
        let settings = Settings {
            ack_wait: Duration::from_secs(1),
            max_deliver: 5,
        };
        let n = connect(&s, &settings).await;
        n.publish_task(&task("t-1", "draft")).await.unwrap();
        let m = next(&n, Reach::Draft, Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(m.info().unwrap().delivered, 1);
        // Kept alive past twice the ack wait: nobody else gets it.
        for _ in 0..8 {
            m.ack_with(async_nats::jetstream::AckKind::Progress)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert!(
            next(&n, Reach::Draft, Duration::from_millis(200))
                .await
                .is_none()
        );
        // The worker stops renewing (as if killed): delivered again.
        let again = next(&n, Reach::Draft, Duration::from_secs(3))
            .await
            .expect("redelivered");
        assert_eq!(again.info().unwrap().delivered, 2);
        again.ack().await.unwrap();
    });
}

#[test]
fn after_its_last_delivery_a_task_is_named_on_the_advisory_and_stays_in_the_stream() {
    let s = Server::start();
    rt().block_on(async {
        let settings = Settings {
            ack_wait: Duration::from_millis(500),
            max_deliver: 2,
        };
        let n = connect(&s, &settings).await;
        let mut dead = n.client.subscribe(nats::DEAD_LETTERS).await.unwrap();
        n.publish_task(&task("t-poison", "draft")).await.unwrap();
        for delivery in 1..=2 {
            let m = next(&n, Reach::Draft, Duration::from_secs(3))
                .await
                .unwrap();
            assert_eq!(m.info().unwrap().delivered, delivery);
            // Never acknowledged: the worker fails each time.
        }
        // Workers keep asking; it is not delivered a third time, and NATS
        // names it on the advisory instead.
        let (third, advisory) = tokio::join!(
            next(&n, Reach::Draft, Duration::from_secs(3)),
            tokio::time::timeout(Duration::from_secs(5), dead.next())
        );
        assert!(third.is_none(), "not delivered a third time");
        let advisory = advisory.expect("the max-deliveries advisory").unwrap();
        let a: serde_json::Value = serde_json::from_slice(&advisory.payload).unwrap();
        assert_eq!(
            (
                a["stream"].as_str(),
                a["consumer"].as_str(),
                a["deliveries"].as_u64()
            ),
            (Some(nats::TASKS), Some("tasks-draft"), Some(2)),
            "{a}"
        );
        // Left in the stream, never dropped: its sequence finds it.
        let seq = a["stream_seq"].as_u64().unwrap();
        let stream = n.js.get_stream(nats::TASKS).await.unwrap();
        let raw = stream.get_raw_message(seq).await.unwrap();
        let t: TaskMessage = serde_json::from_slice(&raw.payload).unwrap();
        assert_eq!(t.task_id, "t-poison");
        assert!(
            next(&n, Reach::Draft, Duration::from_millis(700))
                .await
                .is_none(),
            "not delivered a third time"
        );
    });
}

#[test]
fn leases_are_taken_by_compare_and_swap_and_fence_out_a_lost_holder() {
    let s = Server::start();
    rt().block_on(async {
        let n = connect(&s, &Settings::default()).await;
        let leases = n.leases().await.unwrap();
        let ttl = Duration::from_millis(400);
        let mut a = leases.acquire("t-1", "w1", ttl).await.unwrap();
        assert_eq!(a.fence, 1);
        assert!(matches!(leases.acquire("t-1", "w2", ttl).await, Err(LeaseError::Held { worker, .. }) if worker == "w1"));
        assert!(leases.renew(&mut a, ttl).await.unwrap());
        assert!(leases.holds("t-1", 1).await.unwrap());
        // A renewal NATS applied but whose answer was lost leaves the holder
        // a stale revision: the next renewal finds the entry still its own.
        let mut stale = a.clone();
        assert!(leases.renew(&mut a, ttl).await.unwrap());
        assert!(
            leases.renew(&mut stale, ttl).await.unwrap(),
            "still w1's lease"
        );
        a = stale;
        // w1 goes silent; the lease runs out and w2 takes it.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let b = leases.acquire("t-1", "w2", Duration::from_secs(30)).await.unwrap();
        assert_eq!(b.fence, 2);
        assert!(!leases.renew(&mut a, ttl).await.unwrap(), "w1 learns it lost the lease");
        assert!(!leases.holds("t-1", 1).await.unwrap(), "w1's writes are refused");
        assert!(leases.holds("t-1", 2).await.unwrap());
        assert!(!leases.release(&a.task_id, a.fence).await.unwrap());
        assert!(leases.release(&b.task_id, b.fence).await.unwrap());
        assert!(!leases.holds("t-1", 2).await.unwrap());
        // Two workers race for a free task: exactly one wins.
        let (x, y) = tokio::join!(
            leases.acquire("t-2", "w1", Duration::from_secs(30)),
            leases.acquire("t-2", "w2", Duration::from_secs(30))
        );
        assert_eq!(x.is_ok() as u8 + y.is_ok() as u8, 1, "{x:?} {y:?}");
    });
}

#[test]
fn a_nats_restart_loses_no_task_and_forgets_no_publish_id() {
    let mut s = Server::start();
    let rt = rt();
    rt.block_on(async {
        let n = connect(&s, &Settings::default()).await;
        for i in 0..5 {
            n.publish_task(&task(&format!("t-{i}"), "draft"))
                .await
                .unwrap();
        }
    });
    s.stop();
    s.launch();
    rt.block_on(async {
        let n = connect(&s, &Settings::default()).await;
        assert_eq!(n.tasks_waiting().await.unwrap(), 5);
        assert!(
            !n.publish_task(&task("t-3", "draft")).await.unwrap(),
            "still a duplicate after the restart"
        );
        let mut seen = Vec::new();
        while let Some(m) = next(&n, Reach::Draft, Duration::from_millis(500)).await {
            let t: TaskMessage = serde_json::from_slice(&m.payload).unwrap();
            seen.push(t.task_id);
            m.double_ack().await.unwrap();
        }
        assert_eq!(seen, ["t-0", "t-1", "t-2", "t-3", "t-4"]);
    });
}
