//! The scale-out's transport: NATS JetStream (docs/scale-out.md).
//!
//! - **Tasks** go to a work-queue stream ([`TASKS`]), on a subject per
//!   trust level (`tasks.<level>`). Each is published with its task id as
//!   `Nats-Msg-Id`, so a task published twice (a redelivered webhook, a
//!   service that restarted mid-publish) is one message.
//! - **Workers** pull from one durable consumer per level ([`consumer`]);
//!   a worker takes only the levels at or below its own. A message not
//!   acknowledged within the ack wait is delivered again, to any worker; a
//!   worker keeps it with `in_progress` while it runs. After
//!   [`MAX_DELIVER`] deliveries the message stays in the stream and NATS
//!   says so on the max-deliveries advisory ([`DEAD_LETTERS`]).
//! - **Leases** live in a key-value bucket ([`LEASES`]) written by
//!   compare-and-swap. The entry's revision is the fencing token: it grows
//!   with every write, so a worker that lost its lease cannot write as if
//!   it still held it.
//! - **Events** from workers go to a stream of their own ([`EVENTS`]).

pub mod lease;
pub mod rows;
pub mod service;
pub mod wire;
pub mod worker;

use async_nats::jetstream::{self, consumer::pull, stream};
use factory_orchestrator::config::Reach;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// The work-queue stream of tasks.
pub const TASKS: &str = "FACTORY_TASKS";
/// The stream of what workers report.
pub const EVENTS: &str = "FACTORY_EVENTS";
/// The key-value bucket of leases.
pub const LEASES: &str = "factory_leases";
/// How long a publish id is remembered: a task published again within it
/// is the same message.
pub const DEDUPE_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// How long a delivered task waits for its worker's ack or `in_progress`.
pub const ACK_WAIT: Duration = Duration::from_secs(30);
/// Deliveries of a task before it is a dead letter.
pub const MAX_DELIVER: i64 = 3;
/// The stream that keeps the max-deliveries advisories ([`DEAD_LETTERS`])
/// until the service has recorded each.
pub const DEAD: &str = "FACTORY_DEAD";
/// How long workers' reports are kept (a worker taking a run over reads
/// them back).
pub const EVENTS_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);
/// Where NATS reports a task that reached [`MAX_DELIVER`].
pub const DEAD_LETTERS: &str = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.FACTORY_TASKS.>";

#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("cannot connect to NATS at {0}: {1}")]
    Connect(String, String),
    #[error("cannot read the NATS credentials {0}: {1}")]
    Creds(String, String),
    #[error("NATS JetStream: {0}")]
    JetStream(String),
}

fn js_err(e: impl std::fmt::Display) -> NatsError {
    NatsError::JetStream(e.to_string())
}

/// A task as it travels: data for a worker, never configuration that
/// raises trust (the worker's own policy and `--max-trust` decide).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    pub task_id: String,
    /// `OWNER/NAME`.
    pub repo: String,
    /// The repository's git remote (`file://`, `ssh://`, `https://`).
    pub repo_url: String,
    pub format: String,
    pub spec: String,
    pub title: String,
    /// The trust the task needs: its subject, `tasks.<trust>`.
    pub trust: String,
    /// The run's id, chosen before it exists.
    pub run_id: String,
}

/// The subject of tasks at `level`.
pub fn subject(level: Reach) -> String {
    format!("tasks.{}", level.name())
}

/// The durable consumer of tasks at `level`.
pub fn consumer_name(level: Reach) -> String {
    format!("tasks-{}", level.name())
}

/// Every level, lowest first.
pub const LEVELS: [Reach; 5] = [
    Reach::ReadOnly,
    Reach::Draft,
    Reach::AutoMerge,
    Reach::Scoped,
    Reach::Full,
];

/// How the task consumers behave.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long a delivered task waits for an ack or `in_progress`.
    pub ack_wait: Duration,
    /// Deliveries before a task is a dead letter.
    pub max_deliver: i64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            ack_wait: ACK_WAIT,
            max_deliver: MAX_DELIVER,
        }
    }
}

/// `url` without its user and password, and those.
fn split_user(url: &str) -> (String, Option<(String, String)>) {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() => {
            let user = percent(u.username());
            let pass = percent(u.password().unwrap_or_default());
            let _ = u.set_username("");
            let _ = u.set_password(None);
            (
                u.to_string().trim_end_matches('/').to_string(),
                Some((user, pass)),
            )
        }
        _ => (url.to_string(), None),
    }
}

fn percent(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// `url` as it may be shown: without a password.
pub fn redact(url: &str) -> String {
    match split_user(url) {
        (bare, Some((user, _))) => bare.replacen("://", &format!("://{user}:***@"), 1),
        (bare, None) => bare,
    }
}

/// A connection with JetStream.
#[derive(Clone)]
pub struct Nats {
    pub client: async_nats::Client,
    pub js: jetstream::Context,
}

impl Nats {
    /// Connect to `url` (`nats://HOST:PORT`), with a credentials file
    /// (`--nats-creds`) if given.
    /// A user and password in the URL (`nats://USER:PASS@HOST:PORT`) are
    /// sent as such (static users in the server's configuration).
    pub async fn connect(url: &str, creds: Option<&Path>) -> Result<Nats, NatsError> {
        let mut opts = async_nats::ConnectOptions::new()
            .name("factory")
            .retry_on_initial_connect();
        let (url, user) = split_user(url);
        let url = url.as_str();
        if let Some((u, p)) = user {
            opts = opts.user_and_password(u, p);
        }
        if let Some(c) = creds {
            opts = opts
                .credentials_file(c)
                .await
                .map_err(|e| NatsError::Creds(c.display().to_string(), e.to_string()))?;
        }
        let client = tokio::time::timeout(Duration::from_secs(20), opts.connect(url))
            .await
            .map_err(|_| NatsError::Connect(url.into(), "no answer in 20 s".into()))?
            .map_err(|e| NatsError::Connect(url.into(), e.to_string()))?;
        let js = jetstream::new(client.clone());
        Ok(Nats { client, js })
    }

    /// Create what factory uses, where it is missing: the streams, one
    /// consumer per level, the lease bucket.
    pub async fn ensure(&self, settings: &Settings) -> Result<(), NatsError> {
        let tasks = self
            .js
            .get_or_create_stream(stream::Config {
                name: TASKS.into(),
                subjects: vec!["tasks.>".into()],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                duplicate_window: DEDUPE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(js_err)?;
        for level in LEVELS {
            tasks
                .get_or_create_consumer(
                    &consumer_name(level),
                    pull::Config {
                        durable_name: Some(consumer_name(level)),
                        filter_subject: subject(level),
                        ack_wait: settings.ack_wait,
                        max_deliver: settings.max_deliver,
                        ..Default::default()
                    },
                )
                .await
                .map_err(js_err)?;
        }
        self.js
            .get_or_create_stream(stream::Config {
                name: EVENTS.into(),
                subjects: vec!["events.>".into()],
                storage: stream::StorageType::File,
                max_age: EVENTS_KEPT,
                ..Default::default()
            })
            .await
            .map_err(js_err)?;
        self.js
            .get_or_create_stream(stream::Config {
                name: DEAD.into(),
                subjects: vec![DEAD_LETTERS.into()],
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(js_err)?;
        // The bucket's stream, made here as the client's `create_key_value`
        // would: its account query does not parse nats-server 2.9's answer.
        self.js
            .get_or_create_stream(stream::Config {
                name: format!("KV_{LEASES}"),
                subjects: vec![format!("$KV.{LEASES}.>")],
                max_messages_per_subject: 1,
                storage: stream::StorageType::File,
                allow_rollup: true,
                deny_delete: true,
                allow_direct: true,
                discard: stream::DiscardPolicy::New,
                ..Default::default()
            })
            .await
            .map_err(js_err)?;
        Ok(())
    }

    /// Publish a task on its level's subject, its id as `Nats-Msg-Id`.
    /// Ok(false) when NATS already had it (the same task again).
    pub async fn publish_task(&self, t: &TaskMessage) -> Result<bool, NatsError> {
        let level = Reach::parse(&t.trust)
            .ok_or_else(|| NatsError::JetStream(format!("`{}` is not a trust level", t.trust)))?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", t.task_id.as_str());
        let body = serde_json::to_vec(t).map_err(js_err)?;
        let ack = self
            .js
            .publish_with_headers(subject(level), headers, body.into())
            .await
            .map_err(js_err)?
            .await
            .map_err(js_err)?;
        Ok(!ack.duplicate)
    }

    /// The pull consumer of tasks at `level`.
    pub async fn consumer(
        &self,
        level: Reach,
    ) -> Result<jetstream::consumer::Consumer<pull::Config>, NatsError> {
        let stream = self.js.get_stream(TASKS).await.map_err(js_err)?;
        stream
            .get_consumer(&consumer_name(level))
            .await
            .map_err(js_err)
    }

    /// Messages in the task stream (a work queue: those not yet
    /// acknowledged).
    pub async fn tasks_waiting(&self) -> Result<u64, NatsError> {
        let mut stream = self.js.get_stream(TASKS).await.map_err(js_err)?;
        Ok(stream.info().await.map_err(js_err)?.state.messages)
    }

    pub async fn leases(&self) -> Result<lease::Leases, NatsError> {
        Ok(lease::Leases {
            kv: self.js.get_key_value(LEASES).await.map_err(js_err)?,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_user_in_the_url_is_taken_out_and_never_shown() {
        let (bare, user) = super::split_user("nats://worker:p%2Bw%40rd@10.0.0.1:4222");
        assert_eq!(bare, "nats://10.0.0.1:4222");
        assert_eq!(user, Some(("worker".into(), "p+w@rd".into())));
        assert_eq!(
            super::redact("nats://worker:secret@10.0.0.1:4222"),
            "nats://worker:***@10.0.0.1:4222"
        );
        assert_eq!(super::split_user("nats://10.0.0.1:4222").1, None);
    }
}
