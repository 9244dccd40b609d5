//! Over stdio, as `claude mcp add factory -- factory mcp` runs it.

use super::*;

#[test]
fn tools_are_listed_with_their_schemas_and_grants_decide_each_call() {
    let home = Home::new();
    let data = home.readable("notes.txt", "granted text\n");
    std::fs::write(home.dir().join("secret.txt"), "not granted\n").unwrap();
    let out = home.stdio(
        json!({"steps": [
            {"op": "call", "tool": "read-file", "args": {"path": data.join("notes.txt")}},
            {"op": "call", "tool": "read-file", "args": {"path": home.dir().join("secret.txt")}},
            {"op": "call", "tool": "no-such-tool", "args": {}},
            {"op": "call", "tool": "read-file", "args": {"path": 5}},
            {"op": "call", "tool": "read-file", "args": {"path": data.join("notes.txt")}},
        ]}),
        &[],
    );
    assert_eq!(out["server"]["name"], "factory");
    assert_eq!(out["protocol"], "2025-11-25");
    // Listing: the plugin's own schema, annotations from its grants.
    let rf = tool(&out, "read-file");
    assert_eq!(rf["inputSchema"]["required"], json!(["path"]), "{rf}");
    assert_eq!(rf["annotations"]["readOnlyHint"], true, "{rf}");
    assert_eq!(rf["annotations"]["destructiveHint"], false, "{rf}");
    assert_eq!(rf["annotations"]["openWorldHint"], false, "{rf}");
    let wf = tool(&out, "write-file");
    assert_eq!(
        wf["annotations"]["readOnlyHint"], true,
        "no write grant yet: {wf}"
    );
    assert_no_admin_tools(&out);
    let steps = out["steps"].as_array().unwrap();
    // Granted: the tool's JSON as structured content and as text.
    let ok = &steps[0]["result"];
    assert_eq!(ok["isError"], false, "{ok}");
    assert!(
        ok["structuredContent"].to_string().contains("granted text"),
        "{ok}"
    );
    assert!(text(ok).contains("granted text"), "{ok}");
    // Not granted: an error result naming the grant that would allow it,
    // and a denial in the journal; nothing leaks.
    let denied = &steps[1]["result"];
    assert_eq!(denied["isError"], true, "{denied}");
    assert!(!denied.to_string().contains("not granted\\n"), "{denied}");
    assert!(
        text(denied).contains("factory plugin grant read-file --read"),
        "{denied}"
    );
    let denials = home.denials("read-file");
    assert_eq!(denials.len(), 1, "{denials:?}");
    assert!(text(denied).contains(denials[0]["message"].as_str().unwrap()));
    // An unknown tool is a protocol error naming it; the session goes on.
    assert!(
        steps[2]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("no-such-tool"),
        "{}",
        steps[2]
    );
    // Arguments that fail the schema: an error result saying where.
    let bad = &steps[3]["result"];
    assert_eq!(bad["isError"], true, "{bad}");
    assert!(
        text(bad).contains("input schema") && text(bad).contains("/path"),
        "{bad}"
    );
    assert_eq!(steps[4]["result"]["isError"], false, "{}", steps[4]);
    // Each call is journaled like a CLI call, with the client and the
    // request id.
    let calls = home.invocations("read-file");
    assert_eq!(calls.len(), 3, "{calls:?}");
    for c in &calls {
        assert!(c["client"].as_str().unwrap().starts_with("mcp/"), "{c}");
        assert!(!c["request_id"].as_str().unwrap().is_empty(), "{c}");
    }
    assert_eq!(calls[0]["outcome"], "ok");
    assert_eq!(calls[1]["outcome"], "tool-error");
}

#[test]
fn tools_restricts_what_is_served() {
    let home = Home::new();
    let out = home.stdio(json!({}), &["--tools", "read-file,list-files"]);
    let names: Vec<&str> = out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["list-files", "read-file"]);
    let o = home.run(&["mcp", "--tools", "no-such"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not an installed tool"));
}

#[test]
fn a_runaway_call_is_cancelled_while_another_on_the_session_is_answered() {
    let home = Home::with_attacker();
    home.factory(&["plugin", "trust", "attacker", "read-only"]);
    home.factory(&["plugin", "limits", "attacker", "--deadline", "100"]);
    let out = home.stdio(
        json!({"steps": [{
            "op": "race",
            "runaway": {"tool": "attacker", "args": {"attack": "cpu-loop"}},
            "other": {"tool": "attacker", "args": {"attack": "args"}},
            "cancel_after": 0.5,
        }]}),
        &[],
    );
    let race = &out["steps"][0];
    assert_eq!(race["runaway"], "cancelled", "{race}");
    assert_eq!(race["runaway_running_when_other_answered"], true, "{race}");
    assert_eq!(race["other"]["result"]["isError"], false, "{race}");
    // The server interrupted the instance and journaled it as cancelled,
    // long before its 100 s deadline.
    let mut calls = home.invocations("attacker");
    for _ in 0..50 {
        if calls.iter().any(|c| c["outcome"] == "cancelled") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        calls = home.invocations("attacker");
    }
    let cancelled = calls
        .iter()
        .find(|c| c["outcome"] == "cancelled")
        .unwrap_or_else(|| panic!("no cancelled call in {calls:?}"));
    let ran_ms = cancelled["duration_us"].as_u64().unwrap() / 1000;
    eprintln!(
        "runaway ran {ran_ms} ms; cancelled after {:.0} ms",
        (0.5 + race["other_seconds"].as_f64().unwrap()) * 1000.0
    );
    assert!(ran_ms < 30_000, "{cancelled}");
}

#[test]
fn progress_follows_the_tools_log_lines() {
    let home = Home::with_attacker();
    let out = home.stdio(
        json!({"steps": [{"op": "call", "tool": "attacker", "progress": true,
                          "args": {"attack": "log-flood", "size": 3}}]}),
        &[],
    );
    let step = &out["steps"][0];
    assert_eq!(step["result"]["isError"], false, "{step}");
    let progress = step["progress"].as_array().unwrap();
    assert_eq!(progress.len(), 3, "{step}");
    for (i, p) in progress.iter().enumerate() {
        assert_eq!(p["progress"], (i + 1) as f64);
        assert!(
            p["message"].as_str().unwrap().starts_with("info: zzz"),
            "{p}"
        );
    }
}

#[test]
fn the_stateless_revision_discovers_and_calls() {
    let home = Home::new();
    let data = home.readable("a.txt", "stateless\n");
    let out = home.stdio(
        json!({"revision": "2026-07-28", "steps": [
            {"op": "call", "tool": "read-file", "args": {"path": data.join("a.txt")}},
        ]}),
        &[],
    );
    let d = &out["discover"];
    assert!(d.to_string().contains("2026-07-28"), "{d}");
    assert!(d.to_string().contains("2025-11-25"), "{d}");
    tool(&out, "read-file");
    let r = &out["steps"][0]["result"];
    assert_eq!(r["isError"], false, "{r}");
    assert!(text(r).contains("stateless"), "{r}");
    let calls = home.invocations("read-file");
    assert!(
        calls[0]["client"].as_str().unwrap().starts_with("mcp/"),
        "{calls:?}"
    );
}

#[test]
fn a_sandbox_limit_is_an_error_result_naming_the_limit() {
    let home = Home::with_attacker();
    home.factory(&["plugin", "limits", "attacker", "--deadline", "1"]);
    let out = home.stdio(
        json!({"steps": [
            {"op": "call", "tool": "attacker", "args": {"attack": "cpu-loop"}},
            {"op": "call", "tool": "attacker", "args": {"attack": "memory-bomb"}},
            {"op": "call", "tool": "attacker", "args": {"attack": "args"}},
        ]}),
        &[],
    );
    let s = out["steps"].as_array().unwrap();
    for (step, limit) in s.iter().zip(["deadline limit", "memory limit"]) {
        let r = &step["result"];
        assert_eq!(r["isError"], true, "{r}");
        assert!(text(r).contains(limit), "{r}");
    }
    assert_eq!(
        s[2]["result"]["isError"], false,
        "the server goes on: {}",
        s[2]
    );
}
