//! `factory worker`: run tasks from a `factory serve --queue nats://`
//! service, on this machine (crates/factory-serve/src/nats/worker.rs).

use super::{EXIT_USAGE, Failure, fail, open_service_host};
use anyhow::anyhow;
use clap::Args;
use factory_host::orchestrator::config::Reach;
use factory_serve::nats::Settings;
use factory_serve::nats::worker::{WorkerConfig, valid_name};
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
A worker pulls tasks from NATS JetStream (one durable consumer per trust level, the
levels up to --max-trust), takes each task's lease, runs it in a worktree of its
own clone of the task's repository (with this machine's sandbox, plugins, model
keys and operator policy: `factory policy`), pushes the run's branch factory/ID,
delivers to the target branch only as a fast-forward of what the gates saw, and
reports every step on the events stream. It needs no access to the service's disk,
and never receives its API token or webhook secrets.

A worker that dies is replaced: its task is delivered again after the ack wait,
and the next worker resumes the run where the journal says it was.

Example:
  factory worker --nats nats://queue.internal:4222 --concurrency 2 \\
      --max-trust draft --name build-7";

#[derive(Args)]
#[command(after_help = AFTER_HELP)]
pub struct WorkerArgs {
    /// The NATS server (nats://HOST:PORT) the service publishes to.
    #[arg(long, value_name = "nats://HOST:PORT")]
    nats: String,
    /// A NATS credentials file (.creds).
    #[arg(long, value_name = "FILE")]
    nats_creds: Option<PathBuf>,
    /// Tasks at once (default 1).
    #[arg(long, value_name = "N", default_value_t = 1)]
    concurrency: usize,
    /// The most trust a task run here may have (default draft): tasks that
    /// need more wait for another worker.
    #[arg(long, value_name = "LEVEL", value_parser = super::run::parse_trust)]
    max_trust: Option<Reach>,
    /// This worker's name, on its reports (letters, digits, - and _;
    /// default: the host name and process id).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
}

pub async fn run(a: WorkerArgs) -> Result<(), Failure> {
    let usage = |e: anyhow::Error| fail(EXIT_USAGE, e);
    if !a.nats.starts_with("nats://") && !a.nats.starts_with("tls://") {
        return Err(usage(anyhow!(
            "--nats {}: expected nats://HOST:PORT",
            a.nats
        )));
    }
    if a.concurrency == 0 || a.concurrency > 64 {
        return Err(usage(anyhow!(
            "--concurrency {}: give 1 to 64",
            a.concurrency
        )));
    }
    let name = match a.name {
        Some(n) if valid_name(&n) => n,
        Some(n) => {
            return Err(usage(anyhow!(
                "--name {n}: letters, digits, - and _ only (it is part of a NATS subject)"
            )));
        }
        None => default_name(),
    };
    let max_trust = a.max_trust.unwrap_or(Reach::Draft);
    let host = open_service_host()?;
    eprintln!(
        "factory worker {name}: {} at once, trust up to {}, from {}",
        a.concurrency,
        max_trust.name(),
        factory_serve::nats::redact(&a.nats)
    );
    factory_serve::nats::worker::run(
        host,
        WorkerConfig {
            url: a.nats,
            creds: a.nats_creds,
            concurrency: a.concurrency,
            max_trust,
            name,
        },
    )
    .await
    .map_err(|e| fail(super::EXIT_INTERNAL, e.into()))
}

fn default_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect();
    let host = if host.is_empty() {
        "worker".into()
    } else {
        host
    };
    format!("{host}-{}", std::process::id())
}

/// How long a delivered task waits for its worker (the lease lasts as
/// long), and deliveries before a dead letter: `FACTORY_NATS_ACK_WAIT`
/// (seconds) and `FACTORY_NATS_MAX_DELIVER` tune them for a service that
/// creates the streams.
pub fn nats_settings() -> anyhow::Result<Settings> {
    let mut s = Settings::default();
    if let Ok(v) = std::env::var("FACTORY_NATS_ACK_WAIT") {
        let secs: f64 = v
            .parse()
            .map_err(|_| anyhow!("FACTORY_NATS_ACK_WAIT={v}: seconds, e.g. 30"))?;
        if !(1.0..=3600.0).contains(&secs) {
            return Err(anyhow!("FACTORY_NATS_ACK_WAIT={v}: give 1 to 3600 seconds"));
        }
        s.ack_wait = Duration::from_secs_f64(secs);
    }
    if let Ok(v) = std::env::var("FACTORY_NATS_MAX_DELIVER") {
        s.max_deliver = v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| anyhow!("FACTORY_NATS_MAX_DELIVER={v}: give 1 to 100"))?;
    }
    Ok(s)
}
