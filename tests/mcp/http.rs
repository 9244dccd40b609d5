//! Over Streamable HTTP: the token, the Host/Origin guard, both revisions
//! with the Python SDK, and the per-server limit on concurrent calls.

use super::*;
use std::io::{Read, Write};
use std::net::TcpStream;

/// One raw POST to /mcp: (status, body). `Host` is the server's address
/// unless `headers` name another.
fn post(server: &Server, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(&server.addr).unwrap();
    let mut req = format!(
        "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req += &format!("Host: {}\r\n", server.addr);
    }
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    req += "\r\n";
    req += body;
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {out:?}"));
    (status, out)
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

#[test]
fn every_request_needs_the_token_and_this_servers_name() {
    let home = Home::new();
    let server = Server::start(&home, &[]);
    assert_eq!(server.token.len(), 64, "a token was created under the home");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(home.path().join("mcp-token"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let bearer = format!("Bearer {}", server.token);
    let auth = ("Authorization", bearer.as_str());
    // No token, a wrong one: 401.
    assert_eq!(post(&server, &[], INIT).0, 401);
    assert_eq!(
        post(&server, &[("Authorization", "Bearer wrong")], INIT).0,
        401
    );
    // A foreign Host or Origin (DNS rebinding): 403, token or not.
    assert_eq!(
        post(&server, &[auth, ("Host", "evil.example")], INIT).0,
        403
    );
    assert_eq!(
        post(&server, &[auth, ("Origin", "http://evil.example")], INIT).0,
        403
    );
    // The bound address, with the token: served.
    let (status, body) = post(&server, &[auth], INIT);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"factory\""), "{body}");
    // A malformed message gets a JSON-RPC error, and the server goes on.
    let (status, body) = post(&server, &[auth], "{not json");
    assert!((400..500).contains(&status), "{status} {body}");
    let (status, body) = post(&server, &[auth], r#"{"jsonrpc":"2.0","id":7}"#);
    assert!((400..500).contains(&status), "{status} {body}");
    assert_eq!(post(&server, &[auth], INIT).0, 200);
}

#[test]
fn an_allowed_host_is_accepted_and_remote_addresses_need_allow_remote() {
    let home = Home::new();
    let token = home.dir().join("token");
    std::fs::write(&token, "a-token-from-a-file-0123\n").unwrap();
    std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let server = Server::start(
        &home,
        &[
            "--token-file",
            token.to_str().unwrap(),
            "--allowed-host",
            "mcp.example.com",
        ],
    );
    let auth = ("Authorization", "Bearer a-token-from-a-file-0123");
    assert_eq!(
        post(&server, &[auth, ("Host", "mcp.example.com")], INIT).0,
        200
    );
    assert_eq!(
        post(&server, &[auth, ("Host", "other.example.com")], INIT).0,
        403
    );
    assert!(!home.path().join("mcp-token").exists());

    let o = home.run(&["mcp", "--http", "0.0.0.0:0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--allow-remote"));
}

#[test]
fn the_python_sdk_calls_over_http_in_both_revisions() {
    let home = Home::new();
    let data = home.readable("a.txt", "over http\n");
    let server = Server::start(&home, &[]);
    for revision in ["2025-11-25", "2026-07-28"] {
        let out = home.client(server.plan(json!({"revision": revision, "steps": [
            {"op": "call", "tool": "read-file", "args": {"path": data.join("a.txt")}},
            {"op": "call", "tool": "read-file", "args": {"path": "/etc/passwd"}},
        ]})));
        assert_no_admin_tools(&out);
        assert_eq!(
            tool(&out, "read-file")["inputSchema"]["required"],
            json!(["path"])
        );
        let ok = &out["steps"][0]["result"];
        assert_eq!(ok["isError"], false, "{revision}: {ok}");
        assert!(text(ok).contains("over http"), "{revision}: {ok}");
        let denied = &out["steps"][1]["result"];
        assert_eq!(denied["isError"], true, "{revision}: {denied}");
        assert!(text(denied).contains("to allow it"), "{revision}: {denied}");
    }
    assert_eq!(home.denials("read-file").len(), 2);
    let calls = home.invocations("read-file");
    assert_eq!(calls.len(), 4);
    assert!(
        calls.iter().all(|c| c["client"] == "mcp/0.1.0"),
        "{calls:?}"
    );
}

#[test]
fn calls_over_max_concurrent_wait_then_fail_clearly() {
    let home = Home::with_attacker();
    home.factory(&["plugin", "limits", "attacker", "--deadline", "20"]);
    let server = Server::start(&home, &["--max-concurrent", "1", "--max-wait", "0.3"]);
    let out = home.client(server.plan(json!({"steps": [{
        "op": "race",
        "runaway": {"tool": "attacker", "args": {"attack": "cpu-loop"}},
        "other": {"tool": "attacker", "args": {"attack": "args"}},
        "cancel_after": 0.3,
    }]})));
    let other = &out["steps"][0]["other"]["result"];
    assert_eq!(other["isError"], true, "{out}");
    assert!(text(other).contains("--max-concurrent 1"), "{other}");
    assert_eq!(out["steps"][0]["runaway"], "cancelled", "{out}");
}
