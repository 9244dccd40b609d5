//! `factory serve`: the factory as a service. Webhooks (GitHub, Slack,
//! Alertmanager) and the API accept specs into a durable queue
//! ([`queue`]); workers ([`worker`]) lease tasks and run them through the
//! orchestrator; the API and the dashboard show tasks and runs, live, and
//! take the human decisions (approve, reject, cancel). Embedded defaults:
//! the queue and the journal live in the factory's SQLite database, in one
//! process.

pub mod api;
pub mod control;
pub mod dashboard;
pub mod dedupe;
pub mod hooks;
pub mod live;
pub mod nats;
pub mod queue;
pub mod worker;

use factory_orchestrator::config::Reach;
use factory_store::Host;
use queue::Queue;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What the service is told at start.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The bearer token every `/api/*` request needs.
    pub token: String,
    /// GitHub's webhook secret; without it `/hooks/github` answers 404.
    pub github_secret: Option<Vec<u8>>,
    /// Slack's signing secret; without it `/hooks/slack` answers 404.
    pub slack_secret: Option<Vec<u8>>,
    /// The bearer token Alertmanager sends; without it
    /// `/hooks/alertmanager` answers 404.
    pub alertmanager_token: Option<String>,
    /// `OWNER/NAME` → the repository's path.
    pub repos: BTreeMap<String, PathBuf>,
    pub workers: usize,
    /// The label that makes an issue factory work.
    pub trigger_label: String,
    /// The most trust a run started here may have.
    pub max_trust: Reach,
    /// Leases of a task before it is failed as a dead letter.
    pub max_attempts: u32,
}

/// The running service's shared state.
pub struct Service {
    pub config: ServeConfig,
    pub host: Host,
    pub queue: Arc<dyn Queue>,
    /// The runs, for the API (opened once).
    pub runs: factory_orchestrator::store::Store,
    /// Wakes an idle worker when a task is queued.
    pub wake: tokio::sync::Notify,
    /// Where tasks' specs are written for their runs.
    pub spec_dir: PathBuf,
    /// Tasks running in this process, each with what stops it.
    pub running: Mutex<HashMap<String, Arc<tokio::sync::Notify>>>,
    /// Changes, for the SSE clients ([`live`]).
    pub live: tokio::sync::broadcast::Sender<live::LiveEvent>,
    /// Held while the service runs (one per factory home).
    _lock: std::fs::File,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "another `factory serve` is running on the factory home {0}; one service per home (set FACTORY_HOME for another)"
    )]
    Running(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error(transparent)]
    Queue(#[from] queue::QueueError),
}

impl Service {
    /// The service on `host`, with the embedded SQLite queue.
    ///
    /// One service per factory home: a second is refused while the first
    /// runs. So at start every lease still held is a previous process's,
    /// and is ended: its task is taken again, resuming its run.
    pub fn open(host: Host, config: ServeConfig) -> Result<Arc<Service>, ServeError> {
        let dir = host.home().root().join("serve");
        std::fs::create_dir_all(&dir).map_err(|e| ServeError::Io(dir.display().to_string(), e))?;
        let lock_path = dir.join("lock");
        let lock = std::fs::File::create(&lock_path)
            .map_err(|e| ServeError::Io(lock_path.display().to_string(), e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(ServeError::Running(
                    host.home().root().display().to_string(),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(ServeError::Io(lock_path.display().to_string(), e));
            }
        }
        let queue = queue::SqliteQueue::open(&host.home().db_path(), config.max_attempts)?;
        let recovered = queue::Queue::recover(&queue)?;
        if recovered > 0 {
            tracing::warn!("{recovered} tasks were running when the service stopped; they resume");
        }
        let runs = factory_orchestrator::store::Store::open(&host.home().db_path())
            .map_err(queue::QueueError::from)?;
        Ok(Arc::new(Service {
            config,
            host,
            queue: Arc::new(queue),
            runs,
            wake: tokio::sync::Notify::new(),
            spec_dir: dir.join("specs"),
            running: Mutex::new(HashMap::new()),
            live: live::channel(),
            _lock: lock,
        }))
    }

    /// Serve on `listener` (with `workers` workers) until the process ends.
    pub async fn serve(self: &Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        worker::spawn(self, self.config.workers)?;
        live::spawn(self);
        axum::serve(listener, api::router(self.clone())).await
    }
}

/// A worker's name: this process and its index.
fn new_worker_name(i: usize) -> String {
    format!("{}-{}", std::process::id(), i)
}
