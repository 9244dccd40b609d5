//! `factory mcp`: the installed tool plugins, served to coding assistants
//! over the Model Context Protocol, on stdio or Streamable HTTP. Each call
//! runs in a fresh sandboxed instance under the plugin's trust level and
//! grants, exactly as `factory tool call` does. Nothing served here can
//! change grants, trust, limits or what is installed; the tool list is
//! fixed when the server starts.

mod factory;
mod guard;
mod http;
mod served;

use super::{EXIT_USAGE, Failure, fail, open_service_host};
use anyhow::anyhow;
use clap::Args;
use rmcp::ServiceExt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct McpArgs {
    /// Serve only these installed tools (comma-separated; default: every
    /// installed tool plugin).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    tools: Vec<String>,
    /// Serve Streamable HTTP at http://ADDR/mcp instead of stdio. ADDR is
    /// IP:PORT (port 0 picks a free one; the address is printed). Only a
    /// loopback address unless --allow-remote.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// The bearer token every HTTP request must carry (the file's content,
    /// trimmed). Default: a token created once under $FACTORY_HOME (0600),
    /// whose path is printed.
    #[arg(long, value_name = "FILE", requires = "http")]
    token_file: Option<PathBuf>,
    /// Also accept this name in the Host and Origin headers (HOST or
    /// HOST:PORT; repeatable). Anything other than the bound address (and
    /// `localhost` on a loopback address) gets 403, the DNS-rebinding guard.
    #[arg(long, value_name = "HOST", requires = "http")]
    allowed_host: Vec<String>,
    /// Allow --http on an address other than loopback.
    #[arg(long, requires = "http")]
    allow_remote: bool,
    /// How many calls may run at once; a call over it waits for a free slot.
    #[arg(long, value_name = "N", default_value_t = 16)]
    max_concurrent: usize,
    /// How long a call waits for a free slot before it fails, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    max_wait: f64,
    /// Also serve the factory itself: `factory_run` (start a run on a
    /// --factory-repo, get its id at once), `factory_runs` and
    /// `factory_run_show` (read-only).
    #[arg(long, requires = "factory_repo")]
    factory: bool,
    /// A repository `factory_run` may work on (repeatable): the only ones
    /// a client can name.
    #[arg(long, value_name = "PATH", requires = "factory")]
    factory_repo: Vec<PathBuf>,
    /// The most trust a run started over MCP may have, whatever the
    /// repository's factory.toml says: read-only, draft, auto-merge,
    /// scoped, full.
    #[arg(long, value_name = "LEVEL", default_value = "draft", value_parser = super::run::parse_trust)]
    factory_max_trust: factory_host::orchestrator::config::Reach,
}

/// How long a stopping server waits for cancelled calls to end.
const DRAIN: Duration = Duration::from_secs(2);

impl McpArgs {
    /// The runtime the server needs: worker threads on HTTP (many
    /// clients) and for --factory (a run's steps go on beside the calls),
    /// else one thread (one client on stdio: the lowest latency);
    /// either way it polls for requests after every task switch, so a call
    /// that yields lets the next request in at once rather than after
    /// tokio's default 61 switches (each up to a cancellation check long).
    pub fn runtime(&self) -> tokio::runtime::Builder {
        let mut b = if self.http.is_some() || self.factory {
            tokio::runtime::Builder::new_multi_thread()
        } else {
            tokio::runtime::Builder::new_current_thread()
        };
        b.event_interval(1).global_queue_interval(1);
        b
    }
}

pub async fn run(a: McpArgs) -> Result<(), Failure> {
    if a.max_concurrent == 0 {
        return Err(fail(
            EXIT_USAGE,
            anyhow!("--max-concurrent must be at least 1"),
        ));
    }
    if !(a.max_wait >= 0.0 && a.max_wait.is_finite()) {
        return Err(fail(
            EXIT_USAGE,
            anyhow!("--max-wait must be a number of seconds, 0 or more"),
        ));
    }
    if let Some(addr) = a.http
        && !addr.ip().is_loopback()
        && !a.allow_remote
    {
        return Err(fail(
            EXIT_USAGE,
            anyhow!(
                "--http {addr} is not a loopback address: anyone who can reach it could call the tools with the token; pass --allow-remote to serve it anyway"
            ),
        ));
    }
    let allowed = guard::parse_allowed(&a.allowed_host).map_err(|e| fail(EXIT_USAGE, e))?;
    let host = open_service_host()?;
    let limits = served::Limits {
        max_concurrent: a.max_concurrent,
        max_wait: Duration::from_secs_f64(a.max_wait),
    };
    let factory = match a.factory {
        false => None,
        true => {
            let mut repos = Vec::new();
            for r in &a.factory_repo {
                let canonical = std::fs::canonicalize(r).map_err(|e| {
                    fail(EXIT_USAGE, anyhow!("--factory-repo {}: {e}", r.display()))
                })?;
                repos.push(canonical);
            }
            Some(factory::FactoryTools::new(repos, a.factory_max_trust))
        }
    };
    let served = served::Served::open(host, &a.tools, limits, factory)?;
    match a.http {
        None => {
            let service = served
                .clone()
                .serve(rmcp::transport::stdio())
                .await
                .map_err(|e| anyhow!("cannot start the MCP session on stdio: {e}"))?;
            let ended = service.waiting().await;
            served.drain(DRAIN).await;
            ended.map_err(|e| anyhow!("the MCP server stopped: {e}"))?;
            Ok(())
        }
        Some(addr) => {
            let token = crate::cli::secret::load(a.token_file.as_deref(), &served.home())?;
            let ended = http::serve(served.clone(), addr, token, allowed).await;
            served.drain(DRAIN).await;
            ended
        }
    }
}
