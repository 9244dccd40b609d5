//! `factory mcp` against the alternatives, in the same run (ratios, because
//! these machines are noisy):
//!
//! - factory: 1,000 sequential `tools/call`s of a no-op tool from the
//!   official MCP Python SDK client over stdio, each in a fresh sandboxed
//!   instance;
//! - python: the same client against the Python SDK's own server
//!   (`mcp.server.MCPServer`) with a native, unsandboxed echo tool;
//! - cold start: from spawning the server to the first answered
//!   `tools/list`, with raw JSON-RPC on its stdin (the server's own) and
//!   through the SDK client (which adds its own start-up);
//! - server side: from the request reaching the handler to its result,
//!   against the invocation itself (`Host::invoke`, as journaled).
//!
//! Run: `cargo bench -p factory-host --bench mcp` (`-- --calls N` to change
//! the count). Needs `bash .ci/guest-tools` (the Python SDK).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    let p = root().join("target/guest-tools/venv/bin/python");
    assert!(
        p.exists(),
        "run `bash .ci/guest-tools` first (the MCP Python SDK)"
    );
    p
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

/// Run the client against `server`; (its JSON, its stderr).
fn client(home: &Path, calls: usize, tool: &str, args: &str, server: &[&str]) -> (Value, String) {
    let o = Command::new(python())
        .arg(root().join("host/benches/mcp_client.py"))
        .args([&calls.to_string(), tool, args])
        .args(server)
        .env("FACTORY_HOME", home)
        .env("FACTORY_LOG", "factory::mcp=debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "client: {stderr}");
    (serde_json::from_slice(&o.stdout).unwrap(), stderr)
}

/// Spawn `factory mcp`, send initialize and tools/list on its stdin, and
/// time until the tools/list answer is read: the server's own cold start,
/// without a client library's start-up (median of 15).
fn raw_cold_start(factory: &str, home: &Path) -> f64 {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let msgs = concat!(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#,
        "\n",
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        "\n"
    );
    let mut times = Vec::new();
    for _ in 0..15 {
        let t = std::time::Instant::now();
        let mut child = Command::new(factory)
            .arg("mcp")
            .env("FACTORY_HOME", home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(msgs.as_bytes()).unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "factory mcp exited");
            if line.contains(r#""id":2"#) {
                break;
            }
        }
        times.push(t.elapsed().as_secs_f64());
        drop(stdin);
        let _ = child.wait();
    }
    median(times)
}

fn main() {
    let mut calls = 1000;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--calls") {
        calls = args[i + 1].parse().expect("--calls N");
    }
    let factory = env!("CARGO_BIN_EXE_factory");
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let noop = PathBuf::from(env!("FACTORY_GUEST_DIR")).join("factory_test_noop.wasm");
    let st = Command::new(factory)
        .args([
            "plugin",
            "install",
            noop.to_str().unwrap(),
            "--name",
            "noop",
        ])
        .env("FACTORY_HOME", &home)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );

    // Interleaved: factory, python, factory, python.
    let py_server = root().join("host/benches/mcp_python_server.py");
    let py = python();
    let mut f_runs = Vec::new();
    let mut p_runs = Vec::new();
    let mut server_us = Vec::new();
    for _ in 0..2 {
        let (f, stderr) = client(&home, calls, "noop", "{}", &[factory, "mcp"]);
        for line in stderr.lines().filter(|l| l.contains("mcp call answered")) {
            if let Some(us) = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("handler_us="))
            {
                server_us.push(us.parse::<f64>().unwrap());
            }
        }
        f_runs.push(f);
        let (p, _) = client(
            &home,
            calls,
            "echo",
            r#"{"text":"hi"}"#,
            &[py.to_str().unwrap(), py_server.to_str().unwrap()],
        );
        p_runs.push(p);
    }
    let get =
        |runs: &[Value], k: &str| median(runs.iter().map(|r| r[k].as_f64().unwrap()).collect());
    let f_call = get(&f_runs, "per_call_s");
    let p_call = get(&p_runs, "per_call_s");
    let f_cold = get(&f_runs, "cold_s");
    let p_cold = get(&p_runs, "cold_s");

    // The invocations themselves, as journaled.
    let log = Command::new(factory)
        .args(["log", "--json", "--plugin", "noop", "--limit", "100000"])
        .env("FACTORY_HOME", &home)
        .output()
        .unwrap();
    let entries: Vec<Value> = serde_json::from_slice(&log.stdout).unwrap();
    let invoke_us = median(
        entries
            .iter()
            .filter(|e| e["type"] == "invocation" && e["client"].is_string())
            .map(|e| e["duration_us"].as_f64().unwrap())
            .collect(),
    );
    let handler_us = median(server_us);
    let raw_cold = raw_cold_start(factory, &home);

    println!(
        "mcp: {calls} sequential tools/call from the Python SDK client over stdio (median of 2 interleaved runs, each the median of 5 batches)"
    );
    println!(
        "  factory mcp (sandboxed no-op)   {:>8.3} ms/call",
        f_call * 1e3
    );
    println!(
        "  Python SDK server (native echo) {:>8.3} ms/call",
        p_call * 1e3
    );
    println!(
        "  ratio factory/python            {:>8.2}x (target <= 0.5x)",
        f_call / p_call
    );
    println!("cold start, spawn to the first answered tools/list:");
    println!(
        "  factory mcp, raw JSON-RPC       {:>8.1} ms (target <= 20 ms)",
        raw_cold * 1e3
    );
    println!("  factory mcp, SDK client         {:>8.1} ms", f_cold * 1e3);
    println!("  Python SDK server, SDK client   {:>8.1} ms", p_cold * 1e3);
    println!("server side, per call (medians):");
    println!("  handler, request to result      {handler_us:>8.1} us");
    println!("  the invocation (Host::invoke)   {invoke_us:>8.1} us");
    println!(
        "  overhead above the invocation   {:>8.1} us (target <= 50 us)",
        handler_us - invoke_us
    );
}
