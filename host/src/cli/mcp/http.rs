//! `factory mcp --http ADDR`: Streamable HTTP at `http://ADDR/mcp`, with
//! sessions for the 2025-11-25 revision and stateless requests for
//! 2026-07-28 (rmcp routes each by its protocol version). Every request
//! passes [`super::guard`] first.

use super::guard::{self, Allowed, Guard};
use super::served::Served;
use crate::cli::Failure;
use anyhow::Context;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub async fn serve(
    served: Served,
    addr: SocketAddr,
    token: String,
    allowed: Vec<Allowed>,
) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let stop = CancellationToken::new();
    // The guard in front decides Host and Origin; rmcp's own host check
    // would refuse the names it does not know.
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_cancellation_token(stop.child_token());
    let tools = served.tool_count();
    let mcp = StreamableHttpService::new(
        move || Ok(served.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let guard = Arc::new(Guard::new(token, bound, allowed));
    let app = axum::Router::new()
        .route_service("/mcp", mcp)
        .layer(axum::middleware::from_fn_with_state(guard, guard::check));
    // The one line a launcher waits for: where to connect.
    eprintln!("factory mcp: serving {tools} tools at http://{bound}/mcp");
    let shutdown = {
        let stop = stop.clone();
        async move {
            // Ctrl-C or a plain `kill`: stop taking requests, end sessions.
            let term = async {
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term => {}
            }
            stop.cancel();
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("the MCP HTTP server failed")?;
    Ok(())
}
