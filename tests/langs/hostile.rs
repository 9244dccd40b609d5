//! A hostile plugin in Python (tests/guests/py-attacker): the sandbox holds
//! for a 19 MB interpreter guest exactly as for a Rust one. Each attack is
//! refused or stopped, journaled, and the host keeps serving.

use crate::toolchain::{Factory, assert_denied, build, require};
use serde_json::{Value, json};

fn attack(f: &Factory, kind: &str, target: &str) -> (i32, Value) {
    f.call("py-attacker", &json!({"attack": kind, "target": target}))
}

fn still_serves(f: &Factory) {
    assert_eq!(attack(f, "ok", ""), (0, json!({"ok": true})));
}

#[test]
fn a_hostile_python_plugin_is_contained() {
    require("componentize-py", "pip install componentize-py");
    let (d, src) = build(
        &["wit/plugin", "sdk/python", "tests/guests/py-attacker"],
        "tests/guests/py-attacker",
        &[],
    );
    let f = Factory::new();
    f.install(&src.join("build/py-attacker.wasm"), "py-attacker");
    f.ok(&[
        "plugin",
        "limits",
        "py-attacker",
        "--memory",
        "256",
        "--deadline",
        "3",
    ]);
    still_serves(&f);

    // Sandbox limits: the call is stopped (exit 3) or fails inside Python
    // (MemoryError, exit 1); either way the next call is served.
    let (code, out) = attack(&f, "cpu", "");
    assert_eq!(
        (code, &out["limit"]["kind"]),
        (3, &json!("deadline")),
        "{out}"
    );
    still_serves(&f);
    let (code, out) = attack(&f, "memory", "");
    assert!(
        out["limit"]["kind"] == "memory"
            || out["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("MemoryError"),
        "{code} {out}"
    );
    still_serves(&f);
    let (code, out) = attack(&f, "huge-result", "");
    assert_eq!(
        (code, &out["limit"]["kind"]),
        (3, &json!("result-cap")),
        "{out}"
    );
    still_serves(&f);

    // Capabilities it was never granted: each refused and journaled.
    let secret = d.path().join("secret.txt");
    std::fs::write(&secret, "hunter2").unwrap();
    for (kind, target, capability, shown) in [
        (
            "read",
            secret.to_str().unwrap(),
            "read",
            secret.to_str().unwrap(),
        ),
        ("read", "/proc/self/environ", "read", "/proc/self/environ"),
        ("list", "/", "read", "open-at /"),
        (
            "write",
            "/tmp/py-attacker-was-here",
            "write",
            "/tmp/py-attacker-was-here",
        ),
        ("kv", "", "kv", "set k"),
        ("tool", "/etc/passwd", "tool", "read-file"),
        ("exec", "/bin/sh", "exec", "/bin/sh"),
    ] {
        let r = attack(&f, kind, target);
        assert!(!r.1.to_string().contains("hunter2"), "{r:?}");
        assert_denied(&f, "py-attacker", &r, capability, shown);
        still_serves(&f);
    }
    assert!(!std::path::Path::new("/tmp/py-attacker-was-here").exists());

    // The network: no socket without a grant.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (code, out) = attack(&f, "tcp", &addr);
    assert_eq!(code, 1, "{out}");
    assert!(
        f.denials("py-attacker")
            .iter()
            .any(|d| d["capability"] == "socket" || d["capability"] == "dns"),
        "{:#?}",
        f.denials("py-attacker")
    );

    // The host's environment is not the plugin's.
    let o = f.run_with_env(
        &[
            "tool",
            "call",
            "py-attacker",
            "--input",
            r#"{"attack":"env"}"#,
        ],
        &[("FACTORY_TEST_SECRET", "hunter2")],
    );
    let env: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!env.to_string().contains("hunter2"), "{env}");
    assert!(env["env"].as_object().unwrap().len() <= 1, "{env}");
}
