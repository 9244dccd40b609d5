//! `factory mcp`: the installed tool plugins, served to coding assistants
//! over the Model Context Protocol (stdio). Each call runs in a fresh
//! sandboxed instance under the plugin's trust level and grants, exactly
//! as `factory tool call` does. Nothing served here can change grants,
//! trust, limits or what is installed; the tool list is fixed when the
//! server starts.

use super::{EXIT_USAGE, Failure, fail, open_host};
use anyhow::{Context, anyhow};
use clap::Args;
use factory_host::policy::{Access, Policy};
use factory_host::registry::{PluginRecord, World};
use factory_host::{CallOptions, Host, Outcome, ToolFailure};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    InitializeResult, JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
    Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Args)]
pub struct McpArgs {
    /// Serve only these installed tools (comma-separated; default: every
    /// installed tool plugin).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    tools: Vec<String>,
}

/// The tools served, fixed for the life of the server.
struct Served {
    host: Host,
    tools: BTreeMap<String, Tool>,
}

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

fn tool_of(host: &Host, r: &PluginRecord) -> Result<Tool, Failure> {
    let schema: serde_json::Value = if r.input_schema.trim().is_empty() {
        serde_json::json!({"type": "object"})
    } else {
        serde_json::from_str(&r.input_schema).with_context(|| {
            format!(
                "the input schema `{}` declared at install is not JSON",
                r.name
            )
        })?
    };
    let serde_json::Value::Object(schema) = schema else {
        return Err(fail(
            EXIT_USAGE,
            anyhow!("the input schema of `{}` is not a JSON object", r.name),
        ));
    };
    let policy = host
        .registry()
        .policy(r)
        .context("cannot read the plugin's grants")?;
    Ok(
        Tool::new(r.name.clone(), r.description.clone(), Arc::new(schema))
            .annotate(annotations(&policy)),
    )
}

impl Served {
    fn open(host: Host, only: &[String]) -> Result<Served, Failure> {
        let mut tools = BTreeMap::new();
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
        for r in installed.iter().filter(|r| r.world == World::Tool) {
            if only.is_empty() || only.contains(&r.name) {
                tools.insert(r.name.clone(), tool_of(&host, r)?);
            }
        }
        Ok(Served { host, tools })
    }

    async fn call(&self, name: &str, arguments: Option<JsonObject>) -> CallToolResult {
        let input = serde_json::Value::Object(arguments.unwrap_or_default()).to_string();
        let inv = match self.host.invoke(name, &input, CallOptions::default()).await {
            Ok(inv) => inv,
            Err(e) => return error_result(e.to_string()),
        };
        match inv.outcome {
            Outcome::Ok(json) => match serde_json::from_str::<serde_json::Value>(&json) {
                Ok(v) => CallToolResult::structured(v),
                Err(_) => CallToolResult::success(vec![ContentBlock::text(json)]),
            },
            Outcome::ToolError(f) => error_result(match f {
                ToolFailure::InvalidInput(m) => format!("invalid input: {m}"),
                ToolFailure::Denied(m) => format!("denied: {m}"),
                ToolFailure::Failed(m) => format!("failed: {m}"),
            }),
            Outcome::Limit(kind, m) => error_result(format!("sandbox limit {kind}: {m}")),
        }
    }
}

fn error_result(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

impl ServerHandler for Served {
    fn get_info(&self) -> InitializeResult {
        let mut info = InitializeResult::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("factory", env!("CARGO_PKG_VERSION"));
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult {
            tools: self.tools.values().cloned().collect(),
            ..Default::default()
        })
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.get(name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if !self.tools.contains_key(request.name.as_ref()) {
            let known: Vec<&str> = self.tools.keys().map(String::as_str).collect();
            return Err(McpError::invalid_params(
                format!(
                    "no tool named `{}` is served here (served: {})",
                    request.name,
                    known.join(", ")
                ),
                None,
            ));
        }
        Ok(self.call(&request.name, request.arguments).await.into())
    }
}

pub async fn run(a: McpArgs) -> Result<(), Failure> {
    let host = open_host()?;
    let served = Served::open(host, &a.tools)?;
    let service = served
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow!("cannot start the MCP session on stdio: {e}"))?;
    service
        .waiting()
        .await
        .map_err(|e| anyhow!("the MCP server stopped: {e}"))?;
    Ok(())
}
