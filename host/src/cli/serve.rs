//! `factory serve`: the factory as a service (crates/factory-serve), with
//! its flags, its optional `serve.toml`, and its secrets read from files.

use super::{EXIT_USAGE, Failure, fail, open_service_host};
use anyhow::{Context, anyhow};
use clap::Args;
use factory_host::orchestrator::config::Reach;
use factory_serve::{RepoAt, ServeConfig, Service};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const AFTER_HELP: &str = "\
Endpoints:
  POST /hooks/github         GitHub webhooks (X-Hub-Signature-256 checked first):
                             an issue opened or labeled with the trigger label, a
                             `/factory` comment from an owner, member or collaborator,
                             or their review of a factory branch (the draft goes
                             back to a coder with it)
  POST /hooks/slack          Slack (signing secret v0; 5-minute timestamp window):
                             url_verification, app mentions, direct messages, and
                             slash commands; `OWNER/NAME` as the first word picks the
                             repository (else the only one)
  POST /hooks/alertmanager   Alertmanager (bearer token): a firing alert becomes an
                             incident task, a resolved one annotates it; the alert's
                             `repository` label picks the repository
  POST /api/tasks?repo=R     a spec in any intake format (the body)
  GET  /api/tasks[/ID]       the queue; POST /api/tasks/ID/cancel
  GET  /api/runs[/ID]        runs, as `factory runs --json` / `runs show ID --json`
  POST /api/runs/ID/approve  merge a draft after its gates pass again on the target
  POST /api/runs/ID/reject   the draft will not be merged ({\"reason\": ...})
  POST /api/runs/ID/cancel   stop a run
  GET  /api/events[?run=ID]  Server-Sent Events: journal events, steps, task changes
  GET  /                     the dashboard (GET /runs/ID: one run)
Every /api request and the dashboard need `Authorization: Bearer <token>` (the
--token-file's); the dashboard's sign-in page sets it as a cookie instead.

serve.toml may hold the same settings (flags win):
  listen = \"127.0.0.1:8080\"
  token_file = \"/etc/factory/token\"
  github_secret_file = \"/etc/factory/github-secret\"
  slack_secret_file = \"/etc/factory/slack-signing-secret\"
  alertmanager_token_file = \"/etc/factory/alertmanager-token\"
  workers = 2
  max_trust = \"draft\"
  trigger_label = \"factory\"
  queue = \"nats://127.0.0.1:4222\"
  nats_creds = \"/etc/factory/service.creds\"
  [repos]
  \"acme/calc\" = \"/srv/repos/calc\"
  \"acme/web\" = \"ssh://git@git.example.com/acme/web.git\"

Scale-out (docs/scale-out.md): with --queue nats://HOST:PORT, accepted tasks go
to a JetStream work queue by the trust they need (tasks.<level>); `factory
worker`s on any machine run them and report back; this service ingests their
reports, so the API and the dashboard look the same.

Example:
  factory serve --listen 127.0.0.1:8080 --token-file ~/.factory-token \\
      --github-secret-file ~/.github-secret --repo acme/calc=/srv/repos/calc";

#[derive(Args)]
#[command(after_help = AFTER_HELP)]
pub struct ServeArgs {
    /// Address to listen on (HOST:PORT).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// The bearer token every /api request needs; created (0600) if the
    /// file does not exist.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// GitHub's webhook secret (owner-only file); without it,
    /// /hooks/github answers 404.
    #[arg(long, value_name = "FILE")]
    github_secret_file: Option<PathBuf>,
    /// Slack's signing secret (owner-only file); without it, /hooks/slack
    /// answers 404.
    #[arg(long, value_name = "FILE")]
    slack_secret_file: Option<PathBuf>,
    /// The bearer token Alertmanager sends (owner-only file); without it,
    /// /hooks/alertmanager answers 404.
    #[arg(long, value_name = "FILE")]
    alertmanager_token_file: Option<PathBuf>,
    /// A repository the service works on (repeatable): OWNER/NAME=PATH, or
    /// OWNER/NAME=URL for a git remote (file://, ssh://, https://) that
    /// runs work on in a clone and deliver to by push.
    #[arg(long, value_name = "OWNER/NAME=PATH|URL")]
    repo: Vec<String>,
    /// Publish accepted tasks to NATS JetStream (nats://HOST:PORT) for
    /// `factory worker`s to run, instead of running them here.
    #[arg(long, value_name = "nats://HOST:PORT")]
    queue: Option<String>,
    /// A NATS credentials file (.creds) for --queue.
    #[arg(long, value_name = "FILE", requires = "queue")]
    nats_creds: Option<PathBuf>,
    /// Runs at once (default 2; 0 accepts work without running it).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// The most trust a run started here may have (default draft: a human
    /// approves the merge).
    #[arg(long, value_name = "LEVEL", value_parser = super::run::parse_trust)]
    max_trust: Option<Reach>,
    /// The issue label that makes an issue factory work (default factory).
    #[arg(long, value_name = "LABEL")]
    trigger_label: Option<String>,
    /// The same settings from a file (flags win).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    token_file: Option<PathBuf>,
    github_secret_file: Option<PathBuf>,
    slack_secret_file: Option<PathBuf>,
    alertmanager_token_file: Option<PathBuf>,
    workers: Option<usize>,
    max_trust: Option<String>,
    trigger_label: Option<String>,
    queue: Option<String>,
    nats_creds: Option<PathBuf>,
    #[serde(default)]
    repos: BTreeMap<String, String>,
}

pub async fn run(a: ServeArgs) -> Result<(), Failure> {
    let usage = |e: anyhow::Error| fail(EXIT_USAGE, e);
    let file = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            toml::from_str::<FileConfig>(&text)
                .map_err(|e| usage(anyhow!("{}: {e}", p.display())))?
        }
        None => FileConfig::default(),
    };
    let listen = a
        .listen
        .or(file.listen)
        .ok_or_else(|| usage(anyhow!("give the address to listen on: --listen HOST:PORT")))?;
    let token_file = a.token_file.or(file.token_file).ok_or_else(|| {
        usage(anyhow!(
            "give the API's token file: --token-file FILE (created, 0600, if it does not exist)"
        ))
    })?;
    let mut repos = BTreeMap::new();
    for (name, at) in file.repos {
        repos.insert(
            check_name(&name).map_err(usage)?,
            repo_at(&at).map_err(usage)?,
        );
    }
    for r in &a.repo {
        let (name, at) = r.split_once('=').ok_or_else(|| {
            usage(anyhow!(
                "--repo {r}: expected OWNER/NAME=PATH or OWNER/NAME=URL"
            ))
        })?;
        repos.insert(
            check_name(name).map_err(usage)?,
            repo_at(at).map_err(|e| usage(anyhow!("--repo {r}: {e}")))?,
        );
    }
    if repos.is_empty() {
        return Err(usage(anyhow!(
            "give at least one repository to work on: --repo OWNER/NAME=PATH"
        )));
    }
    let max_trust = match (a.max_trust, file.max_trust) {
        (Some(t), _) => t,
        (None, Some(s)) => {
            super::run::parse_trust(&s).map_err(|e| usage(anyhow!("max_trust: {e}")))?
        }
        (None, None) => factory_serve::worker::DEFAULT_MAX_TRUST,
    };
    let token = super::secret::read_or_create(&token_file, "factory serve")?;
    let github_secret = match a.github_secret_file.or(file.github_secret_file) {
        Some(p) => Some(super::secret::read(&p, "GitHub webhook secret")?.into_bytes()),
        None => None,
    };
    let slack_secret = match a.slack_secret_file.or(file.slack_secret_file) {
        Some(p) => Some(super::secret::read(&p, "Slack signing secret")?.into_bytes()),
        None => None,
    };
    let alertmanager_token = match a.alertmanager_token_file.or(file.alertmanager_token_file) {
        Some(p) => Some(super::secret::read(&p, "Alertmanager token")?),
        None => None,
    };
    let config = ServeConfig {
        token,
        github_secret,
        slack_secret,
        alertmanager_token,
        repos,
        workers: a.workers.or(file.workers).unwrap_or(2),
        trigger_label: a
            .trigger_label
            .or(file.trigger_label)
            .unwrap_or_else(|| "factory".into()),
        max_trust,
        max_attempts: 3,
    };
    let host = open_service_host()?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| usage(anyhow!("cannot listen on {listen}: {e}")))?;
    let addr = listener.local_addr().context("the listening address")?;
    let queue = a.queue.or(file.queue);
    let scale = match &queue {
        Some(url) => {
            if !url.starts_with("nats://") && !url.starts_with("tls://") {
                return Err(usage(anyhow!(
                    "--queue {url}: expected nats://HOST:PORT (without --queue, the embedded queue)"
                )));
            }
            let creds = a.nats_creds.or(file.nats_creds);
            let link = factory_serve::nats::service::Link::open(
                url,
                creds.as_deref(),
                &super::worker::nats_settings().map_err(usage)?,
            )
            .await
            .with_context(|| format!("--queue {}", factory_serve::nats::redact(url)))?;
            Some(link)
        }
        None => None,
    };
    let service = Service::open_with(host, config.clone(), scale).map_err(|e| usage(e.into()))?;
    let how = match &queue {
        Some(url) => format!("tasks to workers over {}", factory_serve::nats::redact(url)),
        None => format!("{} workers", config.workers),
    };
    eprintln!(
        "factory serve: listening on http://{addr} ({how}, runs at most {}); repositories: {}",
        config.max_trust.name(),
        config
            .repos
            .iter()
            .map(|(n, p)| format!("{n}={p}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    service
        .serve(listener)
        .await
        .context("the server stopped")?;
    Ok(())
}

fn check_name(name: &str) -> anyhow::Result<String> {
    let ok = name.split('/').count() == 2
        && name.split('/').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    if ok {
        Ok(name.to_string())
    } else {
        Err(anyhow!("`{name}` is not OWNER/NAME"))
    }
}

/// A path (made absolute, a git repository), or a remote URL factory
/// takes.
fn repo_at(at: &str) -> anyhow::Result<RepoAt> {
    if at.contains("://") {
        factory_host::orchestrator::git::remote::check_url(at).map_err(|e| anyhow!(e))?;
        return Ok(RepoAt::Url(at.to_string()));
    }
    Ok(RepoAt::Path(canonical(Path::new(at))?))
}

fn canonical(path: &Path) -> anyhow::Result<PathBuf> {
    let p =
        std::fs::canonicalize(path).map_err(|e| anyhow!("repository {}: {e}", path.display()))?;
    if !p.join(".git").exists() {
        return Err(anyhow!("{} is not a git repository (no .git)", p.display()));
    }
    Ok(p)
}
