//! The MCP Inspector (npm `@modelcontextprotocol/inspector` 2.12.0) in CLI
//! mode: a second client, in another language and SDK, over stdio and HTTP.

use super::*;

fn inspector() -> PathBuf {
    let bin = tools_dir().join("inspector/node_modules/.bin/mcp-inspector");
    assert!(
        bin.exists(),
        "{} is missing: run `bash .ci/guest-tools` (it installs the MCP Inspector)",
        bin.display()
    );
    bin
}

/// Run the inspector's CLI with `args`; its stdout as JSON (it exits 1
/// after printing a result with `isError`).
fn run(home: &Home, args: &[&str]) -> Value {
    let o = Command::new(inspector())
        .arg("--cli")
        .args(args)
        .env("MCP_CATALOG_PATH", home.dir().join("catalog.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let out: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "inspector {args:?}: {e}: {stdout}\n{}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    assert!(
        o.status.success() || out["isError"] == true,
        "inspector {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

#[test]
fn the_inspector_lists_and_calls_over_stdio_and_http() {
    let home = Home::new();
    let data = home.readable("a.txt", "inspected\n");
    let env = format!("FACTORY_HOME={}", home.path().display());
    let file = data.join("a.txt");
    let path_arg = format!("path={}", file.display());

    let list = run(
        &home,
        &["-e", &env, FACTORY, "mcp", "--method", "tools/list"],
    );
    let tools = list["tools"].as_array().unwrap();
    let rf = tools.iter().find(|t| t["name"] == "read-file").unwrap();
    assert_eq!(rf["inputSchema"]["required"], json!(["path"]), "{rf}");
    assert_no_admin_tools(&list);

    let call = run(
        &home,
        &[
            "-e",
            &env,
            FACTORY,
            "mcp",
            "--method",
            "tools/call",
            "--tool-name",
            "read-file",
            "--tool-arg",
            &path_arg,
        ],
    );
    assert_ne!(call["isError"], true, "{call}");
    assert!(call.to_string().contains("inspected"), "{call}");

    let denied = run(
        &home,
        &[
            "-e",
            &env,
            FACTORY,
            "mcp",
            "--method",
            "tools/call",
            "--tool-name",
            "read-file",
            "--tool-arg",
            "path=/etc/passwd",
        ],
    );
    assert_eq!(denied["isError"], true, "{denied}");
    assert!(
        denied
            .to_string()
            .contains("factory plugin grant read-file --read"),
        "{denied}"
    );

    let server = Server::start(&home, &[]);
    let header = format!("Authorization: Bearer {}", server.token);
    let list = run(
        &home,
        &[
            &server.url,
            "--transport",
            "http",
            "--header",
            &header,
            "--method",
            "tools/list",
        ],
    );
    assert!(
        list["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "read-file")
    );
    let call = run(
        &home,
        &[
            &server.url,
            "--transport",
            "http",
            "--header",
            &header,
            "--method",
            "tools/call",
            "--tool-name",
            "read-file",
            "--tool-arg",
            &path_arg,
        ],
    );
    assert!(call.to_string().contains("inspected"), "{call}");
    assert_eq!(home.denials("read-file").len(), 1);
}
