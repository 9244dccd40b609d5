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
pub mod decide;
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
    /// `OWNER/NAME` → where the repository is.
    pub repos: BTreeMap<String, RepoAt>,
    pub workers: usize,
    /// The label that makes an issue factory work.
    pub trigger_label: String,
    /// The most trust a run started here may have.
    pub max_trust: Reach,
    /// Leases of a task before it is failed as a dead letter.
    pub max_attempts: u32,
}

/// Where a repository is: a path on this machine, or a git remote
/// (`file://`, `ssh://`, `https://`) that runs work on in a clone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepoAt {
    Path(PathBuf),
    Url(String),
}

impl RepoAt {
    /// The URL a worker elsewhere clones.
    pub fn url(&self) -> String {
        match self {
            RepoAt::Path(p) => format!("file://{}", p.display()),
            RepoAt::Url(u) => u.clone(),
        }
    }
}

impl std::fmt::Display for RepoAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RepoAt::Path(p) => write!(f, "{}", p.display()),
            RepoAt::Url(u) => f.write_str(u),
        }
    }
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
    /// With `--queue nats://`: tasks go to workers over NATS.
    pub scale: Option<Arc<nats::service::Link>>,
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
        Service::open_with(host, config, None)
    }

    /// The service, its tasks run by workers over NATS when `scale` is
    /// given (none of its own), else by its own workers.
    pub fn open_with(
        host: Host,
        config: ServeConfig,
        scale: Option<Arc<nats::service::Link>>,
    ) -> Result<Arc<Service>, ServeError> {
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
        // Over NATS, running tasks are the workers' (their leases are in
        // NATS): nothing to recover here.
        let recovered = match scale {
            None => queue::Queue::recover(&queue)?,
            Some(_) => 0,
        };
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
            scale,
            _lock: lock,
        }))
    }

    /// Serve on `listener` (with `workers` workers) until the process ends.
    pub async fn serve(self: &Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        match &self.scale {
            Some(link) => link.spawn(self),
            None => worker::spawn(self, self.config.workers)?,
        }
        live::spawn(self);
        axum::serve(listener, api::router(self.clone())).await
    }
}

/// Why a queued task is not being taken, if the reason is that no worker
/// connected over NATS takes the trust it needs.
pub fn waiting(s: &Service, t: &queue::QueuedTask) -> Option<String> {
    let link = s.scale.as_ref()?;
    (t.state == queue::TaskState::Queued)
        .then(|| link.waiting(nats::service::Link::trust_of(s, t)))
        .flatten()
}

/// A worker's name: this process and its index.
fn new_worker_name(i: usize) -> String {
    format!("{}-{}", std::process::id(), i)
}
