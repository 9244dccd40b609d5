//! What a hostile plugin or a hostile client gets over MCP: exactly what
//! it gets over the CLI, and no way to change what it may do.

use super::*;
use std::io::Write;

/// The attacker's answer to `attack` through `factory tool call`.
fn over_cli(home: &Home, attack: &Value) -> Value {
    let o = home.run(&["tool", "call", "attacker", "--input", &attack.to_string()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|_| panic!("{attack}: {stdout} {}", String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn the_attacker_is_held_over_mcp_exactly_as_over_the_cli() {
    let home = Home::with_attacker();
    home.factory(&["plugin", "trust", "attacker", "draft"]);
    let ro = home.dir().join("ro");
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::write(ro.join("f"), "x").unwrap();
    home.factory(&[
        "plugin",
        "grant",
        "attacker",
        "--read",
        ro.to_str().unwrap(),
    ]);
    let attacks = [
        json!({"attack": "read", "target": "/etc/passwd"}),
        json!({"attack": "read", "target": format!("{}/../../etc/passwd", ro.display())}),
        json!({"attack": "write", "target": ro.join("pwned").to_str().unwrap()}),
        json!({"attack": "list", "target": "/"}),
        json!({"attack": "env"}),
        json!({"attack": "http", "target": "http://127.0.0.1:9/"}),
        json!({"attack": "tcp", "target": "127.0.0.1", "port": 22}),
        json!({"attack": "exec", "target": "/bin/sh"}),
        json!({"attack": "kv"}),
        json!({"attack": "tool", "target": "write-file"}),
    ];
    let steps: Vec<Value> = attacks
        .iter()
        .map(|a| json!({"op": "call", "tool": "attacker", "args": a}))
        .collect();
    let out = home.stdio(json!({ "steps": steps }), &[]);
    let denials_over_mcp = home.denials("attacker").len();
    assert!(denials_over_mcp >= 5, "{denials_over_mcp}");
    for (attack, step) in attacks.iter().zip(out["steps"].as_array().unwrap()) {
        let cli = over_cli(&home, attack);
        let r = &step["result"];
        assert_eq!(r["isError"], false, "{attack}: {r}");
        assert_eq!(r["structuredContent"], cli, "{attack}: MCP {r} CLI {cli}");
        match attack["attack"].as_str().unwrap() {
            // Allowed to run, with nothing of the host's in it.
            "env" => assert_eq!(cli["env"], json!([]), "{cli}"),
            // Its own store, which a draft plugin holds.
            "kv" => {}
            _ => assert_ne!(cli["ok"], true, "{attack} got through: {cli}"),
        }
    }
    assert!(!ro.join("pwned").exists());
    // The same denials again, one set per path.
    assert_eq!(home.denials("attacker").len(), 2 * denials_over_mcp);
}

#[test]
fn a_revoke_through_the_cli_applies_to_the_next_call() {
    let home = Home::new();
    let data = home.readable("a.txt", "readable\n");
    let dir = data.to_str().unwrap();
    let path = data.join("a.txt");
    let out = home.stdio(
        json!({"steps": [
            {"op": "call", "tool": "read-file", "args": {"path": path}},
            {"op": "exec", "argv": home.argv(&["plugin", "revoke", "read-file", "--read", dir])},
            {"op": "call", "tool": "read-file", "args": {"path": path}},
            {"op": "exec", "argv": home.argv(&["plugin", "grant", "read-file", "--read", dir])},
            {"op": "call", "tool": "read-file", "args": {"path": path}},
        ]}),
        &[],
    );
    let s = out["steps"].as_array().unwrap();
    assert_eq!(s[0]["result"]["isError"], false, "{}", s[0]);
    assert_eq!(s[1]["exit"], 0, "{}", s[1]);
    assert_eq!(s[2]["result"]["isError"], true, "{}", s[2]);
    assert!(text(&s[2]["result"]).contains("--read"), "{}", s[2]);
    assert_eq!(s[4]["result"]["isError"], false, "{}", s[4]);
}

#[test]
fn no_tool_changes_grants_and_a_model_cannot_call_one() {
    let home = Home::with_attacker();
    let out = home.stdio(
        json!({"steps": [
            {"op": "call", "tool": "grant", "args": {"plugin": "attacker", "read": "/"}},
            {"op": "call", "tool": "factory_plugin_grant", "args": {}},
            {"op": "call", "tool": "attacker", "args": {"attack": "read", "target": "/etc/passwd"}},
        ]}),
        &[],
    );
    assert_no_admin_tools(&out);
    let s = out["steps"].as_array().unwrap();
    assert!(
        s[0]["error"].as_str().unwrap().contains("no tool named"),
        "{}",
        s[0]
    );
    assert!(
        s[1]["error"].as_str().unwrap().contains("no tool named"),
        "{}",
        s[1]
    );
    assert_ne!(s[2]["result"]["structuredContent"]["ok"], true, "{}", s[2]);
    let record = home.factory(&["plugin", "inspect", "attacker", "--json"]);
    assert!(!record.contains("\"/\""), "{record}");
}

#[test]
fn malformed_json_rpc_gets_an_error_and_the_server_keeps_serving() {
    let home = Home::new();
    home.factory(&["plugin", "list"]);
    let mut child = std::process::Command::new(FACTORY)
        .arg("mcp")
        .env("FACTORY_HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut send = |s: &str| {
        stdin.write_all(s.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    };
    send(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#,
    );
    let init: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(init["result"]["serverInfo"]["name"], "factory", "{init}");
    send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    send("{this is not json");
    send(
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read-file","arguments":"not an object"}}"#,
    );
    send(r#"{"jsonrpc":"2.0","id":3,"method":"no/such/method","params":{}}"#);
    send(r#"{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{}}"#);
    // Whatever the server says to the broken messages, it answers the
    // well-formed requests after them (in any order: calls run at once).
    let mut answers = Vec::new();
    while !(answers.iter().any(|a: &Value| a["id"] == 4) && answers.iter().any(|a| a["id"] == 3)) {
        let line = lines.next().expect("the server stopped").unwrap();
        answers.push(serde_json::from_str(&line).unwrap());
    }
    let list = answers.iter().find(|a| a["id"] == 4).unwrap();
    assert!(
        list["result"]["tools"].as_array().unwrap().len() > 3,
        "{list}"
    );
    let method = answers
        .iter()
        .find(|a| a["id"] == 3)
        .expect("an answer to id 3");
    assert_eq!(method["error"]["code"], -32601, "{method}");
    if let Some(a) = answers.iter().find(|a| a["id"] == 2) {
        assert!(
            a["error"].is_object() || a["result"]["isError"] == true,
            "{a}"
        );
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
}
