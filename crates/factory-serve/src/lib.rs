//! `factory serve`: the factory as a service. Webhooks (GitHub) and the API
//! accept specs into a durable queue ([`queue`]); workers ([`worker`])
//! lease tasks and run them through the orchestrator; the API shows tasks
//! and runs. Embedded defaults: the queue and the journal live in the
//! factory's SQLite database, in one process.

pub mod api;
pub mod hooks;
pub mod queue;
pub mod worker;

use factory_orchestrator::config::Reach;
use factory_store::Host;
use queue::Queue;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// What the service is told at start.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The bearer token every `/api/*` request needs.
    pub token: String,
    /// GitHub's webhook secret; without it `/hooks/github` answers 404.
    pub github_secret: Option<Vec<u8>>,
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
    /// Wakes an idle worker when a task is queued.
    pub wake: tokio::sync::Notify,
    /// Where tasks' specs are written for their runs.
    pub spec_dir: PathBuf,
}

impl Service {
    /// The service on `host`, with the embedded SQLite queue.
    pub fn open(host: Host, config: ServeConfig) -> Result<Arc<Service>, queue::QueueError> {
        let queue = queue::SqliteQueue::open(&host.home().db_path(), config.max_attempts)?;
        let spec_dir = host.home().root().join("serve/specs");
        Ok(Arc::new(Service {
            config,
            host,
            queue: Arc::new(queue),
            wake: tokio::sync::Notify::new(),
            spec_dir,
        }))
    }

    /// Serve on `listener` (with `workers` workers) until the process ends.
    pub async fn serve(self: &Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        worker::spawn(self, self.config.workers);
        axum::serve(listener, api::router(self.clone())).await
    }
}

/// A worker's name: this process and its index.
fn new_worker_name(i: usize) -> String {
    format!("{}-{}", std::process::id(), i)
}
