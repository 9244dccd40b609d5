//! The tools served and how one call is answered: checked against the
//! tool's schema, given a slot under `--max-concurrent`, run in a fresh
//! sandboxed instance that the client can cancel and whose log lines
//! become progress notifications, and journaled with the client's name and
//! request id.

use super::factory::FactoryTools;
use crate::cli::{EXIT_USAGE, Failure, fail};
use anyhow::{Context, anyhow};
use factory_host::policy::{Access, Policy};
use factory_host::registry::{PluginRecord, World};
use factory_host::{CallOptions, Host, Outcome};
use factory_sandbox::schema::InputSchema;
use factory_sandbox::{LogSink, Origin};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    InitializeResult, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam,
    ServerCapabilities, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The per-server bounds on calls.
pub struct Limits {
    pub max_concurrent: usize,
    pub max_wait: Duration,
}

struct Served1 {
    tool: Tool,
    schema: InputSchema,
    /// One of `--factory`'s tools rather than a plugin.
    factory: bool,
}

struct Inner {
    host: Host,
    tools: BTreeMap<String, Served1>,
    factory: Option<FactoryTools>,
    slots: Arc<Semaphore>,
    limits: Limits,
}

/// The tools served, fixed for the life of the server; cheap to clone
/// (one per HTTP session).
#[derive(Clone)]
pub struct Served(Arc<Inner>);

/// MCP annotations from what a plugin's policy grants: read-only when it
/// can neither write, run programs nor reach the network; open-world with
/// any network grant; destructive with write or exec.
fn annotations(p: &Policy) -> ToolAnnotations {
    let writes = p.dirs.iter().any(|(_, a)| *a == Access::ReadWrite);
    let net = !p.net.is_empty();
    let exec = !p.exec.is_empty();
    ToolAnnotations::new()
        .read_only(!writes && !exec && !net)
        .destructive(writes || exec)
        .open_world(net)
}

/// How a plugin is served: `Ok(Err(why))` when its stored schema is not
/// one (checked at install; a tool installed by an older factory may
/// have one).
fn served_one(host: &Host, r: &PluginRecord) -> Result<Result<Served1, String>, Failure> {
    let (schema, compiled) = match InputSchema::load(&r.input_schema) {
        Ok(sc) => sc,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let policy = host
        .registry()
        .policy(r)
        .context("cannot read the plugin's grants")?;
    Ok(Ok(Served1 {
        tool: Tool::new(r.name.clone(), r.description.clone(), Arc::new(schema))
            .annotate(annotations(&policy)),
        schema: compiled,
        factory: false,
    }))
}

impl Served {
    pub fn open(
        host: Host,
        only: &[String],
        limits: Limits,
        factory: Option<FactoryTools>,
    ) -> Result<Served, Failure> {
        let installed = host.registry().list().context("cannot list the plugins")?;
        for name in only {
            if !installed
                .iter()
                .any(|r| &r.name == name && r.world == World::Tool)
            {
                return Err(fail(
                    EXIT_USAGE,
                    anyhow!(
                        "--tools: `{name}` is not an installed tool (see `factory plugin list`)"
                    ),
                ));
            }
        }
        let mut tools = BTreeMap::new();
        for r in installed.iter().filter(|r| r.world == World::Tool) {
            if !only.is_empty() && !only.contains(&r.name) {
                continue;
            }
            match served_one(&host, r)? {
                Ok(one) => {
                    tools.insert(r.name.clone(), one);
                }
                // Asked for by name: say so. Otherwise serve the others.
                Err(why) if only.contains(&r.name) => {
                    return Err(fail(
                        EXIT_USAGE,
                        anyhow!("--tools: `{}`: {why}; reinstall a fixed build", r.name),
                    ));
                }
                Err(why) => eprintln!(
                    "factory mcp: not serving `{}`: {why}; reinstall a fixed build",
                    r.name
                ),
            }
        }
        // The factory's own tools. A plugin of the same name would be
        // shadowed, so it is refused rather than hidden.
        for tool in factory.iter().flat_map(|f| f.tools()) {
            if tools.contains_key(tool.name.as_ref()) {
                return Err(fail(
                    EXIT_USAGE,
                    anyhow!(
                        "the plugin `{}` has the name of a --factory tool; reinstall it under another --name to serve it with --factory",
                        tool.name
                    ),
                ));
            }
            let compiled = InputSchema::compile(&tool.input_schema)
                .map_err(|e| anyhow!("the schema of {}: {e}", tool.name))?;
            tools.insert(
                tool.name.to_string(),
                Served1 {
                    tool,
                    schema: compiled,
                    factory: true,
                },
            );
        }
        Ok(Served(Arc::new(Inner {
            host,
            tools,
            factory,
            slots: Arc::new(Semaphore::new(limits.max_concurrent)),
            limits,
        })))
    }

    /// Wait (up to `grace`) for the calls in flight to end (a closed session
    /// has cancelled them), then write out the journal: nothing a client
    /// started goes unrecorded when the server stops.
    pub async fn drain(&self, grace: Duration) {
        let all = self.0.limits.max_concurrent.min(u32::MAX as usize) as u32;
        let _ = tokio::time::timeout(grace, self.0.slots.acquire_many(all)).await;
        self.0.host.journal().flush();
    }

    pub fn tool_count(&self) -> usize {
        self.0.tools.len()
    }

    /// The factory home (where the HTTP token is kept).
    pub fn home(&self) -> PathBuf {
        self.0.host.home().root().to_path_buf()
    }

    async fn call(
        &self,
        name: &str,
        args: serde_json::Value,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResult {
        let inner = &self.0;
        let served = &inner.tools[name];
        if let Err(e) = served.schema.check(&args) {
            return error_result(format!("{name}: invalid input: {e}"));
        }
        if let (true, Some(f)) = (served.factory, &inner.factory) {
            return f.call(&inner.host, name, &args).await;
        }
        // A slot, or a clear refusal once --max-wait has passed.
        let wait = tokio::time::timeout(inner.limits.max_wait, inner.slots.clone().acquire_owned());
        let _slot = tokio::select! {
            slot = wait => match slot {
                Ok(Ok(slot)) => slot,
                _ => {
                    return error_result(format!(
                        "{name} did not start: {} calls were already running (--max-concurrent {}) for {:.1} s (--max-wait); try again later",
                        inner.limits.max_concurrent,
                        inner.limits.max_concurrent,
                        inner.limits.max_wait.as_secs_f64()
                    ));
                }
            },
            _ = context.ct.cancelled() => {
                return error_result(format!("{name} was cancelled before it started"));
            }
        };
        let (on_log, progress) = progress_of(context);
        let opts = CallOptions {
            timeout: None,
            cancel: Some(context.ct.clone()),
            on_log,
            origin: Some(origin_of(context)),
        };
        // Guest code runs on the thread that took the request. It yields
        // at every cancellation check (engine::CANCEL_CHECK), and the
        // server's runtime reads requests at every yield (see `runtime`),
        // so a runaway tool delays neither the notification that cancels
        // it nor another call by more than one check.
        let result = inner.host.invoke(name, &args.to_string(), opts).await;
        // Every progress notification goes out before the result.
        if let Some(p) = progress {
            let _ = p.await;
        }
        let inv = match result {
            Ok(inv) => inv,
            Err(e) => return error_result(format!("{name} could not run: {e}")),
        };
        if let Some(text) = inv.failure_text() {
            return error_result(text);
        }
        let Outcome::Ok(json) = inv.outcome else {
            unreachable!("failure_text is None only for Ok")
        };
        match serde_json::from_str::<serde_json::Value>(&json) {
            // structuredContent is an object; anything else is text only.
            Ok(v @ serde_json::Value::Object(_)) => CallToolResult::structured(v),
            _ => CallToolResult::success(vec![ContentBlock::text(json)]),
        }
    }
}

/// Who asked: the client's name and version (from its `initialize`, or
/// the request's `_meta` in the stateless revision) and the request id.
fn origin_of(context: &RequestContext<RoleServer>) -> Origin {
    let client = context
        .meta
        .client_info()
        .or_else(|| context.peer.peer_info().map(|p| p.client_info.clone()))
        .map(|i: Implementation| format!("{}/{}", i.name, i.version))
        .unwrap_or_else(|| "unknown".into());
    Origin {
        client,
        request_id: context.id.to_string(),
    }
}

/// When the client asked for progress: a log sink that forwards each line
/// as a `notifications/progress`, and the task doing it (done when the
/// sink is dropped with the call).
fn progress_of(
    context: &RequestContext<RoleServer>,
) -> (Option<LogSink>, Option<tokio::task::JoinHandle<()>>) {
    let Some(token) = context.meta.get_progress_token() else {
        return (None, None);
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let peer = context.peer.clone();
    let task = tokio::spawn(async move {
        let mut n = 0u64;
        while let Some(line) = rx.recv().await {
            n += 1;
            let p = ProgressNotificationParam::new(token.clone(), n as f64).with_message(line);
            if peer.notify_progress(p).await.is_err() {
                break;
            }
        }
    });
    let sink: LogSink = Arc::new(move |level: &str, line: &str| {
        let _ = tx.send(format!("{level}: {line}"));
    });
    (Some(sink), Some(task))
}

fn error_result(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

impl ServerHandler for Served {
    fn get_info(&self) -> InitializeResult {
        let mut info = InitializeResult::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("factory", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "Tools served by factory: each call runs in a fresh WebAssembly sandbox holding only the grants its operator gave the plugin. A denial names the grant the operator would have to add; no tool here can change grants.".into(),
        );
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult {
            tools: self.0.tools.values().map(|s| s.tool.clone()).collect(),
            ..Default::default()
        })
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.0.tools.get(name).map(|s| s.tool.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.as_ref();
        if !self.0.tools.contains_key(name) {
            let known: Vec<&str> = self.0.tools.keys().map(String::as_str).collect();
            return Err(McpError::invalid_params(
                format!(
                    "no tool named `{name}` is served here (served: {})",
                    known.join(", ")
                ),
                None,
            ));
        }
        let started = std::time::Instant::now();
        let args = serde_json::Value::Object(request.arguments.unwrap_or_default());
        let result = self.call(name, args, &context).await;
        tracing::debug!(
            target: "factory::mcp",
            "mcp call answered: tool={name} id={} handler_us={}",
            context.id,
            started.elapsed().as_micros()
        );
        Ok(result.into())
    }
}
